"""Vendor risk: one score with its reasons, the next step of the case, and the approval chain it calls for.

The score adds points (``VendorPolicy.risk_weights``) for what the checks, the sanctions screening and the
duplicate search found, and for what the firm is about to do with the vendor: how much it will spend, in
which category, and whether the vendor will hold data. Each point comes with a reason, so that an approver
reads why a vendor is high risk rather than a bare number.

``approval_chain`` turns the risk into sequential levels with an N-of-M quorum (docs/APPROVALS.md): compliance
first when screening found a possible match, procurement always, finance for large spend or high risk, and two
approvals per level for a high-risk vendor. The requester is excluded from every level.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import Field

from backoffice.models import CanonicalModel, DocumentType, VendorOnboardingRequested
from backoffice.vendors.checks import CheckResult
from backoffice.vendors.duplicates import DuplicateReport
from backoffice.vendors.facts import VendorApplication
from backoffice.vendors.policy import VendorPolicy
from backoffice.vendors.sanctions import ScreeningResult

RiskLevel = Literal["low", "medium", "high"]
# What the workflow does next, most urgent first: a possible sanctions match stops everything until compliance
# decides; a certain duplicate ends the case; missing documents and failed checks go back to the vendor.
NextStep = Literal["compliance_review", "duplicate", "awaiting_documents", "vendor_correction", "approval"]


class VendorRisk(CanonicalModel):
    score: Annotated[int, Field(ge=0, le=100)]
    level: RiskLevel
    reasons: list[str] = Field(default_factory=list)
    next_step: NextStep
    blockers: list[str] = Field(default_factory=list)  # what must change before anyone can approve
    needs_compliance_review: bool = False
    missing_documents: list[DocumentType] = Field(default_factory=list)
    duplicate_of: str | None = None


def _money(amount: Decimal, currency: str) -> str:
    return f"{currency} {amount:,.0f}"


def assess_vendor_risk(
    application: VendorApplication,
    checks: Sequence[CheckResult],
    screening: ScreeningResult,
    duplicates: DuplicateReport,
    policy: VendorPolicy,
) -> VendorRisk:
    """The risk of onboarding this vendor now, from everything found about it."""
    weights = policy.risk_weights
    request = application.request
    # The reasons read in this order: documents and checks, screening, duplicates, category, data, spend.
    tally = _Tally()
    missing = _score_checks(tally, checks, policy)
    if screening.decision == "review":
        tally.add(weights.sanctions_review, "; ".join(screening.reasons))
        tally.blockers.append("a possible sanctions match must be cleared by compliance")
    _score_duplicates(tally, duplicates, policy)
    requirements = policy.requirements_for(request.category)
    if requirements is not None and requirements.risk_points:
        tally.add(requirements.risk_points, f"category {request.category}: {requirements.description}")
    if application.handles_data:
        tally.add(weights.handles_data, "the vendor will hold or process client or firm data")
    _score_spend(tally, request, policy)

    score = min(tally.points, 100)
    return VendorRisk(
        score=score,
        level=_risk_level(score, policy),
        reasons=tally.reasons,
        next_step=_next_step(checks, screening, duplicates, missing),
        blockers=tally.blockers,
        needs_compliance_review=screening.decision == "review",
        missing_documents=missing,
        duplicate_of=duplicates.duplicate_of,
    )


class _Tally:
    """Points with a reason for each, and what must change before anyone can approve."""

    def __init__(self) -> None:
        self.points = 0
        self.reasons: list[str] = []
        self.blockers: list[str] = []

    def add(self, weight: int, reason: str) -> None:
        self.points += weight
        self.reasons.append(f"{reason} (+{weight})")


def _score_checks(tally: _Tally, checks: Sequence[CheckResult], policy: VendorPolicy) -> list[DocumentType]:
    """Scores missing documents, failed and warned checks; returns the missing documents, each once."""
    weights = policy.risk_weights
    missing: list[DocumentType] = []
    for check in checks:
        if check.missing_document is not None:
            if check.missing_document not in missing:
                missing.append(check.missing_document)
                tally.add(weights.missing_document, check.reasons[0])
                tally.blockers.append(check.reasons[0])
        elif check.status == "fail":
            # Points per failed check, not per reason: a wordy check is not a riskier one.
            tally.add(weights.failed_check, f"{check.check} failed: {'; '.join(check.reasons)}")
            tally.blockers += [f"{check.check}: {reason}" for reason in check.reasons]
        elif check.status == "warn":
            tally.add(weights.warning, f"{check.check} warning: {'; '.join(check.reasons)}")
    return missing


def _score_duplicates(tally: _Tally, duplicates: DuplicateReport, policy: VendorPolicy) -> None:
    weights = policy.risk_weights
    strongest = {match.strength for match in duplicates.matches if match.party == "vendor"}
    vendor_reasons = [match.reason for match in duplicates.matches if match.party == "vendor"]
    if "certain" in strongest:
        tally.add(weights.certain_duplicate, "; ".join(vendor_reasons))
        tally.blockers.append(f"the vendor already exists as {duplicates.duplicate_of}")
    elif "strong" in strongest:
        tally.add(weights.strong_duplicate, "; ".join(vendor_reasons))
    elif "possible" in strongest:
        tally.add(weights.possible_duplicate, "; ".join(vendor_reasons))
    employee_reasons = [match.reason for match in duplicates.matches if match.party == "employee"]
    if employee_reasons:
        tally.add(weights.employee_match, "; ".join(employee_reasons))
    for flag in duplicates.flags:
        tally.add(weights.po_box_only, flag)


def _score_spend(tally: _Tally, request: VendorOnboardingRequested, policy: VendorPolicy) -> None:
    weights = policy.risk_weights
    spend = request.expected_annual_spend
    spend_text = _money(spend, request.currency)
    if request.currency != policy.currency:
        tally.reasons.append(
            f"expected spend is in {request.currency}, compared unconverted with thresholds in {policy.currency}"
        )
    if spend >= policy.high_spend:
        tally.add(
            weights.high_spend,
            f"expected annual spend {spend_text} is at or above {_money(policy.high_spend, policy.currency)}",
        )
    elif spend >= policy.finance_approval_spend:
        tally.add(
            weights.finance_spend,
            f"expected annual spend {spend_text} is at or above {_money(policy.finance_approval_spend, policy.currency)}",
        )


def _risk_level(score: int, policy: VendorPolicy) -> RiskLevel:
    if score >= policy.high_risk_score:
        return "high"
    if score >= policy.medium_risk_score:
        return "medium"
    return "low"


def _next_step(
    checks: Sequence[CheckResult],
    screening: ScreeningResult,
    duplicates: DuplicateReport,
    missing: list[DocumentType],
) -> NextStep:
    next_step: NextStep = "approval"
    if screening.decision == "review":
        next_step = "compliance_review"
    elif duplicates.decision == "duplicate":
        next_step = "duplicate"
    elif missing:
        next_step = "awaiting_documents"
    elif any(check.status == "fail" for check in checks):
        next_step = "vendor_correction"
    return next_step


# ------------------------------------------------------------------------------------------------------------
# Approval chain
# ------------------------------------------------------------------------------------------------------------


class ApprovalChainUnfillable(ValueError):
    """The policy's approver groups cannot staff the chain: a group is missing or too small once the
    requester is excluded and nobody approves at two levels."""


class ApprovalLevel(CanonicalModel):
    """One sequential level: ``quorum`` approvals out of ``eligible_approvers`` (N of M).

    ``excluded_approvers`` are people the approval step must refuse at this level even if they are in the
    group: the requester, who never approves their own vendor. The approval step also refuses anyone who
    approved at an earlier level of the same case (one person, one level).
    """

    level: Annotated[int, Field(ge=1)]
    name: str
    approvers_group: str
    quorum: Annotated[int, Field(ge=1)]
    eligible_approvers: list[str]
    excluded_approvers: list[str] = Field(default_factory=list)
    reasons: list[str] = Field(default_factory=list)

    @property
    def quorum_label(self) -> str:
        return f"{self.quorum} of {len(self.eligible_approvers)}"


def approval_chain(
    request: VendorOnboardingRequested, risk: VendorRisk, policy: VendorPolicy
) -> list[ApprovalLevel]:
    """The levels that must approve this vendor, in order. Raises ``ApprovalChainUnfillable``.

    - compliance (1 approval) when screening found a possible sanctions match: it clears or confirms the hit
      before anyone weighs the business case;
    - procurement, always;
    - finance when the expected spend reaches ``finance_approval_spend`` or the risk is high;
    - every level but compliance needs ``high_risk_quorum`` approvals (2 by default) when the risk is high.
    """
    high = risk.level == "high"
    quorum = policy.high_risk_quorum if high else 1
    wanted: list[tuple[str, str, int, list[str]]] = []
    if risk.needs_compliance_review:
        wanted.append(
            (
                "compliance",
                policy.compliance_group,
                1,
                ["possible sanctions match: compliance clears or confirms it"],
            )
        )
    procurement_reasons = ["every new vendor is approved by procurement"]
    if high:
        procurement_reasons.append(f"risk is high (score {risk.score}): {quorum} approvals needed")
    wanted.append(("procurement", policy.procurement_group, quorum, procurement_reasons))

    finance_reasons = []
    spend = request.expected_annual_spend
    if spend >= policy.finance_approval_spend or request.currency != policy.currency:
        finance_reasons.append(
            f"expected annual spend {_money(spend, request.currency)} reaches the finance threshold "
            f"{_money(policy.finance_approval_spend, policy.currency)}"
            if request.currency == policy.currency
            else f"expected spend is in {request.currency}, not {policy.currency}: finance reviews the amount"
        )
    if high:
        finance_reasons.append(f"risk is high (score {risk.score}): {quorum} approvals needed")
    if finance_reasons:
        wanted.append(("finance", policy.finance_group, quorum, finance_reasons))

    requester = request.requester_email.casefold()
    levels = []
    for number, (name, group, needed, reasons) in enumerate(wanted, start=1):
        if group not in policy.approver_groups:
            raise ApprovalChainUnfillable(
                f"the vendor policy has no approver group {group!r} for the {name} level"
            )
        members = list(dict.fromkeys(policy.approver_groups[group]))
        eligible = [member for member in members if member.casefold() != requester]
        excluded = [member for member in members if member.casefold() == requester] or [
            request.requester_email
        ]
        levels.append(
            ApprovalLevel(
                level=number,
                name=name,
                approvers_group=group,
                quorum=needed,
                eligible_approvers=eligible,
                excluded_approvers=excluded,
                reasons=reasons,
            )
        )
    _assert_staffable(levels)
    return levels


def _assert_staffable(levels: Sequence[ApprovalLevel]) -> None:
    """Every level can reach its quorum with people who approve at no other level (bipartite matching)."""
    seats = [level for level in levels for _ in range(level.quorum)]
    holder_of: dict[str, int] = {}  # person -> seat index

    def seat(index: int, tried: set[str]) -> bool:
        for person in seats[index].eligible_approvers:
            key = person.casefold()
            if key in tried:
                continue
            tried.add(key)
            if key not in holder_of or seat(holder_of[key], tried):
                holder_of[key] = index
                return True
        return False

    for index, level in enumerate(seats):
        if not seat(index, set()):
            raise ApprovalChainUnfillable(
                f"the {level.name} level needs {level.quorum} approvers from group {level.approvers_group!r} who "
                f"are not the requester and approve at no other level; the group has "
                f"{len(level.eligible_approvers)} eligible"
            )
