"""The weekly decisions store under concurrent writers: the real ``time_expense`` table of the local runtime, with
requests released together on threads (docs/concurrency.md, "Weekly time and expense decisions").

A line's decision is written by the weekly review's steps, which Step Functions retries, and by a resubmission's
case, which may run beside a late retry of the first one. Each write is a conditional put on the version read: no
decision is lost, a retried step writes nothing twice, and an older decision never replaces a newer one.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest

from backoffice.local.runtime import LocalRuntime
from backoffice.models import TimeEntry
from backoffice.time_expense.decisions import Decision, DecisionStore, Recorded
from infra.catalog import Ref
from tests.integration.test_sandbox_concurrency import at_once

MONDAY = datetime(2026, 11, 30, 9, tzinfo=UTC)


@pytest.fixture(scope="module")
def local() -> Iterator[LocalRuntime]:
    with LocalRuntime(retry_time_scale=0.001, api_port=None) as runtime:
        yield runtime


def store_of(local: LocalRuntime) -> DecisionStore:
    return DecisionStore(local.resolve(Ref("table_name", "time_expense")), local.client("dynamodb"))


def a_line() -> TimeEntry:
    return TimeEntry.model_validate(
        {
            "id": f"TS-{uuid.uuid4().hex[:8]}",
            "worker_id": "W-1",
            "project_id": "P-1",
            "activity_type": "Consulting",
            "work_date": date(2026, 11, 30),
            "hours": Decimal("8"),
            "is_billable": True,
            "billing_hours": Decimal("8"),
            "billing_rate": Decimal("150"),
            "billing_amount": Decimal("1200"),
            "costing_rate": Decimal("80"),
            "currency": "USD",
            "status": "submitted",
        }
    )


@pytest.mark.parametrize("trial", range(3))
def test_eight_copies_of_one_decision_at_once_write_it_once(local: LocalRuntime, trial: int) -> None:
    # Given a line and its approval by the policy
    store, line = store_of(local), a_line()
    decision = Decision.of_line(
        line, "approved", case_id="timesheet-W-1-2026-11-30", decided_by="policy", decided_at=MONDAY
    )
    # When eight copies of the step record it at the same moment (a retried task, a redelivery)
    answers = at_once([lambda: store.record([decision])] * 8)
    # Then no call failed, exactly one wrote it and seven found it written, and the stored version is 1
    assert not [a for a in answers if isinstance(a, Exception)]
    recorded = [a for a in answers if isinstance(a, Recorded)]
    assert sum(len(r.written) for r in recorded) == 1
    assert sum(len(r.unchanged) for r in recorded) == 7
    stored = store.get(line.id)
    assert stored is not None and stored.version == 1 and stored.decision == "approved"


@pytest.mark.parametrize("trial", range(3))
def test_twelve_different_decisions_at_once_keep_the_latest_and_lose_none(
    local: LocalRuntime, trial: int
) -> None:
    # Given a line, and twelve decisions about it made at twelve different minutes (cases and people)
    store, line = store_of(local), a_line()
    decisions = [
        Decision.of_line(
            line,
            "approved" if minute % 2 else "sent_back",
            case_id=f"case-{minute}",
            decided_by=f"pm{minute}@example-firm.com",
            decided_at=MONDAY + timedelta(minutes=minute),
            reason=None if minute % 2 else f"reason {minute}",
        )
        for minute in range(12)
    ]
    # When all twelve are recorded at the same moment
    answers = at_once([lambda d=d: store.record([d]) for d in decisions])  # type: ignore[misc]
    # Then none failed, the stored decision is the latest one, and every write went in on the version it read:
    # the version counts the writes exactly, and the other decisions were each kept out as older
    assert not [a for a in answers if isinstance(a, Exception)]
    recorded = [a for a in answers if isinstance(a, Recorded)]
    written = sum(len(r.written) for r in recorded)
    superseded = sum(len(r.superseded) for r in recorded)
    assert written + superseded == 12 and written >= 1
    stored = store.get(line.id)
    assert stored is not None
    assert stored.case_id == "case-11" and stored.decided_at == MONDAY + timedelta(minutes=11)
    assert stored.version == written


def test_decisions_of_different_lines_at_once_are_all_kept(local: LocalRuntime) -> None:
    # Given ten lines of one week
    store = store_of(local)
    lines = [a_line() for _ in range(10)]
    # When each line's approval is recorded at the same moment as the others
    answers = at_once(
        [
            lambda line=line: store.record(  # type: ignore[misc]
                [Decision.of_line(line, "approved", case_id="c", decided_by="policy", decided_at=MONDAY)]
            )
            for line in lines
        ]
    )
    # Then all ten are stored, once each
    assert not [a for a in answers if isinstance(a, Exception)]
    found = store.get_many([line.id for line in lines])
    assert len(found) == 10 and {d.version for d in found.values()} == {1}
