"""A month of delivery, measured: each person's capacity and hours (utilization's two sides) and each project's
work in progress, as plain functions over the canonical records.

Per worker and month (the ``delivery.measured`` record's data):

- capacity: the month's weekdays that are not public holidays (the policy's country and subdivision, from the
  ``holidays`` package) x the worker's weekly hours / 5, the firm's standard week for a worker without their own;
- leave: hours booked on a leave activity type, taken off capacity: ``available_hours = capacity - leave`` (never
  below zero);
- billable and non-billable hours: every other time entry of the month that is not rejected (a rejected line
  goes back to be corrected and comes again), by its ``is_billable``;
- standard value: billable hours x the rate card's rate for the line (worker, else role, else activity, in the
  line's currency and in force on the work date: the billing readiness rule's lookup), the line's own rate when
  the card has none, in the base currency.

A person in the HRIS is measured when active or when they booked time in the month (a leaver's last month counts);
time of a worker the HRIS does not know is left out and counted.

Per project with approved, unbilled work at the month's end (the ``wip.measured`` record's data): time and expenses
approved, billable, linked to no invoice, dated on or before the month's end, that bill something (billing hours,
an amount: the reconciliation's RC6 reads WIP the same way), at their billing amounts (an expense's sanctioned
amount), aged by their date into the reconciliation's buckets (``finance_close.reconciliation.age_bucket``).

Base amounts: per group, the amounts of each currency are summed, then converted once (``DeliveryPolicy.to_base``,
half-up to cents); an amount in a currency without a rate is left out and its currency reported.
"""

from __future__ import annotations

import calendar
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from functools import lru_cache
from typing import Any, get_args

from backoffice.delivery.policy import CENT, CurrencyWithoutRate, DeliveryPolicy
from backoffice.finance_close.reconciliation import WipBucket, age_bucket
from backoffice.invoicing.readiness import expected_rate
from backoffice.models import ExpenseEntry, Project, RateCard, TimeEntry, Worker

_ZERO = Decimal(0)
WORKDAYS_PER_WEEK = Decimal(5)


def month_bounds(month: str) -> tuple[date, date]:
    """The first and last day of ``"YYYY-MM"``; ``ValueError`` for anything else."""
    try:
        year_text, month_text = month.split("-")
        year, number = int(year_text), int(month_text)
        if len(year_text) != 4 or len(month_text) != 2:
            raise ValueError
        start = date(year, number, 1)
    except ValueError:
        raise ValueError(f"{month!r} is not a month: YYYY-MM, e.g. 2026-10") from None
    return start, start.replace(day=calendar.monthrange(year, number)[1])


def month_of(day: date) -> str:
    return f"{day.year:04d}-{day.month:02d}"


@lru_cache(maxsize=32)
def _calendar(country: str, subdivision: str | None, year: int) -> dict[date, str]:
    # Imported here: the package's country modules load on first use, and only this job needs them.
    import holidays

    return dict(holidays.country_holidays(country, subdiv=subdivision, years=year).items())


def public_holidays(start: date, end: date, policy: DeliveryPolicy) -> dict[date, str]:
    """The public holidays from ``start`` to ``end`` in the firm's country (and subdivision), by name."""
    found: dict[date, str] = {}
    for year in range(start.year, end.year + 1):
        found.update(
            (day, name)
            for day, name in _calendar(policy.holiday_country, policy.holiday_subdivision, year).items()
            if start <= day <= end
        )
    return dict(sorted(found.items()))


def working_days(start: date, end: date, policy: DeliveryPolicy) -> list[date]:
    """Monday to Friday days from ``start`` to ``end`` that are not public holidays."""
    holidays_off = public_holidays(start, end, policy)
    days = (start + timedelta(days=n) for n in range((end - start).days + 1))
    return [day for day in days if day.weekday() < 5 and day not in holidays_off]


def contracted_weekly_hours(worker: Worker, policy: DeliveryPolicy) -> Decimal:
    """The worker's own weekly hours (a part-timer's), else the firm's standard week."""
    return worker.weekly_hours if worker.weekly_hours is not None else policy.standard_weekly_hours


def capacity_hours(weekly_hours: Decimal, days: int) -> Decimal:
    """What a person contracted for ``weekly_hours`` owes over ``days`` working days (a week has five)."""
    return weekly_hours * days / WORKDAYS_PER_WEEK


def _text(value: Decimal) -> str:
    return str(value.quantize(CENT))


@dataclass
class _Amounts:
    """Amounts of one group kept per currency until the end, then converted once."""

    by_currency: dict[str, Decimal] = field(default_factory=lambda: defaultdict(Decimal))

    def add(self, amount: Decimal, currency: str) -> None:
        self.by_currency[currency] += amount

    def base(self, policy: DeliveryPolicy, unconverted: set[str]) -> Decimal:
        total = _ZERO
        for currency, amount in sorted(self.by_currency.items()):
            try:
                total += policy.to_base(amount, currency)
            except CurrencyWithoutRate:
                unconverted.add(currency)
        return total


@dataclass(frozen=True)
class DeliveryInputs:
    """What a month's measurement reads: the HRIS's workers, the PSA's time entries and expenses (the month's, and
    earlier ones for the work in progress), its projects and their rate cards."""

    month: str
    workers: Sequence[Worker]
    time_entries: Sequence[TimeEntry]
    expenses: Sequence[ExpenseEntry] = ()
    projects: Mapping[str, Project] = field(default_factory=dict)
    rate_cards: Mapping[str, RateCard | None] = field(default_factory=dict)


@dataclass(frozen=True)
class WorkerMonth:
    """R4: one person's month (``delivery.measured``)."""

    month: str
    worker_id: str
    practice: str | None
    employment: str
    weekly_hours: Decimal
    working_days: int
    available_hours: Decimal
    leave_hours: Decimal
    billable_hours: Decimal
    non_billable_hours: Decimal
    standard_value_base: Decimal

    def record_data(self) -> dict[str, Any]:
        return {
            "month": self.month,
            "worker_id": self.worker_id,
            "practice": self.practice,
            "employment": self.employment,
            "weekly_hours": _text(self.weekly_hours),
            "working_days": self.working_days,
            "available_hours": _text(self.available_hours),
            "leave_hours": _text(self.leave_hours),
            "billable_hours": _text(self.billable_hours),
            "non_billable_hours": _text(self.non_billable_hours),
            "standard_value_base": _text(self.standard_value_base),
        }


@dataclass(frozen=True)
class ProjectWip:
    """R5: one project's approved, unbilled work at the month's end (``wip.measured``)."""

    month: str
    as_of: date
    project_id: str
    client_id: str | None
    practice: str | None
    hours: Decimal
    lines: int
    aging_base: Mapping[WipBucket, Decimal]

    @property
    def wip_base(self) -> Decimal:
        return sum(self.aging_base.values(), _ZERO)

    def record_data(self) -> dict[str, Any]:
        return {
            "month": self.month,
            "as_of": self.as_of.isoformat(),
            "project_id": self.project_id,
            "client_id": self.client_id,
            "practice": self.practice,
            "hours": _text(self.hours),
            "lines": self.lines,
            "wip_base": _text(self.wip_base),
            "aging_base": {bucket: _text(amount) for bucket, amount in self.aging_base.items()},
        }


@dataclass(frozen=True)
class DeliveryMeasurement:
    month: str
    workers: list[WorkerMonth]
    wip: list[ProjectWip]
    holidays: dict[date, str]
    # Time entries of the month booked by a worker the HRIS does not know (left out), and currencies met without
    # a rate to the base currency (their amounts left out of the base figures).
    unknown_worker_entries: list[str]
    currencies_without_rate: list[str]


def _counted(entry: TimeEntry) -> bool:
    return entry.status != "rejected"


def measure_workers(
    inputs: DeliveryInputs, policy: DeliveryPolicy, unconverted: set[str] | None = None
) -> tuple[list[WorkerMonth], list[str]]:
    """R4 per worker, in worker id order, and the ids of the month's entries whose worker the HRIS lacks."""
    unconverted = unconverted if unconverted is not None else set()
    start, end = month_bounds(inputs.month)
    days = len(working_days(start, end, policy))
    known = {worker.id: worker for worker in inputs.workers}
    roles = {worker.id: list(worker.roles) for worker in inputs.workers}
    month_entries = [e for e in inputs.time_entries if start <= e.work_date <= end and _counted(e)]
    unknown = sorted(e.id for e in month_entries if e.worker_id not in known)
    by_worker: dict[str, list[TimeEntry]] = defaultdict(list)
    for entry in month_entries:
        by_worker[entry.worker_id].append(entry)
    measured = []
    for worker in sorted(inputs.workers, key=lambda w: w.id):
        entries = by_worker.get(worker.id, [])
        if not worker.is_active and not entries:
            continue
        leave = billable = non_billable = _ZERO
        value = _Amounts()
        for entry in entries:
            if policy.is_leave(entry.activity_type):
                leave += entry.hours
            elif entry.is_billable:
                billable += entry.hours
                value.add(entry.hours * _standard_rate(entry, inputs.rate_cards, roles), entry.currency)
            else:
                non_billable += entry.hours
        weekly = contracted_weekly_hours(worker, policy)
        capacity = capacity_hours(weekly, days)
        measured.append(
            WorkerMonth(
                month=inputs.month,
                worker_id=worker.id,
                practice=worker.practice,
                employment=worker.employment,
                weekly_hours=weekly,
                working_days=days,
                available_hours=max(capacity - leave, _ZERO),
                leave_hours=leave,
                billable_hours=billable,
                non_billable_hours=non_billable,
                standard_value_base=value.base(policy, unconverted),
            )
        )
    return measured, unknown


def _standard_rate(
    entry: TimeEntry, rate_cards: Mapping[str, RateCard | None], roles: Mapping[str, list[str]]
) -> Decimal:
    """The rate card's rate for the line; the line's own billing rate when the card has none for it."""
    found = expected_rate(entry, rate_cards.get(entry.project_id), None, roles)
    return found.amount if found is not None else entry.billing_rate


@dataclass(frozen=True)
class _WipLine:
    project_id: str
    dated: date
    hours: Decimal
    amount: Decimal
    currency: str


def _wip_lines(inputs: DeliveryInputs, as_of: date) -> Iterable[_WipLine]:
    for entry in inputs.time_entries:
        if (
            entry.status == "approved"
            and entry.is_billable
            and entry.invoice_id is None
            and entry.work_date <= as_of
            and entry.billing_hours > 0
        ):
            yield _WipLine(
                entry.project_id, entry.work_date, entry.billing_hours, entry.billing_amount, entry.currency
            )
    for expense in inputs.expenses:
        amount = expense.sanctioned_amount if expense.sanctioned_amount is not None else expense.amount
        if (
            expense.project_id is not None
            and expense.status == "approved"
            and expense.is_billable
            and expense.invoice_id is None
            and expense.expense_date <= as_of
            and amount > 0
        ):
            yield _WipLine(expense.project_id, expense.expense_date, _ZERO, amount, expense.currency)


def measure_wip(
    inputs: DeliveryInputs, policy: DeliveryPolicy, unconverted: set[str] | None = None
) -> list[ProjectWip]:
    """R5 per project with approved, unbilled work at the month's end, in project id order."""
    unconverted = unconverted if unconverted is not None else set()
    _, as_of = month_bounds(inputs.month)
    by_project: dict[str, list[_WipLine]] = defaultdict(list)
    for line in _wip_lines(inputs, as_of):
        by_project[line.project_id].append(line)
    measured = []
    for project_id, lines in sorted(by_project.items()):
        buckets: dict[WipBucket, _Amounts] = {bucket: _Amounts() for bucket in get_args(WipBucket)}
        for line in lines:
            buckets[age_bucket((as_of - line.dated).days)].add(line.amount, line.currency)
        project = inputs.projects.get(project_id)
        measured.append(
            ProjectWip(
                month=inputs.month,
                as_of=as_of,
                project_id=project_id,
                client_id=project.client_id if project else None,
                practice=project.service_line if project else None,
                hours=sum((line.hours for line in lines), _ZERO),
                lines=len(lines),
                aging_base={bucket: amounts.base(policy, unconverted) for bucket, amounts in buckets.items()},
            )
        )
    return measured


def measure_delivery_month(inputs: DeliveryInputs, policy: DeliveryPolicy) -> DeliveryMeasurement:
    """R4 for every worker and R5 for every project with work in progress, for ``inputs.month``."""
    start, end = month_bounds(inputs.month)
    unconverted: set[str] = set()
    workers, unknown = measure_workers(inputs, policy, unconverted)
    wip = measure_wip(inputs, policy, unconverted)
    return DeliveryMeasurement(
        month=inputs.month,
        workers=workers,
        wip=wip,
        holidays=public_holidays(start, end, policy),
        unknown_worker_entries=unknown,
        currencies_without_rate=sorted(unconverted),
    )


__all__ = [
    "DeliveryInputs",
    "DeliveryMeasurement",
    "ProjectWip",
    "WorkerMonth",
    "capacity_hours",
    "contracted_weekly_hours",
    "measure_delivery_month",
    "measure_wip",
    "measure_workers",
    "month_bounds",
    "month_of",
    "public_holidays",
    "working_days",
]
