"""The weekly decisions store: a line's decision kept with the hash of the line as decided, written only on a
condition (the first decision if none exists, a later one on the version read), so the month-end run can tell a
line settled in the week from one changed since."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import boto3
import pytest
from moto import mock_aws

from backoffice.models import ExpenseEntry, TimeEntry
from backoffice.time_expense.decisions import Decision, DecisionStore, line_hash

TABLE = "time_expense"
MONDAY = datetime(2026, 11, 30, 9, tzinfo=UTC)


def time_entry(**changes: Any) -> TimeEntry:
    fields: dict[str, Any] = {
        "id": "TS-1",
        "worker_id": "W-1",
        "project_id": "P-1",
        "activity_type": "Consulting",
        "work_date": date(2026, 11, 30),
        "hours": Decimal("8"),
        "description": "Workshop with the client",
        "is_billable": True,
        "billing_hours": Decimal("8"),
        "billing_rate": Decimal("150"),
        "billing_amount": Decimal("1200"),
        "costing_rate": Decimal("80"),
        "currency": "USD",
        "status": "submitted",
    }
    return TimeEntry.model_validate({**fields, **changes})


def expense(**changes: Any) -> ExpenseEntry:
    fields: dict[str, Any] = {
        "id": "EX-1",
        "worker_id": "W-1",
        "project_id": "P-1",
        "expense_date": date(2026, 12, 1),
        "expense_type": "Travel",
        "description": "Train to the client",
        "amount": Decimal("84.50"),
        "currency": "USD",
        "status": "submitted",
    }
    return ExpenseEntry.model_validate({**fields, **changes})


@pytest.fixture
def store() -> Iterator[DecisionStore]:
    with mock_aws():
        db = boto3.client("dynamodb", region_name="us-east-1")
        db.create_table(
            TableName=TABLE,
            KeySchema=[
                {"AttributeName": "pk", "KeyType": "HASH"},
                {"AttributeName": "sk", "KeyType": "RANGE"},
            ],
            AttributeDefinitions=[
                {"AttributeName": "pk", "AttributeType": "S"},
                {"AttributeName": "sk", "AttributeType": "S"},
            ],
            BillingMode="PAY_PER_REQUEST",
        )
        yield DecisionStore(TABLE, db)


def approved(line: TimeEntry | ExpenseEntry, *, at: datetime = MONDAY, case_id: str = "c-1") -> Decision:
    return Decision.of_line(line, "approved", case_id=case_id, decided_by="policy", decided_at=at)


# -- the line's hash ----------------------------------------------------------------------------------------------


def test_the_hash_ignores_what_the_decision_itself_changes_and_how_numbers_are_written() -> None:
    # Given a submitted line
    line = time_entry()
    # When the PSA approves and bills it, and writes its hours as 8.00
    after = time_entry(
        status="approved", invoice_id="INV-1", hours=Decimal("8.00"), billing_rate=Decimal("150.0")
    )
    # Then it is the line that was decided
    assert line_hash(after) == line_hash(line)


@pytest.mark.parametrize(
    "change",
    [
        {"hours": Decimal("9")},
        {"billing_hours": Decimal("7")},
        {"description": "Workshop with the client, and travel"},
        {"is_billable": False},
        {"billing_rate": Decimal("175")},
        {"project_id": "P-2"},
        {"work_date": date(2026, 12, 1)},
    ],
)
def test_the_hash_changes_when_what_was_decided_changes(change: dict[str, Any]) -> None:
    # Given a line, When one field a reviewer looked at changes, Then the hash differs
    assert line_hash(time_entry(**change)) != line_hash(time_entry())


def test_an_expense_hash_follows_its_amount_and_not_its_status() -> None:
    assert line_hash(expense(status="approved")) == line_hash(expense())
    assert line_hash(expense(amount=Decimal("94.50"))) != line_hash(expense())


# -- the store ----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "change",
    [
        {"sanctioned_amount": Decimal("420.00")},  # what billing bills
        {"receipt_amount": Decimal("98.00")},  # what the receipt says
        {"merchant": "Another Hotel"},
        {"attendees": 3},
    ],
)
def test_an_expense_hash_follows_what_billing_bills_and_what_the_scorer_reads_off_the_receipt(
    change: dict[str, Any],
) -> None:
    assert line_hash(expense()) != line_hash(expense(**change))


def test_a_decision_is_stored_and_read_back_with_the_hash_of_the_line_as_decided(
    store: DecisionStore,
) -> None:
    # Given a clean line approved by the policy and a flagged expense sent back by its approver
    line, claim = time_entry(), expense()
    sent_back = Decision.of_line(
        claim,
        "sent_back",
        case_id="expense-report-R-1",
        decided_by="approver@example-firm.com",
        decided_at=MONDAY,
        rules=("TE4", "TE9"),
        reason="The receipt says 48.50",
    )
    # When both are recorded
    recorded = store.record([approved(line), sent_back])
    # Then both are written, and read back as they were decided
    assert recorded.written == ("TS-1", "EX-1")
    found = store.get_many(["TS-1", "EX-1", "TS-unknown"])
    assert set(found) == {"TS-1", "EX-1"}
    assert found["EX-1"].rules == ("TE4", "TE9") and found["EX-1"].reason == "The receipt says 48.50"
    assert found["EX-1"].decision == "sent_back" and found["EX-1"].version == 1
    # And the approved line, unchanged, is settled; changed, it is not
    assert found["TS-1"].settles(time_entry(status="approved"))
    assert not found["TS-1"].settles(time_entry(hours=Decimal("10")))
    assert not found["EX-1"].settles(claim)


def test_the_same_decision_recorded_again_writes_nothing(store: DecisionStore) -> None:
    # Given a decision recorded once
    store.record([approved(time_entry())])
    # When the step is retried and records it again
    again = store.record([approved(time_entry())])
    # Then nothing is written and the stored version stays 1
    assert again.unchanged == ("TS-1",) and not again.written
    assert store.get("TS-1").version == 1  # type: ignore[union-attr]


def test_a_later_decision_replaces_an_earlier_one_and_an_older_one_never_does(store: DecisionStore) -> None:
    # Given a line sent back on Monday, corrected and approved on Wednesday (a resubmission's case)
    store.record(
        [Decision.of_line(time_entry(), "sent_back", case_id="c-1", decided_by="pm@x.com", decided_at=MONDAY)]
    )
    wednesday = approved(time_entry(hours=Decimal("6")), at=MONDAY + timedelta(days=2), case_id="c-2")
    assert store.record([wednesday]).written == ("TS-1",)
    # When Monday's step is retried late and records its decision again
    late = store.record(
        [Decision.of_line(time_entry(), "sent_back", case_id="c-1", decided_by="pm@x.com", decided_at=MONDAY)]
    )
    # Then Wednesday's approval stays, at version 2
    assert late.superseded == ("TS-1",)
    stored = store.get("TS-1")
    assert (
        stored is not None
        and stored.decision == "approved"
        and stored.case_id == "c-2"
        and stored.version == 2
    )


def test_reading_many_lines_reads_past_the_hundred_keys_of_one_request(store: DecisionStore) -> None:
    # Given 230 decided lines
    lines = [time_entry(id=f"TS-{n}") for n in range(230)]
    store.record([approved(line) for line in lines])
    # When the month-end run reads them with ids repeated and unknown
    found = store.get_many([line.id for line in lines] + ["TS-1", "TS-nope"])
    # Then each decided line is there once
    assert len(found) == 230


def test_the_month_end_run_is_told_which_lines_the_week_settled(store: DecisionStore) -> None:
    # Given a line approved in the week, one approved and edited since, one sent back and one never decided
    approved_line, edited, sent_back = time_entry(id="TS-A"), time_entry(id="TS-B"), time_entry(id="TS-C")
    store.record(
        [
            approved(approved_line),
            approved(edited),
            Decision.of_line(sent_back, "sent_back", case_id="c-1", decided_by="pm@x.com", decided_at=MONDAY),
        ]
    )
    at_month_end = [
        approved_line.model_copy(update={"status": "approved"}),
        edited.model_copy(update={"hours": Decimal("6")}),
        sent_back,
        time_entry(id="TS-D"),
    ]
    # When the month-end run asks / Then only the unchanged approved line is settled
    assert set(store.settled_in_week(at_month_end)) == {"TS-A"}
