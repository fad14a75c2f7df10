"""A firm week's expected and submitted hours per worker, each worked out by hand.

US firm, 40-hour week, weeks from Monday. The week of 2 November 2026 has five working days: 40 h for a full-timer,
24 h for a 24-hour part-timer (5 x 4.8). The week of 9 November has Veterans Day (Wednesday 11th): four working
days, 32 h and 19.2 h.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import pytest

from backoffice.connectors.ports import Allocation
from backoffice.delivery.policy import DeliveryPolicy
from backoffice.models import TimeEntry, Worker
from backoffice.time_expense.expected_hours import assess_week, firm_week, worker_week_case_id
from backoffice.time_expense.reminders_policy import ReminderPolicy

DELIVERY = DeliveryPolicy()
REMINDERS = ReminderPolicy()
WEEK = firm_week(date(2026, 11, 2), REMINDERS, DELIVERY)
HOLIDAY_WEEK = firm_week(date(2026, 11, 9), REMINDERS, DELIVERY)


def worker(worker_id: str, **changes: Any) -> Worker:
    values: dict[str, Any] = {
        "id": worker_id,
        "name": f"Person {worker_id}",
        "email": f"{worker_id.lower()}@firm.example",
        "employment": "employee",
        "roles": ["consultant"],
        "cost_rate": Decimal(90),
        "currency": "USD",
        "practice": "advisory",
        **changes,
    }
    return Worker.model_validate(values)


def entry(
    worker_id: str, day: str, hours: str, *, status: str = "submitted", activity: str = "consulting"
) -> TimeEntry:
    return TimeEntry.from_json_dict(
        {
            "id": f"TE-{worker_id}-{day}-{activity}-{status}",
            "worker_id": worker_id,
            "project_id": "P-1",
            "activity_type": activity,
            "work_date": day,
            "hours": hours,
            "is_billable": activity == "consulting",
            "billing_hours": hours,
            "billing_rate": "100",
            "billing_amount": str(Decimal(hours) * 100),
            "costing_rate": "50",
            "currency": "USD",
            "status": status,
        }
    )


def week_of(
    *entries: TimeEntry,
    people: list[Worker],
    week: Any = WEEK,
    policy: ReminderPolicy = REMINDERS,
    allocations: list[Allocation] | None = None,
) -> dict[str, Any]:
    return {w.worker_id: w for w in assess_week(week, people, entries, allocations or [], policy, DELIVERY)}


def spread(worker_id: str, total: Decimal) -> list[TimeEntry]:
    """``total`` hours over the week, at most 9 a day from Monday."""
    entries, day = [], 2
    while total > 0:
        hours = min(total, Decimal(9))
        entries.append(entry(worker_id, f"2026-11-{day:02d}", str(hours)))
        total, day = total - hours, day + 1
    return entries


def full_days(worker_id: str, days: range, hours: str = "8") -> list[TimeEntry]:
    return [entry(worker_id, f"2026-11-{d:02d}", hours) for d in days]


def test_a_full_timer_and_a_part_timer_owe_their_contracted_week() -> None:
    # Given a full-timer who submitted 40 h and a 24-hour part-timer who submitted 24 h
    people = [worker("W-1"), worker("W-2", weekly_hours=Decimal(24))]
    found = week_of(*full_days("W-1", range(2, 7)), *full_days("W-2", range(2, 7), "4.8"), people=people)
    # Then they owe 40 h and 24 h and are complete
    assert (found["W-1"].expected_hours, found["W-1"].status) == (Decimal("40.00"), "complete")
    assert (found["W-2"].expected_hours, found["W-2"].status) == (Decimal("24.00"), "complete")
    assert found["W-1"].case_id == worker_week_case_id("W-1", date(2026, 11, 2)) == "timesheet-W-1-2026-11-02"


def test_a_public_holiday_is_not_owed() -> None:
    # Given the week of Veterans Day / When nothing is submitted
    found = week_of(people=[worker("W-1"), worker("W-2", weekly_hours=Decimal(24))], week=HOLIDAY_WEEK)
    # Then four working days are owed: 32 h and 19.2 h, and both are missing
    assert HOLIDAY_WEEK.holidays == {date(2026, 11, 11): "Veterans Day"}
    assert len(HOLIDAY_WEEK.working_days) == 4
    assert found["W-1"].expected_hours == Decimal("32.00") and found["W-1"].status == "missing"
    assert found["W-2"].expected_hours == Decimal("19.20")


def test_leave_comes_off_the_expected_hours_and_is_not_submitted_work() -> None:
    # Given a vacation day (8 h, submitted) and four days of work, 32 h
    found = week_of(
        entry("W-1", "2026-11-03", "8", activity="vacation"),
        *[entry("W-1", f"2026-11-{d:02d}", "8") for d in (2, 4, 5, 6)],
        people=[worker("W-1")],
    )
    # Then 32 h are expected, 32 h submitted, 8 h of leave
    week = found["W-1"]
    assert (week.expected_hours, week.submitted_hours, week.leave_hours) == (Decimal("32.00"), 32, 8)
    assert week.status == "complete"


def test_a_rejected_leave_entry_does_not_count() -> None:
    found = week_of(
        entry("W-1", "2026-11-03", "8", activity="vacation", status="rejected"), people=[worker("W-1")]
    )
    assert found["W-1"].expected_hours == Decimal("40.00")


def test_leave_all_week_means_nothing_is_expected() -> None:
    leave = [entry("W-1", f"2026-11-{d:02d}", "8", activity="pto") for d in range(2, 7)]
    found = week_of(*leave, people=[worker("W-1")])
    assert (
        found["W-1"].status == "not_expected"
        and found["W-1"].why_not_expected == "on leave every working day"
    )


def test_a_new_hire_owes_the_days_from_their_start_and_a_leaver_up_to_their_end() -> None:
    # Given a hire starting Wednesday, a leaver whose last day is Tuesday (inactive now), someone hired next month,
    # someone who left in October, and an inactive worker without an end date
    people = [
        worker("W-NEW", start_date=date(2026, 11, 4)),
        worker("W-LEFT", is_active=False, end_date=date(2026, 11, 3)),
        worker("W-LATER", start_date=date(2026, 12, 1)),
        worker("W-GONE", is_active=False, end_date=date(2026, 10, 30)),
        worker("W-INACTIVE", is_active=False),
    ]
    found = week_of(people=people)
    # Then the new hire owes three days (24 h), the leaver two (16 h), the others nothing
    assert (found["W-NEW"].working_days, found["W-NEW"].expected_hours) == (3, Decimal("24.00"))
    assert (found["W-LEFT"].working_days, found["W-LEFT"].expected_hours) == (2, Decimal("16.00"))
    assert {k: found[k].why_not_expected for k in ("W-LATER", "W-GONE", "W-INACTIVE")} == {
        "W-LATER": "not yet hired",
        "W-GONE": "left before the week",
        "W-INACTIVE": "not active",
    }


@pytest.mark.parametrize(
    ("submitted", "status"),
    [("36", "complete"), ("35.99", "short"), ("0.5", "short"), (None, "missing"), ("44", "complete")],
)
def test_short_is_below_expected_less_the_tolerance(submitted: str | None, status: str) -> None:
    # Given 40 h expected and a tolerance of 10 %: 36 h is enough
    entries = spread("W-1", Decimal(submitted)) if submitted else []
    assert week_of(*entries, people=[worker("W-1")])["W-1"].status == status


def test_only_submitted_or_approved_time_counts() -> None:
    # Given a full week in draft and a rejected day
    entries = [entry("W-1", f"2026-11-{d:02d}", "8", status="draft") for d in range(2, 6)]
    entries.append(entry("W-1", "2026-11-06", "8", status="rejected"))
    found = week_of(*entries, people=[worker("W-1")])
    assert (found["W-1"].submitted_hours, found["W-1"].status) == (0, "missing")


def test_with_assignments_required_a_worker_on_the_bench_owes_nothing() -> None:
    # Given a policy that requires assignments, one worker booked on a project over the week and one on none
    policy = ReminderPolicy(require_assignment=True)
    booked = [Allocation("W-1", "P-1", date(2026, 10, 1), date(2026, 11, 3), Decimal(40))]
    found = week_of(people=[worker("W-1"), worker("W-2")], policy=policy, allocations=booked)
    assert found["W-1"].status == "missing" and found["W-1"].expected_hours == Decimal("40.00")
    assert found["W-2"].why_not_expected == "no assignment in the week"


def test_a_week_starts_on_the_firms_week_start() -> None:
    with pytest.raises(ValueError, match="not a monday"):
        firm_week(date(2026, 11, 3), REMINDERS, DELIVERY)
    sunday_firm = ReminderPolicy(week_starts_on="sunday")
    week = firm_week(date(2026, 11, 1), sunday_firm, DELIVERY)
    assert (week.end, len(week.working_days)) == (date(2026, 11, 7), 5)
