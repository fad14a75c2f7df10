"""What happens to a project's invoice once its lines are checked and scored: bill, review, or stop.

``review_project`` combines the billing-readiness report (BR1 to BR10) with the anomaly scores of the period's
lines (TE1 to TE11) under the firm's ``BillingPolicy``:

- a block of an *invoice-blocking* rule (draft time, the not-to-exceed cap, the purchase order, a closed
  project, currency and tax set-up) or a hold (frozen client, credit limit) stops the whole invoice, with the
  reasons a billing coordinator acts on;
- a block of another rule leaves its lines out (already billed, impossible hours, an unaccepted milestone, a
  line of another currency) and the rest bills; a block of a *reviewable* rule (overlap, rate) and a billable
  line the scorer sends to review (a policy violation, or signals at or above the review threshold) go to a
  person, who sees each line with its reasons;
- nothing left to bill is said as such (BR3: zero billable hours, no invoice).

The scores only recommend: a person decides on every line the scorer sends, and the rules decide the rest.
``apply_review`` turns the reviewer's decision into the lines that bill and the lines that go back.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from datetime import date
from decimal import Decimal
from typing import Any, Literal

from pydantic import ConfigDict, Field

from backoffice.anomaly.policy import CHECKS
from backoffice.assist.models import Amount, AnomalyContext, AnomalyFact, AnomalyReason, Explanation
from backoffice.invoicing.policy import BillingPolicy
from backoffice.invoicing.readiness import ReadinessReport, money, period_label
from backoffice.models import ExpenseEntry, TimeEntry
from backoffice.models.envelope import JsonModel

ProjectStatus = Literal["blocked", "on_hold", "review", "ready", "nothing_to_bill"]
LineKind = Literal["time", "expense", "milestone"]

_ZERO = Decimal(0)


class LineScore(JsonModel):
    """A line's anomaly score and reasons, whether the scorer sends it to a person, and what that rests on (the
    checks that fired and the signal strengths, kept so a reviewer's decision becomes a label)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    score: float = Field(ge=0, le=1)
    reasons: list[str]
    review: bool = False  # a policy violation, or signals at or above the review threshold
    checks: list[str] = Field(default_factory=list)
    features: dict[str, float] = Field(default_factory=dict)


# The flagged lines of a review explained in plain words (the highest scores); the reasons list them all.
EXPLAINED_LINES = 5


class ReviewLine(JsonModel):
    """A line a person must look at before it bills: what it is, and every reason it was flagged."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    line_id: str
    kind: LineKind
    summary: str  # "2026-10-07 W-0012 8 h Consulting USD 1,600.00"
    amount: Decimal
    reasons: list[str]
    score: float | None = None
    checks: list[str] = Field(default_factory=list)  # the anomaly checks that fired (LineScore.checks)


class ExcludedLine(JsonModel):
    """A line left out of this invoice, and why (it may bill later once fixed, or never)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    line_id: str
    rule: str
    reason: str


class ProjectReview(JsonModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    project_id: str
    client_id: str
    period_start: date
    period_end: date
    currency: str
    status: ProjectStatus
    reasons: list[str]  # why the invoice is blocked or on hold
    warnings: list[str]
    review_lines: list[ReviewLine]
    excluded: list[ExcludedLine]
    billable_time_entry_ids: list[str]
    billable_expense_ids: list[str]
    billable_milestone_ids: list[str]
    exceptions_by_rule: dict[str, int]  # every finding of the project, counted by rule (BR*, TE*, INPUT)
    review_amount: Decimal  # what the lines under review would add

    @property
    def max_score(self) -> float:
        scores = [line.score for line in self.review_lines if line.score is not None]
        return max(scores, default=0.0)

    def lines_to_explain(self) -> list[ReviewLine]:
        """The flagged lines whose reasons the reviewer gets in plain words: the highest scores first."""
        ranked = sorted(self.review_lines, key=lambda line: -(line.score or 0.0))
        return ranked[:EXPLAINED_LINES]

    def approval_subject(
        self,
        customer_name: str,
        service_line: str | None,
        explanations: Sequence[Mapping[str, str]] = (),
    ) -> dict[str, Any]:
        """What the exception reviewer reads (title, amount, every line with its reasons, the top lines' reasons
        in plain words) and routing reads."""
        listed = [f"{line.summary}: {'; '.join(line.reasons)}" for line in self.review_lines]
        return {
            "title": f"Billing exceptions: {customer_name}, project {self.project_id}, "
            f"{period_label(self.period_start, self.period_end)}",
            "summary": f"{len(self.review_lines)} line(s) need a decision before the invoice goes out. Approve: "
            "they bill as recorded (name a line's id in the comment to keep that one back). Reject: time goes "
            "back to the worker to correct, expenses are written off.",
            "amount": str(self.review_amount),
            "currency": self.currency,
            "client": customer_name,
            "service_line": service_line,
            "anomaly_score": self.max_score,
            "project_id": self.project_id,
            "reasons": listed[:50] + ([f"... and {len(listed) - 50} more"] if len(listed) > 50 else []),
            # The top lines in structure, for the approval summary, and their reasons explained (the assistant's).
            "anomalies": [
                {"subject": fact.subject, "reasons": [r.model_dump(mode="json") for r in fact.reasons]}
                for fact in (anomaly_fact(line) for line in self.lines_to_explain())
            ],
            "explanations": list(explanations),
        }


def anomaly_fact(line: ReviewLine) -> AnomalyFact:
    """A flagged line as the assistant reads it: each reason with its rule and, where the anomaly policy knows the
    check the sentence names ("TE4 receipt missing ..."), what the check means and whether it is a violation."""
    reasons = []
    for text in line.reasons:
        rule = text.split(" ", 1)[0]
        candidates = [name for name, known in CHECKS.items() if known.rule == rule]
        fired = [name for name in candidates if name in line.checks]
        named = [name for name in candidates if name.replace("_", " ") in text.lower()]
        # The check that fired, else the one the sentence names, else the rule's only check.
        check = next((found[0] for found in (fired, named, candidates) if len(found) == 1), None)
        known = CHECKS.get(check) if check else None
        reasons.append(
            AnomalyReason(
                rule=rule,
                check=check or "",
                text=text,
                meaning=known.meaning if known else None,
                kind=known.kind if known else None,
            )
        )
    return AnomalyFact(subject=f"{line.line_id} {line.summary}", reasons=tuple(reasons))


def explain_lines(
    review: ProjectReview, explain: Callable[[AnomalyContext], Explanation]
) -> list[dict[str, str]]:
    """The top flagged lines' reasons in plain words (``anomaly_explanation``), for the exception reviewer."""
    explained = []
    for line in review.lines_to_explain():
        amount = Amount(label="line amount", amount=line.amount, currency=review.currency)
        explanation = explain(AnomalyContext(line=anomaly_fact(line), amount=amount))
        explained.append({"line": line.line_id, "text": explanation.text, "by": explanation.author})
    return explained


def line_summary(line: TimeEntry | ExpenseEntry) -> str:
    if isinstance(line, TimeEntry):
        return (
            f"{line.id} {line.work_date} {line.worker_id} {line.billing_hours.normalize():f} h "
            f"{line.activity_type} {money(line.currency, line.billing_amount)}"
        )
    return (
        f"{line.id} {line.expense_date} {line.worker_id} {line.expense_type} "
        f"{money(line.currency, line.sanctioned_amount or line.amount)}"
    )


def _amount(line: TimeEntry | ExpenseEntry) -> Decimal:
    if isinstance(line, TimeEntry):
        return line.billing_amount if line.is_billable else _ZERO
    return line.sanctioned_amount if line.sanctioned_amount is not None else line.amount


def review_project(
    report: ReadinessReport,
    scores: Mapping[str, LineScore],
    lines: Sequence[TimeEntry | ExpenseEntry],
    policy: BillingPolicy | None = None,
    *,
    extra_exceptions: Sequence[ExcludedLine] = (),
    retainer_fee: Decimal | None = None,
) -> ProjectReview:
    """Decide what the project's invoice needs: ``lines`` are the project's lines of the period (to describe
    the ones under review), ``scores`` the anomaly scores by line id, ``extra_exceptions`` lines that could not
    even be read (they never bill and are reported), ``retainer_fee`` the monthly fee of a retainer (it bills
    with no line behind it)."""
    policy = policy or BillingPolicy()
    by_id = {line.id: line for line in lines}
    counts: Counter[str] = Counter()
    reasons: list[str] = []
    warnings: list[str] = []
    excluded: list[ExcludedLine] = list(extra_exceptions)
    counts.update(item.rule for item in extra_exceptions)
    to_review: dict[str, list[str]] = {}
    holds: list[str] = []
    nothing: list[str] = []
    for finding in report.exceptions:
        counts[finding.rule] += 1
        text = f"{finding.rule} {finding.reason}"
        if finding.severity == "warn":
            warnings.append(text)
        elif finding.severity == "hold":
            holds.append(text)
        elif finding.rule == "BR3" and not finding.line_ids:
            nothing.append(text)  # no billable hours at all: no invoice, nothing to fix
        elif finding.rule in policy.invoice_blocking_rules or not finding.line_ids:
            reasons.append(text)
        elif finding.rule in policy.reviewable_rules:
            for line_id in finding.line_ids:
                to_review.setdefault(line_id, []).append(text)
        else:
            excluded.extend(
                ExcludedLine(line_id=i, rule=finding.rule, reason=finding.reason) for i in finding.line_ids
            )

    never = {item.line_id for item in excluded}
    billable_time = [i for i in report.billable_time_entry_ids if i not in never]
    billable_expenses = [i for i in report.billable_expense_ids if i not in never]
    flagged_scores: dict[str, float] = {}
    for line_id in [*billable_time, *billable_expenses, *to_review]:
        scored = scores.get(line_id)
        if scored is None or not scored.reasons:
            continue
        counts.update(reason.split(" ", 1)[0] for reason in scored.reasons)
        if scored.review:
            to_review.setdefault(line_id, []).extend(scored.reasons)
            flagged_scores[line_id] = scored.score
    to_review = {i: found for i, found in to_review.items() if i not in never and i in by_id}

    review_lines = [
        ReviewLine(
            line_id=line_id,
            kind="time" if isinstance(by_id[line_id], TimeEntry) else "expense",
            summary=line_summary(by_id[line_id]),
            amount=_amount(by_id[line_id]),
            reasons=found,
            checks=scores[line_id].checks if line_id in scores else [],
            score=flagged_scores.get(line_id),
        )
        for line_id, found in to_review.items()
    ]
    billable_time = [i for i in billable_time if i not in to_review]
    billable_expenses = [i for i in billable_expenses if i not in to_review]
    status: ProjectStatus
    if reasons:
        status = "blocked"
        reasons.extend(holds)
    elif holds:
        status = "on_hold"
        reasons = holds
    elif review_lines:
        status = "review"
    elif billable_time or billable_expenses or report.billable_milestone_ids or retainer_fee:
        status = "ready"
    else:
        status = "nothing_to_bill"
        reasons = nothing or ["BR3 nothing billable in the period: no invoice"]
        reasons += [f"{item.rule} {item.reason}" for item in excluded[:3]]
    return ProjectReview(
        project_id=report.project_id,
        client_id=report.client_id,
        period_start=report.period_start,
        period_end=report.period_end,
        currency=report.currency,
        status=status,
        reasons=reasons,
        warnings=warnings,
        review_lines=review_lines,
        excluded=excluded,
        billable_time_entry_ids=billable_time,
        billable_expense_ids=billable_expenses,
        billable_milestone_ids=list(report.billable_milestone_ids),
        exceptions_by_rule=dict(sorted(counts.items())),
        review_amount=sum((line.amount for line in review_lines), _ZERO),
    )


class ReviewOutcome(JsonModel):
    """The lines that bill after the reviewer's decision, and those returned."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    billable_time_entry_ids: list[str]
    billable_expense_ids: list[str]
    billable_milestone_ids: list[str]
    returned_time_entry_ids: list[str]
    returned_expense_ids: list[str]
    decision: Literal["approved", "rejected", "none"]


def held_back_in(comment: str | None, review: ProjectReview) -> set[str]:
    """The lines under review an approver names in the comment to keep them back ("approve, except TE-0000123")."""
    if not comment:
        return set()
    named = set(re.findall(r"[A-Za-z0-9][A-Za-z0-9_.:-]*[A-Za-z0-9]", comment))
    return {line.line_id for line in review.review_lines if line.line_id in named}


def apply_review(
    review: ProjectReview,
    decision: Literal["approved", "rejected", "none"],
    *,
    held_back: set[str] | frozenset[str] = frozenset(),
) -> ReviewOutcome:
    """``approved``: the lines under review bill as recorded, except those ``held_back`` (named by the
    approver), which go back; ``rejected``: they all go back (sent back or written off by the policy) and the
    rest bills; ``none``: nothing was under review."""
    time_ids = [line.line_id for line in review.review_lines if line.kind == "time"]
    expense_ids = [line.line_id for line in review.review_lines if line.kind == "expense"]

    def split(ids: list[str]) -> tuple[list[str], list[str]]:
        if decision == "approved":
            return [i for i in ids if i not in held_back], [i for i in ids if i in held_back]
        if decision == "rejected":
            return [], ids
        return [], []

    time_bill, time_back = split(time_ids)
    expense_bill, expense_back = split(expense_ids)
    return ReviewOutcome(
        billable_time_entry_ids=[*review.billable_time_entry_ids, *time_bill],
        billable_expense_ids=[*review.billable_expense_ids, *expense_bill],
        billable_milestone_ids=list(review.billable_milestone_ids),
        returned_time_entry_ids=time_back,
        returned_expense_ids=expense_back,
        decision=decision,
    )
