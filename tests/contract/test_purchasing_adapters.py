"""Purchase approval on the real adapters: the vendor's purchase order and a project's committed amount
(``PurchasingErpPort``) on NetSuite and the generic REST adapter, a project's budget, actual cost and owner
(``ProjectBudgetPsaPort``) on Certinia and the generic REST adapter, each against its vendor's fake API and held to
what the sandbox gives for the same records.

An order is created once per key, also when it is asked for again (a retried step, a second delivery); an order of a
category the ERP's mapping does not book is refused before anything is sent; what a project has committed counts its
open orders in the currency, not the closed, billed or rejected ones, nor another project's.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from typing import Any

import pytest

from backoffice.connectors.http import ConnectorNotConfigured
from backoffice.connectors.ports import RecordNotFound
from backoffice.connectors.salesforce_psa import CertiniaPsa
from backoffice.connectors.sandbox import SandboxErp, SandboxStore
from backoffice.models import Project, Vendor, VendorPurchaseOrder
from tests.contract.fakes.netsuite_fake import NetSuiteFake
from tests.contract.fakes.rest_fake import RestFake
from tests.contract.fakes.salesforce_fake import SalesforceFake
from tests.contract.test_finance_close_reads import rest_for, sandbox
from tests.contract.test_netsuite_adapter import erp_for
from tests.contract.test_salesforce_adapter import api_for

ACCOUNTS = {"subcontractor": "610", "software": "620", "travel": "630"}


def order(request_id: str, vendor_id: str, **changes: Any) -> VendorPurchaseOrder:
    values: dict[str, Any] = {
        "request_id": request_id,
        "vendor_id": vendor_id,
        "project_id": "P-PO-01",
        "category": "software",
        "description": "BI seats",
        "amount": Decimal("800.00"),
        "currency": "USD",
        "order_date": date(2026, 12, 7),
        "needed_by": date(2027, 1, 15),
        "requester_email": "kofi.lindqvist@meridian-advisory.example",
        **changes,
    }
    return VendorPurchaseOrder(**values)


def a_vendor() -> Vendor:
    return Vendor.from_json_dict(
        {"id": "V-PO-SOFT", "supplier_name": "Northwind Analytics Software Inc.", "default_currency": "USD"}
    )


# ------------------------------------------------------------------------------------------------------------
# The sandbox, for reference
# ------------------------------------------------------------------------------------------------------------


@pytest.fixture
def store() -> Iterator[SandboxStore]:
    with sandbox() as found:
        yield found


def test_the_sandbox_creates_an_order_once_and_counts_the_open_ones(store: SandboxStore) -> None:
    erp = SandboxErp(store)
    first = erp.create_purchase_order(order("PR-1", "V-1"), idempotency_key="purchase-PR-1")
    again = erp.create_purchase_order(order("PR-1", "V-1"), idempotency_key="purchase-PR-1")
    assert (first.created, again.created, again.id, again.details) == (True, False, first.id, first.details)
    erp.create_purchase_order(order("PR-2", "V-1", amount=Decimal("200")), idempotency_key="purchase-PR-2")
    erp.create_purchase_order(order("PR-3", "V-1", project_id="P-9"), idempotency_key="purchase-PR-3")
    erp.create_purchase_order(order("PR-4", "V-1", currency="EUR"), idempotency_key="purchase-PR-4")
    assert erp.committed_amount("P-PO-01", "USD") == Decimal("1000.00")


# ------------------------------------------------------------------------------------------------------------
# NetSuite: purchaseorder records
# ------------------------------------------------------------------------------------------------------------


def test_netsuite_creates_the_purchase_order_once_by_its_external_id(
    netsuite_fake: NetSuiteFake, rsa_key: tuple[str, str]
) -> None:
    # Given an approved vendor in NetSuite and the firm's expense account per category
    vendor_id = netsuite_fake.seed_vendors([a_vendor()])["V-PO-SOFT"]
    erp = erp_for(netsuite_fake, rsa_key[0], purchase_order_accounts=ACCOUNTS)
    # When the order is created, then created again with the same key (a retried step)
    first = erp.create_purchase_order(order("PR-1", vendor_id), idempotency_key="purchase-PR-1")
    again = erp.create_purchase_order(order("PR-1", vendor_id), idempotency_key="purchase-PR-1")
    # Then one purchaseorder exists, found the second time, with its number
    assert first.created and not again.created and again.id == first.id
    assert first.details["number"] == again.details["number"] and first.details["number"].startswith("PO")
    [stored] = netsuite_fake.records["purchaseorder"].values()
    assert stored["entity"] == {"id": vendor_id}
    assert stored["expense"]["items"][0]["account"] == {"id": "620"}
    assert Decimal(str(stored["expense"]["items"][0]["amount"])) == Decimal("800.00")
    assert stored["custbody_backoffice_project"] == "P-PO-01"
    assert stored["approvalStatus"] == {"id": "2"} and stored["dueDate"] == "2027-01-15"


def test_netsuite_refuses_an_order_of_a_category_it_books_nowhere_before_sending_it(
    netsuite_fake: NetSuiteFake, rsa_key: tuple[str, str]
) -> None:
    vendor_id = netsuite_fake.seed_vendors([a_vendor()])["V-PO-SOFT"]
    erp = erp_for(netsuite_fake, rsa_key[0], purchase_order_accounts={"software": "620"})
    with pytest.raises(ConnectorNotConfigured, match="travel"):
        erp.create_purchase_order(
            order("PR-1", vendor_id, category="travel"), idempotency_key="purchase-PR-1"
        )
    assert netsuite_fake.records["purchaseorder"] == {}


def test_netsuite_counts_what_a_project_has_committed_in_open_orders(
    netsuite_fake: NetSuiteFake, rsa_key: tuple[str, str]
) -> None:
    # Given orders of the project (one fully billed, one closed), of another project and in another currency
    vendor_id = netsuite_fake.seed_vendors([a_vendor()])["V-PO-SOFT"]
    erp = erp_for(netsuite_fake, rsa_key[0], purchase_order_accounts=ACCOUNTS)
    ids = {}
    for request_id, changes in (
        ("PR-1", {}),
        ("PR-2", {"amount": Decimal("1200.50")}),
        ("PR-3", {"amount": Decimal("5000")}),
        ("PR-4", {"amount": Decimal("7000")}),
        ("PR-5", {"project_id": "P-PO-02"}),
        ("PR-6", {"currency": "EUR"}),
    ):
        created = erp.create_purchase_order(
            order(request_id, vendor_id, **changes), idempotency_key=request_id
        )
        ids[request_id] = created.id
    netsuite_fake.records["purchaseorder"][ids["PR-3"]]["status"] = {"id": "Fully Billed"}
    netsuite_fake.records["purchaseorder"][ids["PR-4"]]["status"] = {"id": "Closed"}
    # Then only the project's open orders in dollars count, as the sandbox counts them
    assert erp.committed_amount("P-PO-01", "USD") == Decimal("2000.50")
    assert erp.committed_amount("P-PO-01", "EUR") == Decimal("800.00")
    assert erp.committed_amount("P-NONE", "USD") == Decimal(0)


def test_netsuite_counts_only_the_unbilled_part_of_a_partly_billed_order(
    netsuite_fake: NetSuiteFake, rsa_key: tuple[str, str], store: SandboxStore
) -> None:
    # Given two open orders of the project, 800 and 1,200.50; the vendor billed 300 of the first (its bill created
    # from the order), and a bill of 500 on the second was voided; and the same in the sandbox
    vendor_id = netsuite_fake.seed_vendors([a_vendor()])["V-PO-SOFT"]
    erp = erp_for(netsuite_fake, rsa_key[0], purchase_order_accounts=ACCOUNTS)
    first = erp.create_purchase_order(order("PR-1", vendor_id), idempotency_key="PR-1")
    second = erp.create_purchase_order(
        order("PR-2", vendor_id, amount=Decimal("1200.50")), idempotency_key="PR-2"
    )
    netsuite_fake.bill_purchase_order(first.id, Decimal("300.00"))
    netsuite_fake.bill_purchase_order(second.id, Decimal("500.00"), voided=True)
    sandbox_erp = SandboxErp(store)
    sandbox_erp.create_purchase_order(order("PR-1", "V-1"), idempotency_key="purchase-PR-1")
    sandbox_erp.create_purchase_order(
        order("PR-2", "V-1", amount=Decimal("1200.50")), idempotency_key="purchase-PR-2"
    )
    [billed] = [o for o in store.all("erp", "vendor_purchase_order") if o["request_id"] == "PR-1"]
    store.put("erp", "vendor_purchase_order", billed["id"], {**billed, "billed_amount": "300.00"})
    # Then what the project has committed is what is still to be billed: 500 + 1,200.50, on both
    assert erp.committed_amount("P-PO-01", "USD") == Decimal("1700.50")
    assert sandbox_erp.committed_amount("P-PO-01", "USD") == Decimal("1700.50")
    # And a bill above its order's total (a price variance) never makes the order commit less than nothing
    netsuite_fake.bill_purchase_order(first.id, Decimal("900.00"))
    assert erp.committed_amount("P-PO-01", "USD") == Decimal("1200.50")


# ------------------------------------------------------------------------------------------------------------
# Certinia: the project's budget, actual cost and owner
# ------------------------------------------------------------------------------------------------------------


def a_project(**changes: Any) -> Project:
    values: dict[str, Any] = {
        "id": "P-PO-01",
        "project_name": "Cloud migration",
        "client_id": "BC-001",
        "billing_model": "time_and_materials",
        "currency": "USD",
        **changes,
    }
    return Project(**values)


def test_certinia_gives_the_approved_budget_the_cost_to_date_and_the_owner(
    salesforce_fake: SalesforceFake,
) -> None:
    # Given a project with two approved budget records, a draft one, and its cost roll-ups
    project_id = salesforce_fake.seed_project_budget(
        a_project(),
        owner_email="Priya.Reid@meridian-advisory.example",
        budgets=[(Decimal("100000"), "Approved"), (Decimal("20000"), "Approved"), (Decimal("5000"), "Draft")],
        costs={
            "pse__Timecard_Internal_Costs_In_Financials__c": Decimal("30000"),
            "pse__Timecard_External_Costs_In_Financials__c": Decimal("8000"),
            "pse__Billable_Expenses_In_Financials__c": Decimal("1500.25"),
            "pse__Non_Billable_Expenses_In_Financials__c": Decimal("499.75"),
        },
    )
    psa = CertiniaPsa(api_for(salesforce_fake))
    # When the purchase reads its budget
    budget = psa.project_budget(project_id)
    # Then the approved budget, the cost to date and the owner are those of the project
    assert (budget.budget, budget.actual_cost) == (Decimal("120000"), Decimal("40000.00"))
    assert (budget.project_name, budget.status) == ("Cloud migration", "open")
    # And the owner is the project manager Contact's e-mail (its Id is no worker the HRIS knows)
    manager = salesforce_fake.tables["pse__Proj__c"][project_id]["pse__Project_Manager__c"]
    assert manager in salesforce_fake.tables["Contact"] and budget.owner_id is None
    assert budget.owner_email == "Priya.Reid@meridian-advisory.example"


def test_certinia_says_when_a_project_has_no_approved_budget_or_does_not_exist(
    salesforce_fake: SalesforceFake,
) -> None:
    project_id = salesforce_fake.seed_project_budget(
        a_project(), owner_email=None, budgets=[(Decimal("5000"), "Draft")], costs={}
    )
    psa = CertiniaPsa(api_for(salesforce_fake))
    assert psa.project_budget(project_id).budget is None
    with pytest.raises(RecordNotFound):
        psa.project_budget("a1A000000000NONE")
    with pytest.raises(RecordNotFound):
        psa.project_budget("P-PO-01")  # not a Salesforce id: refused without a call


# ------------------------------------------------------------------------------------------------------------
# Generic REST
# ------------------------------------------------------------------------------------------------------------


def test_the_rest_adapter_creates_the_order_once_counts_open_orders_and_reads_the_budget(
    rest_fake: RestFake,
) -> None:
    # Given a supplier the system knows
    rest_fake.suppliers["sup_1"] = {"uuid": "sup_1", "legal_name": "Northwind Analytics Software Inc."}
    rest = rest_for(rest_fake)
    # When an order is created twice with one key, and another is created
    first = rest.create_purchase_order(order("PR-1", "sup_1"), idempotency_key="purchase-PR-1")
    again = rest.create_purchase_order(order("PR-1", "sup_1"), idempotency_key="purchase-PR-1")
    rest.create_purchase_order(
        order("PR-2", "sup_1", amount=Decimal("99.50")), idempotency_key="purchase-PR-2"
    )
    # Then one order exists for the first, with its number, and the project has both committed
    assert first.created and not again.created and (again.id, again.details) == (first.id, first.details)
    assert first.details["number"].startswith("VO-")
    assert len(rest_fake.vendor_orders) == 2
    assert rest.committed_amount("P-PO-01", "USD") == Decimal("899.50")
    assert rest.committed_amount("P-PO-01", "EUR") == Decimal(0)
    # And a project's budget reads in the canonical shape; an unknown project is not found
    rest_fake.project_budgets["P-PO-01"] = {
        "code": "P-PO-01",
        "name": "Cloud migration",
        "state": "open",
        "owner": "W-003",
        "currency": "usd",
        "approved_budget": "120000.00",
        "cost_to_date": "40000.00",
    }
    budget = rest.project_budget("P-PO-01")
    assert (budget.budget, budget.actual_cost, budget.owner_id, budget.currency) == (
        Decimal("120000.00"),
        Decimal("40000.00"),
        "W-003",
        "USD",
    )
    with pytest.raises(RecordNotFound):
        rest.project_budget("P-NONE")
