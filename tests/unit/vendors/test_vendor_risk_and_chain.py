"""The vendor risk score, the next step of the case, and the approval chain with its quorum and exclusions."""

from __future__ import annotations

from typing import Any

import pytest

from backoffice.models import VendorOnboardingRequested
from backoffice.vendors.checks import CheckName, CheckResult
from backoffice.vendors.duplicates import DuplicateMatch, DuplicateReport, DuplicateSignal
from backoffice.vendors.facts import VendorApplication
from backoffice.vendors.policy import VendorPolicy
from backoffice.vendors.risk import ApprovalChainUnfillable, VendorRisk, approval_chain, assess_vendor_risk
from backoffice.vendors.sample_vendors import COMPLIANCE, FINANCE, PROCUREMENT
from backoffice.vendors.sanctions import Hit, ScreeningResult

REQUESTER = "priya.raman@sample-firm.example"
CLEAR = ScreeningResult(screened_names=["x"], decision="clear", threshold=0.9)
HIT = ScreeningResult(
    screened_names=["x"],
    decision="review",
    threshold=0.9,
    hits=[
        Hit(
            ent_num=90006,
            matched_name="BLUE LANTERN DIGITAL SERVICES",
            listed_name="BLUE LANTERN DIGITAL SERVICES",
            score=1.0,
            program="CYBER2",
            kind="primary",
            sdn_type="entity",
        )
    ],
)
NEW = DuplicateReport(candidate_id="vendor-x", decision="new")
PASSED = [CheckResult(check=check, status="pass") for check in CheckName]


def application(
    spend: int = 20_000, category: str = "facilities", currency: str = "USD", **changes: Any
) -> VendorApplication:
    request = VendorOnboardingRequested.from_json_dict(
        {
            "requester_email": REQUESTER,
            "vendor_legal_name": "Harbor & Pine Facilities LLC",
            "category": category,
            "expected_annual_spend": str(spend),
            "currency": currency,
            "contact_email": "accounts@harborpine.example",
        }
    )
    return VendorApplication(case_id="vendor-x", request=request, **changes)


def duplicate_of(vendor_id: str, strength: Any = "certain", party: Any = "vendor") -> DuplicateReport:
    match = DuplicateMatch(
        party=party,
        party_id=vendor_id,
        party_name="Existing Co",
        signals=[DuplicateSignal(kind="same_tin", detail="same TIN ****7650")],
        strength=strength,
    )
    decision: Any = "duplicate" if strength == "certain" and party == "vendor" else "review"
    return DuplicateReport(candidate_id="vendor-x", matches=[match], decision=decision)


def risk_of(
    app: VendorApplication,
    policy: VendorPolicy,
    checks: list[CheckResult] = PASSED,
    screening: ScreeningResult = CLEAR,
    duplicates: DuplicateReport = NEW,
) -> VendorRisk:
    return assess_vendor_risk(app, checks, screening, duplicates, policy)


# ------------------------------------------------------------------------------------------------------------
# Risk score and next step
# ------------------------------------------------------------------------------------------------------------


def test_a_clean_small_vendor_is_low_risk_and_goes_to_approval(policy: VendorPolicy) -> None:
    risk = risk_of(application(), policy)
    assert (risk.score, risk.level, risk.next_step, risk.blockers) == (5, "low", "approval", [])
    assert risk.reasons == [
        "category facilities: facilities: cleaning, maintenance and moves, on site with vehicles (+5)"
    ]


def test_every_point_comes_with_its_reason(policy: VendorPolicy) -> None:
    # Given a vendor holding data, with a warning, a failed check and spend above the finance threshold
    checks = [
        CheckResult(check=CheckName.INSURANCE, status="warn", reasons=["GL expires in 12 days"]),
        CheckResult(
            check=CheckName.BANK_ACCOUNT, status="fail", reasons=["bad checksum", "no account number"]
        ),
    ]
    risk = risk_of(application(spend=150_000, category="it_subcontractor", handles_data=True), policy, checks)
    # Then the score is the sum of the reasons' points: 5 + 25 + 10 + 10 + 15
    assert risk.score == 65 and risk.level == "high"
    assert sum(int(reason.rsplit("(+", 1)[1].rstrip(")")) for reason in risk.reasons) == 65
    assert "bank_account failed: bad checksum; no account number (+25)" in risk.reasons
    assert risk.blockers == ["bank_account: bad checksum", "bank_account: no account number"]
    assert risk.next_step == "vendor_correction"


def test_the_score_is_capped_at_100_and_levels_are_configuration(policy: VendorPolicy) -> None:
    failing = [CheckResult(check=check, status="fail", reasons=["wrong"]) for check in CheckName]
    assert risk_of(application(), policy, failing, HIT).score == 100
    # A firm that calls 5 points medium
    touchy = VendorPolicy.from_json_dict({"medium_risk_score": 5, "high_risk_score": 50})
    assert risk_of(application(), touchy).level == "medium"


def test_high_spend_alone_makes_a_vendor_high_risk(policy: VendorPolicy) -> None:
    risk = risk_of(application(spend=500_000), policy)
    assert risk.level == "high"
    assert "expected annual spend USD 500,000 is at or above USD 500,000 (+60)" in risk.reasons


@pytest.mark.parametrize(
    ("screening", "duplicates", "checks", "missing", "step"),
    [
        (HIT, "certain", "fail", True, "compliance_review"),
        (CLEAR, "certain", "fail", True, "duplicate"),
        (CLEAR, None, "fail", True, "awaiting_documents"),
        (CLEAR, None, "fail", False, "vendor_correction"),
        (CLEAR, "strong", "warn", False, "approval"),
    ],
)
def test_the_next_step_takes_the_most_urgent_finding(
    policy: VendorPolicy,
    screening: ScreeningResult,
    duplicates: str | None,
    checks: str,
    missing: bool,
    step: str,
) -> None:
    # Given findings of decreasing urgency / Then the next step is that of the most urgent one
    results = [CheckResult(check=CheckName.W9_TIN, status=checks, reasons=["x"])]  # type: ignore[arg-type]
    if missing:
        results.append(
            CheckResult(check=CheckName.W9_FORM, status="fail", reasons=["no W-9 yet"], missing_document="w9")
        )
    report = duplicate_of("SUP-1001", duplicates) if duplicates else NEW
    risk = risk_of(application(), policy, results, screening, report)
    assert risk.next_step == step
    assert risk.needs_compliance_review is (screening is HIT)


def test_a_missing_document_counts_once_however_many_checks_wait_for_it(policy: VendorPolicy) -> None:
    waiting = [
        CheckResult(check=check, status="fail", reasons=["no W-9 received yet"], missing_document="w9")
        for check in (CheckName.W9_FORM, CheckName.W9_TIN, CheckName.W9_NAME)
    ]
    risk = risk_of(application(), policy, waiting)
    assert risk.missing_documents == ["w9"]
    assert risk.score == 5 + 10


def test_a_ghost_vendor_signal_raises_the_risk(policy: VendorPolicy) -> None:
    risk = risk_of(application(), policy, duplicates=duplicate_of("EMP-0042", "strong", "employee"))
    assert risk.score == 5 + 35 and risk.level == "medium"
    assert risk.next_step == "approval"


# ------------------------------------------------------------------------------------------------------------
# Approval chain
# ------------------------------------------------------------------------------------------------------------


def chain_for(app: VendorApplication, policy: VendorPolicy, **risk_changes: Any) -> list[Any]:
    risk = risk_of(app, policy).model_copy(update=risk_changes)
    return approval_chain(app.request, risk, policy)


def test_procurement_always_approves_and_the_requester_never_does(policy: VendorPolicy) -> None:
    chain = chain_for(application(), policy)
    assert [(level.name, level.quorum, level.level) for level in chain] == [("procurement", 1, 1)]
    assert chain[0].excluded_approvers == [REQUESTER]
    assert chain[0].eligible_approvers == PROCUREMENT
    assert chain[0].quorum_label == "1 of 3"


def test_a_requester_in_the_approver_group_is_excluded_from_it(policy: VendorPolicy) -> None:
    app = application()
    request = app.request.model_copy(update={"requester_email": PROCUREMENT[1].upper()})
    chain = approval_chain(request, risk_of(app, policy), policy)
    assert chain[0].eligible_approvers == [PROCUREMENT[0], PROCUREMENT[2]]
    assert chain[0].excluded_approvers == [PROCUREMENT[1]]


def test_finance_approves_spend_at_or_above_its_threshold(policy: VendorPolicy) -> None:
    below = chain_for(application(spend=99_999), policy)
    at = chain_for(application(spend=100_000), policy)
    assert [level.name for level in below] == ["procurement"]
    assert [(level.name, level.quorum) for level in at] == [("procurement", 1), ("finance", 1)]
    assert "reaches the finance threshold USD 100,000" in at[1].reasons[0]


def test_a_high_risk_vendor_needs_finance_and_two_approvals_per_level(policy: VendorPolicy) -> None:
    chain = chain_for(application(), policy, level="high", score=70)
    assert [(level.name, level.quorum_label) for level in chain] == [
        ("procurement", "2 of 3"),
        ("finance", "2 of 3"),
    ]


def test_a_possible_sanctions_match_puts_compliance_first(policy: VendorPolicy) -> None:
    app = application()
    risk = risk_of(app, policy, screening=HIT)
    chain = approval_chain(app.request, risk, policy)
    assert [(level.name, level.quorum) for level in chain] == [
        ("compliance", 1),
        ("procurement", 2),
        ("finance", 2),
    ]
    assert chain[0].eligible_approvers == COMPLIANCE


def test_spend_in_another_currency_goes_to_finance(policy: VendorPolicy) -> None:
    chain = chain_for(application(spend=1_000, currency="EUR"), policy)
    assert [level.name for level in chain] == ["procurement", "finance"]
    assert "expected spend is in EUR, not USD" in chain[1].reasons[0]


def test_a_chain_the_groups_cannot_staff_is_refused(policy: VendorPolicy) -> None:
    app = application()
    high = risk_of(app, policy).model_copy(update={"level": "high", "score": 90})
    # Given a procurement group of two, one of whom is the requester: quorum 2 cannot be met
    small = policy.model_copy(
        update={"approver_groups": {**policy.approver_groups, "procurement": [PROCUREMENT[0], REQUESTER]}}
    )
    with pytest.raises(ApprovalChainUnfillable, match="procurement level needs 2 approvers"):
        approval_chain(app.request, high, small)
    # Given finance and procurement made of the same two people: nobody may approve at two levels
    shared = policy.model_copy(
        update={"approver_groups": {"procurement": FINANCE[:2], "finance": FINANCE[:2]}}
    )
    with pytest.raises(ApprovalChainUnfillable, match="approve at no other level"):
        approval_chain(app.request, high, shared)
    # Given no finance group at all
    no_finance = policy.model_copy(update={"approver_groups": {"procurement": PROCUREMENT}})
    with pytest.raises(ApprovalChainUnfillable, match="no approver group 'finance'"):
        approval_chain(app.request, high, no_finance)


def test_overlapping_groups_are_fine_when_distinct_people_can_fill_every_seat(policy: VendorPolicy) -> None:
    app = application(spend=200_000)
    overlapping = policy.model_copy(
        update={"approver_groups": {"procurement": [FINANCE[0], PROCUREMENT[0]], "finance": [FINANCE[0]]}}
    )
    chain = approval_chain(app.request, risk_of(app, overlapping), overlapping)
    # Then the finance person takes finance and the procurement person procurement
    assert [level.name for level in chain] == ["procurement", "finance"]
