"""Receivables: a posted invoice registered in the ledger, the payments and credit memos applied to it once each,
the records they leave on the invoice's case (R2 ``invoice.paid``, R3 ``invoice.credited``), payments nobody can
apply parked once, the daily read's watermark, and the realization figures of ``invoice.posted`` (R1).

The ledger runs on an in-memory table that answers the conditional puts the ledger makes as DynamoDB does.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from types import SimpleNamespace
from typing import Any

import pytest
from botocore.exceptions import ClientError
from hypothesis import given, settings
from hypothesis import strategies as st

from backoffice.audit import JOB_WORKFLOWS
from backoffice.connectors.ports import Page
from backoffice.invoicing.readiness import BillingPeriod
from backoffice.invoicing.receivables import (
    CLAIM_LEASE,
    LOOKBACK_DAYS,
    ParkedPayments,
    PaymentRecorder,
    ReceivablesLedger,
    read_payments,
    register_receivable,
)
from backoffice.invoicing.steps import PeriodFile, billed_figures
from backoffice.models import Invoice, Payment, Project, RateCard, TimeEntry, Worker

# ------------------------------------------------------------------------------------------------------------
# Stand-ins
# ------------------------------------------------------------------------------------------------------------


def _failed() -> ClientError:
    return ClientError({"Error": {"Code": "ConditionalCheckFailedException", "Message": "failed"}}, "PutItem")


class MemoryTable:
    """get_item / put_item with the conditions the ledger writes, as DynamoDB evaluates them."""

    def __init__(self) -> None:
        self.items: dict[tuple[str, str], dict[str, Any]] = {}
        self.puts = 0

    def get_item(
        self, *, TableName: str, Key: Mapping[str, Any], ConsistentRead: bool = False
    ) -> dict[str, Any]:
        found = self.items.get((Key["pk"]["S"], Key["sk"]["S"]))
        return {"Item": dict(found)} if found else {}

    def put_item(
        self,
        *,
        TableName: str,
        Item: dict[str, Any],
        ConditionExpression: str,
        ExpressionAttributeNames: Mapping[str, str] | None = None,
        ExpressionAttributeValues: Mapping[str, Any] | None = None,
    ) -> None:
        key = (Item["pk"]["S"], Item["sk"]["S"])
        stored = self.items.get(key)
        values = ExpressionAttributeValues or {}
        for part in ConditionExpression.split(" AND ", 1):
            if part == "attribute_not_exists(sk)":
                ok = stored is None
            elif part == "#v = :v":
                ok = stored is not None and stored["version"] == values[":v"]
            elif part == "(attribute_not_exists(applied_ids) OR NOT contains(applied_ids, :id))":
                ok = stored is None or values[":id"]["S"] not in stored.get("applied_ids", {}).get("SS", [])
            else:
                raise AssertionError(f"condition not understood: {part}")
            if not ok:
                raise _failed()
        self.puts += 1
        self.items[key] = dict(Item)


@dataclass
class Trail:
    appended: list[dict[str, Any]] = field(default_factory=list)

    def append(self, **record: Any) -> None:
        self.appended.append(record)

    def of(self, case_id: str) -> list[dict[str, Any]]:
        return [r for r in self.appended if r["case_id"] == case_id]

    def records(self, case_id: str) -> list[SimpleNamespace]:
        """``AuditTrail.records``: the case's records, read back."""
        return [SimpleNamespace(action=r["action"], data=r["data"]) for r in self.of(case_id)]


@dataclass
class Queue:
    messages: list[dict[str, Any]] = field(default_factory=list)

    def send_message(self, **message: Any) -> None:
        self.messages.append(message)


@dataclass
class Clock:
    now: datetime = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


CASE = "billing-2026-10-01-2026-10-31-P-0008"


def invoice(**change: Any) -> Invoice:
    values: dict[str, Any] = {
        "id": "SINV-1",
        "invoice_number": "INV-2026-00001",
        "client_id": "CUST-0001",
        "project_id": "P-0008",
        "currency": "EUR",
        "conversion_rate": "1.0835",
        "posting_date": "2026-11-02",
        "due_date": "2026-12-02",
        "period_start": "2026-10-01",
        "period_end": "2026-10-31",
        "lines": [
            {"source": "fee", "description": "Fee", "quantity": "1", "rate": "1234.50", "amount": "1234.50"}
        ],
        "net_total": "1234.50",
        "grand_total": "1234.50",
        "outstanding_amount": "1234.50",
        "status": "posted",
    }
    return Invoice.from_json_dict(values | change)


def payment(payment_id: str = "PAY-1", amount: str = "1234.50", **change: Any) -> Payment:
    values: dict[str, Any] = {
        "kind": "payment",
        "id": payment_id,
        "invoice_id": "SINV-1",
        "client_id": "CUST-0001",
        "amount": amount,
        "currency": "EUR",
        "paid_on": "2026-12-01",
    }
    return Payment.from_json_dict(values | change)


def credit(credit_id: str = "CM-1", amount: str = "200", memo: str | None = "Disputed hours") -> Payment:
    return Payment.from_json_dict(
        {
            "kind": "credit_memo",
            "id": credit_id,
            "invoice_id": "SINV-1",
            "client_id": "CUST-0001",
            "amount": amount,
            "currency": "EUR",
            "credited_on": "2026-11-20",
            "memo": memo,
        }
    )


@dataclass
class Books:
    table: MemoryTable = field(default_factory=MemoryTable)
    trail: Trail = field(default_factory=Trail)
    queue: Queue = field(default_factory=Queue)
    clock: Clock = field(default_factory=Clock)

    @property
    def ledger(self) -> ReceivablesLedger:
        return ReceivablesLedger("finance_close", self.table)

    @property
    def recorder(self) -> PaymentRecorder:
        return PaymentRecorder(self.ledger, self.trail, ParkedPayments(self.queue, "parked"), self.clock)  # type: ignore[arg-type]

    def posted(self, **change: Any) -> Books:
        register_receivable(self.ledger, invoice(**change), CASE)
        return self


# ------------------------------------------------------------------------------------------------------------
# Payments, recorded as invoice.paid (R2)
# ------------------------------------------------------------------------------------------------------------


def test_a_payment_in_full_is_recorded_on_the_invoices_case_with_every_r2_figure() -> None:
    # Given an invoice of EUR 1,234.50 at 1.0835 to the firm's currency, posted on 2 November, due 2 December
    books = Books().posted()
    # When the client pays it all on 1 December
    result = books.recorder.record(payment(), via="event")
    # Then R2 lands on the invoicing case: paid, nothing open, 29 days to pay, base amounts half-up to cents
    [record] = books.trail.of(CASE)
    assert (record["workflow"], record["step"], record["action"], record["outcome"]) == (
        "invoicing",
        "record invoice payment",
        "invoice.paid",
        "paid",
    )
    assert record["actor"].id == "record_invoice_payment"
    assert record["data"] == {
        "invoice_id": "SINV-1",
        "payment_id": "PAY-1",
        "client_id": "CUST-0001",
        "paid_on": "2026-12-01",
        "amount": "1234.50",
        "currency": "EUR",
        "amount_base": "1337.58",  # 1,234.50 x 1.0835 = 1,337.58075
        "invoice_date": "2026-11-02",
        "due_date": "2026-12-02",
        "open_after": "0.00",
        "open_after_base": "0.00",
        "days_to_pay": 29,
    }
    assert result["outcome"] == "paid" and result["case_id"] == CASE
    assert books.ledger.get("SINV-1").open_amount == 0  # type: ignore[union-attr]


def test_the_same_payment_delivered_again_records_nothing() -> None:
    # Given a payment recorded once
    books = Books().posted()
    books.recorder.record(payment(), via="event")
    # When the same payment comes again (a redelivered event, then the daily read)
    again = books.recorder.record(payment(), via="event")
    read = books.recorder.record(payment(), via="daily read")
    # Then it is a duplicate both times: one record, the open amount taken down once
    assert again["outcome"] == read["outcome"] == "duplicate"
    assert len(books.trail.of(CASE)) == 1
    assert books.ledger.get("SINV-1").open_amount == 0  # type: ignore[union-attr]


def test_a_partial_payment_then_the_rest() -> None:
    books = Books().posted()
    # When the client pays 1,000.00 on 20 November, then 234.50 on 1 December
    first = books.recorder.record(payment("PAY-1", "1000.00", paid_on="2026-11-20"), via="event")
    second = books.recorder.record(payment("PAY-2", "234.50"), via="daily read")
    # Then the first leaves it partly paid with 234.50 open, the second pays it
    partly, paid = books.trail.of(CASE)
    assert (first["outcome"], second["outcome"]) == ("partly_paid", "paid")
    assert partly["outcome"] == "partly_paid"
    assert (partly["data"]["open_after"], partly["data"]["open_after_base"]) == ("234.50", "254.08")
    assert (partly["data"]["days_to_pay"], paid["data"]["days_to_pay"]) == (18, 29)
    assert paid["data"]["open_after"] == "0.00" and paid["data"]["amount_base"] == "254.08"


def test_an_overpayment_leaves_nothing_open_and_says_so() -> None:
    books = Books().posted()
    # When the client pays 1,300.00 on an invoice of 1,234.50
    books.recorder.record(payment(amount="1300.00"), via="event")
    # Then the invoice is paid, never below zero; the record says what was left unapplied
    [record] = books.trail.of(CASE)
    assert record["outcome"] == "paid"
    assert record["data"]["amount"] == "1234.50" and record["data"]["open_after"] == "0.00"
    assert record["data"]["unapplied"] == "65.50"
    assert any("overpaid: EUR 65.50" in reason for reason in record["reasons"])


# ------------------------------------------------------------------------------------------------------------
# Credit memos (R3)
# ------------------------------------------------------------------------------------------------------------


def test_a_credit_memo_is_recorded_as_credited_with_its_reason() -> None:
    books = Books().posted()
    # When a credit memo of 200.00 is applied to the invoice
    books.recorder.record(credit(), via="event")
    # Then R3 lands on the case with the memo's text as its reason; 1,034.50 open after it
    [record] = books.trail.of(CASE)
    assert (record["action"], record["outcome"]) == ("invoice.credited", "credited")
    assert record["data"] == {
        "invoice_id": "SINV-1",
        "credit_id": "CM-1",
        "client_id": "CUST-0001",
        "credited_on": "2026-11-20",
        "amount": "200.00",
        "currency": "EUR",
        "amount_base": "216.70",
        "open_after": "1034.50",
        "open_after_base": "1120.88",  # 1,034.50 x 1.0835 = 1,120.88075
        "reason": "Disputed hours",
    }


def test_a_payment_and_a_credit_memo_with_the_same_id_are_two_applications() -> None:
    books = Books().posted()
    books.recorder.record(credit("X-1", "200"), via="event")
    books.recorder.record(payment("X-1", "1034.50"), via="event")
    assert [r["outcome"] for r in books.trail.of(CASE)] == ["credited", "paid"]


# ------------------------------------------------------------------------------------------------------------
# Payments nobody can apply
# ------------------------------------------------------------------------------------------------------------


def test_a_payment_of_an_unknown_invoice_is_audited_on_its_own_case_and_parked_once() -> None:
    # Given a ledger that has never seen invoice SINV-404
    books = Books().posted()
    stray = payment("PAY-9", invoice_id="SINV-404")
    # When its payment arrives, then again from the daily read
    first = books.recorder.record(stray, via="event")
    second = books.recorder.record(stray, via="daily read")
    # Then a clear error, one audit record on payment-PAY-9 (a job's trail, not a case) and one parked copy
    assert first["outcome"] == second["outcome"] == "not_applied"
    assert "invoice SINV-404 is not in the receivables ledger" in first["error"]
    assert (first["parked"], second["parked"]) == (True, False)
    [record] = books.trail.of("payment-PAY-9")
    assert (record["workflow"], record["action"], record["outcome"]) == (
        "receivables",
        "payment.not_applied",
        "parked",
    )
    assert "receivables" in JOB_WORKFLOWS
    [message] = books.queue.messages
    assert message["MessageAttributes"]["case_id"]["StringValue"] == "payment-PAY-9"
    assert books.trail.of(CASE) == []


def test_a_payment_in_another_currency_is_not_applied() -> None:
    books = Books().posted()
    result = books.recorder.record(payment(currency="USD"), via="event")
    assert result["outcome"] == "not_applied" and "is in USD, invoice SINV-1 in EUR" in result["error"]
    assert books.ledger.get("SINV-1").open_amount == Decimal("1234.50")  # type: ignore[union-attr]


def test_the_payments_base_amounts_add_up_to_the_invoices_to_the_cent() -> None:
    # Given a 1.00 invoice at a conversion rate of 1.005: 1.01 in the reporting currency
    books = Books().posted(
        conversion_rate="1.005",
        lines=[{"source": "fee", "description": "Fee", "quantity": "1", "rate": "1.00", "amount": "1.00"}],
        net_total="1.00",
        grand_total="1.00",
        outstanding_amount="1.00",
    )
    # When it is paid in two halves
    books.recorder.record(payment("PAY-1", "0.50"), via="event")
    books.recorder.record(payment("PAY-2", "0.50"), via="event")
    # Then each records what it took off the open base (1.01 - 0.50, then 0.50 - 0): 1.01 in all, no cent left
    bases = [Decimal(r["data"]["amount_base"]) for r in books.trail.of(CASE)]
    assert bases == [Decimal("0.51"), Decimal("0.50")] and sum(bases) == Decimal("1.01")


# ------------------------------------------------------------------------------------------------------------
# A delivery that dies between applying and recording
# ------------------------------------------------------------------------------------------------------------


def test_a_payment_applied_but_not_recorded_is_recorded_by_a_later_delivery_after_the_lease() -> None:
    # Given a delivery that applied the payment and stopped before it recorded it
    books = Books().posted()
    books.ledger.claim(payment(), now=books.clock.now, claimant="dead")
    # When the same payment comes again at once: the holder may still be recording it, so nothing is recorded
    assert books.recorder.record(payment(), via="event")["status"] == "in_progress"
    assert books.trail.of(CASE) == []
    # When it comes again once the lease is over (the daily read)
    books.clock.now += CLAIM_LEASE + timedelta(seconds=1)
    result = books.recorder.record(payment(), via="daily read")
    # Then it is recorded once, saying why, and the open amount was taken down once
    [record] = books.trail.of(CASE)
    assert result["outcome"] == "paid" and record["reasons"][-1].startswith("recorded by a later delivery")
    assert books.ledger.get("SINV-1").open_amount == 0  # type: ignore[union-attr]
    assert books.recorder.record(payment(), via="event")["outcome"] == "duplicate"


def test_a_payment_recorded_by_a_delivery_that_died_before_marking_it_is_not_recorded_again() -> None:
    # Given a delivery that applied the payment, recorded it on the case and stopped before marking it recorded
    books = Books().posted()
    claim = books.ledger.claim(payment(), now=books.clock.now, claimant="dead")
    books.recorder._record(payment(), claim, "event")
    # When it comes again once the lease is over
    books.clock.now += CLAIM_LEASE + timedelta(seconds=1)
    result = books.recorder.record(payment(), via="daily read")
    # Then the case still has the one record, and the payment now reads as recorded
    assert result["outcome"] == "paid" and len(books.trail.of(CASE)) == 1
    assert books.recorder.record(payment(), via="event")["outcome"] == "duplicate"
    assert len(books.trail.of(CASE)) == 1


def test_registering_an_invoice_twice_keeps_the_first() -> None:
    books = Books().posted()
    books.recorder.record(payment("PAY-1", "1000"), via="event")
    # When a retried post registers it again
    assert not register_receivable(books.ledger, invoice(), "another-case")
    # Then the payments applied and the case stand
    stored = books.ledger.get("SINV-1")
    assert stored is not None and stored.case_id == CASE and stored.open_amount == Decimal("234.50")


# ------------------------------------------------------------------------------------------------------------
# The daily read
# ------------------------------------------------------------------------------------------------------------


@dataclass
class PagedErp:
    payments: list[Payment]
    page_size: int = 2
    asked: list[tuple[date, date, str | None]] = field(default_factory=list)

    def list_payments(self, start: date, end: date, page_token: str | None = None) -> Page[Payment]:
        self.asked.append((start, end, page_token))
        offset = int(page_token or 0)
        dated = [p for p in self.payments if start <= p.dated <= end]
        following = offset + self.page_size
        return Page(dated[offset:following], str(following) if following < len(dated) else None)


def test_the_daily_read_pages_every_payment_and_moves_its_watermark() -> None:
    # Given two invoices and five payments over three pages, one of an unknown invoice, one already recorded
    books = Books().posted()
    register_receivable(books.ledger, invoice(id="SINV-2", invoice_number="INV-2026-00002"), "case-2")
    books.recorder.record(payment("PAY-1", "1000.00", paid_on="2026-11-20"), via="event")
    erp = PagedErp(
        [
            payment("PAY-1", "1000.00", paid_on="2026-11-20"),
            payment("PAY-2", "234.50", paid_on="2026-11-25"),
            payment("PAY-3", "500.00", invoice_id="SINV-2", paid_on="2026-11-26"),
            payment("PAY-4", "10.00", invoice_id="SINV-404", paid_on="2026-11-27"),
            credit("CM-2", "100"),
        ]
    )
    # When the first daily read runs on 7 December
    result = read_payments(erp, books.recorder, date(2026, 12, 7))
    # Then it read 90 days back over three pages, recorded each payment once and moved the watermark to today
    assert [asked[2] for asked in erp.asked] == [None, "2", "4"]
    assert erp.asked[0][0] == date(2026, 12, 7) - timedelta(days=90)
    assert result["outcomes"] == {
        "duplicate": 1,
        "paid": 1,
        "partly_paid": 1,
        "not_applied": 1,
        "credited": 1,
    }
    assert result["watermark_advanced"] and books.ledger.watermark()[0] == date(2026, 12, 7)
    assert [r["outcome"] for r in books.trail.of("case-2")] == ["partly_paid"]
    assert [r["outcome"] for r in books.trail.of(CASE)] == ["partly_paid", "paid", "credited"]
    # When a payment received on 3 December is entered in the ERP only after that read, and the next day's runs
    erp.payments.append(payment("PAY-5", "734.50", invoice_id="SINV-2", paid_on="2026-12-03"))
    again = read_payments(erp, books.recorder, date(2026, 12, 8))
    # Then that read starts a week behind the watermark, and finds it
    assert erp.asked[-1][0] == date(2026, 12, 7) - timedelta(days=LOOKBACK_DAYS)
    assert again["outcomes"] == {"paid": 1}
    assert [r["outcome"] for r in books.trail.of("case-2")] == ["partly_paid", "paid"]
    assert len(books.queue.messages) == 1


def test_a_payment_that_fails_keeps_the_watermark_and_the_read_goes_on(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    books = Books().posted()
    register_receivable(books.ledger, invoice(id="SINV-2"), "case-2")
    erp = PagedErp([payment("PAY-1", paid_on="2026-12-01"), payment("PAY-3", invoice_id="SINV-2")])
    real = books.ledger.claim

    def flaky(self: ReceivablesLedger, p: Payment, **kwargs: Any) -> Any:
        if p.id == "PAY-1":
            raise RuntimeError("throttled")
        return real(p, **kwargs)

    monkeypatch.setattr(ReceivablesLedger, "claim", flaky)
    # When the read meets a failing payment before a good one
    result = read_payments(erp, books.recorder, date(2026, 12, 7))
    # Then the good one is recorded, the failure is named, and the watermark stays (the next read meets it again)
    assert result["outcomes"] == {"paid": 1} and result["failures"] == 1
    assert "PAY-1" in result["failed"][0] and not result["watermark_advanced"]
    assert books.ledger.watermark() == (None, 0)


# ------------------------------------------------------------------------------------------------------------
# The posted invoice's realization figures (R1)
# ------------------------------------------------------------------------------------------------------------


def _time(line_id: str, **change: Any) -> TimeEntry:
    values: dict[str, Any] = {
        "id": line_id,
        "worker_id": "W-1",
        "project_id": "P-1",
        "role": "analyst",
        "activity_type": "analysis",
        "work_date": "2026-10-06",
        "hours": "8",
        "is_billable": True,
        "billing_hours": "8",
        "billing_rate": "140",
        "billing_amount": "1120",
        "costing_rate": "60",
        "currency": "EUR",
        "status": "approved",
    }
    return TimeEntry.from_json_dict(values | change)


class CardPsa:
    def project_rate_card(self, project_id: str) -> RateCard:
        return RateCard.from_json_dict(
            {
                "id": "RC-1",
                "name": "Standard",
                "effective_date": "2026-01-01",
                "lines": [
                    {
                        "role": "analyst",
                        "activity_type": "analysis",
                        "currency": "EUR",
                        "billing_rate": "150",
                        "costing_rate": "60",
                    },
                    {
                        "role": "manager",
                        "activity_type": "analysis",
                        "currency": "EUR",
                        "billing_rate": "220",
                        "costing_rate": "90",
                    },
                ],
            }
        )

    def get_contract(self, contract_id: str) -> Any:
        raise AssertionError("the project has no contract")


def test_the_posted_invoice_carries_hours_billed_and_standard_value_at_rate_card() -> None:
    # Given an analyst's 8 h billed at 140 (card: 150), a manager's 8 h worked of which 4 billed at card, 220,
    # and a fee line
    entries = [
        _time("TE-1"),
        _time(
            "TE-2",
            worker_id="W-2",
            role="manager",
            billing_hours="4",
            billing_rate="220",
            billing_amount="880",
        ),
    ]
    project = Project.from_json_dict(
        {
            "id": "P-1",
            "project_name": "Audit",
            "client_id": "C-1",
            "billing_model": "time_and_materials",
            "currency": "EUR",
            "service_line": "Advisory",
        }
    )
    period = PeriodFile(
        period=BillingPeriod(start=date(2026, 10, 1), end=date(2026, 10, 31)),
        projects={"P-1": project},
        workers=[
            Worker.from_json_dict(
                {"id": w, "name": w, "employment": "employee", "cost_rate": "60", "currency": "EUR"}
            )
            for w in ("W-1", "W-2")
        ],
        files=None,  # type: ignore[arg-type]
        _lines_read={"P-1": {"time": [e.to_json_dict() for e in entries], "expenses": [], "unreadable": []}},
    )
    lines = [
        {
            "source": "time",
            "source_ids": ["TE-1"],
            "description": "a",
            "quantity": "8",
            "rate": "140",
            "amount": "1120",
        },
        {
            "source": "time",
            "source_ids": ["TE-2"],
            "description": "m",
            "quantity": "4",
            "rate": "220",
            "amount": "880",
        },
        {"source": "fee", "description": "fee", "quantity": "1", "rate": "500", "amount": "500"},
    ]
    posted = invoice(lines=lines, net_total="2500", grand_total="2500", outstanding_amount="2500")
    # When the figures of R1 are made
    figures = billed_figures(posted, project, period, CardPsa())  # type: ignore[arg-type]
    # Then 12 h billed, 2,000.00 billed and 2,960.00 at card for the hours WORKED (8 x 150 + 8 x 220: the 4 hours
    # trimmed are a write-down), each x 1.0835 in base
    assert figures == {
        "hours_billed": "12",
        "time_billed_base": "2167.00",
        "time_standard_base": "3207.16",  # 2,960 x 1.0835 = 3,207.16
    }


# ------------------------------------------------------------------------------------------------------------
# Any order, any redeliveries
# ------------------------------------------------------------------------------------------------------------

amounts = st.integers(min_value=1, max_value=80_000).map(lambda cents: Decimal(cents) / 100)


@settings(max_examples=60, deadline=None)
@given(
    deliveries=st.lists(
        st.tuples(st.integers(min_value=0, max_value=5), st.booleans(), amounts), min_size=1, max_size=25
    )
)
def test_any_deliveries_apply_each_payment_once_and_never_leave_less_than_nothing_open(
    deliveries: list[tuple[int, bool, Decimal]],
) -> None:
    # Given an invoice of EUR 1,234.50 and payments or credit memos (each id always with its first amount),
    # delivered in any order, any number of times
    books = Books().posted()
    first: dict[tuple[int, bool], Decimal] = {}
    for number, is_credit, amount in deliveries:
        key = (number, is_credit)
        first.setdefault(key, amount)
        made = (
            credit(f"X-{number}", str(first[key])) if is_credit else payment(f"X-{number}", str(first[key]))
        )
        books.recorder.record(made, via="event")
    # Then one record per distinct payment, what they applied is never more than the invoice, the open amount is
    # what is left of it, and the last record says so
    records = books.trail.of(CASE)
    assert len(records) == len(first)
    applied = sum((Decimal(r["data"]["amount"]) for r in records), Decimal(0))
    stored = books.ledger.get("SINV-1")
    assert stored is not None
    assert applied == min(sum(first.values(), Decimal(0)), Decimal("1234.50"))
    assert stored.open_amount == Decimal("1234.50") - applied >= 0
    assert Decimal(records[-1]["data"]["open_after"]) == stored.open_amount
