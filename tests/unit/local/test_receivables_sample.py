"""The receivables sample of `make run` pays the same invoices the same way every run."""

from __future__ import annotations

import random
import uuid
from datetime import date
from decimal import Decimal

from backoffice.local.receivables_demo import payment_order
from backoffice.models import Invoice
from backoffice.models.entities import InvoiceLine


def _invoice(project: str, currency: str = "USD") -> Invoice:
    return Invoice(
        id=uuid.uuid4().hex,  # drawn at random, as the ERP's drafts are
        client_id="C-1",
        project_id=project,
        currency=currency,
        posting_date=date(2026, 11, 1),
        due_date=date(2026, 12, 1),
        period_start=date(2026, 10, 1),
        period_end=date(2026, 10, 31),
        lines=[
            InvoiceLine(
                source="time",
                source_ids=["t1"],
                description="Consulting",
                quantity=Decimal(1),
                rate=Decimal(100),
                amount=Decimal(100),
            ),
        ],
        net_total=Decimal(100),
        grand_total=Decimal(100),
        outstanding_amount=Decimal(100),
        status="posted",
    )


def test_two_runs_with_other_invoice_ids_pay_the_projects_in_the_same_order() -> None:
    # Given the same projects' invoices posted in two runs, with other ids and found in another order
    projects = [("P-0003", "USD"), ("P-0001", "USD"), ("P-0002", "EUR"), ("P-0002", "USD")]
    first = [_invoice(p, c) for p, c in projects]
    second = [_invoice(p, c) for p, c in projects]
    random.Random(7).shuffle(second)
    # When the sample orders them for payment
    # Then both runs pay the same projects in the same order (the n-th gets the n-th payment pattern)
    order = [(i.project_id, i.currency) for i in payment_order(first)]
    assert order == [(i.project_id, i.currency) for i in payment_order(second)]
    assert order == [("P-0001", "USD"), ("P-0002", "EUR"), ("P-0002", "USD"), ("P-0003", "USD")]
