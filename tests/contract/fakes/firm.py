"""The sample firm's systems as fake vendors: Salesforce + Certinia (CRM, PSA), NetSuite (ERP), a REST HRIS.

``sample_firm_systems`` starts the three fakes on 127.0.0.1, seeds them with the data ``seed_sample_firm`` gives
the sandbox (customers, workers, allocations, project templates, vendors, payroll records) and, asked to, the finance
close's sample books (``sample_close_books``), and yields the connector document, a secret source and the
``CONNECTOR_*`` environment that point the real adapters at them. With
``wiring.configure(systems.document, systems.secrets)`` and that environment, the workflows run unchanged against
the fakes; seed each deal with ``systems.salesforce.seed_deal(deal)``.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from backoffice.connectors.config import ConnectorsConfig
from backoffice.connectors.http import Governance
from backoffice.models import (
    Address,
    Client,
    Invoice,
    InvoiceLine,
    JournalEntry,
    JournalLine,
    Project,
    ProjectEstimate,
    RateCard,
    RateCardLine,
)
from backoffice.onboarding.sample_firm import (
    sample_allocations,
    sample_clients,
    sample_project_templates,
    sample_workers,
)
from backoffice.vendors.sample_vendors import existing_employees, existing_vendors
from tests.contract.fakes.jwt_check import new_rsa_key
from tests.contract.fakes.netsuite_fake import NetSuiteFake
from tests.contract.fakes.rest_fake import RestFake, example_document
from tests.contract.fakes.salesforce_fake import SalesforceFake

ERP_CUSTOMER_FIELD = "ERP_Customer_Id__c"
ACCOUNT_EMAIL_FIELD = "Billing_Email__c"
ACCOUNT_TERMS_FIELD = "Payment_Terms__c"
# The service items the NetSuite fake knows, per canonical invoice line source.
NETSUITE_ITEM_IDS = {"time": "11", "expense": "12", "milestone": "13", "fee": "13", "adjustment": "13"}
ENVIRONMENT = {
    "CONNECTOR_CRM": "salesforce",
    "CONNECTOR_PSA": "salesforce",
    "CONNECTOR_ERP": "netsuite",
    "CONNECTOR_HRIS": "rest",
}


@dataclass
class SampleFirmSystems:
    salesforce: SalesforceFake
    netsuite: NetSuiteFake
    hris: RestFake
    document: ConnectorsConfig
    secret_values: dict[str, dict[str, Any]]
    environment: Mapping[str, str]
    netsuite_ids: dict[str, str]  # sample customer id -> NetSuite internal id
    netsuite_vendor_ids: dict[str, str]  # sample vendor id -> NetSuite internal id
    # The finance close's sample books (empty unless asked for), served by NetSuite (invoices, projects, rate cards:
    # ``netsuite_close_ids`` maps their canonical ids to internal ids) and Certinia (the accounts, by the ERP's
    # customer ids).
    close_books: CloseBooks
    netsuite_close_ids: dict[str, str]

    def secrets(self, name: str) -> Mapping[str, Any]:
        return self.secret_values[name]


@contextmanager
def sample_firm_systems(
    governance: Governance | None = None, *, close_books: bool = False
) -> Iterator[SampleFirmSystems]:
    """The fakes, seeded; with ``close_books`` also the finance close's sample books (NetSuite's invoices, jobs and
    rate cards; Certinia's accounts, each with a project naming the ERP's customer id)."""
    private_pem, public_pem = new_rsa_key()
    limits = (governance or Governance(connect_timeout_seconds=1.0, read_timeout_seconds=5.0)).model_dump()
    with ExitStack() as stack:
        salesforce = stack.enter_context(SalesforceFake(public_key_pem=public_pem))
        netsuite = stack.enter_context(NetSuiteFake(public_key_pem=public_pem))
        hris = stack.enter_context(RestFake())
        workers = sample_workers()
        salesforce.seed_allocations(sample_allocations(workers))
        netsuite_ids = netsuite.seed_clients(sample_clients())
        netsuite_vendor_ids = netsuite.seed_vendors(existing_vendors())
        books = sample_close_books() if close_books else CloseBooks()
        netsuite_close_ids = netsuite.seed_close_books(
            books, netsuite_ids, item_ids=NETSUITE_ITEM_IDS, project_field="custbody_backoffice_project"
        )
        salesforce.seed_close_books(
            books,
            erp_customer_field=ERP_CUSTOMER_FIELD,
            billing_email_field=ACCOUNT_EMAIL_FIELD,
            payment_terms_field=ACCOUNT_TERMS_FIELD,
        )
        hris.seed_workers(workers)
        hris.seed_employee_records(existing_employees())
        document = ConnectorsConfig.model_validate(
            {
                "salesforce": {
                    "auth": "jwt_bearer",
                    "login_url": salesforce.url,
                    "client_id": salesforce.client_id,
                    "username": salesforce.username,
                    "secret_name": "fake/salesforce",
                    "governance": limits,
                    "account_billing_email_field": ACCOUNT_EMAIL_FIELD,
                    "account_payment_terms_field": ACCOUNT_TERMS_FIELD,
                    "certinia": {
                        "project_templates": [t.to_json_dict() for t in sample_project_templates()],
                        # The project keeps the ERP's customer id, as the sandbox PSA does.
                        "erp_customer_field": ERP_CUSTOMER_FIELD,
                        "estimate_cost_field": ESTIMATE_COST_FIELD,
                    },
                },
                "netsuite": {
                    "account_id": netsuite.account_id,
                    "base_url": netsuite.url,
                    "auth": "m2m",
                    "client_id": netsuite.client_id,
                    "certificate_id": netsuite.certificate_id,
                    "secret_name": "fake/netsuite",
                    "governance": limits,
                    # Tax ids in NetSuite's own fields, so customer matching and duplicate-vendor checks see them.
                    "customer_tax_id_field": "vatRegNumber",
                    "vendor_tax_id_field": "taxIdNum",
                    # The certificate of insurance's expiry, for work orders and subcontractor staff.
                    "vendor_insurance_expiry_field": "custentity_coi_expiry",
                    "invoice_item_ids": NETSUITE_ITEM_IDS,
                    "journal_account_ids": NETSUITE_JOURNAL_ACCOUNTS,
                    # -- purchasing ----: the expense account each purchase category is booked to
                    "purchase_order_accounts": NETSUITE_PURCHASE_ACCOUNTS,
                },
                "rest": {"hris": {**example_document(hris.url), "governance": limits}},
            }
        )
        yield SampleFirmSystems(
            salesforce=salesforce,
            netsuite=netsuite,
            hris=hris,
            document=document,
            secret_values={
                "fake/salesforce": {"private_key_pem": private_pem},
                "fake/netsuite": {"private_key_pem": private_pem},
                "backoffice/connectors/peoplehr": {"api_key": hris.api_key},
            },
            environment=dict(ENVIRONMENT),
            netsuite_ids=netsuite_ids,
            netsuite_vendor_ids=netsuite_vendor_ids,
            close_books=books,
            netsuite_close_ids=netsuite_close_ids,
        )


# ------------------------------------------------------------------------------------------------------------
# The finance close's sample books
# ------------------------------------------------------------------------------------------------------------

NOVEMBER = (date(2026, 11, 1), date(2026, 11, 30))


@dataclass(frozen=True)
class CloseBooks:
    """What the finance close reads of the sample firm, canonical: each fake serves it in its vendor's shape
    (``seed_close_books``), the sandbox holds it as is. Ids are the sandbox's; a vendor that gives records its own
    ids (NetSuite's internal ids) says which it gave.

    - ``invoices``: the ERP's invoices; of November four count (posted, partly paid, paid, cancelled), a draft and
      an October invoice do not.
    - ``projects``: the ERP's projects; ``rate_cards``: the ERP's rate card of a project (one the project's own, one
      its customer's standard card; NetSuite's cards hold billing rates only, and apply from the project's start).
    - ``accounts``: the PSA's accounts of the clients, by the ERP's customer ids.
    """

    invoices: list[Invoice] = field(default_factory=list)
    projects: list[Project] = field(default_factory=list)
    rate_cards: dict[str, RateCard] = field(default_factory=dict)
    accounts: list[Client] = field(default_factory=list)

    def in_period(self, start: date, end: date) -> list[Invoice]:
        """The invoices the sandbox lists for the period: every status but draft, posted in it."""
        return [i for i in self.invoices if i.status != "draft" and start <= i.posting_date <= end]


def _line(source: str, ids: list[str], text: str, quantity: str, rate: str) -> InvoiceLine:
    return InvoiceLine(
        source=source,  # type: ignore[arg-type]
        source_ids=ids,
        description=text,
        quantity=Decimal(quantity),
        rate=Decimal(rate),
        amount=(Decimal(quantity) * Decimal(rate)).quantize(Decimal("0.01")),
    )


def _invoice(
    number: int, client: str, project: str, posted: date, lines: list[InvoiceLine], **changes: Any
) -> Invoice:
    total = sum((line.amount for line in lines), Decimal(0))
    values: dict[str, Any] = {
        "id": f"SINV-{number:05d}",
        "invoice_number": f"INV-2026-{number:05d}",
        "client_id": client,
        "project_id": project,
        "currency": "USD",
        "posting_date": posted,
        "due_date": date.fromordinal(posted.toordinal() + 30),
        "period_start": posted.replace(day=1),
        "period_end": posted,
        "lines": lines,
        "net_total": total,
        "grand_total": total,
        "outstanding_amount": total,
        "status": "posted",
        **changes,
    }
    return Invoice.model_validate(values)


def sample_close_books() -> CloseBooks:
    northwind, fabrikam = "CUST-0001", "CUST-0003"
    time_lines = [
        _line("time", ["TE-1101", "TE-1102"], "Consulting, November", "12.5", "200"),
        _line("expense", ["EX-0410"], "Travel to Seattle", "1", "310.40"),
        _line("adjustment", [], "Courtesy discount", "1", "-100"),
    ]
    milestone = [_line("milestone", ["MS-0002"], "Milestone 1: diagnostic", "1", "40000")]
    euro = [_line("time", ["TE-2201", "TE-2202", "TE-2203"], "Beratung, November", "10", "180")]
    invoices = [
        _invoice(11, northwind, "NW-2026-001", date(2026, 11, 30), time_lines),
        _invoice(
            12,
            northwind,
            "NW-2026-002",
            date(2026, 11, 15),
            milestone,
            outstanding_amount=Decimal(15000),
            status="partly_paid",
        ),
        _invoice(
            13,
            fabrikam,
            "FAB-2026-001",
            date(2026, 11, 30),
            euro,
            currency="EUR",
            conversion_rate=Decimal("1.08"),
            po_no="PO-77120",
            outstanding_amount=Decimal(0),
            status="paid",
        ),
        _invoice(14, northwind, "NW-2026-001", date(2026, 11, 20), [time_lines[0]], status="cancelled"),
        _invoice(
            15,
            northwind,
            "NW-2026-001",
            date(2026, 11, 30),
            [time_lines[1]],
            status="draft",
            invoice_number=None,
        ),
        _invoice(10, northwind, "NW-2026-001", date(2026, 10, 31), [time_lines[0]]),
    ]
    projects = [
        Project(
            id="NW-2026-001",
            project_name="Northwind - Logistics network redesign",
            client_id=northwind,
            billing_model="time_and_materials",
            currency="USD",
            expected_start_date=date(2026, 9, 1),
            expected_end_date=date(2027, 2, 26),
        ),
        Project(
            id="NW-2026-002",
            project_name="Northwind - Warehouse automation",
            client_id=northwind,
            billing_model="fixed_fee",
            currency="USD",
            expected_start_date=date(2026, 10, 1),
        ),
        Project(
            id="FAB-2026-001",
            project_name="Fabrikam - Pricing review",
            client_id=fabrikam,
            status="completed",
            billing_model="time_and_materials",
            currency="EUR",
            expected_start_date=date(2026, 6, 1),
            expected_end_date=date(2026, 11, 30),
        ),
        Project(
            id="FAB-2025-004",
            project_name="Fabrikam - Store format study",
            client_id=fabrikam,
            status="cancelled",
            billing_model="fixed_fee",
            currency="EUR",
            expected_start_date=date(2025, 11, 3),
        ),
    ]

    def rates(currency: str, **by_role: int) -> list[RateCardLine]:
        return [
            RateCardLine(
                role=role.replace("_", " ").title(),
                activity_type="Consulting",
                currency=currency,
                billing_rate=Decimal(rate),
                costing_rate=Decimal(0),
            )
            for role, rate in by_role.items()
        ]

    rate_cards = {
        "NW-2026-001": RateCard(
            id="RC-0007",
            name="Northwind 2026",
            client_id=northwind,
            effective_date=date(2026, 9, 1),
            lines=rates("USD", consultant=200, senior_consultant=240, manager=260),
        ),
        # Fabrikam's projects bill by the firm's standard euro card, its customer default.
        "FAB-2026-001": RateCard(
            id="RC-0002",
            name="Standard EUR",
            effective_date=date(2026, 6, 1),
            lines=rates("EUR", consultant=180, manager=230),
        ),
    }
    accounts = [
        Client(
            id=northwind,
            customer_name="Northwind Logistics, Inc.",
            default_currency="USD",
            payment_terms_days=30,
            billing_email="accounts.payable@northwind.example",
            address=Address(
                line1="100 Main St", city="Seattle", region="WA", postal_code="98101", country="US"
            ),
        ),
        # The PSA still has Fabrikam's old address and terms: what the finance close's master data rule finds.
        Client(
            id=fabrikam,
            customer_name="Fabrikam Retail GmbH",
            default_currency="EUR",
            payment_terms_days=45,
            billing_email="rechnungen@fabrikam.example",
            address=Address(
                line1="Leopoldstrasse 8", line2="3. OG", city="Munich", postal_code="80802", country="DE"
            ),
        ),
    ]
    return CloseBooks(invoices=invoices, projects=projects, rate_cards=rate_cards, accounts=accounts)


# ------------------------------------------------------------------------------------------------------------
# Revenue recognition's sample data: the CRM's accounts, the PSA's estimates, a period-end journal
# ------------------------------------------------------------------------------------------------------------

# The NetSuite accounts (internal ids) of the revenue policy's default account names.
NETSUITE_JOURNAL_ACCOUNTS = {
    "1250 Unbilled receivables": "120",
    "2400 Deferred revenue": "245",
    "4000 Services revenue": "401",
}
# The org's own field with a project's cost at completion (Certinia has no standard one).
ESTIMATE_COST_FIELD = "Estimated_Cost_at_Completion__c"
# -- purchasing ----: the expense account (the fake's chart) each purchase category is booked to.
NETSUITE_PURCHASE_ACCOUNTS = {"subcontractor": "610", "software": "620", "travel": "630"}


def sample_crm_accounts() -> list[Client]:
    """The CRM's accounts: the two clients (the CRM already has Fabrikam's new address and terms) and Contoso,
    a prospect no other system has."""
    northwind, fabrikam = sample_close_books().accounts
    moved = fabrikam.model_copy(
        update={
            "payment_terms_days": 30,
            "address": Address(line1="Ludwigstrasse 21", city="Munich", postal_code="80539", country="DE"),
        }
    )
    contoso = Client(
        id="CRM-CONTOSO",
        customer_name="Contoso Pharmaceuticals AG",
        default_currency="CHF",
        address=Address(line1="Aeschenvorstadt 4", city="Basel", postal_code="4051", country="CH"),
    )
    return [northwind, moved, contoso]


def sample_estimates() -> dict[str, ProjectEstimate]:
    """The PSA's estimates at completion by project code: the fixed-fee project with hours and cost, the euro
    project with hours only; NW-2026-001 (time and materials) has none."""
    return {
        "NW-2026-002": ProjectEstimate(hours=Decimal("1200"), cost=Decimal("168000.50")),
        "FAB-2026-001": ProjectEstimate(hours=Decimal("320.5")),
    }


def sample_revenue_journal(account: str = "4000 Services revenue") -> JournalEntry:
    """November's revenue journal in dollars, as ``journal.propose_journal`` builds one: per project, the
    contract asset or liability moved and revenue the other side (``account``: the revenue account's name)."""
    return JournalEntry(
        idempotency_key="revenue-journal:2026-11-01:2026-11-30:USD",
        journal_date=date(2026, 11, 30),
        currency="USD",
        memo="Revenue recognition 2026-11-01 to 2026-11-30 (USD): 2 project(s)",
        period_start=NOVEMBER[0],
        period_end=NOVEMBER[1],
        lines=[
            JournalLine(
                account="1250 Unbilled receivables",
                side="debit",
                amount=Decimal("12500.00"),
                project_id="NW-2026-002",
                memo="NW-2026-002 unbilled receivable",
                basis="412.5 h to date / 1200 h at completion = 34.38 % of 100,000.00",
            ),
            JournalLine(
                account=account,
                side="credit",
                amount=Decimal("12500.00"),
                project_id="NW-2026-002",
                memo="NW-2026-002 revenue",
            ),
            JournalLine(
                account=account,
                side="debit",
                amount=Decimal("310.40"),
                project_id="NW-2026-001",
                memo="NW-2026-001 revenue",
            ),
            JournalLine(
                account="2400 Deferred revenue",
                side="credit",
                amount=Decimal("310.40"),
                project_id="NW-2026-001",
                memo="NW-2026-001 deferred revenue",
                basis="billed 2,810.40 - delivered 2,500.00",
            ),
        ],
    )
