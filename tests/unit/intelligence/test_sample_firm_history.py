"""The six-month sample firm behind ``backoffice report --sample``: office hours, the records' shapes, determinism."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from backoffice.audit import AuditRecord
from backoffice.intelligence.sample_firm import (
    office_hours_after,
    sample_as_of,
    sample_firm_records,
    working_day,
)

R1_KEYS = {
    "invoice_id", "invoice_number", "amount", "currency", "lines_billed", "client_id", "project_id", "practice",
    "invoice_date", "due_date", "period_start", "period_end", "conversion_rate", "amount_base", "hours_billed",
    "time_billed_base", "time_standard_base",
}  # fmt: skip
R2_KEYS = {
    "invoice_id", "payment_id", "client_id", "paid_on", "amount", "currency", "amount_base", "invoice_date",
    "due_date", "open_after", "open_after_base", "days_to_pay",
}  # fmt: skip
R4_KEYS = {
    "month", "worker_id", "practice", "employment", "available_hours", "leave_hours", "billable_hours",
    "non_billable_hours", "standard_value_base",
}  # fmt: skip


@pytest.fixture(scope="module")
def records() -> list[AuditRecord]:
    return sample_firm_records()


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


@pytest.mark.parametrize(
    ("start", "hours", "expected"),
    [
        ("2026-11-04T10:00", 3, "2026-11-04T13:00"),  # within the day
        ("2026-11-06T17:00", 2, "2026-11-09T10:00"),  # Friday evening -> Monday morning
        ("2026-11-04T06:30", 1, "2026-11-04T10:00"),  # before the office opens
        ("2026-11-25T17:30", 1, "2026-11-30T09:30"),  # Thanksgiving and the day after are holidays
        ("2026-11-07T12:00", 9, "2026-11-09T18:00"),  # a Saturday request: a full Monday
    ],
)
def test_people_answer_in_office_hours(start: str, hours: float, expected: str) -> None:
    assert office_hours_after(at(start), hours) == at(expected)


def test_the_billing_run_starts_on_the_second_working_day() -> None:
    # Given November 2026 starts on a Sunday, When counting working days, Then the 1st is the 2nd, the 2nd the 3rd
    assert (working_day(date(2026, 11, 1), 1), working_day(date(2026, 11, 1), 2)) == (
        date(2026, 11, 2),
        date(2026, 11, 3),
    )


def test_the_sample_is_six_months_of_150_people(records: list[AuditRecord]) -> None:
    measured = Counter(r.data["month"] for r in records if r.action == "delivery.measured")
    assert measured == {f"2026-{m:02d}": 150 for m in range(5, 11)}
    assert sample_as_of(records) == datetime(2026, 11, 30, 18, tzinfo=UTC)
    assert max(datetime.fromisoformat(r.timestamp) for r in records) <= sample_as_of(records)


def test_records_carry_the_data_the_management_numbers_read(records: list[AuditRecord]) -> None:
    by_action: dict[str, list[AuditRecord]] = {}
    for r in records:
        by_action.setdefault(r.action, []).append(r)
    assert all(set(r.data) >= R1_KEYS for r in by_action["invoice.posted"])
    assert all(set(r.data) >= R2_KEYS for r in by_action["invoice.paid"])
    assert all(set(r.data) >= R4_KEYS for r in by_action["delivery.measured"])
    assert by_action["invoice.credited"] and by_action["wip.measured"]
    assert any(r.data.get("written_off") for r in by_action["exceptions.settled"])
    # Clients pay in weeks, at their own habit, and never before the invoice
    days = [r.data["days_to_pay"] for r in by_action["invoice.paid"]]
    assert min(days) > 0 and 25 <= sorted(days)[len(days) // 2] <= 60
    # A paid invoice's payments add up to what it billed less its credits
    posted = {r.data["invoice_id"]: Decimal(r.data["amount"]) for r in by_action["invoice.posted"]}
    for r in by_action["invoice.paid"]:
        if r.outcome == "paid":
            assert Decimal(r.data["open_after"]) == 0 and r.data["invoice_id"] in posted


def test_people_decide_in_office_hours(records: list[AuditRecord]) -> None:
    decided = [datetime.fromisoformat(r.timestamp) for r in records if r.action == "approval.decided"]
    assert decided and all(d.weekday() < 5 and 9 <= d.hour < 18 for d in decided)


def test_the_sample_is_hash_chained_and_the_same_every_time(records: list[AuditRecord]) -> None:
    assert all(r.computed_hash() == r.hash for r in records)
    heads: dict[str, AuditRecord] = {}
    for r in sorted(records, key=lambda r: (r.case_id, r.seq)):
        head = heads.get(r.case_id)
        assert r.seq == (head.seq + 1 if head else 1) and r.prev_hash == (head.hash if head else "0" * 64)
        heads[r.case_id] = r
    assert [r.hash for r in sample_firm_records()] == [r.hash for r in records]
