"""The finance close on the real adapters beyond the reads: the CRM's account listing (``CloseCrmPort``), the PSA's
estimates at completion (``RevenuePsaPort``) and the revenue journal's posting (``RevenueErpPort``) on Salesforce,
Certinia, NetSuite and the generic REST adapter.

Each adapter must give what the sandbox gives for the same records (``firm.sample_crm_accounts``,
``firm.sample_estimates``, ``firm.sample_revenue_journal``), page after page; a journal is booked once per key, also
when the answer to the first posting was lost (the system booked it, the client saw a 503); a journal naming an
account the ERP's mapping does not know is refused before anything is sent; failures come by the names the state
machines retry by.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import date
from decimal import Decimal
from typing import Any

import pytest

from backoffice.connectors import wiring
from backoffice.connectors.config import ConnectorsConfig
from backoffice.connectors.generic_rest import RestConnector
from backoffice.connectors.http import ConnectorNotConfigured, ConnectorRequestRejected, RecordUnmappable
from backoffice.connectors.netsuite import NetSuiteErp
from backoffice.connectors.ports import (
    ConnectorRateLimited,
    ConnectorUnavailable,
    Created,
    RecordNotFound,
    all_pages,
)
from backoffice.connectors.salesforce_crm import SalesforceCrm
from backoffice.connectors.salesforce_psa import CertiniaPsa
from backoffice.connectors.sandbox import SandboxCrm, SandboxErp, SandboxPsa
from backoffice.models import Client, JournalEntry, JournalLine, ProjectEstimate
from backoffice.onboarding.sample_firm import sample_clients
from tests.contract.conftest import MemoryUploader
from tests.contract.fakes.firm import (
    ACCOUNT_EMAIL_FIELD,
    ACCOUNT_TERMS_FIELD,
    ESTIMATE_COST_FIELD,
    NETSUITE_ITEM_IDS,
    NETSUITE_JOURNAL_ACCOUNTS,
    SampleFirmSystems,
    sample_close_books,
    sample_crm_accounts,
    sample_estimates,
    sample_firm_systems,
    sample_revenue_journal,
)
from tests.contract.fakes.netsuite_fake import NetSuiteFake, concurrency_error, ns_error
from tests.contract.fakes.rest_fake import RestFake, example_document
from tests.contract.fakes.salesforce_fake import SalesforceFake
from tests.contract.test_finance_close_reads import by_id, pages, rest_for, sandbox
from tests.contract.test_netsuite_adapter import erp_for
from tests.contract.test_salesforce_adapter import api_for

SF_RATE_LIMITED = [{"message": "Too many requests", "errorCode": "REQUEST_LIMIT_EXCEEDED"}]
SF_UNAVAILABLE = [{"message": "Server unavailable", "errorCode": "SERVER_UNAVAILABLE"}]
NS_UNAVAILABLE = ns_error(400, "UNEXPECTED_ERROR", "Service unavailable")
REST_RATE_LIMITED = {"error": {"code": "rate_limited", "message": "slow down"}}
REST_UNAVAILABLE = {"error": {"code": "maintenance", "message": "back soon"}}

# ------------------------------------------------------------------------------------------------------------
# The sandbox, for reference
# ------------------------------------------------------------------------------------------------------------


def sandbox_accounts(accounts: list[Client]) -> dict[str, Client]:
    """What ``SandboxCrm.list_accounts`` gives for these accounts, every page."""
    with sandbox() as store:
        for account in accounts:
            store.put("crm", "account", account.id, account.to_json_dict(reveal_secrets=True))
        return {a.id: a for a in all_pages(SandboxCrm(store).list_accounts)}


def sandbox_estimates(estimates: dict[str, ProjectEstimate], asked: list[str]) -> dict[str, Any]:
    """What ``SandboxPsa.project_estimate`` gives for each project asked (None: no estimate)."""
    with sandbox() as store:
        for project_id, estimate in estimates.items():
            store.put("psa", "estimate", project_id, estimate.to_json_dict())
        psa = SandboxPsa(store)
        return {project_id: psa.project_estimate(project_id) for project_id in asked}


def sandbox_posts(entry: JournalEntry, times: int) -> list[bool]:
    """``created`` of each of ``times`` postings of the entry with its key, and that they name one entry."""
    with sandbox() as store:
        erp = SandboxErp(store)
        posted = [erp.post_journal_entry(entry, idempotency_key=entry.idempotency_key) for _ in range(times)]
    assert len({p.id for p in posted}) == 1
    return [p.created for p in posted]


def renamed(clients: list[Client], ids: dict[str, str]) -> list[Client]:
    """The clients under the ids the system gave them."""
    return [client.model_copy(update={"id": ids[client.id]}) for client in clients]


# ------------------------------------------------------------------------------------------------------------
# Salesforce CRM: the accounts
# ------------------------------------------------------------------------------------------------------------


@pytest.fixture
def salesforce_crm(salesforce_fake: SalesforceFake) -> tuple[SalesforceCrm, list[Client]]:
    """The CRM's accounts in the org (two a query batch), and the same accounts under their Account Ids."""
    salesforce_fake.batch_size = 2
    accounts = sample_crm_accounts()
    ids = salesforce_fake.seed_crm_accounts(
        accounts, billing_email_field=ACCOUNT_EMAIL_FIELD, payment_terms_field=ACCOUNT_TERMS_FIELD
    )
    api = api_for(
        salesforce_fake,
        account_billing_email_field=ACCOUNT_EMAIL_FIELD,
        account_payment_terms_field=ACCOUNT_TERMS_FIELD,
    )
    return SalesforceCrm(api, MemoryUploader()), renamed(accounts, ids)


def test_salesforce_lists_the_crms_accounts_as_the_sandbox_does(
    salesforce_crm: tuple[SalesforceCrm, list[Client]], salesforce_fake: SalesforceFake
) -> None:
    # Given three Accounts (two clients, a prospect), read in query batches of two
    crm, accounts = salesforce_crm

    # When the reconciliation lists the CRM's accounts, page after page
    found = pages(crm.list_accounts)

    # Then two pages (the second through the query's nextRecordsUrl) give the sandbox's accounts, mapped as one
    # Account is (multi-line street, "Net 30" terms, the e-mail field)
    assert [len(page.items) for page in found] == [2, 1]
    assert by_id(found) == sandbox_accounts(accounts)
    [query] = [r for r in salesforce_fake.requests_to("/query") if r.param("q")]
    assert str(query.param("q")).endswith("FROM Account ORDER BY Id")


def test_a_salesforce_account_listing_reports_rate_limits_and_outages_by_name(
    salesforce_crm: tuple[SalesforceCrm, list[Client]], salesforce_fake: SalesforceFake
) -> None:
    crm, _ = salesforce_crm
    first = crm.list_accounts()
    # Given the org over its limits / Then rate limited, on the first page as on the next
    salesforce_fake.inject(429, SF_RATE_LIMITED, path_prefix="/services/data", times=2)
    with pytest.raises(ConnectorRateLimited):
        crm.list_accounts()
    with pytest.raises(ConnectorRateLimited):
        crm.list_accounts(first.next_token)
    # Given an outage / Then unavailable; and the retried step resumes at the page it had
    salesforce_fake.inject(503, SF_UNAVAILABLE, path_prefix="/services/data")
    with pytest.raises(ConnectorUnavailable):
        crm.list_accounts(first.next_token)
    assert len(crm.list_accounts(first.next_token).items) == 1


# ------------------------------------------------------------------------------------------------------------
# Certinia: the estimates at completion
# ------------------------------------------------------------------------------------------------------------


@pytest.fixture
def certinia_estimates(salesforce_fake: SalesforceFake) -> tuple[CertiniaPsa, dict[str, str]]:
    """The close books' projects in Certinia with their estimates (hours in Certinia's field, cost in the org's)."""
    ids = salesforce_fake.seed_estimates(
        sample_close_books().projects, sample_estimates(), cost_field=ESTIMATE_COST_FIELD
    )
    api = api_for(salesforce_fake, certinia={"estimate_cost_field": ESTIMATE_COST_FIELD})
    return CertiniaPsa(api), ids


def test_certinia_gives_the_estimates_at_completion_as_the_sandbox_does(
    certinia_estimates: tuple[CertiniaPsa, dict[str, str]], salesforce_fake: SalesforceFake
) -> None:
    # Given the fixed-fee project estimated in hours and cost, the euro project in hours only, the T&M project
    # never estimated (Certinia's roll-up reads 0) and the cancelled one the same
    psa, ids = certinia_estimates
    expected = sandbox_estimates(
        {ids[code]: estimate for code, estimate in sample_estimates().items()}, list(ids.values())
    )

    # When revenue recognition reads each project's estimate
    found = {project_id: psa.project_estimate(project_id) for project_id in ids.values()}

    # Then they are the sandbox's: figures as Certinia holds them, None where there is none
    assert found == expected
    assert found[ids["NW-2026-002"]] == ProjectEstimate(hours=Decimal(1200), cost=Decimal("168000.50"))
    assert found[ids["FAB-2026-001"]] == ProjectEstimate(hours=Decimal("320.5"))
    assert found[ids["NW-2026-001"]] is None
    # And only the project's estimate fields were asked for
    [read, *_] = salesforce_fake.requests_to("/sobjects/pse__Proj__c/", "GET")
    assert read.param("fields") == f"Id,pse__Estimated_Hours_at_Completion__c,{ESTIMATE_COST_FIELD}"


def test_a_project_certinia_does_not_have_has_no_estimate(
    certinia_estimates: tuple[CertiniaPsa, dict[str, str]],
) -> None:
    psa, _ = certinia_estimates
    # Given a project id that is not a Salesforce id, and one no project has / Then no estimate, not an error
    assert psa.project_estimate("NW-2026-002") is None
    assert psa.project_estimate("a1ADn0000009999AAA") is None


def test_a_certinia_estimate_read_reports_rate_limits_and_outages_by_name(
    certinia_estimates: tuple[CertiniaPsa, dict[str, str]], salesforce_fake: SalesforceFake
) -> None:
    psa, ids = certinia_estimates
    salesforce_fake.inject(429, SF_RATE_LIMITED, path_prefix="/services/data")
    with pytest.raises(ConnectorRateLimited):
        psa.project_estimate(ids["NW-2026-002"])
    salesforce_fake.inject(503, SF_UNAVAILABLE, path_prefix="/services/data")
    with pytest.raises(ConnectorUnavailable):
        psa.project_estimate(ids["NW-2026-002"])


# ------------------------------------------------------------------------------------------------------------
# NetSuite: the revenue journal
# ------------------------------------------------------------------------------------------------------------


@pytest.fixture
def netsuite_ledger(netsuite_fake: NetSuiteFake, rsa_key: tuple[str, str]) -> NetSuiteErp:
    """NetSuite with the sample customers and the close books' projects (jobs), the policy's account names
    mapped to its accounts."""
    customers = netsuite_fake.seed_clients(sample_clients())
    netsuite_fake.seed_close_books(
        sample_close_books(),
        customers,
        item_ids=NETSUITE_ITEM_IDS,
        project_field="custbody_backoffice_project",
    )
    return erp_for(
        netsuite_fake,
        rsa_key[0],
        journal_account_ids=NETSUITE_JOURNAL_ACCOUNTS,
        journal_line_basis_field="custcol_backoffice_basis",
    )


def journals(fake: NetSuiteFake) -> list[dict[str, Any]]:
    return list(fake.records["journalentry"].values())


def job_id(fake: NetSuiteFake, code: str) -> str:
    return next(job_id for job_id, job in fake.records["job"].items() if job["entityId"] == code)


def test_netsuite_books_the_revenue_journal_once_as_the_sandbox_does(
    netsuite_ledger: NetSuiteErp, netsuite_fake: NetSuiteFake
) -> None:
    # Given November's dollar journal, two projects' contract balances moved against revenue
    entry = sample_revenue_journal()

    # When it is posted, and posted again (a re-run of the period)
    first = netsuite_ledger.post_journal_entry(entry, idempotency_key=entry.idempotency_key)
    again = netsuite_ledger.post_journal_entry(entry, idempotency_key=entry.idempotency_key)

    # Then NetSuite has one journal entry, the second posting answered with it, as the sandbox answers
    [journal] = journals(netsuite_fake)
    assert [first.created, again.created] == sandbox_posts(entry, 2) == [True, False]
    assert first.id == again.id == journal["id"]
    # And it is the entry in NetSuite's terms: the currency, the date, each line on the mapped account with its
    # debit or credit (decimal strings, as every amount the adapter sends), its memo and basis, its project as the line's entity (the job of that code), approved
    assert journal["currency"] == {"id": "1"} and journal["tranDate"] == "2026-11-30"
    assert journal["approved"] is True and journal["memo"] == entry.memo
    assert [
        (line["account"]["id"], line.get("debit"), line.get("credit"), line["entity"]["id"])
        for line in journal["line"]["items"]
    ] == [
        ("120", "12500.00", None, job_id(netsuite_fake, "NW-2026-002")),
        ("401", None, "12500.00", job_id(netsuite_fake, "NW-2026-002")),
        ("401", "310.40", None, job_id(netsuite_fake, "NW-2026-001")),
        ("245", None, "310.40", job_id(netsuite_fake, "NW-2026-001")),
    ]
    assert journal["line"]["items"][0]["custcol_backoffice_basis"] == entry.lines[0].basis
    assert journal["externalId"] == first.details["external_id"]


def test_a_netsuite_posting_whose_answer_was_lost_is_found_by_the_retry(
    netsuite_ledger: NetSuiteErp, netsuite_fake: NetSuiteFake
) -> None:
    # Given NetSuite books the entry but its answer is lost (503 after the upsert was applied)
    entry = sample_revenue_journal()
    netsuite_fake.inject(
        503, NS_UNAVAILABLE, path_prefix="/services/rest/record/v1/journalentry", method="PUT", applied=True
    )
    with pytest.raises(ConnectorUnavailable):
        netsuite_ledger.post_journal_entry(entry, idempotency_key=entry.idempotency_key)

    # When the step retries the posting with the same key
    retried = netsuite_ledger.post_journal_entry(entry, idempotency_key=entry.idempotency_key)

    # Then it finds the entry booked the first time: one journal, not created again
    [journal] = journals(netsuite_fake)
    assert retried == Created(journal["id"], created=False, details=retried.details)


def test_a_journal_naming_an_account_netsuite_has_no_mapping_for_is_refused_with_nothing_posted(
    netsuite_ledger: NetSuiteErp, netsuite_fake: NetSuiteFake
) -> None:
    # Given a firm whose policy books retainers to "4100 Retainer revenue", not in journal_account_ids
    entry = sample_revenue_journal(account="4100 Retainer revenue")
    netsuite_fake.clear_requests()

    # When the journal is posted / Then the error names the account and the setting, and nothing was sent
    with pytest.raises(
        ConnectorNotConfigured, match=r"no NetSuite account for 4100 Retainer revenue \(netsuite"
    ):
        netsuite_ledger.post_journal_entry(entry, idempotency_key=entry.idempotency_key)
    assert netsuite_fake.requests == [] and journals(netsuite_fake) == []


def test_a_journal_for_a_project_netsuite_does_not_have_is_refused_with_nothing_posted(
    netsuite_ledger: NetSuiteErp, netsuite_fake: NetSuiteFake
) -> None:
    entry = sample_revenue_journal()
    lines = [line.model_copy(update={"project_id": "ZZ-2026-999"}) for line in entry.lines]
    orphan = entry.model_copy(update={"lines": lines})
    with pytest.raises(RecordNotFound, match="ZZ-2026-999"):
        netsuite_ledger.post_journal_entry(orphan, idempotency_key=orphan.idempotency_key)
    assert netsuite_fake.requests_to("/record/v1/journalentry") == [] and journals(netsuite_fake) == []


def test_a_journal_of_thousands_of_projects_finds_their_jobs_in_in_lists_netsuite_accepts(
    netsuite_ledger: NetSuiteErp, netsuite_fake: NetSuiteFake
) -> None:
    # Given a firm of 1,200 more projects (jobs), and a journal moving each one's deferred revenue (NetSuite refuses
    # an IN list of more than 1,000 values, as its Oracle does)
    codes = [f"BIG-2026-{n:04d}" for n in range(1, 1201)]
    customer = next(iter(netsuite_fake.customers))
    for code in codes:
        netsuite_fake.add("job", {"entityId": code, "companyName": code, "customer": {"id": customer}})
    entry = JournalEntry(
        idempotency_key="revenue-journal:2026-11-01:2026-11-30:USD",
        journal_date=date(2026, 11, 30),
        currency="USD",
        memo="Revenue recognition 2026-11-01 to 2026-11-30 (USD): 1200 project(s)",
        lines=[
            JournalLine(
                account="2400 Deferred revenue", side="debit", amount=Decimal(1), project_id=code, memo=code
            )
            for code in codes
        ]
        + [JournalLine(account="4000 Services revenue", side="credit", amount=Decimal(1200), memo="revenue")],
    )
    netsuite_fake.clear_requests()

    # When it is posted
    created = netsuite_ledger.post_journal_entry(entry, idempotency_key=entry.idempotency_key)

    # Then the jobs were looked up 500 at a time (each chunk's query paged as any SuiteQL), and every line names
    # its project's job
    queries = [str((r.json() or {}).get("q")) for r in netsuite_fake.requests_to("/query/v1/suiteql")]
    lookups = dict.fromkeys(q for q in queries if " FROM job j " in q)
    assert [q.count("'BIG-2026-") for q in lookups] == [500, 500, 200]
    [journal] = journals(netsuite_fake)
    assert created.id == journal["id"]
    entities = [line.get("entity", {}).get("id") for line in journal["line"]["items"]]
    assert entities == [job_id(netsuite_fake, code) for code in codes] + [None]


def test_the_fake_refuses_an_in_list_netsuite_would_refuse(
    netsuite_ledger: NetSuiteErp, netsuite_fake: NetSuiteFake
) -> None:
    # Given a SuiteQL query naming 1,001 jobs at once / Then NetSuite refuses it (what the chunks avoid)
    codes = ", ".join(f"'X-{n}'" for n in range(1001))
    with pytest.raises(ConnectorRequestRejected, match="INVALID_PARAMETER"):
        netsuite_ledger.api.suiteql_page(
            f"SELECT j.id, j.entityid FROM job j WHERE j.entityid IN ({codes}) ORDER BY j.id",
            operation="find_projects",
        )


def test_netsuite_books_journal_lines_on_the_jobs_keeping_the_psas_project_id_when_so_set(
    netsuite_fake: NetSuiteFake, rsa_key: tuple[str, str]
) -> None:
    # Given jobs named by their code that keep the PSA's project id (Certinia's Salesforce Id) in
    # custentity_psa_project_id, and a journal naming the projects by the PSA's ids
    customers = netsuite_fake.seed_clients(sample_clients())
    netsuite_fake.seed_close_books(
        sample_close_books(),
        customers,
        item_ids=NETSUITE_ITEM_IDS,
        project_field="custbody_backoffice_project",
    )
    psa_ids = {"NW-2026-001": "a0X5e000001NW01AAA", "NW-2026-002": "a0X5e000001NW02AAA"}
    for job in netsuite_fake.records["job"].values():
        if job["entityId"] in psa_ids:
            job["custentity_psa_project_id"] = psa_ids[job["entityId"]]
    erp = erp_for(
        netsuite_fake,
        rsa_key[0],
        journal_account_ids=NETSUITE_JOURNAL_ACCOUNTS,
        project_id_field="custentity_psa_project_id",
    )
    entry = sample_revenue_journal()
    by_psa_id = entry.model_copy(
        update={
            "lines": [
                line.model_copy(update={"project_id": psa_ids[str(line.project_id)]}) for line in entry.lines
            ]
        }
    )

    # When it is posted
    erp.post_journal_entry(by_psa_id, idempotency_key=by_psa_id.idempotency_key)

    # Then each line's entity is the job of that project; the codes alone no longer find a job
    [journal] = journals(netsuite_fake)
    assert [line["entity"]["id"] for line in journal["line"]["items"]] == [
        job_id(netsuite_fake, code) for code in ("NW-2026-002", "NW-2026-002", "NW-2026-001", "NW-2026-001")
    ]
    with pytest.raises(RecordNotFound, match="NW-2026-001"):
        erp.post_journal_entry(entry, idempotency_key="another-key")


def test_a_netsuite_posting_reports_the_concurrency_limit_and_outages_by_name(
    netsuite_ledger: NetSuiteErp, netsuite_fake: NetSuiteFake
) -> None:
    entry = sample_revenue_journal()
    netsuite_fake.inject(429, concurrency_error(429), path_prefix="/services/rest/record")
    with pytest.raises(ConnectorRateLimited):
        netsuite_ledger.post_journal_entry(entry, idempotency_key=entry.idempotency_key)
    netsuite_fake.inject(503, NS_UNAVAILABLE, path_prefix="/services/rest/record")
    with pytest.raises(ConnectorUnavailable):
        netsuite_ledger.post_journal_entry(entry, idempotency_key=entry.idempotency_key)
    # And the retry after both books it once
    assert netsuite_ledger.post_journal_entry(entry, idempotency_key=entry.idempotency_key).created
    assert len(journals(netsuite_fake)) == 1


# ------------------------------------------------------------------------------------------------------------
# Generic REST
# ------------------------------------------------------------------------------------------------------------


def test_the_generic_rest_adapter_lists_accounts_and_reads_estimates_as_the_sandbox_does(
    rest_fake: RestFake,
) -> None:
    # Given the CRM's three accounts (two a page) and two projects' estimates
    accounts, estimates = sample_crm_accounts(), sample_estimates()
    rest_fake.seed_crm_accounts(accounts)
    rest_fake.seed_estimates(estimates)
    rest = rest_for(rest_fake)
    asked = ["NW-2026-001", "NW-2026-002", "FAB-2026-001"]

    # When the reconciliation lists the accounts and revenue recognition reads the estimates
    found = pages(rest.list_accounts)
    read = {project_id: rest.project_estimate(project_id) for project_id in asked}

    # Then each came through the document's mappings as the sandbox gives it: two pages, None for no estimate
    assert len(found) == 2 and by_id(found) == sandbox_accounts(accounts)
    assert read == sandbox_estimates(estimates, asked)
    assert read["NW-2026-001"] is None


def test_the_generic_rest_adapter_books_a_journal_once_also_when_the_answer_was_lost(
    rest_fake: RestFake,
) -> None:
    # Given the ledger books the first posting but the answer is lost
    entry = sample_revenue_journal()
    rest = rest_for(rest_fake)
    rest_fake.inject(503, REST_UNAVAILABLE, path_prefix="/v2/journal-entries", applied=True)
    with pytest.raises(ConnectorUnavailable):
        rest.post_journal_entry(entry, idempotency_key=entry.idempotency_key)

    # When the step retries, and the period is re-run
    retried = rest.post_journal_entry(entry, idempotency_key=entry.idempotency_key)
    rerun = rest.post_journal_entry(entry, idempotency_key=entry.idempotency_key)

    # Then one journal, found each time by its key (as the sandbox answers a second posting)
    [(journal_id, journal)] = rest_fake.journal_entries.items()
    assert retried == rerun == Created(journal_id, created=False)
    assert [True, rerun.created] == sandbox_posts(entry, 2)
    # And it is the entry in the ledger's terms: the policy's accounts as the ledger's codes, each line's project
    posts = rest_fake.requests_to("/v2/journal-entries", "POST")
    assert {p.headers["Idempotency-Key"] for p in posts} == {entry.idempotency_key}
    assert journal["external_ref"] == entry.idempotency_key and journal["currency"] == "usd"
    assert [
        (line["account"], line["side"], line["amount"], line["project"]) for line in journal["lines"]
    ] == [
        ("1250", "debit", "12500.00", "NW-2026-002"),
        ("4000", "credit", "12500.00", "NW-2026-002"),
        ("4000", "debit", "310.40", "NW-2026-001"),
        ("2400", "credit", "310.40", "NW-2026-001"),
    ]


def test_a_journal_naming_an_account_the_rest_document_does_not_map_is_refused_with_nothing_sent(
    rest_fake: RestFake,
) -> None:
    entry = sample_revenue_journal(account="4100 Retainer revenue")
    with pytest.raises(RecordUnmappable, match="post_journal_entry: cannot build the request"):
        rest_for(rest_fake).post_journal_entry(entry, idempotency_key=entry.idempotency_key)
    assert rest_fake.requests == [] and rest_fake.journal_entries == {}


@pytest.mark.parametrize(
    "call",
    [
        lambda rest: rest.list_accounts(),
        lambda rest: rest.project_estimate("NW-2026-002"),
        lambda rest: rest.post_journal_entry(sample_revenue_journal(), idempotency_key="k-1"),
    ],
    ids=["accounts", "estimate", "journal"],
)
def test_every_generic_revenue_call_reports_rate_limits_and_outages_by_name(
    rest_fake: RestFake, call: Callable[[RestConnector], Any]
) -> None:
    rest_fake.seed_estimates(sample_estimates())
    rest_fake.inject(429, REST_RATE_LIMITED, path_prefix="/v2")
    with pytest.raises(ConnectorRateLimited):
        call(rest_for(rest_fake))
    rest_fake.inject(503, REST_UNAVAILABLE, path_prefix="/v2")
    with pytest.raises(ConnectorUnavailable, match="maintenance"):
        call(rest_for(rest_fake))
    assert rest_fake.journal_entries == {}


@pytest.mark.parametrize("operation", ["list_accounts", "project_estimate", "post_journal_entry"])
def test_a_revenue_operation_the_firm_did_not_configure_is_refused_by_name(
    rest_fake: RestFake, operation: str
) -> None:
    document = example_document(rest_fake.url)
    del document["operations"][operation]
    rest = rest_for(rest_fake, document)
    call: dict[str, Callable[[], Any]] = {
        "list_accounts": rest.list_accounts,
        "project_estimate": lambda: rest.project_estimate("NW-2026-002"),
        "post_journal_entry": lambda: rest.post_journal_entry(sample_revenue_journal(), idempotency_key="k"),
    }
    with pytest.raises(ConnectorNotConfigured, match=f"peoplehr: no {operation} operation is configured"):
        call[operation]()
    assert rest_fake.requests == []


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


def test_the_sample_firms_salesforce_certinia_and_netsuite_serve_the_close_through_the_wiring(
    systems: SampleFirmSystems,
) -> None:
    # Given the sample firm on Salesforce, Certinia and NetSuite
    crm, psa, erp = wiring.close_crm(), wiring.revenue_psa(), wiring.revenue_erp()
    assert isinstance(crm, SalesforceCrm) and isinstance(psa, CertiniaPsa) and isinstance(erp, NetSuiteErp)

    # When the reconciliation lists the CRM's accounts and revenue recognition books November's journal
    accounts = all_pages(crm.list_accounts)
    entry = sample_revenue_journal()
    posted = erp.post_journal_entry(entry, idempotency_key=entry.idempotency_key)

    # Then the CRM's accounts are the org's (the clients the PSA's projects hang off), and NetSuite booked it
    assert sorted(a.customer_name for a in accounts) == sorted(
        a.customer_name for a in systems.close_books.accounts
    )
    assert posted.created and list(systems.netsuite.records["journalentry"]) == [posted.id]


def test_a_rest_crm_without_an_account_listing_is_not_read(
    monkeypatch: pytest.MonkeyPatch, rest_fake: RestFake
) -> None:
    # Given a firm whose REST CRM document has no list_accounts
    document = example_document(rest_fake.url)
    del document["operations"]["list_accounts"]
    monkeypatch.setenv("CONNECTOR_CRM", "rest")
    wiring.configure(
        ConnectorsConfig.model_validate({"rest": {"crm": document}}),
        lambda name: {"api_key": rest_fake.api_key},
    )
    try:
        # Then the reconciliation gets no CRM to read (and says so); with the operation it gets the adapter
        assert wiring.close_crm() is None
        wiring.configure(
            ConnectorsConfig.model_validate({"rest": {"crm": example_document(rest_fake.url)}}),
            lambda name: {"api_key": rest_fake.api_key},
        )
        assert isinstance(wiring.close_crm(), RestConnector)
    finally:
        wiring.configure()
