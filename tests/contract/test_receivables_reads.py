"""The receivables read (``ReceivablesErpPort.list_payments``) on the sandbox, NetSuite and the generic REST adapter.

The same payments and credit memos are made in each system, in its own shapes (the sandbox's ``pay_invoice`` and
``credit_invoice``, NetSuite's customer payments and credit memos applied to invoices, the REST ERP's payment
applications), and each adapter must read them as the same canonical ``Payment`` records: one per invoice a payment
settles, dated in the period asked, page after page, no record twice.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from decimal import Decimal
from typing import Any

import pytest

from backoffice.connectors.netsuite import NetSuiteErp
from backoffice.connectors.ports import ConnectorRateLimited, Page, all_pages
from backoffice.connectors.sandbox import SandboxErp
from backoffice.models import Payment
from backoffice.onboarding.sample_firm import sample_clients
from tests.contract.fakes.firm import NETSUITE_ITEM_IDS, sample_close_books
from tests.contract.fakes.netsuite_fake import NetSuiteFake, concurrency_error
from tests.contract.fakes.rest_fake import RestFake
from tests.contract.test_finance_close_reads import pages, rest_for, sandbox
from tests.contract.test_netsuite_adapter import erp_for

DECEMBER = (date(2026, 12, 1), date(2026, 12, 31))
# What every system holds, as (kind, invoice, client, amount, currency, day, memo): Northwind's November invoice
# SINV-00011 (USD 2,710.40) paid in part on 5 December and credited for the travel on 8 December; Fabrikam's euro
# invoice SINV-00013 paid on 10 December; Northwind's SINV-00012 paid on 25 November, outside the period read.
EXPECTED = [
    ("payment", "SINV-00011", "CUST-0001", Decimal("1000.00"), "USD", date(2026, 12, 5), None),
    (
        "credit_memo",
        "SINV-00011",
        "CUST-0001",
        Decimal("310.40"),
        "USD",
        date(2026, 12, 8),
        "Travel not rebillable",
    ),
    ("payment", "SINV-00013", "CUST-0003", Decimal("1800.00"), "EUR", date(2026, 12, 10), None),
]

Seen = tuple[str, str, str, Decimal, str, date, str | None]


def seen(payments: list[Payment], invoices: dict[str, str], customers: dict[str, str]) -> list[Seen]:
    """The payments in the system's own ids, told in the canonical ones (``invoices``, ``customers``: the system's
    id -> the sample's)."""
    assert len({(p.id, p.invoice_id) for p in payments}) == len(payments), "a record came twice"
    return sorted(
        (
            (
                p.kind,
                invoices.get(p.invoice_id, p.invoice_id),
                customers.get(p.client_id, p.client_id),
                p.amount,
                p.currency,
                p.dated,
                p.memo,
            )
            for p in payments
        ),
        key=lambda row: (row[5], row[1]),
    )


def test_the_sandbox_lists_the_payments_and_credit_memos_made_on_its_invoices() -> None:
    with sandbox() as store:
        # Given the sample books in the sandbox's ERP and the payments made through its stand-in for the ERP's UI
        for invoice in sample_close_books().invoices:
            store.put("erp", "invoice", invoice.id, invoice.to_json_dict(reveal_secrets=True))
        erp = SandboxErp(store)
        erp.pay_invoice("SINV-00012", Decimal("5000"), date(2026, 11, 25))
        erp.pay_invoice("SINV-00011", Decimal("1000.00"), date(2026, 12, 5), payment_id="PAY-1")
        erp.credit_invoice(
            "SINV-00011", Decimal("310.40"), date(2026, 12, 8), credit_id="CM-1", memo="Travel not rebillable"
        )
        erp.pay_invoice("SINV-00013", Decimal("1800.00"), date(2026, 12, 10))
        # When December is read page after page
        found = all_pages(lambda token: erp.list_payments(*DECEMBER, token))
        # Then the three records of December, and the invoice's open amount went down by what was applied
        assert seen(found, {}, {}) == EXPECTED
        assert store.get("erp", "invoice", "SINV-00011")["outstanding_amount"] == "1400.00"  # type: ignore[index]
        assert store.get("erp", "invoice", "SINV-00011")["status"] == "partly_paid"  # type: ignore[index]
        # And paying again with the same payment id changes nothing
        erp.pay_invoice("SINV-00011", Decimal("1000.00"), date(2026, 12, 5), payment_id="PAY-1")
        assert len(all_pages(lambda token: erp.list_payments(*DECEMBER, token))) == 3
        assert store.get("erp", "invoice", "SINV-00011")["outstanding_amount"] == "1400.00"  # type: ignore[index]


@pytest.fixture
def netsuite_payments(
    netsuite_fake: NetSuiteFake, rsa_key: tuple[str, str]
) -> tuple[NetSuiteErp, dict[str, str], dict[str, str]]:
    books = sample_close_books()
    customers = netsuite_fake.seed_clients(sample_clients())
    ids = netsuite_fake.seed_close_books(
        books, customers, item_ids=NETSUITE_ITEM_IDS, project_field="custbody_backoffice_project"
    )
    netsuite_fake.add_payment({ids["SINV-00012"]: Decimal(5000)}, tran_date=date(2026, 11, 25))
    # One customer payment settling the Northwind invoice in part and the Fabrikam one: two records, one id.
    netsuite_fake.add_payment({ids["SINV-00011"]: Decimal("1000.00")}, tran_date=date(2026, 12, 5))
    credit = netsuite_fake.add_credit_memo(
        ids["SINV-00011"],
        tran_date=date(2026, 12, 8),
        applied=Decimal("310.40"),
        lines=[
            {
                "item": {"id": "12"},
                "description": "Travel",
                "quantity": 1,
                "rate": "310.40",
                "amount": "310.40",
            }
        ],
    )
    netsuite_fake.records["creditmemo"][credit]["memo"] = "Travel not rebillable"
    netsuite_fake.add_payment({ids["SINV-00013"]: Decimal("1800.00")}, tran_date=date(2026, 12, 10))
    netsuite_fake.add_payment({ids["SINV-00011"]: Decimal(1)}, tran_date=date(2026, 12, 11), voided=True)
    # A credit memo standing alone, applied to nothing: no link, not a payment of an invoice.
    netsuite_fake.add_credit_memo(
        None, tran_date=date(2026, 12, 9), customer_id=customers["CUST-0001"], lines=[]
    )
    erp = erp_for(netsuite_fake, rsa_key[0], page_size=2, invoice_item_ids=NETSUITE_ITEM_IDS)
    return erp, {v: k for k, v in ids.items()}, {v: k for k, v in customers.items()}


def test_netsuite_reads_payments_and_credit_memos_applied_to_invoices_as_the_sandbox_does(
    netsuite_payments: tuple[NetSuiteErp, dict[str, str], dict[str, str]], netsuite_fake: NetSuiteFake
) -> None:
    # Given payments and a credit memo applied to invoices in NetSuite, a voided payment and a memo applied to none
    erp, invoices, customers = netsuite_payments
    # When December is read in SuiteQL pages of two
    found: list[Page[Payment]] = pages(lambda token: erp.list_payments(*DECEMBER, token))
    # Then two pages give the three applications of December, as the sandbox gives them
    assert [len(page.items) for page in found] == [2, 1]
    assert seen([p for page in found for p in page.items], invoices, customers) == EXPECTED
    # And each came from the transaction links, the payment's id being NetSuite's internal id
    queries = [str((r.json() or {}).get("q")) for r in netsuite_fake.requests_to("/query/v1/suiteql")]
    assert any("FROM NextTransactionLineLink l" in q for q in queries)
    assert all(p.id.isdigit() for page in found for p in page.items)


def test_a_netsuite_payment_applied_after_the_day_it_is_dated_is_read_when_it_was_applied(
    netsuite_payments: tuple[NetSuiteErp, dict[str, str], dict[str, str]], netsuite_fake: NetSuiteFake
) -> None:
    # Given the 25 November payment of SINV-00012 (cash received on account) applied to the invoice on 3 December
    erp, invoices, customers = netsuite_payments
    [november] = [
        r for r in netsuite_fake.records["customerpayment"].values() if r["tranDate"] == "2026-11-25"
    ]
    november["lastModifiedDate"] = "2026-12-03T10:15:00Z"
    # When December is read
    found = [p for page in pages(lambda token: erp.list_payments(*DECEMBER, token)) for p in page.items]
    # Then it comes with December's, dated the day it was paid
    assert ("payment", "SINV-00012", "CUST-0001", Decimal(5000), "USD", date(2026, 11, 25), None) in seen(
        found, invoices, customers
    )
    assert len(found) == len(EXPECTED) + 1


def test_a_netsuite_payment_read_at_the_concurrency_limit_is_retried_by_name(
    netsuite_payments: tuple[NetSuiteErp, dict[str, str], dict[str, str]], netsuite_fake: NetSuiteFake
) -> None:
    netsuite_fake.inject(429, concurrency_error(429), path_prefix="/services/rest/query")
    with pytest.raises(ConnectorRateLimited):
        netsuite_payments[0].list_payments(*DECEMBER)


def test_the_generic_rest_adapter_reads_payment_applications_as_the_sandbox_does(rest_fake: RestFake) -> None:
    # Given the books in a REST ERP and its payment applications (a payment, a credit note, one outside December)
    rest_fake.seed_close_books(sample_close_books())
    rest_fake.add_payment("SINV-00012", "5000.00", "2026-11-25")
    rest_fake.add_payment("SINV-00011", "1000.00", "2026-12-05")
    rest_fake.add_payment("SINV-00011", "310.40", "2026-12-08", credit=True, note="Travel not rebillable")
    rest_fake.add_payment("SINV-00013", "1800.00", "2026-12-10")
    rest = rest_for(rest_fake)
    # When December is read (offset paging, two a page)
    found: list[Page[Payment]] = pages(lambda token: rest.list_payments(*DECEMBER, token))
    # Then the sandbox's records, over two pages
    assert len(found) == 2
    assert seen([p for page in found for p in page.items], {}, {}) == EXPECTED


def test_a_rest_document_without_list_payments_refuses_the_read_by_name(rest_fake: RestFake) -> None:
    from tests.contract.fakes.rest_fake import example_document

    document = example_document(rest_fake.url)
    del document["operations"]["list_payments"]
    read: Callable[[], Any] = lambda: rest_for(rest_fake, document).list_payments(*DECEMBER)  # noqa: E731
    with pytest.raises(Exception, match="list_payments"):
        read()
