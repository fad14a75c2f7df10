"""The Salesforce adapter (CRM, and PSA on Certinia) against a fake org that follows the REST API documentation."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from pydantic import ValidationError

from backoffice.connectors.http import (
    CallRecord,
    ConnectorAuthFailed,
    ConnectorRequestRejected,
    Governance,
    reset_governors,
)
from backoffice.connectors.ports import (
    RETRYABLE,
    Allocation,
    ConnectorRateLimited,
    ConnectorTimeout,
    ConnectorUnavailable,
    RecordNotFound,
    ResourceRequest,
    UnreadableLine,
)
from backoffice.connectors.salesforce_api import ApiUsage, SalesforceApi, parse_limit_info, soql_literal
from backoffice.connectors.salesforce_crm import SalesforceCrm
from backoffice.connectors.salesforce_psa import CertiniaPsa
from backoffice.connectors.salesforce_settings import SalesforceSettings
from backoffice.local.samples import Deal, existing_client, new_client
from backoffice.models import ExpenseEntry, Opportunity, Project, TimeEntry
from backoffice.onboarding.sample_firm import sample_allocations
from tests.contract.conftest import FAST, MemoryUploader
from tests.contract.fakes.jwt_check import new_rsa_key
from tests.contract.fakes.salesforce_fake import INVALID_SESSION, SalesforceFake, sample_sow_pdf

PDF = b"%PDF-1.7\n% a statement of work\n"


def settings_for(fake: SalesforceFake, **changes: Any) -> SalesforceSettings:
    values: dict[str, Any] = {
        "auth": "client_credentials",
        "login_url": fake.url,
        "client_id": fake.client_id,
        "username": fake.username,
        "secret_name": "backoffice/connectors/salesforce",
        "governance": FAST,
        **changes,
    }
    return SalesforceSettings.model_validate(values)


def api_for(fake: SalesforceFake, secret: Mapping[str, str] | None = None, **changes: Any) -> SalesforceApi:
    credentials = secret or {"client_secret": fake.client_secret}
    return SalesforceApi(settings_for(fake, **changes), lambda: credentials)


def token_requests(fake: SalesforceFake) -> int:
    return len(fake.requests_to("/services/oauth2/token"))


DEAL = Deal(index=3, client=new_client(3), amount=Decimal("185000.50"))


# ------------------------------------------------------------------------------------------------------------
# Auth
# ------------------------------------------------------------------------------------------------------------


def test_client_credentials_then_the_opportunity_reads_as_the_canonical_model(
    salesforce_fake: SalesforceFake,
) -> None:
    # Given the sample firm's won deal in the org
    salesforce_fake.seed_deal(DEAL)
    crm = SalesforceCrm(api_for(salesforce_fake), MemoryUploader())

    # When the CRM adapter reads it
    opportunity = crm.get_opportunity(DEAL.opportunity_id)

    # Then it is the deal the sandbox CRM would return, amount to the cent
    assert opportunity == Opportunity(
        id=DEAL.opportunity_id,
        account_id=DEAL.client.id,
        name=DEAL.name,
        stage_name="Closed Won",
        amount=Decimal("185000.50"),
        close_date=date(2026, 11, 5),
        is_closed=True,
        is_won=True,
        currency=DEAL.client.default_currency,
        probability=Decimal(100),
        owner_id="005Dn0000000001AAA",
    )
    # And the token request was the documented client credentials grant
    [token] = salesforce_fake.requests_to("/services/oauth2/token")
    assert b"grant_type=client_credentials" in token.body


def test_the_jwt_bearer_flow_signs_an_rs256_assertion_the_org_verifies(
    salesforce_fake: SalesforceFake, rsa_key: tuple[str, str]
) -> None:
    # Given a connected app with the certificate whose key the adapter holds
    salesforce_fake.seed_deal(DEAL)
    api = api_for(salesforce_fake, {"private_key_pem": rsa_key[0]}, auth="jwt_bearer")

    # When the adapter reads
    SalesforceCrm(api, MemoryUploader()).get_opportunity(DEAL.opportunity_id)

    # Then it authenticated with the jwt-bearer grant (the fake checked signature, iss, sub, aud and exp)
    [token] = salesforce_fake.requests_to("/services/oauth2/token")
    assert b"grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Ajwt-bearer" in token.body


def test_an_assertion_signed_with_another_key_is_refused_and_not_retried(
    salesforce_fake: SalesforceFake,
) -> None:
    # Given a key the connected app does not know
    other_key, _ = new_rsa_key()
    api = api_for(salesforce_fake, {"private_key_pem": other_key}, auth="jwt_bearer")

    # When reading / Then the failure is ConnectorAuthFailed, which no state machine retries
    with pytest.raises(ConnectorAuthFailed, match="invalid_grant"):
        SalesforceCrm(api, MemoryUploader()).get_opportunity(DEAL.opportunity_id)
    assert "ConnectorAuthFailed" not in RETRYABLE


def test_the_token_is_cached_across_calls(salesforce_fake: SalesforceFake) -> None:
    # Given a deal and one adapter
    salesforce_fake.seed_deal(DEAL)
    crm = SalesforceCrm(api_for(salesforce_fake), MemoryUploader())

    # When it reads three times
    for _ in range(3):
        crm.get_opportunity(DEAL.opportunity_id)

    # Then one token was fetched
    assert token_requests(salesforce_fake) == 1


def test_an_expired_session_is_renewed_once_and_the_call_succeeds(salesforce_fake: SalesforceFake) -> None:
    # Given an adapter whose session the org has since expired
    salesforce_fake.seed_deal(DEAL)
    crm = SalesforceCrm(api_for(salesforce_fake), MemoryUploader())
    crm.get_opportunity(DEAL.opportunity_id)
    salesforce_fake.expire_tokens()

    # When it reads again
    opportunity = crm.get_opportunity(DEAL.opportunity_id)

    # Then it got a new token after the INVALID_SESSION_ID answer and the read went through
    assert opportunity.id == DEAL.opportunity_id
    assert token_requests(salesforce_fake) == 2


def test_a_session_refused_again_after_renewal_is_an_auth_failure(salesforce_fake: SalesforceFake) -> None:
    # Given an org that refuses every session (the integration user was frozen)
    salesforce_fake.inject(401, INVALID_SESSION, times=5, path_prefix="/services/data")
    crm = SalesforceCrm(api_for(salesforce_fake), MemoryUploader())

    # When reading / Then one renewal, then ConnectorAuthFailed naming the code
    with pytest.raises(ConnectorAuthFailed, match="INVALID_SESSION_ID"):
        crm.get_opportunity(DEAL.opportunity_id)
    assert token_requests(salesforce_fake) == 2


# ------------------------------------------------------------------------------------------------------------
# CRM reads
# ------------------------------------------------------------------------------------------------------------


def test_the_sow_attached_to_the_deal_is_downloaded_and_stored(salesforce_fake: SalesforceFake) -> None:
    # Given a deal with an NDA and the signed SOW attached
    salesforce_fake.seed_deal(Deal(index=3, client=new_client(3), with_sow=False))
    salesforce_fake.attach(DEAL.opportunity_id, "Mutual NDA", b"%PDF nda")
    version_id = salesforce_fake.attach(DEAL.opportunity_id, "SOW - signed", PDF)
    uploader = MemoryUploader()

    # When the CRM adapter fetches the SOW
    document = SalesforceCrm(api_for(salesforce_fake), uploader).sow_document(DEAL.opportunity_id)

    # Then the SOW's bytes are in the store, under the deal, and the pointer describes them
    assert document is not None
    assert uploader.files == {document.key: PDF}
    assert document.key == f"crm/opportunities/{DEAL.opportunity_id}/{version_id}/SOW-signed.pdf"
    assert document.sha256 == hashlib.sha256(PDF).hexdigest() and document.size_bytes == len(PDF)
    assert (document.content_type, document.document_type) == ("application/pdf", "sow")


def test_the_sample_firms_sow_comes_through_byte_for_byte(salesforce_fake: SalesforceFake) -> None:
    # Given a sample deal seeded as the sandbox seeds it (its SOW PDF attached)
    deal = Deal(index=5, client=existing_client("Northwind"))
    salesforce_fake.seed_deal(deal)
    uploader = MemoryUploader()

    # When fetched
    document = SalesforceCrm(api_for(salesforce_fake), uploader).sow_document(deal.opportunity_id)

    # Then it is the very PDF put_deal would have stored
    assert document is not None and uploader.files[document.key] == sample_sow_pdf(deal)


def test_a_pdf_is_preferred_to_a_word_draft_of_the_sow(salesforce_fake: SalesforceFake) -> None:
    # Given a Word draft and the signed PDF
    salesforce_fake.seed_deal(Deal(index=3, client=new_client(3), with_sow=False))
    salesforce_fake.attach(DEAL.opportunity_id, "SOW draft", b"PK docx", extension="docx")
    salesforce_fake.attach(DEAL.opportunity_id, "SOW signed", PDF)

    # When fetched / Then the PDF is the SOW
    document = SalesforceCrm(api_for(salesforce_fake), MemoryUploader()).sow_document(DEAL.opportunity_id)
    assert document is not None and document.content_type == "application/pdf"


def test_a_deal_without_a_sow_has_none(salesforce_fake: SalesforceFake) -> None:
    # Given a deal with only an NDA / Then no SOW, and nothing downloaded
    salesforce_fake.seed_deal(Deal(index=3, client=new_client(3), with_sow=False))
    salesforce_fake.attach(DEAL.opportunity_id, "Mutual NDA", b"%PDF nda")
    assert SalesforceCrm(api_for(salesforce_fake), MemoryUploader()).sow_document(DEAL.opportunity_id) is None
    assert not salesforce_fake.requests_to("VersionData")


def test_the_account_reads_as_a_client(salesforce_fake: SalesforceFake) -> None:
    # Given the deal's account
    salesforce_fake.seed_deal(DEAL)

    # When read as a client
    client = SalesforceCrm(api_for(salesforce_fake), MemoryUploader()).get_account(DEAL.client.id)

    # Then name, currency and billing address match the CRM's client
    assert client.customer_name == DEAL.client.customer_name
    assert client.default_currency == DEAL.client.default_currency
    assert client.address == DEAL.client.address


@pytest.mark.parametrize(
    ("terms", "days"),
    [
        ("Net 45", 45),
        ("30 days", 30),
        (60, 60),
        ("2% 10 Net 30", 30),
        ("Due on receipt", 0),
        ("Monthly", None),
        (None, None),
    ],
)
def test_the_accounts_payment_terms_read_from_the_field_the_org_keeps_them_in(
    salesforce_fake: SalesforceFake, terms: Any, days: int | None
) -> None:
    # Given the deal's account with its terms in a custom field, as a picklist label or a number
    salesforce_fake.seed_deal(DEAL)
    salesforce_fake.tables["Account"][DEAL.client.id]["Payment_Terms__c"] = terms

    # When read as a client by a CRM configured with that field, and by one without it
    crm = SalesforceCrm(
        api_for(salesforce_fake, account_payment_terms_field="Payment_Terms__c"), MemoryUploader()
    )
    plain = SalesforceCrm(api_for(salesforce_fake), MemoryUploader())

    # Then the days are read where the label says them, never guessed; without the field, none
    assert crm.get_account(DEAL.client.id).payment_terms_days == days
    assert plain.get_account(DEAL.client.id).payment_terms_days is None


def test_a_missing_record_is_record_not_found(salesforce_fake: SalesforceFake) -> None:
    crm = SalesforceCrm(api_for(salesforce_fake), MemoryUploader())
    # Given no such opportunity / Then RecordNotFound, which the workflow does not retry
    with pytest.raises(RecordNotFound):
        crm.get_opportunity("006Dn0000000099AAA")


def test_an_id_that_is_not_a_salesforce_id_is_refused_without_a_call(salesforce_fake: SalesforceFake) -> None:
    # Given an id that would break out of a SOQL string
    crm = SalesforceCrm(api_for(salesforce_fake), MemoryUploader())
    # Then it is refused before any request
    with pytest.raises(RecordNotFound):
        crm.sow_document("006' OR Name != '")
    assert salesforce_fake.requests == []


def test_soql_literals_survive_quotes_and_backslashes(salesforce_fake: SalesforceFake) -> None:
    # Given an account whose name has a quote and a backslash
    salesforce_fake.put("Account", {"Name": "O'Brien \\ Sons"})
    api = api_for(salesforce_fake)

    # When queried by that name
    name = "O'Brien \\ Sons"
    found = list(api.query(f"SELECT Id, Name FROM Account WHERE Name = {soql_literal(name)}", operation="q"))

    # Then exactly that account matches
    assert [r["Name"] for r in found] == ["O'Brien \\ Sons"]


# ------------------------------------------------------------------------------------------------------------
# Limits and failures
# ------------------------------------------------------------------------------------------------------------


def test_api_usage_is_read_from_every_response(salesforce_fake: SalesforceFake) -> None:
    # Given a metrics callback
    salesforce_fake.seed_deal(DEAL)
    seen: list[ApiUsage] = []
    api = api_for(salesforce_fake)
    api.on_api_usage = seen.append

    # When two calls are made
    crm = SalesforceCrm(api, MemoryUploader())
    crm.get_opportunity(DEAL.opportunity_id)
    crm.get_opportunity(DEAL.opportunity_id)

    # Then the latest usage is exposed and each was reported
    assert api.api_usage == ApiUsage(used=2, limit=15000)
    assert [u.used for u in seen] == [1, 2]
    assert parse_limit_info(
        "api-usage=25/5000; per-app-api-usage=17/250(appName=sample-connected-app)"
    ) == ApiUsage(25, 5000, {"sample-connected-app": (17, 250)})


def test_429_is_rate_limited_with_the_orgs_retry_after(salesforce_fake: SalesforceFake) -> None:
    # Given an org answering 429 with Retry-After
    crm = SalesforceCrm(api_for(salesforce_fake), MemoryUploader())
    salesforce_fake.inject(
        429,
        [{"message": "Too many requests", "errorCode": "REQUEST_LIMIT_EXCEEDED"}],
        headers={"Retry-After": "12"},
        path_prefix="/services/data",
    )

    # When reading / Then ConnectorRateLimited carries the wait
    with pytest.raises(ConnectorRateLimited) as raised:
        crm.get_opportunity(DEAL.opportunity_id)
    assert raised.value.retry_after_seconds == 12.0 and "ConnectorRateLimited" in RETRYABLE


def test_the_daily_api_limit_is_rate_limited_too(salesforce_fake: SalesforceFake) -> None:
    # Given the org's total request limit used up (403 REQUEST_LIMIT_EXCEEDED)
    crm = SalesforceCrm(api_for(salesforce_fake), MemoryUploader())
    salesforce_fake.inject(
        403,
        [{"message": "TotalRequests Limit exceeded.", "errorCode": "REQUEST_LIMIT_EXCEEDED"}],
        path_prefix="/services/data",
    )
    # Then it is a rate limit, not an auth failure
    with pytest.raises(ConnectorRateLimited):
        crm.get_opportunity(DEAL.opportunity_id)


def test_503_is_unavailable(salesforce_fake: SalesforceFake) -> None:
    crm = SalesforceCrm(api_for(salesforce_fake), MemoryUploader())
    salesforce_fake.inject(
        503,
        [{"message": "Server unavailable", "errorCode": "SERVER_UNAVAILABLE"}],
        path_prefix="/services/data",
    )
    with pytest.raises(ConnectorUnavailable, match="SERVER_UNAVAILABLE"):
        crm.get_opportunity(DEAL.opportunity_id)


def test_a_slow_org_is_a_timeout(salesforce_fake: SalesforceFake) -> None:
    api = api_for(salesforce_fake, governance=Governance(read_timeout_seconds=0.2))
    crm = SalesforceCrm(api, MemoryUploader())
    salesforce_fake.inject(delay_seconds=1.0, path_prefix="/services/data")
    with pytest.raises(ConnectorTimeout):
        crm.get_opportunity(DEAL.opportunity_id)


def test_every_call_is_recorded_without_the_token(
    salesforce_fake: SalesforceFake, calls: list[CallRecord]
) -> None:
    # Given a recorder for the case
    salesforce_fake.seed_deal(DEAL)

    # When the adapter reads
    SalesforceCrm(api_for(salesforce_fake), MemoryUploader()).get_opportunity(DEAL.opportunity_id)

    # Then the token call and the read are recorded, with the record id, and the fake saw the case id
    assert [(c.system, c.operation, c.record_id, c.outcome) for c in calls] == [
        ("salesforce", "oauth.token", None, "ok"),
        ("salesforce", "get_opportunity", DEAL.opportunity_id, "ok"),
    ]
    assert salesforce_fake.requests[-1].headers.get("X-Correlation-Id") == "case-0001"
    assert "00DFAKE" not in repr(calls)


# ------------------------------------------------------------------------------------------------------------
# Certinia PSA
# ------------------------------------------------------------------------------------------------------------


def _project(opportunity_id: str) -> Project:
    return Project(
        id="BLUE-2026-001",
        project_name="Blue Yonder - ERP implementation",
        client_id="CUST-0042",
        opportunity_id=opportunity_id,
        billing_model="fixed_fee",
        currency="USD",
        expected_start_date=date(2026, 11, 19),
        expected_end_date=date(2027, 5, 18),
    )


def test_a_project_is_created_once_however_often_the_step_is_retried(salesforce_fake: SalesforceFake) -> None:
    # Given a won deal
    salesforce_fake.seed_deal(DEAL)
    psa = CertiniaPsa(api_for(salesforce_fake))

    # When the create step runs twice with the same idempotency key
    first = psa.create_project(
        _project(DEAL.opportunity_id), idempotency_key=f"project#{DEAL.opportunity_id}"
    )
    second = psa.create_project(
        _project(DEAL.opportunity_id), idempotency_key=f"project#{DEAL.opportunity_id}"
    )

    # Then one project exists, reported created the first time only
    assert (first.created, second.created) == (True, False) and first.id == second.id
    [record] = salesforce_fake.tables["pse__Proj__c"].values()
    assert record["pse__Project_ID__c"] == "BLUE-2026-001"
    assert record["pse__Account__c"] == DEAL.client.id and record["pse__Billing_Type__c"] == "Fixed Price"
    # And the second run did not write over the record (only looked it up)
    assert len(salesforce_fake.requests_to("/pse__Proj__c/Backoffice_Key__c/", "PATCH")) == 1


def test_the_created_project_is_found_by_its_opportunity(salesforce_fake: SalesforceFake) -> None:
    # Given a project created for the deal
    salesforce_fake.seed_deal(DEAL)
    psa = CertiniaPsa(api_for(salesforce_fake))
    created = psa.create_project(_project(DEAL.opportunity_id), idempotency_key="project#1")

    # When looked up by opportunity
    found = psa.find_project_by_opportunity(DEAL.opportunity_id)

    # Then it is the project, in canonical terms; another deal has none
    assert found is not None
    assert (found.id, found.billing_model, found.expected_end_date) == (
        created.id,
        "fixed_fee",
        date(2027, 5, 18),
    )
    assert psa.find_project_by_opportunity("006Dn0000000077AAA") is None


def test_a_resource_request_is_created_once_with_its_candidates(salesforce_fake: SalesforceFake) -> None:
    # Given a project
    salesforce_fake.seed_deal(DEAL)
    psa = CertiniaPsa(api_for(salesforce_fake))
    project_id = psa.create_project(_project(DEAL.opportunity_id), idempotency_key="project#1").id
    request = ResourceRequest(
        project_id=project_id,
        role="manager",
        hours=Decimal("320.5"),
        start=date(2026, 11, 19),
        end=date(2027, 5, 18),
        skills=("sap",),
        candidate_ids=("W-004", "W-007"),
        conflicts=("over-allocated: W-004",),
    )

    # When requested twice with one key
    ids = {psa.create_resource_request(request, idempotency_key="staff#1#manager").id for _ in range(2)}

    # Then one request, with the role, hours, dates and notes Certinia shows the resource manager
    [record] = salesforce_fake.tables["pse__Resource_Request__c"].values()
    assert ids == {record["Id"]}
    assert (record["pse__Resource_Role__c"], Decimal(str(record["pse__SOW_Hours__c"]))) == (
        "manager",
        Decimal("320.5"),
    )
    assert record["pse__Start_Date__c"] == "2026-11-19"
    assert "Proposed: W-004, W-007" in record["pse__Notes__c"]


def test_allocations_are_read_across_soql_batches(salesforce_fake: SalesforceFake) -> None:
    # Given the sample firm's assignments, served two per batch
    salesforce_fake.batch_size = 2
    booked = sample_allocations()[:5]
    salesforce_fake.seed_allocations(booked)

    # When the PSA lists allocations over a wide period
    found = CertiniaPsa(api_for(salesforce_fake)).allocations(date(2020, 1, 1), date(2030, 1, 1))

    # Then every one came back, after following nextRecordsUrl twice
    assert sorted((a.worker_id, a.start, a.end) for a in found) == sorted(
        (a.worker_id, a.start, a.end) for a in booked
    )
    assert all(isinstance(a, Allocation) for a in found)
    by_worker = {(a.worker_id, a.start): a.hours_per_week for a in found}
    assert all(
        by_worker[(a.worker_id, a.start)] == Decimal(a.hours_per_week).quantize(Decimal("0.01"))
        for a in booked
    )
    assert len(salesforce_fake.requests_to("/query/01g")) == 2


def test_the_next_project_sequence_follows_the_highest_code_of_the_year(
    salesforce_fake: SalesforceFake,
) -> None:
    # Given projects NORT-2026-001 and -004, and one of another year
    for code in ("NORT-2026-001", "NORT-2026-004", "NORT-2025-009", "WIDE-2026-010"):
        salesforce_fake.put("pse__Proj__c", {"Name": code, "pse__Project_ID__c": code})
    # Then the next is 5
    assert CertiniaPsa(api_for(salesforce_fake)).next_project_sequence("NORT", 2026) == 5


def test_timecards_become_one_time_entry_per_day_worked(salesforce_fake: SalesforceFake) -> None:
    # Given an approved billable timecard (its split) for the week of Monday 2 Nov 2026: 8 h Monday, 4.5 h Tuesday
    salesforce_fake.put(
        "pse__Timecard__c",
        {
            "pse__Resource__c": "W-004",
            "pse__Project__c": "a1ADn0000000001AAA",
            "pse__Start_Date__c": "2026-11-02",
            "pse__End_Date__c": "2026-11-08",
            "pse__Status__c": "Approved",
            "pse__Billable__c": True,
            "pse__Bill_Rate__c": Decimal(275),
            "pse__Cost_Rate_Amount__c": Decimal(125),
            "pse__Monday_Hours__c": Decimal(8),
            "pse__Tuesday_Hours__c": Decimal("4.5"),
            "CurrencyIsoCode": "USD",
        },
    )

    # When the period's time is read
    entries = CertiniaPsa(api_for(salesforce_fake)).time_entries(date(2026, 11, 1), date(2026, 11, 30))

    # Then two entries, priced at the bill rate
    assert [(e.work_date, e.hours, e.billing_amount, e.status) for e in entries] == [
        (date(2026, 11, 2), Decimal(8), Decimal("2200.00"), "approved"),
        (date(2026, 11, 3), Decimal("4.5"), Decimal("1237.50"), "approved"),
    ]


def test_overtime_approved_on_a_timecard_is_read_from_the_field_the_org_keeps_it_in(
    salesforce_fake: SalesforceFake,
) -> None:
    # Given an org that ticks approved overtime on the timecard, a card with it ticked and one without
    for worker, ticked in (("W-004", True), ("W-005", False)):
        salesforce_fake.put(
            "pse__Timecard__c",
            {
                "pse__Resource__c": worker,
                "pse__Project__c": "a1ADn0000000001AAA",
                "pse__Start_Date__c": "2026-11-02",
                "pse__End_Date__c": "2026-11-08",
                "pse__Status__c": "Approved",
                "pse__Billable__c": True,
                "pse__Monday_Hours__c": Decimal(13),
                "pse__Saturday_Hours__c": Decimal(4),
                "Overtime_Approved__c": ticked,
            },
        )
    psa = CertiniaPsa(api_for(salesforce_fake, certinia={"overtime_approved_field": "Overtime_Approved__c"}))
    # When the period's time is read
    entries = psa.time_entries(date(2026, 11, 1), date(2026, 11, 30))
    # Then every day of the ticked card carries it, and none of the other's (nor of an org without the field)
    assert sorted((e.worker_id, e.overtime_approved) for e in entries) == [
        ("W-004", True),
        ("W-004", True),
        ("W-005", False),
        ("W-005", False),
    ]
    plain = CertiniaPsa(api_for(salesforce_fake)).time_entries(date(2026, 11, 1), date(2026, 11, 30))
    assert not any(e.overtime_approved for e in plain)


def test_milestones_say_which_are_accepted(salesforce_fake: SalesforceFake) -> None:
    # Given an approved and a planned milestone
    project_id = salesforce_fake.put("pse__Proj__c", {"Name": "P"})
    salesforce_fake.put(
        "pse__Milestone__c",
        {
            "Name": "Design sign-off",
            "pse__Project__c": project_id,
            "pse__Milestone_Amount__c": Decimal(40000),
            "pse__Target_Date__c": "2026-12-15",
            "pse__Status__c": "Approved",
            "pse__Approved__c": True,
            "pse__Actual_Date__c": "2026-12-14",
        },
    )
    salesforce_fake.put(
        "pse__Milestone__c",
        {
            "Name": "Go-live",
            "pse__Project__c": project_id,
            "pse__Milestone_Amount__c": Decimal(60000),
            "pse__Target_Date__c": "2027-03-01",
            "pse__Status__c": "Planned",
        },
    )

    # Then BR7 can tell them apart
    milestones = CertiniaPsa(api_for(salesforce_fake)).milestones(project_id)
    assert [(m.name, m.status, m.accepted_date) for m in milestones] == [
        ("Design sign-off", "accepted", date(2026, 12, 14)),
        ("Go-live", "planned", None),
    ]


def test_an_upsert_matching_several_records_is_refused(salesforce_fake: SalesforceFake) -> None:
    # Given two records sharing the external id (a data problem in the org)
    salesforce_fake.seed_deal(DEAL)
    for _ in range(2):
        salesforce_fake.put("pse__Proj__c", {"Name": "dup", "Backoffice_Key__c": "project-dup"})
    # Then the adapter refuses rather than guessing
    with pytest.raises(ConnectorRequestRejected, match="HTTP 300"):
        CertiniaPsa(api_for(salesforce_fake)).create_project(
            _project(DEAL.opportunity_id), idempotency_key="project-dup"
        )


# ------------------------------------------------------------------------------------------------------------
# Certinia invoicing
# ------------------------------------------------------------------------------------------------------------


def pages(list_page: Any) -> tuple[list[Any], int]:
    """Every item of a paged listing, and how many pages it took."""
    found, token, count = [], None, 0
    while True:
        page = list_page(token)
        count += 1
        found.extend(page.items)
        token = page.next_token
        if not token:
            return found, count


def test_billable_projects_are_the_active_ones_and_those_ending_in_the_period_page_by_page(
    salesforce_fake: SalesforceFake,
) -> None:
    # Given four projects, two per SOQL batch: active; ended before November; closed in November; open-ended
    salesforce_fake.batch_size = 2
    rows = [
        ("Active", True, "2027-03-31", "In Progress"),
        ("Ended", False, "2026-10-15", "Completed"),
        ("Closing", False, "2026-11-20", "Completed"),
        ("Open-ended", False, None, "Planned"),
    ]
    for name, active, end, stage in rows:
        salesforce_fake.put(
            "pse__Proj__c",
            {
                "Name": name,
                "pse__Is_Active__c": active,
                "pse__End_Date__c": end,
                "pse__Stage__c": stage,
                "pse__Account__c": "001Dn0000000001AAA",
                "pse__Opportunity__c": "006Dn0000000001AAA",
                "pse__Billing_Type__c": "Time and Materials",
                "CurrencyIsoCode": "USD",
            },
        )
    psa = CertiniaPsa(api_for(salesforce_fake))

    # When November's billable projects are listed, page by page
    projects, count = pages(
        lambda token: psa.list_billable_projects(date(2026, 11, 1), date(2026, 11, 30), token)
    )

    # Then the project that ended before November is not among them, and the rest came in two batches
    assert [(p.project_name, p.status) for p in projects] == [
        ("Active", "open"),
        ("Closing", "completed"),
        ("Open-ended", "open"),
    ]
    assert count == 2 and len(salesforce_fake.requests_to("/query/01g")) == 1
    # And each names its contract: the SOW won on its opportunity
    assert {p.contract_id for p in projects} == {"006Dn0000000001AAA"}


def test_time_comes_from_the_splits_so_a_week_across_the_month_end_is_billed_in_each_month(
    salesforce_fake: SalesforceFake,
) -> None:
    # Given the week of Monday 30 Nov 2026 (8 h, 6 h, 7 h), split by Certinia at 1 December, one split per batch
    salesforce_fake.batch_size = 1
    first, second = salesforce_fake.add_timecard(
        worker_id="W-004",
        project_id="a1ADn0000000001AAA",
        week_start=date(2026, 11, 30),
        hours={"Monday": Decimal(8), "Tuesday": Decimal(6), "Wednesday": Decimal(7)},
        split_at=date(2026, 12, 1),
    )
    psa = CertiniaPsa(api_for(salesforce_fake))

    # When November's and December's time are read
    november, _ = pages(lambda t: psa.list_time_entries(date(2026, 11, 1), date(2026, 11, 30), t))
    december, count = pages(lambda t: psa.list_time_entries(date(2026, 12, 1), date(2026, 12, 31), t))

    # Then Monday is November's, on the first split; Tuesday and Wednesday December's, on the second
    assert [(e.id, e.work_date, e.hours) for e in november] == [
        (f"{first}-mon", date(2026, 11, 30), Decimal(8))
    ]
    assert [(e.id, e.billing_amount, e.invoice_id) for e in december] == [
        (f"{second}-tue", Decimal("1200.00"), None),
        (f"{second}-wed", Decimal("1400.00"), None),
    ]
    assert count == 1  # one split overlaps December


def test_a_day_that_cannot_be_a_time_entry_is_reported_with_its_reasons(
    salesforce_fake: SalesforceFake,
) -> None:
    # Given a split whose Monday says 30 hours
    salesforce_fake.add_timecard(
        worker_id="W-004",
        project_id="a1ADn0000000001AAA",
        week_start=date(2026, 11, 2),
        hours={"Monday": Decimal(30), "Tuesday": Decimal(8)},
    )
    # When the period is read / Then Tuesday is an entry and Monday an unreadable line, not a failed run
    lines = (
        CertiniaPsa(api_for(salesforce_fake)).list_time_entries(date(2026, 11, 1), date(2026, 11, 30)).items
    )
    [bad] = [line for line in lines if isinstance(line, UnreadableLine)]
    assert (bad.kind, bad.project_id) == ("time", "a1ADn0000000001AAA") and bad.id.endswith("-mon")
    assert any(e.startswith("hours:") for e in bad.errors)
    assert [e.work_date for e in lines if isinstance(e, TimeEntry)] == [date(2026, 11, 3)]


def _expense(fake: SalesforceFake, day: str, amount: str, **fields: Any) -> str:
    return fake.put(
        "pse__Expense__c",
        {
            "pse__Resource__c": "W-011",
            "pse__Project__c": "a1ADn0000000001AAA",
            "pse__Expense_Date__c": day,
            "pse__Type__c": "Airfare",
            "pse__Amount__c": Decimal(amount),
            "pse__Billable__c": True,
            "pse__Exclude_from_Billing__c": False,
            "pse__Status__c": "Approved",
            "pse__Billed__c": False,
            "CurrencyIsoCode": "USD",
            **fields,
        },
    )


def test_expenses_of_the_period_are_listed_page_by_page(salesforce_fake: SalesforceFake) -> None:
    # Given three November expenses (one excluded from billing, one submitted) and one of October, two per batch
    salesforce_fake.batch_size = 2
    kept = _expense(salesforce_fake, "2026-11-03", "412.80")
    excluded = _expense(salesforce_fake, "2026-11-04", "18.50", pse__Exclude_from_Billing__c=True)
    submitted = _expense(salesforce_fake, "2026-11-30", "96.00", pse__Status__c="Submitted")
    _expense(salesforce_fake, "2026-10-31", "50.00")
    psa = CertiniaPsa(api_for(salesforce_fake))

    # When listed
    expenses, count = pages(lambda t: psa.list_expenses(date(2026, 11, 1), date(2026, 11, 30), t))

    # Then November's three, in canonical terms, across two batches
    assert [(e.id, e.amount, e.is_billable, e.status, e.expense_type) for e in expenses] == [
        (kept, Decimal("412.80"), True, "approved", "Airfare"),
        (excluded, Decimal("18.50"), False, "approved", "Airfare"),
        (submitted, Decimal("96.00"), True, "submitted", "Airfare"),
    ]
    assert count == 2


def test_what_an_expense_receipt_says_is_read_from_the_fields_the_org_keeps_it_in(
    salesforce_fake: SalesforceFake,
) -> None:
    # Given an org that keeps the receipt's total, number and date and the corporate card in custom fields
    facts = {
        "receipt_amount": "Receipt_Total__c",
        "receipt_number": "Receipt_Number__c",
        "receipt_date": "Receipt_Date__c",
        "card_id": "Corporate_Card__c",
        "trip_id": "pse__Expense_Report__c",
    }
    certinia = {"expense_fact_fields": facts}
    read = _expense(
        salesforce_fake,
        "2026-11-03",
        "412.80",
        Receipt_Total__c=Decimal("398.00"),
        Receipt_Number__c="INV-20931",
        Receipt_Date__c="2026-11-02",
        Corporate_Card__c="CC-0042",
        pse__Expense_Report__c="a2XDn0000000042AAA",
    )
    bare = _expense(salesforce_fake, "2026-11-04", "18.50")
    psa = CertiniaPsa(api_for(salesforce_fake, certinia=certinia))
    # When the period's expenses are listed
    expenses = {e.id: e for e in psa.list_expenses(date(2026, 11, 1), date(2026, 11, 30)).items}
    # Then each carries what its receipt says, and one without those fields carries none
    found = expenses[read]
    assert isinstance(found, ExpenseEntry)
    assert (found.receipt_amount, found.receipt_number, found.receipt_date, found.card_id) == (
        Decimal("398.00"),
        "INV-20931",
        date(2026, 11, 2),
        "CC-0042",
    )
    assert found.trip_id == "a2XDn0000000042AAA"
    assert isinstance(expenses[bare], ExpenseEntry) and expenses[bare].receipt_amount is None
    # And a misspelt fact is refused when the settings are read, naming the facts there are
    with pytest.raises(ValidationError, match="unknown expense facts reciept_amount"):
        settings_for(salesforce_fake, certinia={"expense_fact_fields": {"reciept_amount": "X__c"}})


def test_billed_lines_carry_the_invoice_and_marking_them_again_changes_nothing(
    salesforce_fake: SalesforceFake,
) -> None:
    # Given a split, an expense and an accepted milestone of the period
    [split] = salesforce_fake.add_timecard(
        worker_id="W-004",
        project_id="a1ADn0000000001AAA",
        week_start=date(2026, 11, 2),
        hours={"Monday": Decimal(8), "Tuesday": Decimal(8)},
    )
    expense = _expense(salesforce_fake, "2026-11-03", "412.80")
    milestone = salesforce_fake.put(
        "pse__Milestone__c",
        {"Name": "Design", "pse__Project__c": "a1ADn0000000001AAA", "pse__Approved__c": True},
    )
    psa = CertiniaPsa(api_for(salesforce_fake))

    # When they are marked billed on invoice 9001, then (a retried step, or a second run) on 9002
    for invoice in ("9001", "9002"):
        psa.mark_billed(
            invoice,
            time_entry_ids=[f"{split}-mon", f"{split}-tue"],
            expense_ids=[expense],
            milestone_ids=[milestone],
        )

    # Then each is flagged billed and invoiced, with the first invoice only, written once through a collection
    for sobject, record_id in (
        ("pse__Timecard__c", split),
        ("pse__Expense__c", expense),
        ("pse__Milestone__c", milestone),
    ):
        record = salesforce_fake.tables[sobject][record_id]
        assert (record["pse__Billed__c"], record["pse__Invoiced__c"], record["Backoffice_Invoice__c"]) == (
            True,
            True,
            "9001",
        )
    assert len(salesforce_fake.requests_to("/composite/sobjects", "PATCH")) == 3
    # And they read back as billed, so no later run bills them (BR2)
    period = (date(2026, 11, 1), date(2026, 11, 30))
    assert {e.invoice_id for e in psa.list_time_entries(*period).items} == {"9001"}
    assert {e.invoice_id for e in psa.list_expenses(*period).items} == {"9001"}
    assert psa.milestones("a1ADn0000000001AAA")[0].status == "invoiced"


def test_marking_an_unknown_line_billed_is_record_not_found_and_writes_nothing(
    salesforce_fake: SalesforceFake,
) -> None:
    psa = CertiniaPsa(api_for(salesforce_fake))
    expense = _expense(salesforce_fake, "2026-11-03", "10.00")
    with pytest.raises(RecordNotFound):
        psa.mark_billed("9001", time_entry_ids=[], expense_ids=[expense, "a1HDn0000000999AAA"])
    with pytest.raises(RecordNotFound):
        psa.mark_billed("9001", time_entry_ids=["TE-0001"], expense_ids=[])
    assert salesforce_fake.tables["pse__Expense__c"][expense]["pse__Billed__c"] is False


def test_time_sent_back_rejects_its_timecard_and_a_written_off_expense_leaves_billing(
    salesforce_fake: SalesforceFake,
) -> None:
    # Given a submitted week, a billable expense and an expense already billed
    [split] = salesforce_fake.add_timecard(
        worker_id="W-004",
        project_id="a1ADn0000000001AAA",
        week_start=date(2026, 11, 2),
        hours={"Monday": Decimal(9)},
        status="Submitted",
    )
    header = salesforce_fake.tables["pse__Timecard__c"][split]["pse__Timecard_Header__c"]
    written_off = _expense(salesforce_fake, "2026-11-03", "880.00")
    billed = _expense(
        salesforce_fake, "2026-11-04", "40.00", pse__Billed__c=True, Backoffice_Invoice__c="9001"
    )
    psa = CertiniaPsa(api_for(salesforce_fake))

    # When the reviewer sends the time back and writes the expenses off
    psa.return_lines(
        time_entry_ids=[f"{split}-mon"], expense_ids=[], action="send_back", reason="9 h on the kickoff?"
    )
    psa.return_lines(
        time_entry_ids=[], expense_ids=[written_off, billed], action="write_off", reason="client dinner"
    )

    # Then the timecard is rejected with the reason, and its split with it, so the worker corrects it
    assert salesforce_fake.tables["pse__Timecard_Header__c"][header]["pse__Status__c"] == "Rejected"
    assert (
        salesforce_fake.tables["pse__Timecard_Header__c"][header]["pse__Audit_Notes__c"]
        == "9 h on the kickoff?"
    )
    [entry] = psa.list_time_entries(date(2026, 11, 1), date(2026, 11, 30)).items
    assert isinstance(entry, TimeEntry) and entry.status == "rejected"
    # And the expense is excluded from billing; the billed one is left alone
    assert salesforce_fake.tables["pse__Expense__c"][written_off]["pse__Exclude_from_Billing__c"] is True
    assert salesforce_fake.tables["pse__Expense__c"][billed]["pse__Exclude_from_Billing__c"] is False
    expenses = {e.id: e for e in psa.list_expenses(date(2026, 11, 1), date(2026, 11, 30)).items}
    assert isinstance(expenses[written_off], ExpenseEntry) and expenses[written_off].is_billable is False


def test_the_contract_is_the_sow_won_on_the_projects_opportunity(salesforce_fake: SalesforceFake) -> None:
    # Given a fixed-fee project created for the won deal, with its milestones
    salesforce_fake.seed_deal(DEAL)
    psa = CertiniaPsa(api_for(salesforce_fake))
    project_id = psa.create_project(_project(DEAL.opportunity_id), idempotency_key="project#sow").id
    salesforce_fake.put(
        "pse__Milestone__c",
        {
            "Name": "Blueprint",
            "pse__Project__c": project_id,
            "pse__Milestone_Amount__c": Decimal(60000),
            "pse__Target_Date__c": "2026-12-15",
            "pse__Status__c": "Planned",
        },
    )

    # When the project's contract is read
    project = psa.get_project(project_id)
    assert project.contract_id == DEAL.opportunity_id
    contract = psa.get_contract(project.contract_id)

    # Then it is the SOW: the deal's amount as the fixed fee, the project's dates, the milestones
    assert (contract.kind, contract.billing_model, contract.fixed_fee) == (
        "sow",
        "fixed_fee",
        Decimal("185000.50"),
    )
    assert (contract.effective_date, contract.end_date) == (date(2026, 11, 19), date(2027, 5, 18))
    assert [m.name for m in contract.milestones] == ["Blueprint"]
    # (no ERP customer field is configured: the client is the project's account)
    assert contract.client_id == DEAL.client.id and contract.payment_terms_days == 30
    with pytest.raises(RecordNotFound):
        psa.get_contract("006Dn0000000099AAA")


def test_the_rate_card_is_the_accounts_else_the_firms_standard_in_the_projects_currency(
    salesforce_fake: SalesforceFake,
) -> None:
    # Given rate cards for Northwind (the consultant's raised in 2026) and the firm's standard in USD and EUR
    def rate(role: str, bill: int, account: str | None, start: str, currency: str = "USD") -> None:
        salesforce_fake.put(
            "pse__Rate_Card__c",
            {
                "pse__Role__c": role,
                "pse__Account__c": account,
                "pse__Suggested_Bill_Rate__c": Decimal(bill),
                "pse__Average_Cost_Rate__c": Decimal(bill // 2),
                "pse__Start_Date__c": start,
                "CurrencyIsoCode": currency,
            },
        )

    northwind, other = "001Dn0000000001AAA", "001Dn0000000002AAA"
    rate("Consultant", 180, northwind, "2025-01-01")
    rate("Consultant", 195, northwind, "2026-01-01")
    rate("Manager", 260, northwind, "2025-01-01")
    rate("Consultant", 210, None, "2024-01-01")
    rate("Consultant", 190, None, "2024-01-01", currency="EUR")
    projects = {
        account: salesforce_fake.put(
            "pse__Proj__c", {"Name": account, "pse__Account__c": account, "CurrencyIsoCode": "USD"}
        )
        for account in (northwind, other)
    }
    psa = CertiniaPsa(api_for(salesforce_fake))

    # When each project's rate card is read
    own = psa.project_rate_card(projects[northwind])
    standard = psa.project_rate_card(projects[other])

    # Then Northwind bills by its own (the latest consultant rate), the other client by the firm's USD rates
    assert own is not None and own.client_id == northwind
    assert sorted((line.role, line.billing_rate) for line in own.lines) == [
        ("Consultant", Decimal(195)),
        ("Manager", Decimal(260)),
    ]
    assert standard is not None and standard.client_id is None
    assert [(line.role, line.billing_rate, line.currency) for line in standard.lines] == [
        ("Consultant", Decimal(210), "USD")
    ]


def test_a_project_without_any_rate_card_has_none(salesforce_fake: SalesforceFake) -> None:
    project_id = salesforce_fake.put(
        "pse__Proj__c", {"Name": "P", "pse__Account__c": "001Dn0000000009AAA", "CurrencyIsoCode": "CHF"}
    )
    assert CertiniaPsa(api_for(salesforce_fake)).project_rate_card(project_id) is None


def test_a_collection_update_is_all_or_none(salesforce_fake: SalesforceFake) -> None:
    # Given one expense that exists and one that was deleted meanwhile
    kept = _expense(salesforce_fake, "2026-11-03", "10.00")
    api = api_for(salesforce_fake)
    # When both are updated / Then the org refuses with the code, and neither changed
    with pytest.raises(ConnectorRequestRejected, match="ENTITY_IS_DELETED"):
        api.update_records(
            "pse__Expense__c",
            {kept: {"pse__Billed__c": True}, "a1HDn0000000999AAA": {"pse__Billed__c": True}},
            operation="mark_billed",
        )
    assert salesforce_fake.tables["pse__Expense__c"][kept]["pse__Billed__c"] is False


PERIOD = (date(2026, 11, 1), date(2026, 11, 30))


@pytest.mark.parametrize(
    "call",
    [
        lambda psa: psa.list_billable_projects(*PERIOD),
        lambda psa: psa.list_time_entries(*PERIOD),
        lambda psa: psa.list_expenses(*PERIOD),
        lambda psa: psa.get_contract("006Dn0000000001AAA"),
        lambda psa: psa.project_rate_card("a1ADn0000000001AAA"),
        lambda psa: psa.mark_billed("9001", time_entry_ids=[], expense_ids=["a1HDn0000000001AAA"]),
        lambda psa: psa.return_lines(
            time_entry_ids=[], expense_ids=["a1HDn0000000001AAA"], action="write_off", reason="r"
        ),
    ],
)
def test_every_invoicing_call_reports_rate_limits_and_outages_by_name(
    salesforce_fake: SalesforceFake, call: Any
) -> None:
    psa = CertiniaPsa(api_for(salesforce_fake))
    salesforce_fake.inject(
        429,
        [{"message": "Too many requests", "errorCode": "REQUEST_LIMIT_EXCEEDED"}],
        headers={"Retry-After": "7"},
        path_prefix="/services/data",
    )
    with pytest.raises(ConnectorRateLimited) as raised:
        call(psa)
    assert raised.value.retry_after_seconds == 7.0
    reset_governors()  # the adapter now holds off the org for 7 s; the outage is the next case
    psa = CertiniaPsa(api_for(salesforce_fake))
    salesforce_fake.inject(
        503,
        [{"message": "Server unavailable", "errorCode": "SERVER_UNAVAILABLE"}],
        path_prefix="/services/data",
    )
    with pytest.raises(ConnectorUnavailable):
        call(psa)
