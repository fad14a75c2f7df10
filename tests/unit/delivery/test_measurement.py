"""The month's delivery measured (issue #20 item 2, records R4 and R5): capacity, leave, billable and non-billable
hours, standard value at the rate card, and work in progress by age, each worked out by hand.

The sample: November 2026 for a US firm (40-hour week). November has 21 weekdays; Veterans Day (Wed 11th) and
Thanksgiving (Thu 26th) are public holidays, so 19 working days: 152 h for a full-timer (19 x 8), 91.2 h for a
24-hour part-timer (19 x 4.8). Project P-1 bills in USD (card: a consultant consults at 200.00), P-2 in EUR (card:
180.00 EUR); the firm reports in USD and turns EUR at 1.10.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest

from backoffice.audit import Actor, AuditRecord
from backoffice.delivery.measurement import (
    DeliveryInputs,
    measure_delivery_month,
    month_bounds,
    public_holidays,
    working_days,
)
from backoffice.delivery.policy import DeliveryPolicy
from backoffice.delivery.steps import case_id_of, record_measurement
from backoffice.models import ExpenseEntry, Project, RateCard, RateCardLine, TimeEntry, Worker

MONTH = "2026-11"
POLICY = DeliveryPolicy(rates_to_base={"EUR": Decimal("1.10")})


def worker(worker_id: str, **changes: Any) -> Worker:
    values: dict[str, Any] = {
        "id": worker_id,
        "name": f"Person {worker_id}",
        "employment": "employee",
        "roles": ["consultant"],
        "cost_rate": Decimal(90),
        "currency": "USD",
        **changes,
    }
    return Worker.model_validate(values)


def time(
    entry_id: str,
    worker_id: str,
    project_id: str,
    day: str,
    hours: str,
    *,
    billable: bool = True,
    rate: str = "190",
    currency: str = "USD",
    activity: str = "consulting",
    status: str = "approved",
    invoice_id: str | None = None,
) -> TimeEntry:
    amount = Decimal(hours) * Decimal(rate) if billable else Decimal(0)
    return TimeEntry.model_validate(
        {
            "id": entry_id,
            "worker_id": worker_id,
            "project_id": project_id,
            "role": "consultant",
            "activity_type": activity,
            "work_date": date.fromisoformat(day),
            "hours": Decimal(hours),
            "is_billable": billable,
            "billing_hours": Decimal(hours),
            "billing_rate": Decimal(rate) if billable else Decimal(0),
            "billing_amount": amount,
            "costing_rate": Decimal(90),
            "currency": currency,
            "status": status,
            "invoice_id": invoice_id,
        }
    )


def card(project_id: str, currency: str, rate: str) -> RateCard:
    return RateCard(
        id=f"RC-{project_id}",
        name=f"Rates of {project_id}",
        effective_date=date(2026, 1, 1),
        lines=[
            RateCardLine(
                role="consultant",
                activity_type="consulting",
                currency=currency,
                billing_rate=Decimal(rate),
                costing_rate=Decimal(90),
            )
        ],
    )


def project(project_id: str, currency: str, practice: str) -> Project:
    return Project(
        id=project_id,
        project_name=f"Engagement {project_id}",
        client_id=f"C-{project_id}",
        billing_model="time_and_materials",
        currency=currency,
        service_line=practice,
    )


WORKERS = [
    worker("W-1", practice="advisory"),
    worker("W-2", practice="technology", weekly_hours=Decimal(24)),  # part-time
    worker("W-3", practice="advisory"),  # on the bench: no time this month
    worker("W-4", is_active=False),  # left before the month: not measured
]
TIME = [
    # W-1: 14 h billable on P-1 (billed at 190, the card says 200), 2 h internal, a day of vacation
    time("T-1", "W-1", "P-1", "2026-11-02", "8"),
    time("T-2", "W-1", "P-1", "2026-11-03", "6"),
    time("T-3", "W-1", "INT", "2026-11-04", "2", billable=False, activity="administration"),
    time("T-4", "W-1", "INT", "2026-11-05", "8", billable=False, activity="Vacation"),
    time("T-5", "W-1", "P-1", "2026-11-06", "4", status="rejected"),  # sent back: not counted
    time("T-6", "W-1", "P-1", "2026-10-30", "8", invoice_id="SI-9"),  # October's, billed
    time("T-7", "W-1", "P-1", "2026-09-15", "4"),  # September's, approved, never billed
    # W-2 (part-time): 5 h on the EUR project at its card, 3 h on P-1 at the card
    time("T-8", "W-2", "P-2", "2026-11-10", "5", rate="180", currency="EUR"),
    time("T-9", "W-2", "P-1", "2026-11-12", "3", rate="200"),
    time("T-10", "W-2", "P-1", "2026-11-13", "2", status="submitted"),  # not approved: hours yes, WIP no
    # A worker the HRIS does not know
    time("T-11", "W-9999", "P-1", "2026-11-16", "1", status="submitted"),
]
EXPENSES = [
    ExpenseEntry.model_validate(
        {
            "id": "E-1",
            "worker_id": "W-1",
            "project_id": "P-1",
            "expense_date": date(2026, 8, 1),
            "expense_type": "travel",
            "amount": Decimal(300),
            "sanctioned_amount": Decimal(250),
            "currency": "USD",
            "is_billable": True,
            "status": "approved",
        }
    )
]


def inputs(**changes: Any) -> DeliveryInputs:
    values: dict[str, Any] = {
        "month": MONTH,
        "workers": WORKERS,
        "time_entries": TIME,
        "expenses": EXPENSES,
        "projects": {"P-1": project("P-1", "USD", "advisory"), "P-2": project("P-2", "EUR", "technology")},
        "rate_cards": {"P-1": card("P-1", "USD", "200"), "P-2": card("P-2", "EUR", "180")},
        **changes,
    }
    return DeliveryInputs(**values)


def test_the_months_working_days_leave_out_weekends_and_the_public_holidays() -> None:
    # Given November 2026 in the US
    start, end = month_bounds(MONTH)
    # When its holidays and working days are counted
    holidays = public_holidays(start, end, POLICY)
    days = working_days(start, end, POLICY)
    # Then Veterans Day and Thanksgiving are off, and 19 of the 21 weekdays are left
    assert holidays == {date(2026, 11, 11): "Veterans Day", date(2026, 11, 26): "Thanksgiving Day"}
    assert len(days) == 19 and date(2026, 11, 11) not in days and date(2026, 11, 30) in days


def test_a_subdivision_adds_its_own_holidays() -> None:
    # Given a firm in California, whose state also closes the day after Thanksgiving
    policy = DeliveryPolicy(holiday_subdivision="CA")
    # When November's working days are counted
    days = working_days(*month_bounds(MONTH), policy)
    # Then 18 are left
    assert len(days) == 18 and date(2026, 11, 27) not in days


def test_each_person_gets_capacity_leave_hours_and_standard_value() -> None:
    # When the month is measured
    measured = measure_delivery_month(inputs(), POLICY)
    by_worker = {w.worker_id: w.record_data() for w in measured.workers}

    # Then the full-timer: 152 h less a vacation day, 14 h billable at the card's 200, 2 h not billable
    assert by_worker["W-1"] == {
        "month": MONTH,
        "worker_id": "W-1",
        "practice": "advisory",
        "employment": "employee",
        "weekly_hours": "40.00",
        "working_days": 19,
        "available_hours": "144.00",
        "leave_hours": "8.00",
        "billable_hours": "14.00",
        "non_billable_hours": "2.00",
        "standard_value_base": "2800.00",
    }
    # And the part-timer: 19 x 24 / 5 = 91.2 h; 5 h x EUR 180 x 1.10 + 3 h x 200 + 2 h submitted x 200
    part_timer = by_worker["W-2"]
    assert part_timer["available_hours"] == "91.20" and part_timer["weekly_hours"] == "24.00"
    assert part_timer["billable_hours"] == "10.00"
    assert part_timer["standard_value_base"] == "1990.00"  # 990.00 + 600.00 + 400.00
    # And the person on the bench is measured with all of their capacity and nothing booked
    assert by_worker["W-3"]["available_hours"] == "152.00"
    assert by_worker["W-3"]["billable_hours"] == "0.00" and by_worker["W-3"]["standard_value_base"] == "0.00"
    # And the leaver with no time is not measured; the unknown worker's line is listed, not counted
    assert "W-4" not in by_worker
    assert measured.unknown_worker_entries == ["T-11"]
    assert measured.currencies_without_rate == []


def test_a_leaver_who_booked_time_in_the_month_is_measured() -> None:
    # Given W-4 left but booked a last day in November
    last_day = time("T-20", "W-4", "P-1", "2026-11-02", "8")
    # When the month is measured
    measured = measure_delivery_month(inputs(time_entries=[*TIME, last_day]), POLICY)
    # Then their month is there
    [leaver] = [w for w in measured.workers if w.worker_id == "W-4"]
    assert leaver.billable_hours == Decimal(8) and leaver.practice is None


def test_leave_is_never_more_than_capacity() -> None:
    # Given a part-timer who booked more leave hours than their month holds
    leave = [
        time(f"L-{n}", "W-2", "INT", f"2026-11-{n:02d}", "8", billable=False, activity="leave")
        for n in range(2, 16)
    ]
    # When the month is measured
    measured = measure_delivery_month(inputs(time_entries=leave), POLICY)
    # Then their available hours are zero, not negative
    [part_timer] = [w for w in measured.workers if w.worker_id == "W-2"]
    assert part_timer.leave_hours == Decimal(112) and part_timer.available_hours == 0


def test_work_in_progress_is_approved_unbilled_work_by_age_in_the_base_currency() -> None:
    # When the month is measured
    measured = measure_delivery_month(inputs(), POLICY)
    wip = {w.project_id: w.record_data() for w in measured.wip}

    # Then P-1 holds T-1, T-2 (8 h + 6 h at 190) and T-9 (3 h at 200) in 0-30 days, September's T-7 (4 h at 190,
    # 76 days) in 61-90, and August's expense (its sanctioned 250.00, 121 days) over 90; billed, rejected and
    # submitted lines are not in progress
    assert wip["P-1"] == {
        "month": MONTH,
        "as_of": "2026-11-30",
        "project_id": "P-1",
        "client_id": "C-P-1",
        "practice": "advisory",
        "hours": "21.00",
        "lines": 5,
        "wip_base": "4270.00",
        "aging_base": {"0-30": "3260.00", "31-60": "0.00", "61-90": "760.00", "90+": "250.00"},
    }
    # And the EUR project's 5 h x 180.00 EUR are 990.00 USD
    assert wip["P-2"]["wip_base"] == "990.00" and wip["P-2"]["aging_base"]["0-30"] == "990.00"
    assert wip["P-2"]["practice"] == "technology"


def test_amounts_in_a_currency_without_a_rate_are_left_out_and_named() -> None:
    # Given a GBP line on P-1 and no GBP rate in the policy
    pounds = time("T-30", "W-3", "P-1", "2026-11-17", "2", rate="150", currency="GBP")
    # When the month is measured
    measured = measure_delivery_month(inputs(time_entries=[*TIME, pounds]), POLICY)
    # Then the hours count, the value does not, and GBP is named
    [bench] = [w for w in measured.workers if w.worker_id == "W-3"]
    assert bench.billable_hours == Decimal(2) and bench.standard_value_base == 0
    assert measured.currencies_without_rate == ["GBP"]
    assert {w.project_id: w.wip_base for w in measured.wip}["P-1"] == Decimal("4270.00")


def test_a_month_is_a_month() -> None:
    with pytest.raises(ValueError, match="not a month"):
        month_bounds("2026-13")
    with pytest.raises(ValueError, match="not a month"):
        month_bounds("26-1")


# ------------------------------------------------------------------------------------------------------------
# The records on the month's trail: re-runs
# ------------------------------------------------------------------------------------------------------------


class MemoryTrail:
    """The audit trail's two calls the job makes, in memory."""

    def __init__(self) -> None:
        self.by_case: dict[str, list[AuditRecord]] = {}

    def records(self, case_id: str) -> list[AuditRecord]:
        return list(self.by_case.get(case_id, []))

    def append(self, *, case_id: str, data: Any = None, **fields: Any) -> AuditRecord:
        records = self.by_case.setdefault(case_id, [])
        record = AuditRecord(
            case_id=case_id,
            seq=len(records) + 1,
            workflow=fields["workflow"],
            step=fields["step"],
            actor=fields["actor"],
            action=fields["action"],
            outcome=fields["outcome"],
            reasons=tuple(fields.get("reasons", ())),
            data=dict(data or {}),
            timestamp=datetime.now(UTC).isoformat(),
            prev_hash="0" * 64,
            hash="0" * 64,
        )
        records.append(record)
        return record


def test_a_rerun_over_the_same_data_appends_nothing_and_a_change_supersedes() -> None:
    trail = MemoryTrail()
    # Given the month measured once: three people, two projects
    first = record_measurement(measure_delivery_month(inputs(), POLICY), trail, why="test")
    assert (first["worker_records_appended"], first["wip_records_appended"]) == (3, 2)
    records = trail.records(case_id_of(MONTH))
    assert {(r.workflow, r.step, r.actor) for r in records} == {
        ("delivery", "measure delivery", Actor.system("measure_delivery"))
    }

    # When it is measured again over the same data
    again = record_measurement(measure_delivery_month(inputs(), POLICY), trail, why="test")
    # Then nothing is appended
    assert again["records_appended"] == 0 and len(trail.records(case_id_of(MONTH))) == 5

    # When P-2's line is billed and W-1 corrects a line meanwhile
    billed = [
        t.model_copy(update={"invoice_id": "SI-10"})
        if t.id == "T-8"
        else t.model_copy(update={"hours": Decimal(7), "billing_hours": Decimal(7)})
        if t.id == "T-2"
        else t
        for t in TIME
    ]
    changed = record_measurement(
        measure_delivery_month(inputs(time_entries=billed), POLICY), trail, why="test"
    )
    # Then W-1 gets a new record (W-2's EUR hours still count: billed or not, they were worked), P-1 a new
    # figure, and P-2 a record of zero: the latest record of each says what holds now
    assert (changed["worker_records_appended"], changed["wip_records_appended"]) == (1, 2)
    latest = {
        (r.action, r.data.get("worker_id") or r.data["project_id"]): r.data
        for r in trail.records(case_id_of(MONTH))
    }
    assert latest[("delivery.measured", "W-1")]["billable_hours"] == "15.00"
    assert latest[("wip.measured", "P-2")]["wip_base"] == "0.00"
    assert latest[("wip.measured", "P-2")]["aging_base"] == {
        "0-30": "0.00",
        "31-60": "0.00",
        "61-90": "0.00",
        "90+": "0.00",
    }
    # And a third run over the changed data appends nothing again
    assert (
        record_measurement(measure_delivery_month(inputs(time_entries=billed), POLICY), trail, why="t")[
            "records_appended"
        ]
        == 0
    )
