"""The finance close's reads (``CloseErpPort``, ``ClosePsaPort``) on NetSuite, Certinia and the generic REST adapter.

Each adapter reads the sample books (``firm.sample_close_books``) from its vendor's fake, in the vendor's shapes,
and must give what the sandbox gives for the same records: the same canonical models, page after page. A vendor
that numbers records itself (NetSuite's internal ids) is compared with the sandbox holding the books under those
ids. Failures come by the names the state machines retry by; what does not exist is ``RecordNotFound`` (an account)
or None (a rate card).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any, TypeVar

import boto3
import pytest
from moto import mock_aws
from pydantic import ValidationError

from backoffice.connectors import wiring
from backoffice.connectors.generic_rest import RestConnector, RestSettings
from backoffice.connectors.http import ConnectorNotConfigured
from backoffice.connectors.netsuite import NetSuiteErp
from backoffice.connectors.ports import (
    ConnectorRateLimited,
    ConnectorUnavailable,
    Page,
    RecordNotFound,
    all_pages,
)
from backoffice.connectors.salesforce_psa import CertiniaPsa
from backoffice.connectors.sandbox import SandboxErp, SandboxPsa, SandboxStore
from backoffice.finance_close.reconciliation import ReconciliationInputs, reconcile
from backoffice.finance_close.revenue_steps import _billed_to_date
from backoffice.models import Client, Invoice, Project, RateCard
from backoffice.onboarding.sample_firm import sample_clients
from tests.contract.conftest import FAST
from tests.contract.fakes.firm import (
    ACCOUNT_EMAIL_FIELD,
    ACCOUNT_TERMS_FIELD,
    ERP_CUSTOMER_FIELD,
    NETSUITE_ITEM_IDS,
    NOVEMBER,
    CloseBooks,
    SampleFirmSystems,
    sample_close_books,
    sample_firm_systems,
)
from tests.contract.fakes.netsuite_fake import NetSuiteFake, concurrency_error, ns_error
from tests.contract.fakes.rest_fake import RestFake, example_document
from tests.contract.fakes.salesforce_fake import SalesforceFake
from tests.contract.test_netsuite_adapter import erp_for
from tests.contract.test_salesforce_adapter import api_for

T = TypeVar("T")
UNKNOWN_PROJECT = "ZZ-2026-999"

# ------------------------------------------------------------------------------------------------------------
# What the sandbox gives for the same books
# ------------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SandboxReads:
    invoices: dict[str, Invoice]
    projects: dict[str, Project]
    rate_cards: dict[str, RateCard | None]  # project id (and one unknown) -> card
    accounts: dict[str, Client]


@contextmanager
def sandbox() -> Iterator[SandboxStore]:
    """An empty sandbox table, as the sandbox adapters keep records."""
    with mock_aws():
        dynamodb = boto3.client("dynamodb", region_name="us-east-1")
        dynamodb.create_table(
            TableName="sandbox",
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
        yield SandboxStore("sandbox", dynamodb)


def sandbox_reads(books: CloseBooks) -> SandboxReads:
    """The books written to a sandbox table (as its adapters store records) and read back through
    ``SandboxErp``/``SandboxPsa``: the reference each real adapter must match."""
    with sandbox() as store:
        for invoice in books.invoices:
            store.put("erp", "invoice", invoice.id, invoice.to_json_dict(reveal_secrets=True))
        for project in books.projects:
            store.put("erp", "project", project.id, project.to_json_dict())
        for project_id, card in books.rate_cards.items():
            store.put("erp", "rate_card", project_id, card.to_json_dict())
        for account in books.accounts:
            store.put("psa", "account", account.id, account.to_json_dict(reveal_secrets=True))
        erp, psa = SandboxErp(store), SandboxPsa(store)
        project_ids = [p.id for p in books.projects] + [UNKNOWN_PROJECT]
        return SandboxReads(
            invoices={i.id: i for i in all_pages(lambda t: erp.list_invoices(*NOVEMBER, t))},
            projects={p.id: p for p in all_pages(erp.list_projects)},
            rate_cards={p: erp.project_rate_card(p) for p in project_ids},
            accounts={a.id: psa.get_account(a.id) for a in books.accounts},
        )


def pages(fetch: Callable[[str | None], Page[T]]) -> list[Page[T]]:
    """Every page of a listing, as the workflow's loop reads them."""
    found, token = [], None
    while True:
        page = fetch(token)
        found.append(page)
        token = page.next_token
        if not token:
            return found


def by_id(found: list[Page[Any]]) -> dict[str, Any]:
    items = [item for page in found for item in page.items]
    assert len({item.id for item in items}) == len(items), "a record came on two pages"
    return {item.id: item for item in items}


# ------------------------------------------------------------------------------------------------------------
# NetSuite
# ------------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class NetSuiteBooks:
    erp: NetSuiteErp
    expected: SandboxReads
    ids: dict[str, str]  # canonical invoice and rate card ids -> NetSuite's
    customers: dict[str, str]  # canonical customer ids -> NetSuite's


@pytest.fixture
def netsuite_books(netsuite_fake: NetSuiteFake, rsa_key: tuple[str, str]) -> NetSuiteBooks:
    """The sample books in NetSuite (pages of two rows), and what the sandbox gives for them under NetSuite's ids."""
    books = sample_close_books()
    customers = netsuite_fake.seed_clients(sample_clients())
    ids = netsuite_fake.seed_close_books(
        books, customers, item_ids=NETSUITE_ITEM_IDS, project_field="custbody_backoffice_project"
    )
    in_netsuite = CloseBooks(
        invoices=[
            i.model_copy(update={"id": ids[i.id], "client_id": customers[i.client_id]})
            for i in books.invoices
        ],
        projects=[p.model_copy(update={"client_id": customers[p.client_id]}) for p in books.projects],
        rate_cards={
            project: card.model_copy(
                update={
                    "id": ids[card.id],
                    "client_id": customers[card.client_id] if card.client_id else None,
                }
            )
            for project, card in books.rate_cards.items()
        },
        accounts=books.accounts,
    )
    erp = erp_for(netsuite_fake, rsa_key[0], page_size=2, invoice_item_ids=NETSUITE_ITEM_IDS)
    return NetSuiteBooks(erp, sandbox_reads(in_netsuite), ids, customers)


def test_netsuite_gives_the_periods_invoices_with_their_lines_as_the_sandbox_does(
    netsuite_books: NetSuiteBooks, netsuite_fake: NetSuiteFake
) -> None:
    # Given November's invoices in NetSuite (posted, partly paid, paid, voided), a draft pending approval and an
    # October invoice, read in SuiteQL pages of two
    erp = netsuite_books.erp

    # When the finance close reads the period, page after page
    found = pages(lambda token: erp.list_invoices(*NOVEMBER, token))

    # Then the four invoices of the period came in two pages, each page's lines in one transactionline query (itself
    # paged as any SuiteQL)
    assert [len(page.items) for page in found] == [2, 2]
    queries = [str((r.json() or {}).get("q")) for r in netsuite_fake.requests_to("/query/v1/suiteql")]
    assert len({q for q in queries if " FROM transactionline tl " in q}) == 2
    # And they are the sandbox's invoices, line for line: what each bills (the source ids create_invoice wrote in
    # the custom column), a discount negative, the euro invoice at its rate, the voided one cancelled
    invoices = by_id(found)
    assert invoices == netsuite_books.expected.invoices
    statuses = sorted(i.status for i in invoices.values())
    assert statuses == ["cancelled", "paid", "partly_paid", "posted"]


def test_netsuite_gives_the_projects_and_their_rate_cards_as_the_sandbox_does(
    netsuite_books: NetSuiteBooks,
) -> None:
    # Given four projects (jobs): Northwind's with its own rate card, Fabrikam's billed by its customer's standard
    # euro card, one completed and one not awarded
    erp = netsuite_books.erp

    # When the projects are read page after page, and each one's rate card
    found = pages(erp.list_projects)
    cards = {project: erp.project_rate_card(project) for project in netsuite_books.expected.rate_cards}

    # Then two pages give the sandbox's projects, codes, statuses and billing models included
    assert len(found) == 2
    assert by_id(found) == netsuite_books.expected.projects
    # And each rate card is the sandbox's: billing classes as roles; none where the project has none (Fabrikam's
    # other project too, though its customer's default card is the standard one) or no project has the code
    assert cards == netsuite_books.expected.rate_cards
    assert [p for p, card in cards.items() if card is None] == [
        "NW-2026-002",
        "FAB-2025-004",
        UNKNOWN_PROJECT,
    ]


@pytest.mark.parametrize(
    "read",
    [
        lambda erp: erp.list_invoices(*NOVEMBER),
        lambda erp: erp.list_projects(),
        lambda erp: erp.project_rate_card("NW-2026-001"),
    ],
    ids=["invoices", "projects", "rate card"],
)
def test_every_netsuite_close_read_reports_the_concurrency_limit_and_outages_by_name(
    netsuite_books: NetSuiteBooks, netsuite_fake: NetSuiteFake, read: Callable[[NetSuiteErp], Any]
) -> None:
    # Given the account at its concurrency limit / Then the step retries it by name
    netsuite_fake.inject(429, concurrency_error(429), path_prefix="/services/rest/query")
    with pytest.raises(ConnectorRateLimited):
        read(netsuite_books.erp)
    # Given an outage / Then unavailable
    netsuite_fake.inject(
        503, ns_error(400, "UNEXPECTED_ERROR", "Service unavailable"), path_prefix="/services/rest"
    )
    with pytest.raises(ConnectorUnavailable):
        read(netsuite_books.erp)


def test_a_netsuite_outage_between_pages_resumes_at_the_page_it_stopped(
    netsuite_books: NetSuiteBooks, netsuite_fake: NetSuiteFake
) -> None:
    # Given the first page of November read, then NetSuite failing the next call once
    erp = netsuite_books.erp
    first = erp.list_invoices(*NOVEMBER)
    netsuite_fake.inject(503, ns_error(400, "UNEXPECTED_ERROR", "Service unavailable"), times=1)

    # When the second page fails, and the retried step asks for it again with the token it had
    with pytest.raises(ConnectorUnavailable):
        erp.list_invoices(*NOVEMBER, first.next_token)
    second = erp.list_invoices(*NOVEMBER, first.next_token)

    # Then the two pages are the period's invoices, none twice, none missing
    assert by_id([first, second]) == netsuite_books.expected.invoices


def test_a_netsuite_credit_memo_is_read_as_a_negative_invoice_of_the_project_it_credits(
    netsuite_books: NetSuiteBooks, netsuite_fake: NetSuiteFake
) -> None:
    # Given Northwind's November invoice SINV-00011 (12.5 h x 200.00 of time, an expense of 310.40, a discount
    # of 100.00) credited on 30 November for 2.5 h of the time and the expense (USD 810.40), NetSuite copying the
    # lines' source columns but not the project body field, 500.00 of it applied
    invoice_id = netsuite_books.ids["SINV-00011"]
    credit_id = netsuite_fake.add_credit_memo(
        invoice_id,
        tran_date=date(2026, 11, 30),
        applied=Decimal("500.00"),
        lines=[
            {
                "item": {"id": "11"},
                "description": "Consulting, November: 2.5 h credited",
                "quantity": Decimal("2.5"),
                "rate": Decimal(200),
                "amount": Decimal("500.00"),
                "custcol_backoffice_source": "time",
                "custcol_backoffice_source_ids": "TE-1101,TE-1102",
            },
            {
                "item": {"id": "12"},
                "description": "Travel to Seattle",
                "quantity": Decimal(1),
                "rate": Decimal("310.40"),
                "amount": Decimal("310.40"),
                "custcol_backoffice_source": "expense",
                "custcol_backoffice_source_ids": "EX-0410",
            },
        ],
    )

    # When the finance close reads November
    invoices = {i.id: i for i in all_pages(lambda token: netsuite_books.erp.list_invoices(*NOVEMBER, token))}

    # Then the credit memo comes with the period's invoices, as an invoice of negative lines and totals, of the
    # project of the invoice it credits; its lines keep what they credit (time, expense) but no PSA line ids (it
    # bills none); partly applied, it is partly paid
    credit = invoices.pop(credit_id)
    assert invoices == netsuite_books.expected.invoices
    assert (credit.project_id, credit.client_id, credit.currency, credit.posting_date) == (
        "NW-2026-001",
        netsuite_books.customers["CUST-0001"],
        "USD",
        date(2026, 11, 30),
    )
    assert [(line.source, line.source_ids, line.quantity, line.amount) for line in credit.lines] == [
        ("time", [], Decimal("-2.5"), Decimal("-500.00")),
        ("expense", [], Decimal(-1), Decimal("-310.40")),
    ]
    assert (credit.net_total, credit.grand_total, credit.outstanding_amount, credit.status) == (
        Decimal("-810.40"),
        Decimal("-810.40"),
        Decimal("-310.40"),
        "partly_paid",
    )

    # And revenue recognition's billed to date of the project nets the credited time, not the expense (a
    # pass-through): October's 2,500.00 + November's 2,500.00 - 100.00 - 500.00 credited
    project = netsuite_books.expected.projects["NW-2026-001"]
    billed = _billed_to_date([project], {project.id: None}, netsuite_books.erp, NOVEMBER[1])
    assert billed == {"NW-2026-001": Decimal("4400.00")}

    # And the reconciliation finds nothing about the credit memo: a credit of a PSA project refers to it (RC4)
    result = reconcile(
        ReconciliationInputs(
            period_start=NOVEMBER[0],
            period_end=NOVEMBER[1],
            as_of=NOVEMBER[1],
            erp_invoices=[credit],
            psa_projects=list(netsuite_books.expected.projects.values()),
        )
    )
    assert [f.key for f in result.findings if credit_id in f.key] == []


def test_a_credit_memo_netsuite_voided_or_raised_alone_is_read_as_such(
    netsuite_books: NetSuiteBooks, netsuite_fake: NetSuiteFake
) -> None:
    # Given a voided credit memo of SINV-00012, and one raised alone for Northwind with its own project field
    line = {
        "item": {"id": "13"},
        "description": "Goodwill",
        "quantity": 1,
        "rate": 250,
        "amount": Decimal(250),
    }
    voided = netsuite_fake.add_credit_memo(
        netsuite_books.ids["SINV-00012"], tran_date=date(2026, 11, 20), lines=[line], voided=True
    )
    alone = netsuite_fake.add_credit_memo(
        None,
        tran_date=date(2026, 11, 25),
        lines=[line],
        customer_id=netsuite_books.customers["CUST-0001"],
        project=("custbody_backoffice_project", "NW-2026-002"),
    )

    # When November is read
    invoices = {i.id: i for i in all_pages(lambda token: netsuite_books.erp.list_invoices(*NOVEMBER, token))}

    # Then the voided one is cancelled; the other is of its own project, a credit by its item (13: adjustment) not yet applied (posted)
    assert (invoices[voided].status, invoices[voided].project_id) == ("cancelled", "NW-2026-002")
    assert (invoices[alone].status, invoices[alone].project_id) == ("posted", "NW-2026-002")
    assert [(x.source, x.amount) for x in invoices[alone].lines] == [("adjustment", Decimal(-250))]
    assert invoices[alone].outstanding_amount == invoices[alone].grand_total == Decimal(-250)


def test_netsuite_matches_projects_by_the_psas_id_in_a_custom_field_when_so_set(
    netsuite_fake: NetSuiteFake, rsa_key: tuple[str, str]
) -> None:
    # Given jobs named by their project code that keep the PSA's project id (a Certinia Salesforce Id) in
    # custentity_psa_project_id, but FAB-2025-004's, left empty
    books = sample_close_books()
    customers = netsuite_fake.seed_clients(sample_clients())
    ids = netsuite_fake.seed_close_books(
        books, customers, item_ids=NETSUITE_ITEM_IDS, project_field="custbody_backoffice_project"
    )
    psa_ids = {
        "NW-2026-001": "a0X5e000001NW01AAA",
        "NW-2026-002": "a0X5e000001NW02AAA",
        "FAB-2026-001": "a0X5e000001FB01AAA",
    }
    for job in netsuite_fake.records["job"].values():
        if job["entityId"] in psa_ids:
            job["custentity_psa_project_id"] = psa_ids[job["entityId"]]
    erp = erp_for(netsuite_fake, rsa_key[0], page_size=2, project_id_field="custentity_psa_project_id")

    # When the projects and a rate card are read
    projects = {p.id: p for p in all_pages(erp.list_projects)}
    card = erp.project_rate_card("a0X5e000001NW01AAA")

    # Then each project is under the PSA's id, the one without it under its code; the rate card is found by the
    # PSA's id, and no longer by the code
    assert sorted(projects) == sorted([*psa_ids.values(), "FAB-2025-004"])
    assert projects["a0X5e000001NW01AAA"].project_name == "Northwind - Logistics network redesign"
    expected_card = books.rate_cards["NW-2026-001"]
    assert card is not None and card.id == ids[expected_card.id] and card.lines == expected_card.lines
    assert erp.project_rate_card("NW-2026-001") is None


# ------------------------------------------------------------------------------------------------------------
# Certinia
# ------------------------------------------------------------------------------------------------------------


@pytest.fixture
def certinia(salesforce_fake: SalesforceFake) -> tuple[CertiniaPsa, dict[str, str]]:
    """Certinia with the PSA's accounts of the sample books, each linked to its client by a project that names
    the ERP's customer id; the org keeps e-mail and payment terms in custom Account fields."""
    ids = salesforce_fake.seed_close_books(sample_close_books(), erp_customer_field=ERP_CUSTOMER_FIELD)
    api = api_for(
        salesforce_fake,
        account_billing_email_field=ACCOUNT_EMAIL_FIELD,
        account_payment_terms_field=ACCOUNT_TERMS_FIELD,
        certinia={"erp_customer_field": ERP_CUSTOMER_FIELD},
    )
    return CertiniaPsa(api), ids


def test_certinia_gives_the_clients_accounts_as_the_sandbox_does(
    certinia: tuple[CertiniaPsa, dict[str, str]],
) -> None:
    # Given Northwind's and Fabrikam's accounts (a two-line street, terms "Net 45"), known by the ERP's customer ids
    psa, account_ids = certinia
    books = sample_close_books()
    expected = sandbox_reads(books).accounts

    # When the finance close reads each client's account by the id the PSA's projects name it by
    accounts = {client.id: psa.get_account(client.id) for client in books.accounts}

    # Then they are the sandbox's accounts, field by field (the CRM's mapping of an Account)
    assert accounts == expected
    assert accounts["CUST-0003"].payment_terms_days == 45
    # And the Account's own id finds the same account, under that id
    northwind = psa.get_account(account_ids["CUST-0001"])
    assert northwind == expected["CUST-0001"].model_copy(update={"id": account_ids["CUST-0001"]})


def test_a_client_certinia_has_no_account_for_is_record_not_found(
    certinia: tuple[CertiniaPsa, dict[str, str]],
) -> None:
    psa, _ = certinia
    # Given a customer no project names, and an Account id that does not exist / Then RecordNotFound, not retried
    with pytest.raises(RecordNotFound):
        psa.get_account("CUST-0999")
    with pytest.raises(RecordNotFound):
        psa.get_account("001Dn0000009999AAA")


def test_a_certinia_account_read_reports_rate_limits_and_outages_by_name(
    certinia: tuple[CertiniaPsa, dict[str, str]], salesforce_fake: SalesforceFake
) -> None:
    psa, _ = certinia
    salesforce_fake.inject(
        429,
        [{"message": "Too many requests", "errorCode": "REQUEST_LIMIT_EXCEEDED"}],
        path_prefix="/services/data",
    )
    with pytest.raises(ConnectorRateLimited):
        psa.get_account("CUST-0001")
    salesforce_fake.inject(
        503,
        [{"message": "Server unavailable", "errorCode": "SERVER_UNAVAILABLE"}],
        path_prefix="/services/data",
    )
    with pytest.raises(ConnectorUnavailable):
        psa.get_account("CUST-0001")


# ------------------------------------------------------------------------------------------------------------
# Generic REST
# ------------------------------------------------------------------------------------------------------------


def rest_for(fake: RestFake, document: dict[str, Any] | None = None) -> RestConnector:
    settings = RestSettings.model_validate(
        {**(document or example_document(fake.url)), "governance": FAST.model_dump()}
    )
    return RestConnector(settings, lambda: {"api_key": fake.api_key})


@pytest.fixture
def rest_books(rest_fake: RestFake) -> SandboxReads:
    books = sample_close_books()
    rest_fake.seed_close_books(books)
    return sandbox_reads(books)


def test_the_generic_rest_adapter_gives_the_close_reads_as_the_sandbox_does(
    rest_fake: RestFake, rest_books: SandboxReads
) -> None:
    # Given the books in a REST ERP/PSA: invoices paged by offset (two a page), jobs by cursor (three a page)
    rest = rest_for(rest_fake)

    # When the finance close reads the period's invoices, the projects, their rate cards and the accounts
    invoices = pages(lambda token: rest.list_invoices(*NOVEMBER, token))
    projects = pages(rest.list_projects)
    cards = {project: rest.project_rate_card(project) for project in rest_books.rate_cards}
    accounts = {client_id: rest.get_account(client_id) for client_id in rest_books.accounts}

    # Then each came through the document's mappings as the sandbox gives it, over two pages or more
    assert len(invoices) >= 2 and by_id(invoices) == rest_books.invoices
    assert len(projects) == 2 and by_id(projects) == rest_books.projects
    assert cards == rest_books.rate_cards and accounts == rest_books.accounts
    [first, *_] = rest_fake.requests_to("/v2/invoices", "GET")
    assert (first.param("issued_from"), first.param("issued_to")) == ("2026-11-01", "2026-11-30")


def test_the_generic_rest_adapter_says_what_does_not_exist(
    rest_fake: RestFake, rest_books: SandboxReads
) -> None:
    rest = rest_for(rest_fake)
    # Given no such account / Then RecordNotFound; and no rate card for an unknown project is none
    with pytest.raises(RecordNotFound):
        rest.get_account("CUST-0999")
    assert rest.project_rate_card(UNKNOWN_PROJECT) is None


@pytest.mark.parametrize(
    "read",
    [
        lambda rest: rest.list_invoices(*NOVEMBER),
        lambda rest: rest.list_projects(),
        lambda rest: rest.project_rate_card("NW-2026-001"),
        lambda rest: rest.get_account("CUST-0001"),
    ],
    ids=["invoices", "projects", "rate card", "account"],
)
def test_every_generic_close_read_reports_rate_limits_and_outages_by_name(
    rest_fake: RestFake, rest_books: SandboxReads, read: Callable[[RestConnector], Any]
) -> None:
    rest_fake.inject(429, {"error": {"code": "rate_limited", "message": "slow down"}}, path_prefix="/v2")
    with pytest.raises(ConnectorRateLimited):
        read(rest_for(rest_fake))
    rest_fake.inject(503, {"error": {"code": "maintenance", "message": "back soon"}}, path_prefix="/v2")
    with pytest.raises(ConnectorUnavailable, match="maintenance"):
        read(rest_for(rest_fake))


@pytest.mark.parametrize("operation", ["list_invoices", "list_projects"])
def test_a_close_read_the_firm_did_not_configure_is_refused_by_name(
    rest_fake: RestFake, operation: str
) -> None:
    # Given a firm's document without the operation
    document = example_document(rest_fake.url)
    del document["operations"][operation]
    rest = rest_for(rest_fake, document)
    # When the finance close reads it / Then the error names the system and the operation, and nothing was sent
    read = {"list_invoices": lambda: rest.list_invoices(*NOVEMBER), "list_projects": rest.list_projects}[
        operation
    ]
    with pytest.raises(ConnectorNotConfigured, match=f"peoplehr: no {operation} operation is configured"):
        read()
    assert rest_fake.requests == []


def test_a_close_listing_missing_what_it_needs_is_refused_when_loaded(rest_fake: RestFake) -> None:
    document = example_document(rest_fake.url)
    del document["operations"]["list_invoices"]["items_path"]
    del document["operations"]["list_projects"]["mapping"]
    document["operations"]["list_invoices"]["query"]["client"] = "{client_id}"
    with pytest.raises(ValidationError) as raised:
        RestSettings.model_validate(document)
    for problem in (
        "list_invoices: needs items_path",
        "list_projects: needs a mapping",
        "list_invoices: unknown placeholders ['client_id']; allowed ['end', 'start']",
    ):
        assert problem in str(raised.value)


# ------------------------------------------------------------------------------------------------------------
# The wiring
# ------------------------------------------------------------------------------------------------------------


@pytest.fixture
def systems(monkeypatch: pytest.MonkeyPatch) -> Iterator[SampleFirmSystems]:
    with sample_firm_systems(close_books=True) as found:
        for name, value in found.environment.items():
            monkeypatch.setenv(name, value)
        wiring.configure(found.document, found.secrets)
        yield found
    wiring.configure()


def test_the_finance_close_reads_the_sample_firms_netsuite_and_certinia_through_the_wiring(
    systems: SampleFirmSystems,
) -> None:
    # Given the sample firm on NetSuite and Certinia (CONNECTOR_ERP=netsuite, CONNECTOR_PSA=salesforce)
    erp, psa = wiring.close_erp(), wiring.close_psa()

    # When the finance close reads November and a client's account
    invoices = all_pages(lambda token: erp.list_invoices(*NOVEMBER, token))
    account = psa.get_account("CUST-0003")

    # Then the real adapters answered with the sample books
    assert isinstance(erp, NetSuiteErp) and isinstance(psa, CertiniaPsa)
    ids = systems.netsuite_close_ids
    expected = {ids[i.id] for i in systems.close_books.in_period(*NOVEMBER)}
    assert {i.id for i in invoices} == expected
    assert account == next(a for a in systems.close_books.accounts if a.id == "CUST-0003")


def test_the_wiring_gives_the_sandbox_where_the_firm_has_no_real_system(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("CONNECTOR_ERP", "sandbox")
    monkeypatch.setenv("CONNECTOR_PSA", "sandbox")
    monkeypatch.setenv("SANDBOX_TABLE_NAME", "sandbox")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    assert isinstance(wiring.close_erp(), SandboxErp) and isinstance(wiring.close_psa(), SandboxPsa)
