"""The sandbox systems' read-modify-writes raced on threads against the local runtime's DynamoDB.

Each race releases its calls together from a barrier; the local runtime makes moto's conditional writes atomic as
DynamoDB's are (local/runtime.py), so what is proved here is the sandbox's own guard. Counts are exact: a lost line,
a number given twice, a second record for one idempotency key or one fault too many fails the test
(docs/concurrency.md).
"""

from __future__ import annotations

import threading
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import date, timedelta
from decimal import Decimal
from typing import Any, TypeVar

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from backoffice.connectors.ports import ConnectorUnavailable
from backoffice.connectors.sandbox import SandboxErp, SandboxStore
from backoffice.local.runtime import LocalRuntime
from backoffice.models import Invoice, InvoiceLine, Vendor

T = TypeVar("T")


def at_once(calls: list[Callable[[], T]]) -> list[T | Exception]:
    """Run the calls on their own threads, released together; each one's answer (or exception) in the order given."""
    barrier = threading.Barrier(len(calls))
    answers: list[T | Exception | None] = [None] * len(calls)

    def run(index: int, call: Callable[[], T]) -> None:
        barrier.wait()
        try:
            answers[index] = call()
        except Exception as error:  # counted by the test, as a caller would see it
            answers[index] = error

    threads = [threading.Thread(target=run, args=(i, call)) for i, call in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(thread.is_alive() for thread in threads), "a call did not come back"
    return [answer for answer in answers if answer is not None]


@pytest.fixture(scope="module")
def local() -> Iterator[LocalRuntime]:
    """One runtime for the module (the examples use keys of their own): the sandbox table as the runtime seeds it."""
    with LocalRuntime(retry_time_scale=0.001, api_port=None) as runtime:
        yield runtime


@pytest.fixture(scope="module")
def sandbox(local: LocalRuntime) -> SandboxStore:
    return local.sandbox()


def day_item(local: LocalRuntime, system: str, entity: str, day: date) -> dict[str, Any]:
    item: dict[str, Any] = (
        local.client("dynamodb")
        .get_item(
            TableName=local.sandbox().table,
            Key={"pk": {"S": f"{system}#{entity}#day"}, "sk": {"S": day.isoformat()}},
            ConsistentRead=True,
        )
        .get("Item")
    )
    return item


def version_of(local: LocalRuntime, system: str, entity: str, day: date) -> int:
    return int(day_item(local, system, entity, day)["version"]["N"])


# -- _change_item: version-conditioned day buckets ------------------------------------------------------------


def test_eight_writers_adding_fifty_lines_each_to_one_day_lose_none(
    local: LocalRuntime, sandbox: SandboxStore
) -> None:
    # Given one day of a PSA's timesheet that nobody has written yet
    day = date(2031, 1, 6)

    def writer(thread: int) -> Callable[[], int]:
        def add_fifty() -> int:
            for n in range(50):
                line = f"TE-race-{thread}-{n:02d}"
                sandbox.put_lines(
                    "psa", "time_entry", [(line, day, {"id": line, "hours": "1", "by": thread})]
                )
            return thread

        return add_fifty

    # When eight writers add fifty lines each to that day at the same moment
    answers = at_once([writer(t) for t in range(8)])
    # Then every writer finished, the day holds all 400 lines, and its version counts the 400 writes
    assert answers == list(range(8))
    lines = sandbox.lines_between("psa", "time_entry", day, day, None)[0]
    assert len(lines) == 400
    assert Counter(line["by"] for line in lines) == dict.fromkeys(range(8), 50)
    assert version_of(local, "psa", "time_entry", day) == 400
    # and every line is found by its id (the 64 index buckets were raced too): none missing
    ids = [f"TE-race-{t}-{n:02d}" for t in range(8) for n in range(50)]
    assert sandbox.update_lines("psa", "time_entry", ids, lambda body: body) == []


def test_invoices_marking_lines_of_one_day_at_once_keep_every_mark(
    local: LocalRuntime, sandbox: SandboxStore
) -> None:
    # Given 400 lines on one day, seeded in one write
    day = date(2031, 2, 3)
    ids = {t: [f"EX-mark-{t}-{n:02d}" for n in range(50)] for t in range(8)}
    sandbox.put_lines(
        "psa", "expense", [(i, day, {"id": i, "invoice_id": None}) for t in ids for i in ids[t]]
    )
    assert version_of(local, "psa", "expense", day) == 1

    def invoice(thread: int) -> Callable[[], list[str]]:
        def mark() -> list[str]:
            missing: list[str] = []
            for start in range(0, 50, 10):  # ten lines per call, as an invoice posts its lines in pages
                missing += sandbox.update_lines(
                    "psa",
                    "expense",
                    ids[thread][start : start + 10],
                    lambda body, thread=thread: {**body, "invoice_id": f"SINV-{thread}"},
                )
            return missing

        return mark

    # When eight invoices each mark their fifty lines of that day, five calls each, all at the same moment
    answers = at_once([invoice(t) for t in range(8)])
    # Then no line was missing, every line carries its own invoice's mark, and the day took 1 + 40 writes
    assert answers == [[]] * 8
    lines = sandbox.lines_between("psa", "expense", day, day, None)[0]
    assert {line["id"]: line["invoice_id"] for line in lines} == {i: f"SINV-{t}" for t in ids for i in ids[t]}
    assert version_of(local, "psa", "expense", day) == 1 + 8 * 5


@settings(max_examples=6, deadline=None)
@given(writes=st.lists(st.integers(min_value=1, max_value=10), min_size=2, max_size=6))
def test_any_writers_on_one_day_give_one_version_per_write(local: LocalRuntime, writes: list[int]) -> None:
    # Given a fresh day and writers that will each add the given number of lines
    sandbox = local.sandbox()
    day = date(2032, 1, 1) + timedelta(days=uuid.uuid4().int % 3000)
    tag = uuid.uuid4().hex[:8]

    def writer(thread: int, count: int) -> Callable[[], None]:
        def add() -> None:
            for n in range(count):
                line = f"TE-{tag}-{thread}-{n}"
                sandbox.put_lines("psa", "time_entry", [(line, day, {"id": line})])

        return add

    # When they all write at once
    at_once([writer(t, count) for t, count in enumerate(writes)])
    # Then the day holds every line and its version is the number of writes
    lines = sandbox.lines_between("psa", "time_entry", day, day, None)[0]
    assert sorted(line["id"] for line in lines) == sorted(
        f"TE-{tag}-{t}-{n}" for t, count in enumerate(writes) for n in range(count)
    )
    assert version_of(local, "psa", "time_entry", day) == sum(writes)


# -- next_sequence: atomic ADD ----------------------------------------------------------------------------------


def test_eight_threads_taking_a_hundred_numbers_each_get_1_to_800_once_each(sandbox: SandboxStore) -> None:
    # Given a fresh invoice number sequence
    name = f"invoice-race-{uuid.uuid4().hex[:8]}"

    def take_hundred() -> list[int]:
        return [sandbox.next_sequence("erp", name) for _ in range(100)]

    # When eight threads take a hundred numbers each at the same moment
    answers = at_once([take_hundred] * 8)
    # Then the 800 numbers are 1..800, each given exactly once, and each thread's are increasing
    numbers = [n for answer in answers for n in answer]
    assert sorted(numbers) == list(range(1, 801))
    assert all(answer == sorted(answer) for answer in answers)


@settings(max_examples=10, deadline=None)
@given(takers=st.lists(st.integers(min_value=1, max_value=30), min_size=1, max_size=10))
def test_any_takers_of_one_sequence_get_distinct_numbers_without_gaps(
    sandbox: SandboxStore, takers: list[int]
) -> None:
    # Given a fresh sequence and takers each wanting some numbers
    name = f"seq-{uuid.uuid4().hex[:8]}"
    # When they take them at once
    answers = at_once(
        [lambda count=count: [sandbox.next_sequence("psa", name) for _ in range(count)] for count in takers]
    )
    # Then the numbers are exactly 1..total
    assert sorted(n for answer in answers for n in answer) == list(range(1, sum(takers) + 1))


# -- create_once: idempotent create claim -----------------------------------------------------------------------


def test_ten_creates_with_one_idempotency_key_at_once_make_one_vendor_every_time(
    sandbox: SandboxStore,
) -> None:
    erp = SandboxErp(sandbox)
    vendor = Vendor.model_validate(
        {"id": "new", "supplier_name": "Race Condition Supplies Ltd", "default_currency": "USD"}
    )
    for _trial in range(10):  # the window this guards was hit in about 1 race of 4 before the fix
        # Given a vendor the ERP does not have and one idempotency key for its creation
        vendors_before = {v["id"] for v in sandbox.all("erp", "vendor")}
        key = f"vendor#race-{uuid.uuid4().hex[:8]}"
        # When ten copies of the create arrive at the same moment
        answers = at_once([lambda key=key: erp.create_vendor(vendor, idempotency_key=key)] * 10)
        # Then all ten got the same id, and the ERP holds one new vendor under it
        created = [a for a in answers if not isinstance(a, Exception)]
        assert len(created) == 10
        [vendor_id] = {a.id for a in created}
        new = [v for v in sandbox.all("erp", "vendor") if v["id"] not in vendors_before]
        assert [(v["id"], v["supplier_name"]) for v in new] == [(vendor_id, "Race Condition Supplies Ltd")]
        # and exactly one of them was told it created the vendor; the nine others found it
        assert Counter(a.created for a in created) == {True: 1, False: 9}


# -- raise_injected_fault: counter decrement with a condition ---------------------------------------------------


@settings(max_examples=10, deadline=None)
@given(remaining=st.integers(min_value=0, max_value=12), callers=st.integers(min_value=1, max_value=20))
def test_an_injected_outage_fails_exactly_as_many_calls_as_it_was_set_for(
    sandbox: SandboxStore, remaining: int, callers: int
) -> None:
    # Given an ERP outage set to answer the next `remaining` calls as unavailable
    sandbox.inject_fault("erp", "ConnectorUnavailable", times=remaining)
    erp = SandboxErp(sandbox)
    # When `callers` calls reach the ERP at the same moment
    answers = at_once([lambda: erp.list_customers()] * callers)
    # Then exactly min(remaining, callers) failed as unavailable, the rest were answered, and the counter is left
    # at what is still to come (never below zero)
    failed = [a for a in answers if isinstance(a, Exception)]
    assert all(isinstance(a, ConnectorUnavailable) for a in failed)
    assert (len(failed), len(answers) - len(failed)) == (min(remaining, callers), max(0, callers - remaining))
    item = sandbox.db.get_item(
        TableName=sandbox.table, Key={"pk": {"S": "faults"}, "sk": {"S": "erp"}}, ConsistentRead=True
    )["Item"]
    assert int(item["remaining"]["N"]) == max(0, remaining - callers)


def test_twenty_callers_meeting_an_outage_of_five_see_exactly_five_failures(sandbox: SandboxStore) -> None:
    # Given an ERP outage of five calls
    sandbox.inject_fault("erp", "ConnectorUnavailable", times=5)
    erp = SandboxErp(sandbox)
    # When twenty calls arrive at once
    answers = at_once([lambda: erp.list_customers()] * 20)
    # Then five failed as unavailable and fifteen got the customers
    assert Counter(type(a).__name__ for a in answers) == {"ConnectorUnavailable": 5, "Page": 15}


# -- post_invoice: a draft posted twice at once -----------------------------------------------------------------


def test_one_draft_posted_by_many_callers_at_once_gets_one_number(sandbox: SandboxStore) -> None:
    # Given a draft invoice in the ERP
    erp = SandboxErp(sandbox)
    line = InvoiceLine(
        source="fee", description="Fee", quantity=Decimal(1), rate=Decimal(100), amount=Decimal(100)
    )
    draft = Invoice(
        id="draft",
        client_id="C-RACE",
        currency="USD",
        posting_date=date(2031, 2, 28),
        due_date=date(2031, 3, 30),
        lines=[line],
        net_total=Decimal(100),
        grand_total=Decimal(100),
        outstanding_amount=Decimal(100),
    )
    created = erp.create_invoice(draft, idempotency_key=f"post-race-{uuid.uuid4()}")
    # When eight callers post it at the same moment (a retried step racing the first attempt)
    answers = at_once([lambda: erp.post_invoice(created.id) for _ in range(8)])
    # Then every caller is told the same number, and the ERP holds that number
    numbers = {answer.invoice_number for answer in answers if not isinstance(answer, Exception)}
    assert len(answers) == 8 and not [a for a in answers if isinstance(a, Exception)]
    assert len(numbers) == 1
    stored = sandbox.get("erp", "invoice", created.id)
    assert stored is not None and stored["status"] == "posted" and {stored["invoice_number"]} == numbers


# -- the runtime's DynamoDB: a read sees a transaction whole or not at all ----------------------------------------


def test_a_read_during_a_transaction_being_cancelled_never_sees_its_first_write(
    local: LocalRuntime, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a transaction whose first write (a put) lands before its second (an update) fails its condition, held
    # just after the put until a reader has asked for the put's item
    from moto.dynamodb.models import DynamoDBBackend

    dynamodb, table = local.client("dynamodb"), local.sandbox().table
    key = {"pk": {"S": f"race#{uuid.uuid4()}"}, "sk": {"S": "held"}}
    started, asked = threading.Event(), threading.Event()
    put = DynamoDBBackend.put_item

    def slow_put(backend: Any, *args: Any, **kwargs: Any) -> Any:
        written = put(backend, *args, **kwargs)
        started.set()
        asked.wait(timeout=1)  # a reader that is not kept out reads within this second
        return written

    monkeypatch.setattr(DynamoDBBackend, "put_item", slow_put)

    def transaction() -> None:
        dynamodb.transact_write_items(
            TransactItems=[
                {"Put": {"TableName": table, "Item": {**key, "amount": {"N": "1000"}}}},
                {
                    "Update": {
                        "TableName": table,
                        "Key": {"pk": {"S": key["pk"]["S"]}, "sk": {"S": "project"}},
                        "UpdateExpression": "ADD reserved :a",
                        "ConditionExpression": "attribute_exists(pk)",  # no such item: cancelled
                        "ExpressionAttributeValues": {":a": {"N": "1000"}},
                    }
                },
            ]
        )

    def reader() -> dict[str, Any] | None:
        assert started.wait(timeout=10)
        threading.Timer(
            0.2, asked.set
        ).start()  # the transaction goes on once the read is under way (or done)
        found: dict[str, Any] | None = dynamodb.get_item(TableName=table, Key=key, ConsistentRead=True).get(
            "Item"
        )
        asked.set()
        return found

    # When one thread reads the put's item while the transaction is between its two writes
    cancelled: list[str] = []

    def write() -> None:
        try:
            transaction()
        except dynamodb.exceptions.TransactionCanceledException as error:
            cancelled.append(error.response["Error"]["Code"])

    writer = threading.Thread(target=write)
    writer.start()
    seen = reader()
    writer.join(timeout=10)
    # Then the read waited for the transaction and saw nothing of it, as DynamoDB isolates a transaction
    assert cancelled == ["TransactionCanceledException"]
    assert seen is None
    assert dynamodb.get_item(TableName=table, Key=key, ConsistentRead=True).get("Item") is None
