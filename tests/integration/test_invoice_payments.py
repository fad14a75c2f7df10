"""Invoice payments on the local runtime: the ERP's ``Invoice Paid`` events through the bus and the ``invoice_paid``
rule to ``record_invoice_payment``, and the daily ``read_invoice_payments`` paging the sandbox ERP's payments, each
under its synthesized IAM role, into the receivables ledger (``finance_close``) and onto the invoice's case.

Each test posts invoices of its own in the sandbox ERP and registers them as ``post_invoice`` does
(``register_receivable``); ``tests/integration/test_invoicing_workflow.py`` pays an invoice the real billing run
posted.
"""

from __future__ import annotations

import json
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest

from backoffice.audit import AuditRecord, AuditTrail
from backoffice.connectors.sandbox import SandboxErp
from backoffice.invoicing.receivables import ReceivablesLedger, register_receivable
from backoffice.local.runtime import LocalRuntime
from backoffice.models import Invoice, Payment
from infra.catalog import Ref
from tests.integration.test_sandbox_concurrency import at_once

ERP_SOURCE = "erp.netsuite"


@pytest.fixture(scope="module")
def local() -> Iterator[LocalRuntime]:
    with LocalRuntime(retry_time_scale=0.001, api_port=None) as runtime:
        yield runtime


@dataclass(frozen=True)
class Posted:
    """An invoice posted in the sandbox ERP and registered in the ledger under a case of its own."""

    invoice: Invoice
    case_id: str


def post_invoice(
    local: LocalRuntime, amount: str = "1000.00", currency: str = "USD", rate: str = "1"
) -> Posted:
    tag = uuid.uuid4().hex[:8]
    invoice = Invoice.from_json_dict(
        {
            "id": f"SINV-{tag}",
            "invoice_number": f"INV-2026-{tag}",
            "client_id": "CUST-0001",
            "project_id": "P-0001",
            "currency": currency,
            "conversion_rate": rate,
            "posting_date": "2026-11-02",
            "due_date": "2026-12-02",
            "lines": [
                {"source": "fee", "description": "Fee", "quantity": "1", "rate": amount, "amount": amount}
            ],
            "net_total": amount,
            "grand_total": amount,
            "outstanding_amount": amount,
            "status": "posted",
        }
    )
    local.sandbox().put("erp", "invoice", invoice.id, invoice.to_json_dict(reveal_secrets=True))
    case_id = f"billing-test-{tag}-P-0001"
    register_receivable(ledger(local), invoice, case_id)
    return Posted(invoice, case_id)


def ledger(local: LocalRuntime) -> ReceivablesLedger:
    return ReceivablesLedger(local.resolve(Ref("table_name", "finance_close")), local.client("dynamodb"))


def trail(local: LocalRuntime, case_id: str) -> list[AuditRecord]:
    return AuditTrail(local.resolve(Ref("table_name", "audit"))).records(case_id)


def paid(
    posted: Posted, amount: str, day: str = "2026-12-01", payment_id: str | None = None
) -> dict[str, Any]:
    return {
        "kind": "payment",
        "id": payment_id or f"PAY-{uuid.uuid4().hex[:8]}",
        "invoice_id": posted.invoice.id,
        "client_id": posted.invoice.client_id,
        "amount": amount,
        "currency": posted.invoice.currency,
        "paid_on": day,
    }


def event(detail: dict[str, Any]) -> dict[str, Any]:
    """``Invoice Paid`` as EventBridge hands it to the rule's function."""
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "Invoice Paid",
        "source": ERP_SOURCE,
        "account": "123456789012",
        "time": "2026-12-01T10:00:00Z",
        "region": "us-east-1",
        "resources": [],
        "detail": detail,
    }


def parked(local: LocalRuntime, case_id: str) -> list[dict[str, Any]]:
    sqs, url = local.client("sqs"), local.resolve(Ref("queue_url", "parked_events"))
    found = []
    while True:
        answer = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, MessageAttributeNames=["All"])
        messages = answer.get("Messages", [])
        if not messages:
            return [m for m in found if m["case_id"] == case_id]
        for message in messages:
            found.append(json.loads(message["Body"]))
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])


# ------------------------------------------------------------------------------------------------------------
# Invoice Paid on the bus
# ------------------------------------------------------------------------------------------------------------


def test_invoice_paid_delivered_twice_records_one_payment_on_the_invoices_case(local: LocalRuntime) -> None:
    # Given an invoice of EUR 1,000.00 at 1.10 posted on 2 November
    posted = post_invoice(local, currency="EUR", rate="1.10")
    detail = paid(posted, "1000.00")
    # When the ERP's Invoice Paid comes twice (a redelivery)
    local.put_event("Invoice Paid", detail, source=ERP_SOURCE)
    local.put_event("Invoice Paid", detail, source=ERP_SOURCE)
    local.wait_until_idle(timeout=60)
    # Then one invoice.paid on the invoice's case, by record_invoice_payment, with the R2 figures
    [record] = trail(local, posted.case_id)
    assert (record.action, record.outcome, record.actor.id) == (
        "invoice.paid",
        "paid",
        "record_invoice_payment",
    )
    assert record.data["amount_base"] == "1100.00" and record.data["days_to_pay"] == 29
    assert record.data["open_after"] == "0.00"
    # And the catch-all rule did not take it as unrouted
    assert not [
        e for e in local.bus_events if e["detail-type"] == "Invoice Paid" and e["source"] != ERP_SOURCE
    ]
    stored = ledger(local).get(posted.invoice.id)
    assert stored is not None and stored.open_amount == 0 and len(stored.applied) == 1


def test_a_partial_payment_then_the_rest_then_a_credit_memo_on_another_invoice(local: LocalRuntime) -> None:
    posted, credited = post_invoice(local), post_invoice(local, amount="500.00")
    # When the client pays 400.00, then 600.00, and a credit memo of 120.00 is applied to the other invoice
    local.put_event("Invoice Paid", paid(posted, "400.00", "2026-11-20"), source=ERP_SOURCE)
    local.wait_until_idle(timeout=60)
    local.put_event("Invoice Paid", paid(posted, "600.00", "2026-12-04"), source=ERP_SOURCE)
    memo = {
        "kind": "credit_memo",
        "id": "CM-" + uuid.uuid4().hex[:8],
        "invoice_id": credited.invoice.id,
        "client_id": "CUST-0001",
        "amount": "120.00",
        "currency": "USD",
        "credited_on": "2026-11-18",
        "memo": "Two hours billed twice",
    }
    local.put_event("Invoice Paid", memo, source=ERP_SOURCE)
    local.wait_until_idle(timeout=60)
    # Then partly paid, then paid; the other invoice credited (R3) with its reason, 380.00 open
    assert [(r.outcome, r.data["open_after"]) for r in trail(local, posted.case_id)] == [
        ("partly_paid", "600.00"),
        ("paid", "0.00"),
    ]
    [credit] = trail(local, credited.case_id)
    assert (credit.action, credit.outcome) == ("invoice.credited", "credited")
    assert credit.data["reason"] == "Two hours billed twice" and credit.data["open_after"] == "380.00"


def test_a_payment_of_an_unknown_invoice_is_parked_and_audited_not_failed(local: LocalRuntime) -> None:
    # Given a payment of an invoice the product never posted
    payment_id = "PAY-" + uuid.uuid4().hex[:8]
    stray = {**paid(post_invoice(local), "50.00", payment_id=payment_id), "invoice_id": "SINV-NOT-OURS"}
    # When its Invoice Paid arrives
    result, error = local.lambdas.invoke("record_invoice_payment", event(stray))
    # Then the handler answers (no retry would help), with a clear error, an audit record and a parked copy
    assert error is None, error
    assert (
        result["outcome"] == "not_applied"
        and "SINV-NOT-OURS is not in the receivables ledger" in result["error"]
    )
    [record] = trail(local, f"payment-{payment_id}")
    assert (record.workflow, record.action, record.outcome) == (
        "receivables",
        "payment.not_applied",
        "parked",
    )
    [message] = parked(local, f"payment-{payment_id}")
    assert message["payment"]["invoice_id"] == "SINV-NOT-OURS" and message["event"]["detail"] == stray


def test_an_invoice_paid_that_is_not_a_payment_is_parked_with_its_errors(local: LocalRuntime) -> None:
    bad = event({"kind": "payment", "id": "PAY-X", "invoice_id": "SINV-1", "amount": "-5", "currency": "usd"})
    result, error = local.lambdas.invoke("record_invoice_payment", bad)
    assert error is None, error
    assert result["outcome"] == "unreadable" and any("detail.client_id" in e for e in result["errors"])
    [record] = trail(local, result["case_id"])
    assert record.action == "payment.unreadable"
    assert len(parked(local, result["case_id"])) == 1


# ------------------------------------------------------------------------------------------------------------
# The daily read
# ------------------------------------------------------------------------------------------------------------


def test_the_daily_read_pages_the_erps_payments_and_an_event_after_it_records_nothing_twice(
    local: LocalRuntime,
) -> None:
    # Given three invoices paid 55 times in all in the sandbox ERP (two pages of the ERP's 50), in the last week
    invoices = [post_invoice(local) for _ in range(3)]
    erp = SandboxErp(local.sandbox())
    made: list[Payment] = []
    for n in range(55):
        posted = invoices[n % 3]
        made.append(
            erp.pay_invoice(posted.invoice.id, Decimal("10.00"), date(2026, 12, 1) + timedelta(days=n % 5))
        )
    # When the schedule runs the daily read (as EventBridge Scheduler would, under the function's role)
    result, error = local.lambdas.invoke(
        "read_invoice_payments", {"schedule": "daily_invoice_payments", "today": "2026-12-07"}
    )
    # Then every payment is recorded once on its invoice's case, over two pages, and the watermark moved
    assert error is None, error
    assert result["outcome"] == "read" and result["pages"] >= 2 and result["watermark"] == "2026-12-07"
    assert result["outcomes"].get("partly_paid", 0) >= 55
    for posted in invoices:
        records = trail(local, posted.case_id)
        assert len(records) == len([p for p in made if p.invoice_id == posted.invoice.id])
        assert records[-1].data["open_after"] == str(Decimal("1000.00") - Decimal(10) * len(records))
    [run] = [r for r in trail(local, "receivables-2026-12") if r.action == "payments.read"][-1:]
    assert run.actor.id == "read_invoice_payments" and run.workflow == "receivables"
    # When the ERP's event for one of them arrives late, and the next day's read runs
    local.put_event("Invoice Paid", made[0].to_json_dict(), source=ERP_SOURCE)
    local.wait_until_idle(timeout=60)
    again, error = local.lambdas.invoke("read_invoice_payments", {"today": "2026-12-08"})
    # Then nothing is recorded twice
    assert error is None, error
    assert len(trail(local, invoices[0].case_id)) == len(
        [p for p in made if p.invoice_id == invoices[0].invoice.id]
    )
    assert again["outcomes"].get("partly_paid", 0) == 0


# ------------------------------------------------------------------------------------------------------------
# Real parallel requests
# ------------------------------------------------------------------------------------------------------------


def test_one_payment_delivered_by_eight_requests_at_once_is_recorded_once(local: LocalRuntime) -> None:
    for _ in range(3):
        # Given an invoice and one payment of it
        posted = post_invoice(local)
        delivery = event(paid(posted, "1000.00"))
        # When eight deliveries of it reach record_invoice_payment at the same moment
        answers = at_once([lambda d=delivery: local.lambdas.invoke("record_invoice_payment", d)] * 8)
        # Then one applied and recorded it, the seven others were told it is a duplicate; one record, nothing open
        assert not [a for a in answers if isinstance(a, Exception) or a[1] is not None], answers
        outcomes = Counter(a[0]["outcome"] for a in answers)  # type: ignore[index]
        assert outcomes == {"paid": 1, "duplicate": 7}
        assert [r.action for r in trail(local, posted.case_id)] == ["invoice.paid"]
        stored = ledger(local).get(posted.invoice.id)
        assert stored is not None and stored.open_amount == 0


def test_two_different_payments_at_once_are_both_applied(local: LocalRuntime) -> None:
    for _ in range(3):
        posted = post_invoice(local)
        first, second = event(paid(posted, "300.00")), event(paid(posted, "450.00"))
        answers = at_once(
            [
                lambda d=first: local.lambdas.invoke("record_invoice_payment", d),
                lambda d=second: local.lambdas.invoke("record_invoice_payment", d),
            ]
        )
        assert not [a for a in answers if isinstance(a, Exception) or a[1] is not None], answers
        records = trail(local, posted.case_id)
        assert sorted(r.data["amount"] for r in records) == ["300.00", "450.00"]
        assert sorted(r.data["open_after"] for r in records) in (["250.00", "550.00"], ["250.00", "700.00"])
        stored = ledger(local).get(posted.invoice.id)
        assert stored is not None and stored.open_amount == Decimal("250.00") and len(stored.applied) == 2
