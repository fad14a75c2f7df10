"""``make run``, receivables part: the clients pay the invoices the billing run posted.

Each payment is entered in the sandbox ERP (``SandboxErp.pay_invoice`` / ``credit_invoice``, the stand-in for a
payment keyed in the ERP) and reaches the product as it would from a firm's ERP: most as ``Invoice Paid`` events on
the bus (rule ``invoice_paid`` -> ``record_invoice_payment``), the rest through the daily read
(``read_invoice_payments``), which also meets the evented ones again and records nothing twice. Clients pay 20 to
35 days after the invoice; one in five pays half, one in five gets a credit memo and pays the rest.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import TextIO

from backoffice.audit import AuditTrail
from backoffice.connectors.sandbox import SandboxErp
from backoffice.invoicing.receivables import ReceivablesLedger
from backoffice.local.runtime import LocalRuntime
from backoffice.models import Invoice
from infra.catalog import Ref

ERP_SOURCE = "erp.netsuite"


def payment_order(invoices: Iterable[Invoice]) -> list[Invoice]:
    """The order the sample pays invoices in: by project, period and currency, not by id. An invoice's id is drawn
    at random, and which invoices are paid in full, in part or after a credit (the report's past-due figure) must
    not change from one `make run` to the next."""
    return sorted(
        invoices,
        key=lambda invoice: (
            invoice.project_id or "",
            str(invoice.period_start),
            invoice.currency,
            invoice.id,
        ),
    )


def pay_posted_invoices(runtime: LocalRuntime, out: TextIO, *, today: date | None = None) -> bool:
    """Pays the invoices the runs posted (those in the receivables ledger); prints what was recorded. True when
    every payment landed on its invoice's case once."""
    today = today or datetime.now(UTC).date()
    ledger = ReceivablesLedger(
        runtime.resolve(Ref("table_name", "finance_close")), runtime.client("dynamodb")
    )
    erp = SandboxErp(runtime.sandbox())
    invoices = payment_order(
        Invoice.from_json_dict(body)
        for body in runtime.sandbox().all("erp", "invoice")
        if body.get("status") == "posted"
    )
    receivables = [(invoice, ledger.get(invoice.id)) for invoice in invoices]
    evented = 0
    for n, invoice in enumerate(i for i, r in receivables if r is not None):
        paid_on = min(invoice.posting_date + timedelta(days=20 + (n * 7) % 16), today)
        total = invoice.grand_total
        if n % 5 == 3:  # half now, the rest still open (aging)
            payment = erp.pay_invoice(invoice.id, (total / 2).quantize(Decimal("0.01")), paid_on)
            runtime.put_event("Invoice Paid", payment.to_json_dict(), source=ERP_SOURCE)
            evented += 1
        elif n % 5 == 4:  # a credit memo for disputed hours, the rest paid and found by the daily read
            credit = (total / 10).quantize(Decimal("0.01"))
            erp.credit_invoice(
                invoice.id, credit, paid_on - timedelta(days=5), memo="Disputed hours written down"
            )
            erp.pay_invoice(invoice.id, total - credit, paid_on)
        else:
            payment = erp.pay_invoice(invoice.id, total, paid_on)
            runtime.put_event("Invoice Paid", payment.to_json_dict(), source=ERP_SOURCE)
            evented += 1
    runtime.wait_until_idle(timeout=30, raise_on_timeout=False)
    read, error = runtime.lambdas.invoke(
        "read_invoice_payments", {"schedule": "daily_invoice_payments", "today": today.isoformat()}
    )
    trail = AuditTrail(runtime.resolve(Ref("table_name", "audit")))
    outcomes: Counter[str] = Counter()
    per_payment: Counter[tuple[str, str]] = Counter()
    for _, receivable in receivables:
        if receivable is None:
            continue
        for record in trail.records(receivable.case_id):
            if record.action in ("invoice.paid", "invoice.credited"):
                outcomes[record.outcome] += 1
                per_payment[
                    (receivable.invoice_id, str(record.data.get("payment_id") or record.data["credit_id"]))
                ] += 1
    open_by_currency: dict[str, Decimal] = {}
    for invoice, _ in receivables:
        stored = ledger.get(invoice.id)
        if stored is not None:
            open_by_currency[stored.currency] = (
                open_by_currency.get(stored.currency, Decimal(0)) + stored.open_amount
            )
    registered = sum(1 for _, r in receivables if r is not None)
    print(
        f"Receivables: {registered} posted invoice(s) paid by their clients: {evented} payment(s) as Invoice Paid "
        f"events, the rest found by the daily read ({(read or {}).get('outcome', error)}); on the invoices' cases: "
        + ", ".join(f"{n} {name.replace('_', ' ')}" for name, n in sorted(outcomes.items())),
        file=out,
    )
    print(
        "  still open: "
        + (", ".join(f"{c} {a:,.2f}" for c, a in sorted(open_by_currency.items())) or "nothing"),
        file=out,
    )
    return error is None and bool(per_payment) and all(count == 1 for count in per_payment.values())
