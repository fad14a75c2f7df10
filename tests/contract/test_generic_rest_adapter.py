"""The generic REST adapter and its declarative mapping: a firm connects an HRIS or PSA with a JSON document."""

from __future__ import annotations

import copy
from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from pydantic import ValidationError

from backoffice.connectors.generic_rest import RestConnector, RestSettings
from backoffice.connectors.http import (
    CallRecord,
    ConnectorNotConfigured,
    ConnectorRequestRejected,
    RecordUnmappable,
)
from backoffice.connectors.mapping import FieldMapping, MappingError
from backoffice.connectors.ports import ResourceRequest
from backoffice.models import Client, Project, Worker
from backoffice.onboarding.sample_firm import sample_allocations, sample_clients, sample_workers
from backoffice.vendors.sample_vendors import existing_employees, existing_vendors
from tests.contract.conftest import FAST
from tests.contract.fakes.rest_fake import RestFake, example_document

# ------------------------------------------------------------------------------------------------------------
# The mapping
# ------------------------------------------------------------------------------------------------------------


def test_pointers_dotted_paths_transforms_and_tables_map_a_vendor_record() -> None:
    # Given a vendor's employee record and a firm's mapping
    record = {
        "id": 17,
        "name": {"display": "Ines Moreau"},
        "contact": {"emails": ["INES@Firm.example"]},
        "type": "Contractor",
        "pay": {"hourly": "1,095.50", "currency": "eur"},
        "hired": "03/15/2024",
        "updated": "2026-11-02T09:30:00Z",
        "tags": "sap, audit ,",
        "active": "yes",
        "a/b": "slash",
    }
    mapping = FieldMapping.model_validate(
        {
            "fields": {
                "id": {"source": "/id", "transforms": ["string"]},
                "name": "name.display",
                "email": {"source": "/contact/emails/0", "transforms": ["lower"]},
                "employment": {
                    "source": "/type",
                    "values": {"Full-Time": "employee", "Contractor": "contractor"},
                },
                "cost_rate": {"source": "pay.hourly", "transforms": ["decimal"]},
                "currency": {"source": "pay.currency", "transforms": ["upper"]},
                "hired": {"source": "/hired", "transforms": ["date"], "date_format": "%m/%d/%Y"},
                "updated": {"source": "/updated", "transforms": ["datetime"]},
                "skills": {"source": "/tags", "transforms": ["split"]},
                "is_active": {"source": "/active", "transforms": ["boolean"]},
                "escaped": "/a~1b",
                "team.region": {"constant": "EMEA"},
                "team.size": {"source": "/missing", "default": 1},
                "note": "/missing",
            }
        }
    )

    # When applied
    mapped = mapping.apply(record)

    # Then every rule did its part; a missing source without default is left out for the model's default
    assert mapped == {
        "id": "17",
        "name": "Ines Moreau",
        "email": "ines@firm.example",
        "employment": "contractor",
        "cost_rate": "1095.50",
        "currency": "EUR",
        "hired": "2024-03-15",
        "updated": "2026-11-02T09:30:00+00:00",
        "skills": ["sap", "audit"],
        "is_active": True,
        "escaped": "slash",
        "team": {"region": "EMEA", "size": 1},
    }


def test_minor_units_become_money_without_float_error() -> None:
    mapping = FieldMapping.model_validate(
        {"fields": {"amount": {"source": "/cents", "transforms": ["cents"]}}}
    )
    assert mapping.apply({"cents": 1999}) == {"amount": "19.99"}


def test_mapping_errors_name_the_field_never_the_value() -> None:
    # Given a record whose tax id is not a number and whose type is not in the table, and a required field missing
    mapping = FieldMapping.model_validate(
        {
            "fields": {
                "tax_rate": {"source": "/tax", "transforms": ["decimal"]},
                "employment": {"source": "/type", "values": {"Full-Time": "employee"}},
                "id": {"source": "/id", "required": True},
            }
        }
    )
    # When applied / Then each problem is named by its target, without the values
    with pytest.raises(MappingError) as raised:
        mapping.apply({"tax": "91-1144442", "type": "Intern"})
    assert raised.value.errors == [
        "tax_rate: transform decimal does not apply to the value",
        "employment: value is not in the values table",
        "id: required, but /id has no value",
    ]
    assert "91-1144442" not in str(raised.value) and "Intern" not in str(raised.value)


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ({"fields": {"x": {"source": "/a", "transforms": ["titlecase"]}}}, "titlecase"),
        ({"fields": {"x": {"source": "/a", "constant": 1}}}, "exactly one of source and constant"),
        ({"fields": {"a": "/x", "a.b": "/y"}}, "both as a value and as an object"),
        ({"fields": {}}, "at least 1"),
    ],
)
def test_a_wrong_mapping_document_is_refused_when_loaded(document: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        FieldMapping.model_validate(document)


def test_a_connector_document_missing_what_an_operation_needs_is_refused(rest_fake: RestFake) -> None:
    # Given the example document with three mistakes
    document = example_document(rest_fake.url)
    del document["operations"]["list_workers"]["items_path"]
    document["operations"]["get_customer"]["path"] = "/customers/{customer}"
    del document["operations"]["create_customer"]["body"]
    # Then loading it names each
    with pytest.raises(ValidationError) as raised:
        RestSettings.model_validate(document)
    text = str(raised.value)
    assert "list_workers: needs items_path" in text
    assert "get_customer: unknown placeholders ['customer']" in text
    assert "create_customer: a create needs a body mapping" in text


# ------------------------------------------------------------------------------------------------------------
# The adapter against the fake
# ------------------------------------------------------------------------------------------------------------


def connector(fake: RestFake, auth: dict[str, Any] | None = None, **changes: Any) -> RestConnector:
    document = example_document(fake.url, auth=auth)
    document["governance"] = FAST.model_dump()
    document.update(changes)
    secrets = {"api_key": fake.api_key, "client_secret": fake.client_secret}
    return RestConnector(RestSettings.model_validate(document), lambda: secrets)


def everything(list_page: Any) -> list[Any]:
    found, token = [], None
    while True:
        page = list_page(token)
        found.extend(page.items)
        token = page.next_token
        if not token:
            return found


def test_the_hris_workers_come_through_cursor_pages_exactly_as_the_firm_has_them(rest_fake: RestFake) -> None:
    # Given the sample firm's forty people in the vendor's own shape
    rest_fake.seed_workers(sample_workers())

    # When the HRIS port lists them through the configured mapping
    workers: list[Worker] = everything(connector(rest_fake).list_workers)

    # Then they are the firm's workers, model for model, read in three pages of fifteen
    assert workers == sample_workers()
    assert [r.param("cursor") for r in rest_fake.requests] == [None, "15", "30"]
    assert all(r.headers.get("X-API-Key") == rest_fake.api_key for r in rest_fake.requests)


@pytest.mark.parametrize("link_header", [False, True])
def test_customers_come_through_next_links_in_the_body_or_the_link_header(link_header: bool) -> None:
    # Given a vendor that gives the next page's link in the body, or in an RFC 8288 Link header
    with RestFake(link_header=link_header) as fake:
        fake.seed_customers(sample_clients())
        document = example_document(fake.url)
        if link_header:
            document["operations"]["list_customers"]["paging"].pop("next_link_path")
        rest = RestConnector(RestSettings.model_validate(document), lambda: {"api_key": fake.api_key})

        # When listed
        customers: list[Client] = everything(rest.list_customers)

    # Then all twelve, as the firm has them (the document maps no tax id)
    assert customers == [c.model_copy(update={"tax_id": None}) for c in sample_clients()]


def test_a_next_link_to_another_host_is_not_followed(rest_fake: RestFake) -> None:
    # Given a response whose next link leads elsewhere
    rest_fake.inject(200, {"results": [], "links": {"next": "https://collector.example/steal"}})
    rest = connector(rest_fake)
    page = rest.list_customers()
    assert page.next_token == "https://collector.example/steal"

    # When the caller asks for that page / Then the adapter refuses to send its key there
    with pytest.raises(ConnectorRequestRejected, match="leads off"):
        rest.list_customers(page.next_token)
    assert len(rest_fake.requests) == 1


def test_oauth_client_credentials_fetch_one_token_and_renew_it_when_refused(rest_fake: RestFake) -> None:
    # Given OAuth 2.0 client credentials, the secret sent as HTTP Basic
    rest_fake.seed_workers(sample_workers()[:3])
    auth = {
        "type": "oauth2_client_credentials",
        "token_url": rest_fake.url + "/oauth/token",
        "client_id": rest_fake.client_id,
        "basic_auth": True,
        "secret_name": "backoffice/connectors/peoplehr",
    }
    rest = connector(rest_fake, auth=auth)

    # When listing twice, the second time after the vendor revoked the token
    rest.list_workers()
    rest_fake.expire_tokens()
    workers = rest.list_workers()

    # Then it worked both times, with one renewal
    assert len(workers.items) == 3
    assert len(rest_fake.requests_to("/oauth/token")) == 2


def test_a_customer_create_is_idempotent_through_the_idempotency_key(rest_fake: RestFake) -> None:
    # Given a new client
    rest = connector(rest_fake)
    client = sample_clients()[2]

    # When created twice with one key
    first = rest.create_customer(client, idempotency_key="customer#001Dn03")
    second = rest.create_customer(client, idempotency_key="customer#001Dn03")

    # Then one customer; the body is in the vendor's terms and carries the key as the firm mapped it
    assert (first.id, first.created, second.created) == (second.id, True, False)
    [record] = rest_fake.customers.values()
    assert record["legal_name"] == "Fabrikam Retail GmbH" and record["currency"] == "eur"
    assert record["billing"]["address"]["city"] == "Munich" and record["external_ref"] == "customer#001Dn03"
    assert {r.headers.get("Idempotency-Key") for r in rest_fake.requests_to("/customers", "POST")} == {
        "customer#001Dn03"
    }


def test_a_project_created_through_the_generic_psa_is_found_by_its_deal(rest_fake: RestFake) -> None:
    # Given a project for a deal
    rest = connector(rest_fake)
    project = Project(
        id="COHO-2026-001",
        project_name="Coho - Pricing strategy",
        client_id="cus_00001",
        opportunity_id="006Dn0000000002XYZ",
        billing_model="time_and_materials",
        currency="USD",
        expected_start_date=date(2026, 11, 18),
        expected_end_date=date(2027, 5, 17),
    )

    # When it is created, then looked up by the deal
    rest.create_project(project, idempotency_key="project#006Dn0000000002XYZ")
    found = rest.find_project_by_opportunity("006Dn0000000002XYZ")

    # Then the PSA gives the same project back; another deal has none
    assert found == project
    assert rest.find_project_by_opportunity("006Dn0000000099XYZ") is None


def test_staffing_requests_allocations_and_sequences_through_the_generic_psa(rest_fake: RestFake) -> None:
    # Given the sample firm's allocations in the vendor's shape (offset pages of fifty)
    booked = sample_allocations()
    rest_fake.seed_allocations(booked)
    rest = connector(rest_fake)

    # When the PSA operations run
    found = rest.allocations(date(2020, 1, 1), date(2030, 12, 31))
    request = rest.create_resource_request(
        ResourceRequest(
            project_id="COHO-2026-001",
            role="analyst",
            hours=Decimal("120"),
            start=date(2026, 11, 18),
            end=date(2027, 5, 17),
            candidate_ids=("W-031",),
        ),
        idempotency_key="staff#COHO#analyst",
    )
    sequences = [rest.next_project_sequence("COHO", 2026) for _ in range(2)]

    # Then allocations all came back across pages, the request holds the role and candidates, sequences count up
    assert [(a.worker_id, a.start, a.hours_per_week) for a in found] == [
        (a.worker_id, a.start, a.hours_per_week) for a in booked
    ]
    assert len(rest_fake.requests_to("/allocations")) == -(-len(booked) // 50)
    assert rest_fake.staffing_requests[request.id]["candidates"] == ["W-031"]
    assert rest_fake.staffing_requests[request.id]["hours"] == "120"
    assert sequences == [1, 2]


def test_an_operation_the_document_lacks_is_not_configured(rest_fake: RestFake) -> None:
    # Given a document without get_opportunity or sow_document
    rest = connector(rest_fake)
    # Then the CRM read says so, and no SOW is a plain None
    with pytest.raises(ConnectorNotConfigured, match="get_opportunity"):
        rest.get_opportunity("006Dn0000000001XYZ")
    assert rest.sow_document("006Dn0000000001XYZ") is None


def test_a_record_that_does_not_fit_the_model_names_the_field(rest_fake: RestFake) -> None:
    # Given an employee whose cost rate is not a number
    rest_fake.seed_workers(sample_workers()[:1])
    rest_fake.employees[0]["costRate"]["amount"] = "ninety"
    # Then the failure names the field, not the value
    with pytest.raises(RecordUnmappable, match="cost_rate") as raised:
        connector(rest_fake).list_workers()
    assert "ninety" not in str(raised.value)


def test_the_api_key_is_sent_but_never_recorded(rest_fake: RestFake, calls: list[CallRecord]) -> None:
    rest_fake.seed_workers(sample_workers()[:2])
    connector(rest_fake).list_workers()
    assert calls and all(c.system == "peoplehr" and c.operation == "list_workers" for c in calls)
    assert rest_fake.api_key not in repr(calls)


def test_the_example_document_is_valid_json_a_firm_can_copy(rest_fake: RestFake) -> None:
    # Given the example next to the fake / Then it loads, and every port operation but the CRM's is in it
    settings = RestSettings.model_validate(copy.deepcopy(example_document(rest_fake.url)))
    assert "list_workers" in settings.operations and "create_customer" in settings.operations


def test_vendors_are_listed_created_on_hold_and_released(rest_fake: RestFake) -> None:
    # Given the firm's existing vendors in the vendor API
    rest_fake.seed_vendors(existing_vendors())
    rest = connector(rest_fake)
    new = existing_vendors()[0].model_copy(
        update={"id": "VREQ-1", "supplier_name": "Harbor Analytics LLC", "on_hold": True, "hold_type": "all"}
    )

    # When listed, then a new one is created on hold (twice) and released
    listed = rest.list_vendors().items
    created = rest.create_vendor(new, idempotency_key="vendor#case-1")
    rest.create_vendor(new, idempotency_key="vendor#case-1")
    held = rest_fake.suppliers[created.id]["on_hold"]
    rest.release_vendor(created.id)

    # Then the existing vendors read as the firm has them (tax ids and banks are not in this API's list)
    assert listed == [v.model_copy(update={"tax_id": None, "bank_account": None}) for v in existing_vendors()]
    # And the new vendor was created once, on hold, then released
    assert len(rest_fake.suppliers) == 4 and held is True
    assert rest_fake.suppliers[created.id]["on_hold"] is False


def test_payrolls_employee_records_come_through_for_the_ghost_vendor_check(rest_fake: RestFake) -> None:
    # Given payroll's view of the employees (home address, phone, bank), two per page
    rest_fake.seed_employee_records(existing_employees())
    # When the HRIS port reads them / Then they are the firm's records, bank details included
    assert connector(rest_fake).employee_records() == existing_employees()
    assert len(rest_fake.requests_to("/people/private")) == 2
