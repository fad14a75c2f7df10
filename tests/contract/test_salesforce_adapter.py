"""The Salesforce adapter (CRM, and PSA on Certinia) against a fake org that follows the REST API documentation."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from datetime import date
from decimal import Decimal
from typing import Any

import pytest

from backoffice.connectors.http import (
    CallRecord,
    ConnectorAuthFailed,
    ConnectorRequestRejected,
    Governance,
)
from backoffice.connectors.ports import (
    RETRYABLE,
    Allocation,
    ConnectorRateLimited,
    ConnectorTimeout,
    ConnectorUnavailable,
    RecordNotFound,
    ResourceRequest,
)
from backoffice.connectors.salesforce import (
    ApiUsage,
    CertiniaPsa,
    SalesforceApi,
    SalesforceCrm,
    SalesforceSettings,
    parse_limit_info,
    soql_literal,
)
from backoffice.local.samples import Deal, existing_client, new_client
from backoffice.models import Opportunity, Project
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
    # Given an approved billable timecard for the week of Monday 2 Nov 2026: 8 h Monday, 4.5 h Tuesday
    salesforce_fake.put(
        "pse__Timecard_Header__c",
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
