"""Revenue recognition support at period close, one project at a time: what the period earned, by which method,
on what basis an auditor can recompute it, where the project stands against its invoices (unbilled receivable
or deferred revenue), and what finance should look at before the journal is posted.

The methods (``RevenuePolicy.methods`` picks one per billing model; a contract may name its own):

- **as delivered** (time and materials): approved billable hours x their billing rate, in the period the work
  was done, one line per role and rate. Approved time dated before the period that no earlier close recognized
  (approved late) is caught up by a ``catch_up`` line, with a finding. A not-to-exceed cap limits the
  cumulative revenue (a ``not_to_exceed`` line takes off what is above it).
- **percent complete** (fixed fee): hours (or cost) to date over the estimate at completion, capped at 100 %;
  cumulative revenue = fee x percent; the period's revenue is cumulative minus what earlier closes recognized,
  negative when the estimate rose (a reversal, flagged for review). No estimate: a finding, nothing recognized.
- **milestones** (a fixed-fee contract with milestones, by default): each milestone's amount in the period its
  client accepted it (``accepted_date`` within the period, status accepted or invoiced), nothing before.
- **ratable** (retainer): the monthly fee for each calendar month of the contract's service period; a month the
  service covers in part (the first and last) earns fee x service days / days of that month. So a full month
  earns exactly the fee whatever its length, and February's partial days weigh more than July's, as the client
  pays a month's fee for a month.

Every method computes the cumulative revenue to the period's end; the period's revenue is that less what
earlier closes recognized, and whatever the period's own lines do not explain is one ``catch_up`` line with a
finding, so the lines always add up to the period's revenue and the cumulative figure is always right.

Money is Decimal, rounded half-up to the currency's minor unit where a figure is stated (a line, a cumulative
figure); ratios are kept exact until then (cumulative = fee x hours to date / estimate, rounded once). A project
has one currency (its contract's); time in another currency is left out with a finding, never added in. Pure
functions: dates come in with the inputs, no clock, no I/O.
"""

from __future__ import annotations

import calendar
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Literal, Self

from pydantic import ConfigDict, Field, model_validator

from backoffice.finance_close.revenue_policy import (
    PercentCompleteBasis,
    RecognitionMethod,
    RevenuePolicy,
)
from backoffice.invoicing.readiness import BillingPeriod
from backoffice.models import BillingModel, Contract, Project, ProjectEstimate, TimeEntry
from backoffice.models.envelope import JsonModel

_ZERO = Decimal(0)
_HUNDRED = Decimal(100)
_PERCENT_SHOWN = Decimal("0.01")

# ISO 4217 minor units other than 2, for the currencies the canonical models accept.
_ZERO_DECIMALS = "BIF CLP DJF GNF ISK JPY KMF KRW PYG RWF UGX VND VUV XAF XOF XPF"
_THREE_DECIMALS = "BHD IQD JOD KWD LYD OMR TND"
_MINOR_UNITS = {**dict.fromkeys(_ZERO_DECIMALS.split(), 0), **dict.fromkeys(_THREE_DECIMALS.split(), 3)}


def round_money(amount: Decimal, currency: str) -> Decimal:
    """``amount`` rounded half-up to the currency's minor unit (cents; yen to the unit; dinars to the fils)."""
    return amount.quantize(Decimal(1).scaleb(-_MINOR_UNITS.get(currency, 2)), rounding=ROUND_HALF_UP)


def _money(amount: Decimal) -> str:
    return f"{amount:,}"


# ------------------------------------------------------------------------------------------------------------
# Inputs
# ------------------------------------------------------------------------------------------------------------


class EstimateAtCompletion(ProjectEstimate):
    """The estimate at completion as the PSA holds it (``ProjectEstimate``: total hours and total cost the project
    will take; either may be missing, as in a PSA that estimates hours only), read in the percent-complete basis."""

    def of(self, basis: PercentCompleteBasis) -> Decimal | None:
        return self.hours if basis == "hours" else self.cost


class ProjectRevenueInputs(JsonModel):
    """What the close needs of one project for one period; the handler reads it from the PSA, the ERP and the
    previous close's results.

    ``recognized_to_date`` and the two balances ``*_before`` are the previous close's figures for the project
    (its ``cumulative_recognized``, ``unbilled_receivable`` and ``deferred_revenue``). On a project's first close
    the balances are zero (nothing booked yet) and ``recognized_to_date`` is what the ledger holds for it, if the
    handler knows it; left at zero, the first close reports all revenue to date as the period's, with a
    ``recognized_to_date_differs`` finding (the journal is right either way: it books balances, not revenue).
    ``billed_to_date`` is the sum of the project's posted invoices up to the period's end, in the project's
    currency. ``recognition_method`` and ``percent_complete_basis`` are what the contract says, if it says;
    ``None``: the policy decides.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    period_start: date
    period_end: date
    project: Project
    contract: Contract | None = None
    # Approved time up to the period's end (earlier periods included: percent complete counts them all, and
    # time and materials catches up what was approved after an earlier close). Other entries are left out.
    time_entries: list[TimeEntry] = Field(default_factory=list)
    estimate: EstimateAtCompletion | None = None
    previous_estimate: EstimateAtCompletion | None = None  # the previous period's, to flag a change
    recognized_to_date: Decimal = _ZERO  # before this period
    billed_to_date: Decimal = _ZERO
    unbilled_receivable_before: Decimal = Field(default=_ZERO, ge=0)
    deferred_revenue_before: Decimal = Field(default=_ZERO, ge=0)
    recognition_method: RecognitionMethod | None = None
    percent_complete_basis: PercentCompleteBasis | None = None

    @model_validator(mode="after")
    def _period_in_order(self) -> Self:
        if self.period_end < self.period_start:
            raise ValueError("the period ends before it starts")
        return self


# ------------------------------------------------------------------------------------------------------------
# Results
# ------------------------------------------------------------------------------------------------------------

LineKind = Literal["time", "percent_complete", "milestone", "retainer", "not_to_exceed", "catch_up"]

FlagCode = Literal[
    # for review by finance before the journal is approved
    "eac_changed",
    "percent_complete_capped",
    "negative_catch_up",
    # findings: listed with the run
    "no_estimate_at_completion",
    "no_contract",
    "no_fee",
    "no_milestones",
    "milestone_without_acceptance_date",
    "recognized_to_date_differs",
    "not_to_exceed_reached",
    "other_currency_time",
    "contract_differs_from_project",
]
# What goes to finance's review with the journal: a moved estimate, a project past its estimate, a reversal.
# The other flags are data problems to fix in the PSA; they are listed with the run.
REVIEW_FLAGS: frozenset[FlagCode] = frozenset({"eac_changed", "percent_complete_capped", "negative_catch_up"})


class RecognitionLine(JsonModel):
    """One amount of the period's revenue and what it was computed from: ``basis`` is the formula with its
    figures; the fields beside it carry the same figures for a program to recompute."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: LineKind
    amount: Decimal
    basis: str
    role: str | None = None
    hours: Decimal | None = None
    rate: Decimal | None = None
    entries: int | None = None
    fee: Decimal | None = None
    measure_to_date: Decimal | None = None  # hours or cost to date, of percent complete
    estimate_at_completion: Decimal | None = None
    percent_complete: Decimal | None = None  # shown to 0.01 %; the amount uses the exact ratio
    milestone_id: str | None = None
    accepted_date: date | None = None
    month: str | None = None  # "2026-10", of a retainer line
    service_days: int | None = None
    days_in_month: int | None = None


class RevenueFlag(JsonModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    code: FlagCode
    review: bool
    message: str
    old: Decimal | None = None
    new: Decimal | None = None


def _flag(
    code: FlagCode, message: str, old: Decimal | None = None, new: Decimal | None = None
) -> RevenueFlag:
    return RevenueFlag(code=code, review=code in REVIEW_FLAGS, message=message, old=old, new=new)


class ProjectRevenue(JsonModel):
    """One project's recognition for the period: its lines, where it stands, its flags.

    ``cumulative_recognized = recognized_before + recognized_this_period``; the lines add up to
    ``recognized_this_period``. Against the invoices: ``unbilled_receivable`` (contract asset) when more was
    earned than billed, ``deferred_revenue`` (contract liability) when more was billed than earned; one of them
    is zero.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    project_id: str
    contract_id: str | None = None
    currency: str
    billing_model: BillingModel
    method: RecognitionMethod
    period_start: date
    period_end: date
    lines: list[RecognitionLine]
    recognized_before: Decimal
    recognized_this_period: Decimal
    cumulative_recognized: Decimal
    billed_to_date: Decimal
    unbilled_receivable: Decimal = Field(ge=0)
    deferred_revenue: Decimal = Field(ge=0)
    unbilled_receivable_before: Decimal = Field(default=_ZERO, ge=0)
    deferred_revenue_before: Decimal = Field(default=_ZERO, ge=0)
    percent_complete: Decimal | None = None
    flags: list[RevenueFlag] = Field(default_factory=list)

    @model_validator(mode="after")
    def _adds_up(self) -> Self:
        if self.recognized_before + self.recognized_this_period != self.cumulative_recognized:
            raise ValueError("recognized before + this period is not the cumulative revenue")
        if sum((line.amount for line in self.lines), _ZERO) != self.recognized_this_period:
            raise ValueError("the lines do not add up to the period's revenue")
        if (
            self.unbilled_receivable - self.deferred_revenue
            != self.cumulative_recognized - self.billed_to_date
        ):
            raise ValueError("unbilled receivable and deferred revenue do not match recognized less billed")
        return self

    @property
    def needs_review(self) -> bool:
        return any(flag.review for flag in self.flags)

    @property
    def basis_reference(self) -> str:
        """Where an auditor finds the lines of a journal line: this result, by project and period."""
        return f"revenue:{self.project_id}:{self.period_start.isoformat()}:{self.period_end.isoformat()}"


# ------------------------------------------------------------------------------------------------------------
# Recognition
# ------------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Recognition:
    """What a method found: the cumulative revenue to the period's end (``None``: it could not say, so nothing
    is recognized) and the lines of the period that explain it."""

    cumulative: Decimal | None
    lines: list[RecognitionLine]
    percent: Decimal | None = None


def recognize_project_revenue(
    inputs: ProjectRevenueInputs, policy: RevenuePolicy | None = None
) -> ProjectRevenue:
    """The period's revenue of one project, by its contract's method. Bad or missing data (no contract, no fee,
    no estimate) is a flag on the result and nothing is recognized for it; never an exception."""
    policy = policy or RevenuePolicy()
    project, contract = inputs.project, inputs.contract
    flags: list[RevenueFlag] = []
    billing_model = contract.billing_model if contract is not None else project.billing_model
    currency = contract.currency if contract is not None else project.currency
    if contract is not None and (contract.billing_model, contract.currency) != (
        project.billing_model,
        project.currency,
    ):
        flags.append(
            _flag(
                "contract_differs_from_project",
                f"the contract is {contract.billing_model} in {contract.currency}, the project "
                f"{project.billing_model} in {project.currency}: the contract's are used",
            )
        )
    method = inputs.recognition_method or policy.methods.for_contract(
        billing_model, has_milestones=bool(contract is not None and contract.milestones)
    )
    basis = inputs.percent_complete_basis or policy.percent_complete_basis
    entries = [
        entry
        for entry in inputs.time_entries
        if entry.status == "approved"
        and entry.work_date <= inputs.period_end
        and entry.project_id == project.id
    ]
    if method != "as_delivered" and contract is None:
        flags.append(
            _flag("no_contract", f"{method.replace('_', ' ')} needs the contract: nothing recognized")
        )
        found = _Recognition(None, [])
    elif method == "as_delivered":
        found = _as_delivered(inputs, entries, currency, flags)
    elif method == "percent_complete":
        found = _percent_complete(inputs, entries, currency, basis, flags)
    elif method == "milestones":
        found = _milestones(inputs, currency, flags)
    else:
        found = _ratable(inputs, currency, flags)
    flags.extend(_estimate_change(inputs, basis, policy))
    return _result(inputs, billing_model, currency, method, found, flags)


def _result(
    inputs: ProjectRevenueInputs,
    billing_model: BillingModel,
    currency: str,
    method: RecognitionMethod,
    found: _Recognition,
    flags: list[RevenueFlag],
) -> ProjectRevenue:
    before = inputs.recognized_to_date
    cumulative = before if found.cumulative is None else found.cumulative
    lines = list(found.lines)
    unexplained = cumulative - before - sum((line.amount for line in lines), _ZERO)
    if unexplained != 0:
        explained = sum((line.amount for line in lines), _ZERO)
        lines.append(
            RecognitionLine(
                kind="catch_up",
                amount=unexplained,
                basis=f"cumulative {_money(cumulative)} - recognized before {_money(before)} - "
                f"this period's lines {_money(explained)} = {_money(unexplained)}",
            )
        )
        flags.append(
            _flag(
                "recognized_to_date_differs",
                f"earlier closes recognized {_money(before)}, the {method.replace('_', ' ')} figures to the period's "
                f"start come to {_money(cumulative - explained)}: {_money(unexplained)} caught up",
                old=before,
                new=cumulative - explained,
            )
        )
    this_period = cumulative - before
    if this_period < 0:
        flags.append(
            _flag(
                "negative_catch_up",
                f"cumulative revenue falls from {_money(before)} to {_money(cumulative)}: the period reverses "
                f"{_money(-this_period)}"
                + (" (the estimate at completion rose)" if method == "percent_complete" else ""),
                old=before,
                new=cumulative,
            )
        )
    position = cumulative - inputs.billed_to_date
    contract = inputs.contract
    return ProjectRevenue(
        project_id=inputs.project.id,
        contract_id=contract.id if contract is not None else None,
        currency=currency,
        billing_model=billing_model,
        method=method,
        period_start=inputs.period_start,
        period_end=inputs.period_end,
        lines=lines,
        recognized_before=before,
        recognized_this_period=this_period,
        cumulative_recognized=cumulative,
        billed_to_date=inputs.billed_to_date,
        unbilled_receivable=round_money(max(position, _ZERO), currency),
        deferred_revenue=round_money(max(-position, _ZERO), currency),
        unbilled_receivable_before=inputs.unbilled_receivable_before,
        deferred_revenue_before=inputs.deferred_revenue_before,
        percent_complete=found.percent,
        flags=flags,
    )


def _in_currency(entries: Sequence[TimeEntry], currency: str, flags: list[RevenueFlag]) -> list[TimeEntry]:
    kept = [entry for entry in entries if entry.currency == currency]
    others = sorted({entry.currency for entry in entries if entry.currency != currency})
    if others:
        count = sum(1 for entry in entries if entry.currency != currency)
        flags.append(
            _flag(
                "other_currency_time",
                f"{count} time entr{'y' if count == 1 else 'ies'} in {', '.join(others)}, not the project's "
                f"{currency}: left out",
            )
        )
    return kept


def _as_delivered(
    inputs: ProjectRevenueInputs, entries: Sequence[TimeEntry], currency: str, flags: list[RevenueFlag]
) -> _Recognition:
    billable = _in_currency([e for e in entries if e.is_billable and e.billing_hours > 0], currency, flags)
    groups: dict[tuple[str | None, Decimal], list[TimeEntry]] = defaultdict(list)
    earlier: dict[tuple[str | None, Decimal], Decimal] = defaultdict(Decimal)
    for entry in billable:
        if entry.work_date >= inputs.period_start:
            groups[(entry.role, entry.billing_rate)].append(entry)
        else:
            earlier[(entry.role, entry.billing_rate)] += entry.billing_hours
    lines = []
    for (role, rate), grouped in sorted(groups.items(), key=lambda item: (item[0][0] or "", item[0][1])):
        hours = sum((entry.billing_hours for entry in grouped), _ZERO)
        amount = round_money(hours * rate, currency)
        first, last = min(e.work_date for e in grouped), max(e.work_date for e in grouped)
        lines.append(
            RecognitionLine(
                kind="time",
                amount=amount,
                basis=f"{hours} h x {_money(rate)}{f' ({role})' if role else ''} = {_money(amount)}; "
                f"{len(grouped)} approved entr{'y' if len(grouped) == 1 else 'ies'} {first} to {last}",
                role=role,
                hours=hours,
                rate=rate,
                entries=len(grouped),
            )
        )
    delivered = sum(
        (round_money(hours * rate, currency) for (_, rate), hours in earlier.items()), _ZERO
    ) + sum((line.amount for line in lines), _ZERO)
    cap = inputs.contract.not_to_exceed if inputs.contract is not None else None
    if cap is not None and delivered > cap:
        lines.append(
            RecognitionLine(
                kind="not_to_exceed",
                amount=cap - delivered,
                basis=f"delivered to date {_money(delivered)} above the not-to-exceed {_money(cap)}: "
                f"{_money(delivered - cap)} not recognized",
                fee=cap,
            )
        )
        flags.append(
            _flag(
                "not_to_exceed_reached",
                f"time delivered to date {_money(delivered)} exceeds the cap {_money(cap)}: revenue held at the cap",
                old=delivered,
                new=cap,
            )
        )
        delivered = cap
    return _Recognition(delivered, lines)


def _percent_complete(
    inputs: ProjectRevenueInputs,
    entries: Sequence[TimeEntry],
    currency: str,
    basis: PercentCompleteBasis,
    flags: list[RevenueFlag],
) -> _Recognition:
    contract = inputs.contract
    assert contract is not None  # the caller checked
    fee = contract.fixed_fee
    if fee is None:
        flags.append(_flag("no_fee", f"contract {contract.id} has no fixed fee: nothing recognized"))
        return _Recognition(None, [])
    estimate = inputs.estimate.of(basis) if inputs.estimate is not None else None
    if not estimate:  # None or zero: no ratio to take
        flags.append(
            _flag(
                "no_estimate_at_completion",
                f"no estimate at completion ({basis}) in the PSA: percent complete unknown, nothing recognized",
            )
        )
        return _Recognition(None, [])
    if basis == "hours":
        to_date = sum((entry.hours for entry in entries), _ZERO)
        shown_to_date, shown_estimate = f"{_money(to_date)} h", f"{_money(estimate)} h"
    else:
        priced = _in_currency(entries, currency, flags)
        to_date = round_money(sum((e.hours * e.costing_rate for e in priced), _ZERO), currency)
        shown_to_date, shown_estimate = f"cost {_money(to_date)}", f"cost {_money(estimate)}"
    ratio = to_date / estimate
    uncapped = (ratio * _HUNDRED).quantize(_PERCENT_SHOWN, rounding=ROUND_HALF_UP)
    capped = ratio > 1
    if capped:
        flags.append(
            _flag(
                "percent_complete_capped",
                f"{shown_to_date} to date exceeds the estimate at completion {shown_estimate} "
                f"({uncapped} %): capped at 100 %, update the estimate",
                old=uncapped,
                new=_HUNDRED,
            )
        )
    cumulative = round_money(fee if capped else fee * to_date / estimate, currency)
    percent = _HUNDRED if capped else uncapped
    amount = cumulative - inputs.recognized_to_date
    formula = (
        f"fixed fee {_money(fee)} x 100 % ({shown_to_date} / {shown_estimate} = {uncapped} %, capped)"
        if capped
        else f"fixed fee {_money(fee)} x {shown_to_date} / {shown_estimate} ({percent} %)"
    )
    line = RecognitionLine(
        kind="percent_complete",
        amount=amount,
        basis=f"{formula} = cumulative {_money(cumulative)} - recognized before "
        f"{_money(inputs.recognized_to_date)} = {_money(amount)}",
        fee=fee,
        measure_to_date=to_date,
        estimate_at_completion=estimate,
        percent_complete=percent,
    )
    return _Recognition(cumulative, [line], percent)


def _milestones(inputs: ProjectRevenueInputs, currency: str, flags: list[RevenueFlag]) -> _Recognition:
    contract = inputs.contract
    assert contract is not None  # the caller checked
    if not contract.milestones:
        flags.append(
            _flag("no_milestones", f"contract {contract.id} lists no milestones: nothing recognized")
        )
        return _Recognition(None, [])
    cumulative, lines = _ZERO, []
    for milestone in sorted(contract.milestones, key=lambda m: (m.accepted_date or date.max, m.id)):
        if milestone.status not in ("accepted", "invoiced"):
            continue  # planned or delivered: not yet earned
        accepted = milestone.accepted_date
        if accepted is None:
            flags.append(
                _flag(
                    "milestone_without_acceptance_date",
                    f"milestone {milestone.id} is {milestone.status} with no acceptance date: not recognized",
                )
            )
            continue
        if accepted > inputs.period_end:
            continue
        amount = round_money(milestone.amount, currency)
        cumulative += amount
        if accepted >= inputs.period_start:
            lines.append(
                RecognitionLine(
                    kind="milestone",
                    amount=amount,
                    basis=f"milestone {milestone.id} '{milestone.name}' accepted {accepted}: {_money(amount)}",
                    milestone_id=milestone.id,
                    accepted_date=accepted,
                )
            )
    return _Recognition(cumulative, lines)


def _served_days(month: date, start: date, end: date | None, through: date) -> int:
    """Days of ``month`` (its first day) within the service period [start, end] and on or before ``through``."""
    last_of_month = month.replace(day=calendar.monthrange(month.year, month.month)[1])
    first = max(month, start)
    last = min(last_of_month, through, end or through)
    return max((last - first).days + 1, 0)


def _months(first: date, last: date) -> Iterable[date]:
    month = first.replace(day=1)
    while month <= last:
        yield month
        month = (month + timedelta(days=32)).replace(day=1)


def _ratable(inputs: ProjectRevenueInputs, currency: str, flags: list[RevenueFlag]) -> _Recognition:
    contract = inputs.contract
    assert contract is not None  # the caller checked
    fee = contract.monthly_retainer_fee
    if fee is None:
        flags.append(
            _flag("no_fee", f"contract {contract.id} has no monthly retainer fee: nothing recognized")
        )
        return _Recognition(None, [])
    start, end = contract.effective_date, contract.end_date
    day_before = inputs.period_start - timedelta(days=1)

    def earned(month: date, through: date) -> Decimal:
        days = calendar.monthrange(month.year, month.month)[1]
        return round_money(fee * _served_days(month, start, end, through) / days, currency)

    cumulative, lines = _ZERO, []
    for month in _months(start, min(inputs.period_end, end or inputs.period_end)):
        cumulative += earned(month, inputs.period_end)
        days_in_month = calendar.monthrange(month.year, month.month)[1]
        served = _served_days(month, start, end, inputs.period_end)
        served_before = _served_days(month, start, end, day_before)
        if served == served_before:
            continue  # nothing of this month falls in the period
        amount = earned(month, inputs.period_end) - earned(month, day_before)
        less = (
            f" - {_money(earned(month, day_before))} for its {served_before} days before the period"
            if served_before
            else ""
        )
        lines.append(
            RecognitionLine(
                kind="retainer",
                amount=amount,
                basis=f"monthly fee {_money(fee)} x {served}/{days_in_month} days of {month:%Y-%m} served"
                f"{less} = {_money(amount)}",
                fee=fee,
                month=f"{month:%Y-%m}",
                service_days=served - served_before,
                days_in_month=days_in_month,
            )
        )
    return _Recognition(cumulative, lines)


def _estimate_change(
    inputs: ProjectRevenueInputs, basis: PercentCompleteBasis, policy: RevenuePolicy
) -> list[RevenueFlag]:
    """An estimate at completion that moved more than the policy's share since the previous period: a project
    re-planned (scope, overrun) whose percent complete, and so its revenue, moved with it."""
    if inputs.estimate is None or inputs.previous_estimate is None:
        return []
    new, old = inputs.estimate.of(basis), inputs.previous_estimate.of(basis)
    if new is None or not old:
        return []
    change = (new - old) / old * _HUNDRED
    if abs(change) <= policy.eac_change_review_pct:
        return []
    unit = " h" if basis == "hours" else ""
    return [
        _flag(
            "eac_changed",
            f"estimate at completion {_money(old)}{unit} -> {_money(new)}{unit} "
            f"({change.quantize(Decimal('0.1'), rounding=ROUND_HALF_UP):+} %, over "
            f"{policy.eac_change_review_pct} %)",
            old=old,
            new=new,
        )
    ]


# ------------------------------------------------------------------------------------------------------------
# The run: every project of the period, in a result small enough for Step Functions state
# ------------------------------------------------------------------------------------------------------------


class ProjectRevenueSummary(JsonModel):
    """A project's figures without its lines (those stay in ``ProjectRevenue``, which the handler stores)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    project_id: str
    currency: str
    method: RecognitionMethod
    recognized_this_period: Decimal
    cumulative_recognized: Decimal
    billed_to_date: Decimal
    unbilled_receivable: Decimal
    deferred_revenue: Decimal
    percent_complete: Decimal | None = None
    flags: list[FlagCode] = Field(default_factory=list)


_SUMMARY_FIELDS = set(ProjectRevenueSummary.model_fields) - {"flags"}


class CurrencyTotals(JsonModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    projects: int
    recognized_this_period: Decimal
    cumulative_recognized: Decimal
    billed_to_date: Decimal
    unbilled_receivable: Decimal
    deferred_revenue: Decimal


class RevenueRunFlag(RevenueFlag):
    """A flag of one project, for the run's review list or findings."""

    project_id: str


class RevenueRunResult(JsonModel):
    """The period's recognition for the firm: each project's figures, totals per currency (never one sum across
    currencies), how many projects each method served, what finance must review and what to fix in the PSA.
    About half a KiB a project: 50 projects with a flag each are 25 KiB of the 256 KiB a Step Functions state
    may hold (tests/unit/finance_close/test_revenue_run.py)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    period_start: date
    period_end: date
    projects: list[ProjectRevenueSummary]
    totals: dict[str, CurrencyTotals]
    counts_by_method: dict[RecognitionMethod, int]
    review: list[RevenueRunFlag]
    findings: list[RevenueRunFlag]

    @property
    def projects_for_review(self) -> list[str]:
        """The projects finance must look at before approving the journal, each once."""
        return sorted({flag.project_id for flag in self.review})

    def summary(self) -> str:
        """The run as finance reads it at the close: one line a project, totals per currency, then the review
        list and the findings."""
        methods = ", ".join(
            f"{method.replace('_', ' ')} {count}" for method, count in self.counts_by_method.items()
        )
        out = [
            f"Revenue recognition {self.period_start} to {self.period_end}: {len(self.projects)} projects ({methods})",
            "",
            f"{'PROJECT':<10} {'METHOD':<16} {'DONE':>8} {'CCY':<4} {'THIS PERIOD':>14} {'CUMULATIVE':>14} "
            f"{'BILLED':>14} {'UNBILLED':>13} {'DEFERRED':>13}  FLAGS",
        ]
        for p in self.projects:
            mark = "!! " if any(code in REVIEW_FLAGS for code in p.flags) else "   "
            done = f"{p.percent_complete} %" if p.percent_complete is not None else ""
            figures = (p.recognized_this_period, p.cumulative_recognized, p.billed_to_date)
            balances = (p.unbilled_receivable, p.deferred_revenue)
            out.append(
                f"{mark}{p.project_id:<7} {p.method:<16} {done:>8} {p.currency:<4} "
                + " ".join(f"{round_money(amount, p.currency):>14,}" for amount in figures)
                + "".join(f"{round_money(amount, p.currency):>14,}" for amount in balances)
                + f"  {', '.join(p.flags)}"
            )
        out.append("")
        out.append("Totals by currency:")
        for currency, t in self.totals.items():
            named = (
                ("recognized this period", t.recognized_this_period),
                ("cumulative", t.cumulative_recognized),
                ("billed", t.billed_to_date),
                ("unbilled receivable", t.unbilled_receivable),
                ("deferred revenue", t.deferred_revenue),
            )
            out.append(
                f"  {currency} {t.projects} project(s): "
                + ", ".join(f"{name} {round_money(amount, currency):,}" for name, amount in named)
            )
        for heading, flags in (("For finance review", self.review), ("Findings", self.findings)):
            out.append(f"{heading} ({len(flags)}):")
            out.extend(f"  {f.project_id} {f.code}: {f.message}" for f in flags)
        return "\n".join(out)


def summarize_revenue_run(results: Sequence[ProjectRevenue], period: BillingPeriod) -> RevenueRunResult:
    """The run's result from each project's; every project must be of the period (a result of another period is
    a programming error: ``ValueError``)."""
    period_start, period_end = period.start, period.end
    strays = [r.project_id for r in results if (r.period_start, r.period_end) != (period_start, period_end)]
    if strays:
        raise ValueError(f"results of another period: {', '.join(strays)}")
    ordered = sorted(results, key=lambda r: (r.currency, r.project_id))
    by_currency: dict[str, list[ProjectRevenue]] = defaultdict(list)
    for result in ordered:
        by_currency[result.currency].append(result)

    def total(items: list[ProjectRevenue], field: str) -> Decimal:
        return sum((getattr(item, field) for item in items), _ZERO)

    totals = {
        currency: CurrencyTotals(
            projects=len(items),
            recognized_this_period=total(items, "recognized_this_period"),
            cumulative_recognized=total(items, "cumulative_recognized"),
            billed_to_date=total(items, "billed_to_date"),
            unbilled_receivable=total(items, "unbilled_receivable"),
            deferred_revenue=total(items, "deferred_revenue"),
        )
        for currency, items in by_currency.items()
    }
    counts = Counter(r.method for r in ordered)
    flagged = [(r.project_id, flag) for r in ordered for flag in r.flags]
    return RevenueRunResult(
        period_start=period_start,
        period_end=period_end,
        projects=[
            ProjectRevenueSummary(
                **r.model_dump(include=_SUMMARY_FIELDS), flags=[flag.code for flag in r.flags]
            )
            for r in ordered
        ],
        totals=totals,
        counts_by_method=dict(sorted(counts.items())),
        review=[RevenueRunFlag(project_id=pid, **f.model_dump()) for pid, f in flagged if f.review],
        findings=[RevenueRunFlag(project_id=pid, **f.model_dump()) for pid, f in flagged if not f.review],
    )
