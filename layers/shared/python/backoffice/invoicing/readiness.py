"""Billing readiness: can this project's period be invoiced, and if not, what must a person do first?

Each rule of DOMAIN.md section 2 (BR1 to BR10) is one ``rule_*`` function over the period's lines that returns
``BillingException``s: the rule, its severity, the lines concerned and a reason a billing coordinator can act
on. Severities:

- ``block``: the invoice must not go out until this is fixed (a draft timesheet, a wrong rate, a cap overrun);
- ``hold``: the data is fine but the client must not be invoiced now (frozen account, credit limit);
- ``warn``: worth a look, does not stop the invoice.

``check_billing_readiness`` runs them all and says which lines are billable. Bad input (a line of another
project, an unknown worker, another currency) becomes an exception with a reason, never a crash;
``check_billing_readiness_json`` does the same for JSON input that does not even validate (negative hours).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from typing import Any, Literal, Self

from pydantic import ConfigDict, Field, ValidationError, model_validator

from backoffice.invoicing.policy import BillingPolicy
from backoffice.models import (
    Client,
    Contract,
    ExpenseEntry,
    Milestone,
    Project,
    PurchaseOrder,
    RateCard,
    RateCardLine,
    TimeEntry,
    Worker,
    readable_errors,
)
from backoffice.models.envelope import JsonModel

Severity = Literal["block", "warn", "hold"]
Rule = Literal["BR1", "BR2", "BR3", "BR4", "BR5", "BR6", "BR7", "BR8", "BR9", "BR10", "INPUT"]
ReadinessStatus = Literal["ready", "ready_with_warnings", "blocked", "on_hold"]

_ZERO = Decimal(0)
_HUNDRED = Decimal(100)


class BillingException(JsonModel):
    """One finding: what stops, holds or deserves a look before the invoice goes out.

    (A billing "exception" in the coordinator's sense, not a Python exception: it is data in the report.)
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    rule: Rule
    severity: Severity
    line_ids: list[str] = Field(default_factory=list)  # time entries, expenses or milestones concerned
    reason: str
    # BR6: who else must act on a cap overrun: "notify" the client's contact, or get the client's
    # "pre_approval" before billing past the cap.
    escalation: Literal["notify", "pre_approval"] | None = None


class BillingPeriod(JsonModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    start: date
    end: date
    posting_date: date | None = None  # None: the period's end

    @model_validator(mode="after")
    def _in_order(self) -> Self:
        if self.end < self.start:
            raise ValueError("the period ends before it starts")
        return self

    @property
    def invoice_date(self) -> date:
        return self.posting_date or self.end

    def __contains__(self, day: object) -> bool:
        return isinstance(day, date) and self.start <= day <= self.end


class ReadinessReport(JsonModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    project_id: str
    client_id: str
    period_start: date
    period_end: date
    currency: str
    status: ReadinessStatus
    exceptions: list[BillingException]
    billable_time_entry_ids: list[str]
    billable_expense_ids: list[str]
    billable_milestone_ids: list[str]
    billable_hours: Decimal
    draft_total: Decimal  # what the invoice would total (before tax) once every block is cleared

    @property
    def ready(self) -> bool:
        return self.status in ("ready", "ready_with_warnings")

    def for_rule(self, rule: str) -> list[BillingException]:
        return [found for found in self.exceptions if found.rule == rule]


def money(currency: str, amount: Decimal) -> str:
    return f"{currency} {amount:,.2f}"


def period_label(start: date, end: date) -> str:
    """``October 2026`` for a calendar month, else ``2026-10-01 to 2026-10-15``: how people name a period."""
    whole_month = (
        start.day == 1
        and (end + timedelta(days=1)).day == 1
        and (start.year, start.month)
        == (
            end.year,
            end.month,
        )
    )
    return f"{start:%B %Y}" if whole_month else f"{start} to {end}"


def _hours(value: Decimal) -> str:
    return f"{value.normalize():f} h"


def _ids(lines: Iterable[TimeEntry | ExpenseEntry | Milestone]) -> list[str]:
    return [line.id for line in lines]


def _listed(ids: Sequence[str], limit: int = 5) -> str:
    shown = ", ".join(ids[:limit])
    return shown if len(ids) <= limit else f"{shown} and {len(ids) - limit} more"


# ------------------------------------------------------------------------------------------------------------
# The period's lines, sorted out once
# ------------------------------------------------------------------------------------------------------------


@dataclass
class _Period:
    """The lines of the period that concern this invoice, and the figures the rules share."""

    project: Project
    client: Client
    contract: Contract | None
    period: BillingPeriod
    policy: BillingPolicy
    currency: str
    time: list[TimeEntry]  # in the period, of this project
    expenses: list[ExpenseEntry]  # billable, in the period, of this project
    candidate_time: list[TimeEntry] = field(default_factory=list)  # would be billed
    candidate_expenses: list[ExpenseEntry] = field(default_factory=list)
    milestones: list[Milestone] = field(default_factory=list)  # accepted, not yet invoiced

    def lines(self) -> list[TimeEntry | ExpenseEntry]:
        return [*self.time, *self.expenses]

    @property
    def fixed_fee(self) -> bool:
        model = self.contract.billing_model if self.contract else self.project.billing_model
        return model == "fixed_fee"

    @property
    def billable_hours(self) -> Decimal:
        return sum((line.billing_hours for line in self.candidate_time if line.is_billable), _ZERO)

    @property
    def draft_total(self) -> Decimal:
        total = sum((line.sanctioned_amount or line.amount for line in self.candidate_expenses), _ZERO)
        if self.fixed_fee:
            return total + sum((milestone.amount for milestone in self.milestones), _ZERO)
        total += sum((line.billing_amount for line in self.candidate_time if line.is_billable), _ZERO)
        if self.contract and self.contract.billing_model == "retainer" and self.contract.monthly_retainer_fee:
            total += self.contract.monthly_retainer_fee
        return total


def _billable_status(status: str, policy: BillingPolicy) -> bool:
    return status == "approved" or (status == "submitted" and policy.bill_submitted_lines)


def _sort_out(
    project: Project,
    client: Client,
    contract: Contract | None,
    time_entries: Sequence[TimeEntry],
    expenses: Sequence[ExpenseEntry],
    period: BillingPeriod,
    policy: BillingPolicy,
) -> _Period:
    currency = contract.currency if contract else project.currency
    time = [line for line in time_entries if line.project_id == project.id and line.work_date in period]
    billable_expenses = [
        line
        for line in expenses
        if line.project_id == project.id and line.is_billable and line.expense_date in period
    ]
    sorted_out = _Period(project, client, contract, period, policy, currency, time, billable_expenses)
    seen: set[str] = set()
    for line in time:
        if line.id in seen or line.invoice_id is not None or line.currency != currency:
            continue
        seen.add(line.id)
        if _billable_status(line.status, policy) and line.hours > 0:
            sorted_out.candidate_time.append(line)
    for expense in billable_expenses:
        if expense.id in seen or expense.invoice_id is not None or expense.currency != currency:
            continue
        seen.add(expense.id)
        if _billable_status(expense.status, policy):
            sorted_out.candidate_expenses.append(expense)
    if contract is not None:
        sorted_out.milestones = [
            milestone
            for milestone in contract.milestones
            if milestone.status == "accepted"
            and (milestone.accepted_date is None or milestone.accepted_date <= period.end)
        ]
    return sorted_out


# ------------------------------------------------------------------------------------------------------------
# Input that cannot be billed as given
# ------------------------------------------------------------------------------------------------------------


def rule_input(
    p: _Period,
    time_entries: Sequence[TimeEntry],
    expenses: Sequence[ExpenseEntry],
    workers: Sequence[Worker] | None,
) -> list[BillingException]:
    """Lines of another project, unknown workers, parties that do not belong together."""
    found: list[BillingException] = []
    given: list[TimeEntry | ExpenseEntry] = [*time_entries, *expenses]
    other = [line.id for line in given if line.project_id != p.project.id]
    if other:
        found.append(
            BillingException(
                rule="INPUT",
                severity="block",
                line_ids=other,
                reason=f"{len(other)} line(s) ({_listed(other)}) belong to another project than "
                f"{p.project.id}: take them out of this billing run",
            )
        )
    if p.project.client_id != p.client.id:
        found.append(
            BillingException(
                rule="INPUT",
                severity="block",
                reason=f"project {p.project.id} is for client {p.project.client_id}, not {p.client.id}",
            )
        )
    if p.contract is not None and p.contract.client_id != p.client.id:
        found.append(
            BillingException(
                rule="INPUT",
                severity="block",
                reason=f"contract {p.contract.id} is with client {p.contract.client_id}, not {p.client.id}",
            )
        )
    if workers is not None:
        known = {worker.id for worker in workers}
        unknown = [line.id for line in p.lines() if line.worker_id not in known]
        if unknown:
            names = sorted({line.worker_id for line in p.lines() if line.worker_id not in known})
            found.append(
                BillingException(
                    rule="INPUT",
                    severity="block",
                    line_ids=unknown,
                    reason=f"worker(s) {', '.join(names)} are not in the staff list: check who recorded "
                    f"{_listed(unknown)}",
                )
            )
    return found


# ------------------------------------------------------------------------------------------------------------
# BR1 to BR10
# ------------------------------------------------------------------------------------------------------------


def rule_unapproved_time(p: _Period) -> list[BillingException]:
    """BR1: only submitted or approved time (and billable expenses) is billed; a draft means not ready."""
    found: list[BillingException] = []
    approved_only = not p.policy.bill_submitted_lines
    drafts = [
        line for line in p.time if line.status == "draft" or (approved_only and line.status == "submitted")
    ]
    if drafts:
        hours = sum((line.hours for line in drafts), _ZERO)
        state = "not approved" if approved_only else "still drafts"
        found.append(
            BillingException(
                rule="BR1",
                severity="block",
                line_ids=_ids(drafts),
                reason=f"{len(drafts)} time entr{'y is' if len(drafts) == 1 else 'ies are'} ({_hours(hours)}) "
                f"{state}: have them submitted and approved, or move them to the next period",
            )
        )
    draft_expenses = [
        line
        for line in p.expenses
        if line.status == "draft" or (approved_only and line.status == "submitted")
    ]
    if draft_expenses:
        found.append(
            BillingException(
                rule="BR1",
                severity="block",
                line_ids=_ids(draft_expenses),
                reason=f"{len(draft_expenses)} billable expense(s) are not submitted: "
                f"{_listed(_ids(draft_expenses))}",
            )
        )
    rejected = [line for line in p.lines() if line.status == "rejected"]
    if rejected:
        found.append(
            BillingException(
                rule="BR1",
                severity="warn",
                line_ids=_ids(rejected),
                reason=f"{len(rejected)} rejected line(s) will not be billed: {_listed(_ids(rejected))}",
            )
        )
    return found


def rule_double_billing(p: _Period) -> list[BillingException]:
    """BR2: a line linked to an invoice is never billed again, nor is a line given twice."""
    found: list[BillingException] = []
    billed: dict[str, list[str]] = defaultdict(list)
    for line in p.lines():
        if line.invoice_id is not None:
            billed[line.invoice_id].append(line.id)
    for invoice_id, line_ids in billed.items():
        found.append(
            BillingException(
                rule="BR2",
                severity="block",
                line_ids=line_ids,
                reason=f"{_listed(line_ids)} {'is' if len(line_ids) == 1 else 'are'} already billed on invoice "
                f"{invoice_id}: take {'it' if len(line_ids) == 1 else 'them'} out of this invoice",
            )
        )
    twice = [line_id for line_id, count in Counter(_ids(p.lines())).items() if count > 1]
    if twice:
        found.append(
            BillingException(
                rule="BR2",
                severity="block",
                line_ids=twice,
                reason=f"{_listed(twice)} appear(s) more than once in this billing run: it would be billed twice",
            )
        )
    return found


def rule_hours(p: _Period) -> list[BillingException]:
    """BR3: hours must be positive; billing hours above hours are a warning; no billable hours, no invoice."""
    found: list[BillingException] = []
    for line in p.time:
        if line.hours <= 0:
            found.append(
                BillingException(
                    rule="BR3",
                    severity="block",
                    line_ids=[line.id],
                    reason=f"time entry {line.id} of {line.worker_id} on {line.work_date} has "
                    f"{_hours(line.hours)}: correct the hours or delete the entry",
                )
            )
        elif line.billing_hours > line.hours:
            found.append(
                BillingException(
                    rule="BR3",
                    severity="warn",
                    line_ids=[line.id],
                    reason=f"time entry {line.id} bills {_hours(line.billing_hours)} but records "
                    f"{_hours(line.hours)}: check the billing hours before the client does",
                )
            )
    if not p.fixed_fee and p.billable_hours <= 0 and p.draft_total <= 0:
        found.append(
            BillingException(
                rule="BR3",
                severity="block",
                reason=f"no billable hours for {p.project.project_name} from {p.period.start} to {p.period.end}: "
                "there is nothing to invoice",
            )
        )
    return found


def rule_overlaps(p: _Period) -> list[BillingException]:
    """BR4: one worker cannot be in two intervals at once (a.from < b.to and b.from < a.to)."""
    found: list[BillingException] = []
    by_worker: dict[str, list[TimeEntry]] = defaultdict(list)
    for line in p.time:
        if line.from_time is not None and line.to_time is not None:
            by_worker[line.worker_id].append(line)
    for worker, lines in by_worker.items():
        lines.sort(key=lambda line: line.from_time)  # type: ignore[arg-type, return-value]
        latest = lines[0]
        for line in lines[1:]:
            assert line.from_time is not None and latest.to_time is not None
            if line.from_time < latest.to_time:
                found.append(
                    BillingException(
                        rule="BR4",
                        severity="block",
                        line_ids=[latest.id, line.id],
                        reason=f"{worker} has overlapping time: {latest.id} "
                        f"({latest.from_time:%Y-%m-%d %H:%M}-{latest.to_time:%H:%M}) and {line.id} "
                        f"({line.from_time:%Y-%m-%d %H:%M}-{line.to_time:%H:%M}): correct one of them",
                    )
                )
            if line.to_time is not None and line.to_time > latest.to_time:
                latest = line
    return found


@dataclass
class _Rate:
    amount: Decimal
    source: str


def expected_rate(
    line: TimeEntry,
    rate_card: RateCard | None,
    contract: Contract | None,
    roles: Mapping[str, list[str]],
) -> _Rate | None:
    """The rate that applies to a time entry: the rate card's line for the worker, else for the role, else
    the activity's default (ERPNext Activity Cost falling back to Activity Type), in the line's currency and
    in force on the work date; without one, the contract's rate for the role."""
    role_names = [line.role] if line.role else list(roles.get(line.worker_id, []))
    if (
        rate_card is not None
        and rate_card.effective_date <= line.work_date
        and (rate_card.end_date is None or line.work_date <= rate_card.end_date)
    ):
        candidates: list[tuple[int, RateCardLine]] = []
        for card_line in rate_card.lines:
            if card_line.activity_type != line.activity_type or card_line.currency != line.currency:
                continue
            if card_line.worker_id is not None:
                if card_line.worker_id == line.worker_id:
                    candidates.append((0, card_line))
            elif card_line.role is not None:
                if card_line.role in role_names:
                    candidates.append((1, card_line))
            else:
                candidates.append((2, card_line))
        if candidates:
            rank, best = min(candidates, key=lambda candidate: candidate[0])
            who = ("for " + line.worker_id, f"for {best.role}", "for the activity")[rank]
            return _Rate(best.billing_rate, f"rate card {rate_card.name!r} {who} on {line.activity_type}")
    if contract is not None and contract.currency == line.currency:
        for role in role_names:
            if role in contract.rates_by_role:
                return _Rate(contract.rates_by_role[role], f"contract {contract.id} for {role}")
    return None


def rule_rates(
    p: _Period, rate_card: RateCard | None, roles: Mapping[str, list[str]]
) -> list[BillingException]:
    """BR5: the billing rate is the rate card's (within a tolerance), the amount is rate x billing hours, and a
    non-billable line carries no rate."""
    found: list[BillingException] = []
    tolerance, amount_tolerance = p.policy.rate_tolerance, p.policy.amount_tolerance
    for line in p.time:
        if not line.is_billable:
            if line.billing_rate != 0 or line.billing_amount != 0:
                found.append(
                    BillingException(
                        rule="BR5",
                        severity="block",
                        line_ids=[line.id],
                        reason=f"time entry {line.id} is not billable but carries a rate of "
                        f"{money(line.currency, line.billing_rate)}/h: set the rate to 0 or mark it billable",
                    )
                )
            continue
        if p.fixed_fee:
            continue  # a fixed fee bills milestones, not hours
        rate = expected_rate(line, rate_card, p.contract, roles)
        if rate is None:
            found.append(
                BillingException(
                    rule="BR5",
                    severity="block",
                    line_ids=[line.id],
                    reason=f"no rate for {line.worker_id} ({line.role or 'no role'}) on {line.activity_type} in "
                    f"{line.currency} on {line.work_date}: add it to the rate card",
                )
            )
        elif abs(line.billing_rate - rate.amount) > tolerance:
            found.append(
                BillingException(
                    rule="BR5",
                    severity="block",
                    line_ids=[line.id],
                    reason=f"time entry {line.id} is billed at {money(line.currency, line.billing_rate)}/h but the "
                    f"{rate.source} is {money(line.currency, rate.amount)}/h",
                )
            )
        expected_amount = line.billing_rate * line.billing_hours
        if abs(line.billing_amount - expected_amount) > amount_tolerance:
            found.append(
                BillingException(
                    rule="BR5",
                    severity="block",
                    line_ids=[line.id],
                    reason=f"time entry {line.id} amounts to {money(line.currency, line.billing_amount)} but "
                    f"{_hours(line.billing_hours)} at {money(line.currency, line.billing_rate)}/h is "
                    f"{money(line.currency, expected_amount)}",
                )
            )
    return found


def rule_not_to_exceed(p: _Period, billed_to_date: Decimal) -> list[BillingException]:
    """BR6: billed to date plus this draft must stay within the contract's cap. Past it the invoice is
    blocked; from ``nte_notify_overrun_pct`` over, the client is notified; from ``nte_preapproval_overrun_pct``
    over, billing past the cap needs the client's pre-approval."""
    if p.contract is None or p.contract.not_to_exceed is None:
        return []
    cap, currency = p.contract.not_to_exceed, p.currency
    total = billed_to_date + p.draft_total
    if cap <= 0:
        return [] if total <= 0 else [_nte_block(p, total, cap, None, None)]
    share = total / cap * _HUNDRED
    if total > cap:
        overrun = share - _HUNDRED
        escalation: Literal["notify", "pre_approval"] | None = None
        if overrun >= p.policy.nte_preapproval_overrun_pct:
            escalation = "pre_approval"
        elif overrun >= p.policy.nte_notify_overrun_pct:
            escalation = "notify"
        return [_nte_block(p, total, cap, overrun, escalation)]
    if share >= p.policy.nte_warn_at_pct_of_cap:
        return [
            BillingException(
                rule="BR6",
                severity="warn",
                reason=f"with this invoice {p.contract.id} reaches {share:.0f} % of its not-to-exceed "
                f"{money(currency, cap)} ({money(currency, total)} billed): consider a change order",
            )
        ]
    return []


def _nte_block(
    p: _Period,
    total: Decimal,
    cap: Decimal,
    overrun: Decimal | None,
    escalation: Literal["notify", "pre_approval"] | None,
) -> BillingException:
    assert p.contract is not None
    action = {
        None: "write the draft down to the cap or get a change order",
        "notify": "write the draft down to the cap or get a change order, and notify the client",
        "pre_approval": "the client must pre-approve billing past the cap (or write the draft down to it)",
    }[escalation]
    share = f" ({overrun:.1f} % over)" if overrun is not None else ""
    return BillingException(
        rule="BR6",
        severity="block",
        escalation=escalation,
        reason=f"{money(p.currency, total)} billed with this draft exceeds the not-to-exceed "
        f"{money(p.currency, cap)} of {p.contract.id}{share}: {action}",
    )


def rule_milestones(p: _Period) -> list[BillingException]:
    """BR7: a fixed fee bills a milestone only once the client has accepted it."""
    if p.contract is None or not p.fixed_fee:
        return []
    found: list[BillingException] = []
    status_of = {milestone.id: milestone for milestone in p.contract.milestones}
    for milestone in p.contract.milestones:
        due = milestone.due_date is not None and milestone.due_date <= p.period.end
        if milestone.status in ("planned", "delivered") and due:
            found.append(
                BillingException(
                    rule="BR7",
                    severity="block",
                    line_ids=[milestone.id],
                    reason=f"milestone {milestone.name!r} ({money(p.currency, milestone.amount)}) was due "
                    f"{milestone.due_date} and is {milestone.status}, not accepted: it bills once the client "
                    "accepts it",
                )
            )
    if not p.milestones and not found:
        found.append(
            BillingException(
                rule="BR7",
                severity="block",
                reason=f"no accepted milestone of {p.contract.id} is left to bill: there is nothing to invoice",
            )
        )
    linked = [
        line
        for line in p.time
        if line.is_billable
        and line.task in status_of
        and status_of[line.task].status not in ("accepted", "invoiced")
    ]
    if linked:
        found.append(
            BillingException(
                rule="BR7",
                severity="block",
                line_ids=_ids(linked),
                reason=f"{len(linked)} billable time entr{'y is' if len(linked) == 1 else 'ies are'} on "
                "milestones not yet accepted: they bill with the milestone, once accepted",
            )
        )
    return found


def rule_purchase_order(
    p: _Period, purchase_order: PurchaseOrder | None, draft_total: Decimal
) -> list[BillingException]:
    """BR8: a client that requires a PO gets invoices that quote one, dated on or before the invoice, with
    enough balance left."""
    if not p.client.requires_po:
        return []
    if purchase_order is None:
        return [
            BillingException(
                rule="BR8",
                severity="block",
                reason=f"{p.client.customer_name} requires a purchase order on every invoice and none is on file "
                "for this project: ask the client for one",
            )
        ]
    found: list[BillingException] = []
    if purchase_order.po_date > p.period.invoice_date:
        found.append(
            BillingException(
                rule="BR8",
                severity="block",
                reason=f"PO {purchase_order.po_no} is dated {purchase_order.po_date}, after the invoice date "
                f"{p.period.invoice_date}",
            )
        )
    if purchase_order.currency != p.currency:
        found.append(
            BillingException(
                rule="BR8",
                severity="block",
                reason=f"PO {purchase_order.po_no} is in {purchase_order.currency}, the invoice in {p.currency}",
            )
        )
    elif purchase_order.balance < draft_total:
        found.append(
            BillingException(
                rule="BR8",
                severity="block",
                reason=f"PO {purchase_order.po_no} has {money(p.currency, purchase_order.balance)} left, less than "
                f"the {money(p.currency, draft_total)} to invoice: ask the client to raise it",
            )
        )
    return found


def rule_closed_or_frozen(
    p: _Period, client_outstanding: Decimal, draft_total: Decimal
) -> list[BillingException]:
    """BR9: no billing on a completed or cancelled project or for work after its end; a frozen or disabled
    client, or one over its credit limit, is put on hold."""
    found: list[BillingException] = []
    if p.project.status in ("completed", "cancelled"):
        found.append(
            BillingException(
                rule="BR9",
                severity="block",
                line_ids=_ids(p.lines()),
                reason=f"project {p.project.project_name} is {p.project.status}: reopen it or bill the work "
                "elsewhere",
            )
        )
    ends = [day for day in (p.project.expected_end_date, p.contract.end_date if p.contract else None) if day]
    if ends:
        end = min(ends)
        late = [line.id for line in p.time if line.work_date > end] + [
            line.id for line in p.expenses if line.expense_date > end
        ]
        if late:
            found.append(
                BillingException(
                    rule="BR9",
                    severity="block",
                    line_ids=late,
                    reason=f"{len(late)} line(s) are dated after the project's end on {end}: extend the project "
                    "or the contract first",
                )
            )
    if p.client.is_frozen or p.client.disabled:
        found.append(
            BillingException(
                rule="BR9",
                severity="hold",
                reason=f"{p.client.customer_name} is {'frozen' if p.client.is_frozen else 'disabled'} in the ERP: "
                "finance must release the account before it is invoiced",
            )
        )
    limit = p.client.credit_limit
    if limit is not None and client_outstanding + draft_total > limit:
        found.append(
            BillingException(
                rule="BR9",
                severity="hold",
                reason=f"{p.client.customer_name} would owe {money(p.currency, client_outstanding + draft_total)} "
                f"with this invoice, over its credit limit of {money(p.currency, limit)}: ask finance",
            )
        )
    return found


def rule_currency_and_tax(p: _Period, tax_template: str | None) -> list[BillingException]:
    """BR10: the invoice is in the client's currency; every line in the invoice currency; a tax id and a tax
    template are on file."""
    found: list[BillingException] = []
    if p.currency != p.client.default_currency:
        found.append(
            BillingException(
                rule="BR10",
                severity="block",
                reason=f"the invoice would be in {p.currency} but {p.client.customer_name} is billed in "
                f"{p.client.default_currency}: align the contract or the customer's currency",
            )
        )
    other = [line.id for line in p.lines() if line.currency != p.currency]
    if other:
        found.append(
            BillingException(
                rule="BR10",
                severity="block",
                line_ids=other,
                reason=f"{len(other)} line(s) are not in {p.currency}: {_listed(other)}; convert them first",
            )
        )
    if p.policy.require_tax_id and p.client.customer_type != "individual" and p.client.tax_id is None:
        found.append(
            BillingException(
                rule="BR10",
                severity="block",
                reason=f"{p.client.customer_name} has no tax id on file: add it to the customer",
            )
        )
    if p.policy.require_tax_template and not tax_template:
        found.append(
            BillingException(
                rule="BR10",
                severity="block",
                reason="no sales tax template is set for this invoice: choose one",
            )
        )
    return found


# ------------------------------------------------------------------------------------------------------------
# Entry points
# ------------------------------------------------------------------------------------------------------------


def check_billing_readiness(
    project: Project,
    client: Client,
    contract: Contract | None,
    time_entries: Sequence[TimeEntry],
    expenses: Sequence[ExpenseEntry],
    rate_card: RateCard | None,
    billed_to_date: Decimal,
    period: BillingPeriod,
    policy: BillingPolicy | None = None,
    *,
    workers: Sequence[Worker] | None = None,
    purchase_order: PurchaseOrder | None = None,
    tax_template: str | None = None,
    client_outstanding: Decimal = _ZERO,
) -> ReadinessReport:
    """Runs BR1 to BR10 on the project's lines of the period.

    ``workers`` (optional) gives the staff list and roles: an unknown worker is an exception, and a role
    missing on a line is taken from the worker. ``purchase_order`` is the client's PO (BR8),
    ``tax_template`` the invoice's tax template (BR10), ``client_outstanding`` what the client owes already
    (credit limit, BR9). A line is billable when it is in the period, of this project, submitted or approved,
    not billed before and no block names it.
    """
    policy = policy or BillingPolicy()
    p = _sort_out(project, client, contract, time_entries, expenses, period, policy)
    roles = {worker.id: list(worker.roles) for worker in workers or ()}
    draft_total = p.draft_total
    found = [
        *rule_input(p, time_entries, expenses, workers),
        *rule_unapproved_time(p),
        *rule_double_billing(p),
        *rule_hours(p),
        *rule_overlaps(p),
        *rule_rates(p, rate_card, roles),
        *rule_not_to_exceed(p, billed_to_date),
        *rule_milestones(p),
        *rule_purchase_order(p, purchase_order, draft_total),
        *rule_closed_or_frozen(p, client_outstanding, draft_total),
        *rule_currency_and_tax(p, tax_template),
    ]
    return _report(p, found, draft_total)


def _report(p: _Period, found: list[BillingException], draft_total: Decimal) -> ReadinessReport:
    blocked_lines = {line_id for item in found if item.severity == "block" for line_id in item.line_ids}
    severities = {item.severity for item in found}
    status: ReadinessStatus = (
        "blocked"
        if "block" in severities
        else "on_hold"
        if "hold" in severities
        else "ready_with_warnings"
        if severities
        else "ready"
    )
    return ReadinessReport(
        project_id=p.project.id,
        client_id=p.client.id,
        period_start=p.period.start,
        period_end=p.period.end,
        currency=p.currency,
        status=status,
        exceptions=found,
        billable_time_entry_ids=[
            line.id for line in p.candidate_time if line.is_billable and line.id not in blocked_lines
        ],
        billable_expense_ids=[line.id for line in p.candidate_expenses if line.id not in blocked_lines],
        billable_milestone_ids=[m.id for m in p.milestones if m.id not in blocked_lines]
        if p.fixed_fee
        else [],
        billable_hours=p.billable_hours,
        draft_total=draft_total,
    )


def check_billing_readiness_json(
    data: Mapping[str, Any], policy: BillingPolicy | None = None
) -> ReadinessReport:
    """The readiness of a JSON-shaped request (as a handler receives it): ``project``, ``client``,
    ``contract``, ``time_entries``, ``expenses``, ``rate_card``, ``billed_to_date``, ``period`` and optionally
    ``workers``, ``purchase_order``, ``tax_template``, ``client_outstanding``.

    A line that does not validate (negative hours, an unknown currency code) is left out and reported as an
    INPUT block naming the field; a request whose project, client or period does not validate raises
    ``ValueError`` with the reasons, since there is nothing to report on.
    """
    problems: list[str] = []

    def parse(model: type[JsonModel], value: Any, where: str) -> Any:
        try:
            return model.from_json_dict(value)
        except ValidationError as error:
            problems.extend(readable_errors(error, where))
            return None
        except (TypeError, ValueError) as error:
            problems.append(f"{where}: {error}")
            return None

    project = parse(Project, data.get("project") or {}, "project")
    client = parse(Client, data.get("client") or {}, "client")
    period = parse(BillingPeriod, data.get("period") or {}, "period")
    if project is None or client is None or period is None:
        raise ValueError("; ".join(problems))
    contract = parse(Contract, data["contract"], "contract") if data.get("contract") else None
    rate_card = parse(RateCard, data["rate_card"], "rate_card") if data.get("rate_card") else None
    purchase_order = (
        parse(PurchaseOrder, data["purchase_order"], "purchase_order") if data.get("purchase_order") else None
    )
    workers = [parse(Worker, item, f"workers[{i}]") for i, item in enumerate(data.get("workers") or [])]
    header_problems = list(problems)
    invalid: list[BillingException] = []
    lines: dict[str, list[Any]] = {"time_entries": [], "expenses": []}
    for key, model in (("time_entries", TimeEntry), ("expenses", ExpenseEntry)):
        for i, item in enumerate(data.get(key) or []):
            before = len(problems)
            parsed = parse(model, item, f"{key}[{i}]")
            if parsed is None:
                line_id = str(item.get("id", f"{key}[{i}]")) if isinstance(item, Mapping) else f"{key}[{i}]"
                invalid.append(
                    BillingException(
                        rule="INPUT",
                        severity="block",
                        line_ids=[line_id],
                        reason=f"{line_id} cannot be billed as recorded: {'; '.join(problems[before:])}",
                    )
                )
            else:
                lines[key].append(parsed)
    try:
        billed_to_date = Decimal(str(data.get("billed_to_date") or 0))
        client_outstanding = Decimal(str(data.get("client_outstanding") or 0))
    except ArithmeticError as error:
        raise ValueError(f"billed_to_date or client_outstanding is not a number: {error}") from error
    report = check_billing_readiness(
        project,
        client,
        contract,
        lines["time_entries"],
        lines["expenses"],
        rate_card,
        billed_to_date,
        period,
        policy,
        workers=[worker for worker in workers if worker is not None] if data.get("workers") else None,
        purchase_order=purchase_order,
        tax_template=data.get("tax_template"),
        client_outstanding=client_outstanding,
    )
    extra = [*invalid]
    if header_problems:
        extra.append(BillingException(rule="INPUT", severity="block", reason="; ".join(header_problems)))
    if not extra:
        return report
    return _report_with(report, extra)


def _report_with(report: ReadinessReport, extra: list[BillingException]) -> ReadinessReport:
    found = [*extra, *report.exceptions]
    blocked = {line_id for item in extra for line_id in item.line_ids}
    return report.model_copy(
        update={
            "exceptions": found,
            "status": "blocked",
            "billable_time_entry_ids": [i for i in report.billable_time_entry_ids if i not in blocked],
            "billable_expense_ids": [i for i in report.billable_expense_ids if i not in blocked],
        }
    )
