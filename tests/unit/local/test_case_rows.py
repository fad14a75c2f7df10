"""The rows of the console's case list: business keys, search, and the times the pages print."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from backoffice.audit import Actor, AuditRecord
from backoffice.local.case_rows import CaseRow, age, business_keys, format_utc, parse_time, published_outcome

NOW = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)


def record(action: str, outcome: str, data: dict[str, Any] | None = None, seq: int = 1) -> AuditRecord:
    return AuditRecord(
        case_id="onboard-1",
        seq=seq,
        workflow="onboarding",
        step="step",
        actor=Actor.system("test"),
        action=action,
        outcome=outcome,
        data=data or {},
        timestamp="2026-12-06T10:00:00+00:00",
        prev_hash="0" * 64,
        hash="1" * 64,
    )


def test_business_keys_come_from_the_start_event_then_the_audit_records() -> None:
    # Given a start event naming the opportunity and the client, and records naming the project and the vendor
    start = {"event": {"detail": {"opportunity": {"id": "006A"}, "client": {"customer_name": "Coho Winery"}}}}
    records = [
        record("customer.matched", "matched", {"client_name": "Another name", "project_id": "COHO-1"}),
        record("vendor.checked", "ok", {"vendor_name": "Tax id 84-2231907 Ltd"}, seq=2),
    ]
    # When the case's business keys are read
    keys = business_keys(start, records)
    # Then the start event wins, the records fill the gaps, in the console's order, and a tax id is masked
    assert keys == {
        "client": "Coho Winery",
        "project": "COHO-1",
        "vendor": "Tax id •••••1907 Ltd",
        "opportunity": "006A",
    }


def test_a_case_without_an_execution_has_the_keys_of_its_records() -> None:
    assert business_keys(None, [record("event.rejected", "rejected", {"opportunity_id": "006B"})]) == {
        "opportunity": "006B"
    }


def test_the_outcome_is_the_last_one_published() -> None:
    records = [
        record("outcome.published", "Onboarding Blocked"),
        record("step.done", "ok", seq=2),
        record("outcome.published", "Project Onboarded", seq=3),
    ]
    assert published_outcome(records) == "Project Onboarded"
    assert published_outcome(records[1:2]) is None


@pytest.mark.parametrize("query", ["", "  ", "ONBOARD-1", "coho", "006a"])
def test_search_matches_the_case_id_and_the_business_keys(query: str) -> None:
    row = CaseRow(
        "onboard-1",
        "onboarding",
        "RUNNING",
        None,
        None,
        None,
        None,
        {"client": "Coho", "opportunity": "006A"},
    )
    assert row.matches(query)
    assert not row.matches("lucerne")


@pytest.mark.parametrize(
    ("ago", "shown"),
    [
        (timedelta(seconds=42), "42 s"),
        (timedelta(minutes=7, seconds=59), "7 min"),
        (timedelta(hours=3, minutes=30), "3.5 h"),
        (timedelta(days=2), "2.0 d"),
        (timedelta(seconds=-5), "0 s"),
    ],
)
def test_an_age_reads_in_the_largest_unit_that_fits(ago: timedelta, shown: str) -> None:
    assert age(NOW - ago, NOW) == shown


def test_times_are_read_from_iso_8601_and_printed_in_utc() -> None:
    assert parse_time("2026-12-06T10:00:00Z") == datetime(2026, 12, 6, 10, tzinfo=UTC)
    assert parse_time("2026-12-06T10:00:00") == datetime(2026, 12, 6, 10, tzinfo=UTC)
    assert parse_time("yesterday") is None and parse_time(None) is None
    assert (
        format_utc(datetime(2026, 12, 6, 11, 0, tzinfo=UTC) + timedelta(seconds=3))
        == "2026-12-06 11:00:03 UTC"
    )
    assert format_utc(None) == "" and age(None) == ""
