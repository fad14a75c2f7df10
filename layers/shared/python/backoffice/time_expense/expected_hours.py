"""A firm week's expected and submitted hours per worker: who owes a timesheet, who is missing, who is short.

Pure functions over the canonical records (the HRIS's workers, the PSA's time entries and allocations) and the two
policies. Expected hours reuse the monthly delivery measurement's definitions (``delivery.measurement``): the
week's weekdays that are not public holidays (the ``holidays`` package calendar of the delivery policy) within the
worker's employment, x their contracted weekly hours / 5, less leave (time booked on the delivery policy's leave
activity types, unless rejected), never below zero. Nothing is expected of a worker who is inactive (unless they
left during or after the week), not yet hired, or, when the reminder policy requires assignments, without a PSA
allocation overlapping the days they work that week.

Submitted hours are the worker's time entries of the week with status submitted or approved, leave aside (leave is
already off the expected hours). A worker owing hours is ``missing`` when nothing is submitted, ``short`` when
submitted < expected x (1 - tolerance), else ``complete``.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from typing import Any, Literal

from backoffice.connectors.ports import Allocation
from backoffice.delivery.measurement import (
    capacity_hours,
    contracted_weekly_hours,
    public_holidays,
    working_days,
)
from backoffice.delivery.policy import CENT, DeliveryPolicy
from backoffice.models import TimeEntry, Worker
from backoffice.time_expense.reminders_policy import ReminderPolicy

TimesheetStatus = Literal["not_expected", "complete", "short", "missing"]
SUBMITTED = frozenset({"submitted", "approved"})
_ZERO = Decimal(0)


@dataclass(frozen=True)
class FirmWeek:
    """One week of the firm (``start`` is the policy's week start) and its working days."""

    start: date
    end: date
    working_days: tuple[date, ...]
    holidays: dict[date, str] = field(default_factory=dict)

    @property
    def case_suffix(self) -> str:
        return self.start.isoformat()


def firm_week(week_start: date, reminders: ReminderPolicy, delivery: DeliveryPolicy) -> FirmWeek:
    """The week starting ``week_start``; ``ValueError`` when that day is not the firm's week start."""
    if not reminders.is_week_start(week_start):
        raise ValueError(f"{week_start} is not a {reminders.week_starts_on}: the firm's weeks start then")
    end = week_start + timedelta(days=6)
    return FirmWeek(
        start=week_start,
        end=end,
        working_days=tuple(working_days(week_start, end, delivery)),
        holidays=public_holidays(week_start, end, delivery),
    )


@dataclass(frozen=True)
class WorkerWeek:
    """One worker's week: what they owe, what they submitted, and so their timesheet's status."""

    worker_id: str
    name: str
    email: str | None
    practice: str | None
    manager_id: str | None
    week_start: date
    week_end: date
    working_days: int
    expected_hours: Decimal
    leave_hours: Decimal
    submitted_hours: Decimal
    status: TimesheetStatus
    why_not_expected: str | None = None

    @property
    def case_id(self) -> str:
        return worker_week_case_id(self.worker_id, self.week_start)

    @property
    def late(self) -> bool:
        return self.status in ("missing", "short")

    def record_data(self) -> dict[str, Any]:
        return {
            "worker_id": self.worker_id,
            "week_start": self.week_start.isoformat(),
            "week_end": self.week_end.isoformat(),
            "practice": self.practice,
            "status": self.status,
            "expected_hours": str(self.expected_hours.quantize(CENT)),
            "submitted_hours": str(self.submitted_hours.quantize(CENT)),
            "leave_hours": str(self.leave_hours.quantize(CENT)),
        }


def worker_week_case_id(worker_id: str, week_start: date) -> str:
    """The worker-week case: the reminders and the later submission of the week share it."""
    return f"timesheet-{worker_id}-{week_start.isoformat()}"


def _days_employed(worker: Worker, week: FirmWeek) -> tuple[list[date], str | None]:
    if worker.start_date is not None and worker.start_date > week.end:
        return [], "not yet hired"
    if worker.end_date is not None and worker.end_date < week.start:
        return [], "left before the week"
    if not worker.is_active and worker.end_date is None:
        return [], "not active"
    days = [
        day
        for day in week.working_days
        if (worker.start_date is None or day >= worker.start_date)
        and (worker.end_date is None or day <= worker.end_date)
    ]
    return days, None if days else "no working day employed"


def _assigned(allocations: Iterable[Allocation], days: Sequence[date]) -> bool:
    return any(a.start <= days[-1] and days[0] <= a.end for a in allocations)


def assess_worker(
    worker: Worker,
    week: FirmWeek,
    entries: Iterable[TimeEntry],
    allocations: Iterable[Allocation],
    reminders: ReminderPolicy,
    delivery: DeliveryPolicy,
) -> WorkerWeek:
    """The worker's week from their own entries and allocations (others' are ignored)."""
    mine = [e for e in entries if e.worker_id == worker.id and week.start <= e.work_date <= week.end]
    leave = sum(
        (e.hours for e in mine if delivery.is_leave(e.activity_type) and e.status != "rejected"), _ZERO
    )
    submitted = sum(
        (e.hours for e in mine if not delivery.is_leave(e.activity_type) and e.status in SUBMITTED), _ZERO
    )
    days, why_not = _days_employed(worker, week)
    mine_booked = [a for a in allocations if a.worker_id == worker.id]
    if days and reminders.require_assignment and not _assigned(mine_booked, days):
        days, why_not = [], "no assignment in the week"
    capacity = capacity_hours(contracted_weekly_hours(worker, delivery), len(days))
    expected = max(capacity - leave, _ZERO).quantize(CENT)
    status: TimesheetStatus
    if expected == 0:
        status, why_not = "not_expected", why_not or "on leave every working day"
    elif submitted == 0:
        status = "missing"
    elif submitted < expected * (1 - reminders.tolerance):
        status = "short"
    else:
        status = "complete"
    return WorkerWeek(
        worker_id=worker.id,
        name=worker.name,
        email=worker.email,
        practice=worker.practice,
        manager_id=worker.manager_id,
        week_start=week.start,
        week_end=week.end,
        working_days=len(days),
        expected_hours=expected,
        leave_hours=leave,
        submitted_hours=submitted,
        status=status,
        why_not_expected=why_not if status == "not_expected" else None,
    )


def assess_week(
    week: FirmWeek,
    workers: Iterable[Worker],
    entries: Iterable[TimeEntry],
    allocations: Iterable[Allocation],
    reminders: ReminderPolicy,
    delivery: DeliveryPolicy,
) -> list[WorkerWeek]:
    """Every worker's week, in worker id order."""
    by_worker: dict[str, list[TimeEntry]] = defaultdict(list)
    for entry in entries:
        by_worker[entry.worker_id].append(entry)
    booked: dict[str, list[Allocation]] = defaultdict(list)
    for allocation in allocations:
        booked[allocation.worker_id].append(allocation)
    return [
        assess_worker(w, week, by_worker.get(w.id, []), booked.get(w.id, []), reminders, delivery)
        for w in sorted(workers, key=lambda w: w.id)
    ]


__all__ = [
    "SUBMITTED",
    "FirmWeek",
    "TimesheetStatus",
    "WorkerWeek",
    "assess_week",
    "assess_worker",
    "firm_week",
    "worker_week_case_id",
]
