"""When a week's timesheet is due, when a reminder becomes an escalation, which weeks a run chases, and what a run
does for one worker-week: plain functions of a clock, so the timing is tested without waiting.

The schedule runs the job every working day (``infra/catalog.py``); each run takes the weeks whose due time has
passed as of its clock. The first run at or after a week's due time reminds each worker still missing or short; a
run at or after the escalation time (the policy's working days after the due time, public holidays not counted)
that still finds a reminded worker missing (or short, with ``escalate_short``) escalates to their manager. A run
never reminds and escalates one worker-week at once: an escalation follows a reminder of an earlier run.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Literal

from backoffice.delivery.measurement import public_holidays
from backoffice.delivery.policy import DeliveryPolicy
from backoffice.time_expense.expected_hours import WorkerWeek
from backoffice.time_expense.reminders_policy import ReminderPolicy

Decision = Literal["nothing", "not_due", "remind", "wait", "escalate", "done"]


def escalation_at(week_start: date, reminders: ReminderPolicy, delivery: DeliveryPolicy) -> datetime:
    """The due time moved on by the policy's working days (weekdays that are not public holidays), same hour."""
    due = reminders.due_at(week_start)
    day = due.date()
    holidays_off = public_holidays(day, day + timedelta(days=31), delivery)
    counted = 0
    while counted < reminders.escalate_after_working_days:
        day += timedelta(days=1)
        if day.weekday() < 5 and day not in holidays_off:
            counted += 1
    return due.replace(year=day.year, month=day.month, day=day.day)


def latest_due_week(as_of: datetime, reminders: ReminderPolicy) -> date:
    """The start of the latest week whose timesheet was due at or before ``as_of`` (an aware datetime)."""
    week = reminders.week_start_of(as_of.astimezone(reminders.zone).date())
    while reminders.due_at(week) > as_of:
        week -= timedelta(days=7)
    return week


def weeks_to_chase(as_of: datetime, reminders: ReminderPolicy, delivery: DeliveryPolicy) -> list[date]:
    """The latest due week, and the one before while its escalation time is still ahead of the latest's due time
    (a public holiday or a long delay can put an escalation at or after the next due time)."""
    latest = latest_due_week(as_of, reminders)
    before = latest - timedelta(days=7)
    if escalation_at(before, reminders, delivery) >= reminders.due_at(latest):
        return [before, latest]
    return [latest]


def decide(
    week: WorkerWeek,
    as_of: datetime,
    reminders: ReminderPolicy,
    delivery: DeliveryPolicy,
    *,
    reminded: bool,
    escalated: bool,
) -> Decision:
    """What a run at ``as_of`` does for one worker-week, given what the case's trail already holds."""
    if not week.late:
        return "nothing"
    if as_of < reminders.due_at(week.week_start):
        return "not_due"
    if not reminded:
        return "remind"
    if escalated:
        return "done"
    if week.status == "short" and not reminders.escalate_short:
        return "wait"
    if as_of < escalation_at(week.week_start, reminders, delivery):
        return "wait"
    return "escalate"


__all__ = ["Decision", "decide", "escalation_at", "latest_due_week", "weeks_to_chase"]
