"""When a week's timesheet is due, when the reminder becomes an escalation, and what a run does for one worker-week,
on a simulated clock.

The sample policy: weeks from Monday, due 9 hours after the week (Monday 09:00, New York), escalation 2 working
days after. Daylight saving time ended on Sunday 1 November 2026: Monday 2 November 09:00 is 14:00 UTC, Monday 26
October 09:00 was 13:00 UTC. Veterans Day (Wednesday 11 November) is not a working day.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from backoffice.delivery.policy import DeliveryPolicy
from backoffice.firm_config import FirmConfigInvalid, parse_firm_config
from backoffice.time_expense.expected_hours import WorkerWeek
from backoffice.time_expense.reminder_timing import decide, escalation_at, latest_due_week, weeks_to_chase
from backoffice.time_expense.reminders_policy import ReminderPolicy

DELIVERY = DeliveryPolicy()
POLICY = ReminderPolicy()


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def test_a_week_is_due_on_the_monday_after_at_nine_firm_time_across_daylight_saving() -> None:
    assert POLICY.due_at(date(2026, 10, 26)).astimezone(UTC) == utc("2026-11-02T14:00")
    assert POLICY.due_at(date(2026, 10, 19)).astimezone(UTC) == utc("2026-10-26T13:00")
    paris = ReminderPolicy(time_zone="Europe/Paris", due_hours_after_week=33)  # Tuesday 09:00
    assert paris.due_at(date(2026, 11, 2)).astimezone(UTC) == utc("2026-11-10T08:00")


def test_the_escalation_counts_working_days_so_a_holiday_moves_it() -> None:
    # Given the week of 26 October: due Monday 2 November, two working days later is Wednesday 4th
    assert escalation_at(date(2026, 10, 26), POLICY, DELIVERY).astimezone(UTC) == utc("2026-11-04T14:00")
    # And the week of 2 November: due Monday 9th; Tuesday 10th counts, Veterans Day does not: Thursday 12th
    assert escalation_at(date(2026, 11, 2), POLICY, DELIVERY).astimezone(UTC) == utc("2026-11-12T14:00")


def test_a_run_chases_the_latest_week_whose_due_time_has_passed() -> None:
    assert latest_due_week(utc("2026-11-09T13:59"), POLICY) == date(2026, 10, 26)
    assert latest_due_week(utc("2026-11-09T14:00"), POLICY) == date(2026, 11, 2)
    assert weeks_to_chase(utc("2026-11-11T14:15"), POLICY, DELIVERY) == [date(2026, 11, 2)]


def test_with_a_long_delay_the_week_before_is_chased_until_its_escalation() -> None:
    # Given four working days: the week of 2 November escalates on Monday 16th 09:00, when the next week is due
    slow = ReminderPolicy(escalate_after_working_days=4)
    assert escalation_at(date(2026, 11, 2), slow, DELIVERY) == slow.due_at(date(2026, 11, 9))
    # Then the run that day chases both weeks
    assert weeks_to_chase(utc("2026-11-16T14:15"), slow, DELIVERY) == [date(2026, 11, 2), date(2026, 11, 9)]


def late(status: str = "missing") -> WorkerWeek:
    return WorkerWeek(
        worker_id="W-1",
        name="Person W-1",
        email="w-1@firm.example",
        practice="advisory",
        manager_id="W-9",
        week_start=date(2026, 11, 2),
        week_end=date(2026, 11, 8),
        working_days=5,
        expected_hours=Decimal(40),
        leave_hours=Decimal(0),
        submitted_hours=Decimal(0) if status == "missing" else Decimal(20),
        status=status,  # type: ignore[arg-type]
    )


@pytest.mark.parametrize(
    ("clock", "reminded", "escalated", "decision"),
    [
        ("2026-11-09T13:59", False, False, "not_due"),  # a minute before it is due
        ("2026-11-09T14:15", False, False, "remind"),  # the first run after the due time
        ("2026-11-10T14:15", True, False, "wait"),  # reminded, a working day later
        ("2026-11-11T14:15", True, False, "wait"),  # Veterans Day
        ("2026-11-12T14:00", True, False, "escalate"),  # two working days after the due time
        ("2026-11-13T14:15", True, True, "done"),  # escalated already
        ("2026-11-13T14:15", False, False, "remind"),  # never reminded: reminded first, escalated later
    ],
)
def test_what_a_run_does_for_a_missing_worker(
    clock: str, reminded: bool, escalated: bool, decision: str
) -> None:
    assert decide(late(), utc(clock), POLICY, DELIVERY, reminded=reminded, escalated=escalated) == decision


def test_a_complete_week_is_left_alone_and_a_short_one_waits_when_short_is_not_escalated() -> None:
    complete = late()
    complete = WorkerWeek(**{**complete.__dict__, "status": "complete"})
    assert (
        decide(complete, utc("2026-11-12T15:00"), POLICY, DELIVERY, reminded=True, escalated=False)
        == "nothing"
    )
    lenient = ReminderPolicy(escalate_short=False)
    clock = utc("2026-11-12T15:00")
    assert decide(late("short"), clock, lenient, DELIVERY, reminded=True, escalated=False) == "wait"
    assert decide(late("short"), clock, POLICY, DELIVERY, reminded=True, escalated=False) == "escalate"


def test_an_unknown_time_zone_is_refused_when_the_document_is_read() -> None:
    with pytest.raises(ValueError, match="not a time zone"):
        ReminderPolicy(time_zone="Mars/Olympus_Mons")


def test_the_firms_document_may_set_the_section_and_is_checked_at_synth() -> None:
    # Given the sample firm's document with a reminder section for a Paris office
    document = json.loads((Path(__file__).resolve().parents[3] / "config" / "sample-firm.json").read_text())
    document["timesheet_reminders"] = {
        "time_zone": "Europe/Paris",
        "practice_leads": {"risk": ["lead@firm.example"]},
    }
    config = parse_firm_config(document, "firm.json")
    assert config.timesheet_reminders is not None and config.timesheet_reminders.time_zone == "Europe/Paris"
    # When a lead's address is not one
    document["timesheet_reminders"]["practice_leads"] = {"risk": ["the risk partner"]}
    # Then the document is refused naming the field
    with pytest.raises(
        FirmConfigInvalid, match=r"timesheet_reminders\.practice_leads: the risk partner is not an"
    ):
        parse_firm_config(document, "firm.json")
