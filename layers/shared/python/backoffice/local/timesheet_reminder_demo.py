"""``make run``: a week of the sample firm's timesheets with some missing and short, chased as the daily schedule
does: reminders on the first run after the due time, escalations to the managers after the delay.

``seed_timesheet_week`` gives the sandbox HRIS's forty people (``onboarding.sample_firm``) managers and practice
leads, and the PSA a week of their time: most submit their contracted week on the week's working days, W-019 books
a vacation day (still complete), and these are late:

=======  ==========  ==========================================
worker   practice    the week
=======  ==========  ==========================================
W-015    technology  nothing booked (missing)
W-022    risk        nothing booked (missing)
W-024    technology  a full week, still in draft (missing)
W-030    advisory    nothing booked (missing; ``LATE_SUBMITTER``)
W-018    risk        three days of five submitted (short)
W-026    technology  two days of five submitted (short)
=======  ==========  ==========================================

Practice leads are the HRIS's ``practice_lead`` role: W-001 (technology), W-002 (risk) and W-004 (digital);
advisory has none, so its summary goes to the firm's notification recipients.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any, TextIO

from backoffice.audit import AuditTrail
from backoffice.connectors.ports import all_pages
from backoffice.connectors.sandbox import SandboxHris, SandboxStore
from backoffice.delivery.measurement import contracted_weekly_hours
from backoffice.delivery.policy import DeliveryPolicy
from backoffice.local.runtime import LocalRuntime
from backoffice.models import TimeEntry, Worker
from backoffice.time_expense.expected_hours import firm_week, worker_week_case_id
from backoffice.time_expense.reminder_timing import escalation_at
from backoffice.time_expense.reminders import ESCALATED, REMINDED
from backoffice.time_expense.reminders_policy import ReminderPolicy
from infra.catalog import Ref

WEEK = date(2026, 11, 2)
MISSING = ("W-015", "W-022", "W-030")
IN_DRAFT = ("W-024",)
SHORT = {"W-018": Decimal("0.6"), "W-026": Decimal("0.4")}  # the share of the week submitted
ON_VACATION = "W-019"
LATE_SUBMITTER = "W-030"
PRACTICE_LEADS = ("W-001", "W-002", "W-004")
SHOWN = 12  # lines printed per list (other sample data in the HRIS may add late people of its own)
_RANK = {"partner": 0, "senior_manager": 1, "manager": 2}


def _rank(worker: Worker) -> int:
    return min((_RANK.get(role, 3) for role in worker.roles), default=3)


def with_managers(workers: list[Worker]) -> list[Worker]:
    """Each person reports to the nearest level above them in their practice (W-001 where none is)."""
    staffed = []
    for worker in workers:
        above = sorted(
            (w for w in workers if w.practice == worker.practice and _rank(w) < _rank(worker)),
            key=lambda w: (-_rank(w), w.id),
        )
        manager = above[0].id if above else (None if worker.id == "W-001" else "W-001")
        roles = [*worker.roles, "practice_lead"] if worker.id in PRACTICE_LEADS else list(worker.roles)
        staffed.append(worker.model_copy(update={"manager_id": manager, "roles": roles}))
    return staffed


def time_entry(
    worker_id: str, day: date, hours: Decimal, *, status: str, activity: str = "consulting"
) -> TimeEntry:
    return TimeEntry.from_json_dict(
        {
            "id": f"TE-WEEK-{worker_id}-{day.isoformat()}",
            "worker_id": worker_id,
            "project_id": "INT-ABSENCE" if activity == "vacation" else "PRJ-WEEKLY",
            "activity_type": activity,
            "work_date": day.isoformat(),
            "hours": str(hours),
            "is_billable": False,
            "billing_hours": "0",
            "billing_rate": "0",
            "billing_amount": "0",
            "costing_rate": "0",
            "currency": "USD",
            "status": status,
        }
    )


def week_entries(workers: list[Worker], week_start: date = WEEK) -> list[TimeEntry]:
    """The week's time as the table in the module docstring says, on the week's working days."""
    reminders, delivery = ReminderPolicy(), DeliveryPolicy()
    days = firm_week(week_start, reminders, delivery).working_days
    entries = []
    for worker in workers:
        if not worker.is_active or worker.id in MISSING:
            continue
        daily = (contracted_weekly_hours(worker, delivery) / 5).quantize(Decimal("0.01"))
        status = "draft" if worker.id in IN_DRAFT else "submitted"
        booked = days[: max(1, int(len(days) * SHORT[worker.id]))] if worker.id in SHORT else days
        for number, day in enumerate(booked):
            vacation = worker.id == ON_VACATION and number == 1
            activity = "vacation" if vacation else "consulting"
            entries.append(time_entry(worker.id, day, daily, status=status, activity=activity))
    return entries


def seed_timesheet_week(store: SandboxStore, week_start: date = WEEK) -> list[Worker]:
    """Managers and practice leads in the HRIS, the week's time in the PSA; returns the workers as stored."""
    workers = with_managers(all_pages(SandboxHris(store).list_workers))
    for worker in workers:
        store.put("hris", "worker", worker.id, worker.to_json_dict(reveal_secrets=True))
    store.put_lines(
        "psa",
        "time_entry",
        [(e.id, e.work_date, e.to_json_dict()) for e in week_entries(workers, week_start)],
    )
    return workers


def submit_late(store: SandboxStore, worker_id: str = LATE_SUBMITTER, week_start: date = WEEK) -> None:
    """The late submitter books and submits their whole week (after their reminder)."""
    delivery = DeliveryPolicy()
    days = firm_week(week_start, ReminderPolicy(), delivery).working_days
    entries = [time_entry(worker_id, day, Decimal(8), status="submitted") for day in days]
    store.put_lines("psa", "time_entry", [(e.id, e.work_date, e.to_json_dict()) for e in entries])


def remind(runtime: LocalRuntime, week_start: date, as_of: datetime) -> dict[str, Any]:
    """One run of the job for the week, as the schedule's run at ``as_of`` would do it."""
    result, error = runtime.lambdas.invoke(
        "remind_missing_timesheets",
        {"source": "backoffice.local", "week": week_start.isoformat(), "as_of": as_of.isoformat()},
    )
    if error is not None:
        raise RuntimeError(f"remind_missing_timesheets failed: {error}")
    return dict(result["weeks"][0])


def run_timesheet_reminders(runtime: LocalRuntime, out: TextIO) -> bool:
    """Seeds the week, runs the job after the due time and after the escalation delay (the late submitter submits
    in between), and prints what was sent. Returns as expected?"""
    reminders, delivery = ReminderPolicy(), DeliveryPolicy()
    seed_timesheet_week(runtime.sandbox())
    trail = AuditTrail(runtime.resolve(Ref("table_name", "audit")))
    due = reminders.due_at(WEEK).astimezone(UTC) + timedelta(minutes=15)
    first = remind(runtime, WEEK, due)
    print(
        f"Timesheets of the week of {WEEK} (due {first['due_at']}): {first['expected']} people expected, "
        f"{len(first['missing'])} missing, {len(first['short'])} short",
        file=out,
    )
    for worker_id in first["reminded"][:SHOWN]:
        data = _latest(trail, worker_id, REMINDED)
        print(
            f"  reminded   {worker_id} ({data.get('practice')}): {data.get('status')}, "
            f"{data.get('submitted_hours')} of {data.get('expected_hours')} h",
            file=out,
        )
    _more(first["reminded"], out)
    print(f"  summaries to {', '.join(first['summaries']) or 'nobody'}", file=out)
    submit_late(runtime.sandbox())
    later = escalation_at(WEEK, reminders, delivery).astimezone(UTC) + timedelta(minutes=15)
    second = remind(runtime, WEEK, later)
    print(
        f"  {LATE_SUBMITTER} submitted after the reminder; escalations on {later:%Y-%m-%d %H:%M} UTC:",
        file=out,
    )
    for worker_id in second["escalated"][:SHOWN]:
        data = _latest(trail, worker_id, ESCALATED)
        print(f"  escalated  {worker_id} to {', '.join(data.get('to') or []) or 'nobody'}", file=out)
    _more(second["escalated"], out)
    return bool(first["reminded"]) and bool(second["escalated"]) and LATE_SUBMITTER not in second["escalated"]


def _more(ids: list[str], out: TextIO) -> None:
    if len(ids) > SHOWN:
        print(f"  ... and {len(ids) - SHOWN} more", file=out)


def _latest(trail: AuditTrail, worker_id: str, action: str) -> dict[str, Any]:
    found = [r for r in trail.records(worker_week_case_id(worker_id, WEEK)) if r.action == action]
    return dict(found[-1].data) if found else {}


__all__ = [
    "LATE_SUBMITTER",
    "MISSING",
    "SHORT",
    "WEEK",
    "remind",
    "run_timesheet_reminders",
    "seed_timesheet_week",
    "submit_late",
    "week_entries",
    "with_managers",
]
