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
from backoffice.connectors.ports import (
    ConnectorRateLimited,
    ConnectorUnavailable,
    RecordNotFound,
    ResourceRequest,
    UnreadableLine,
)
from backoffice.models import (
    Client,
    ExpenseEntry,
    Invoice,
    InvoiceLine,
    Project,
    PurchaseOrder,
    TimeEntry,
    Worker,
)
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


def test_a_vendor_is_read_by_id_with_its_insurance_expiry(rest_fake: RestFake) -> None:
    # Given a vendor created on hold with the expiry of its certificate of insurance
    rest = connector(rest_fake)
    new = existing_vendors()[0].model_copy(
        update={
            "id": "VREQ-2",
            "supplier_name": "Harbor Analytics LLC",
            "on_hold": True,
            "hold_type": "all",
            "insurance_expires_on": date(2027, 3, 31),
        }
    )
    created = rest.create_vendor(new, idempotency_key="vendor#case-2")

    # When read by its id before and after its release
    held = rest.get_vendor(created.id)
    rest.release_vendor(created.id)
    released = rest.get_vendor(created.id)

    # Then the expiry went out in the body and reads back; the hold follows the release
    assert rest_fake.suppliers[created.id]["coi_expires"] == "2027-03-31"
    assert (held.on_hold, held.insurance_expires_on) == (True, date(2027, 3, 31))
    assert (released.on_hold, released.hold_type, released.insurance_expires_on) == (
        False,
        None,
        date(2027, 3, 31),
    )
    # And an unknown vendor is not found
    with pytest.raises(RecordNotFound):
        rest.get_vendor("sup-404")


def test_payrolls_employee_records_come_through_for_the_ghost_vendor_check(rest_fake: RestFake) -> None:
    # Given payroll's view of the employees (home address, phone, bank), two per page
    rest_fake.seed_employee_records(existing_employees())
    # When the HRIS port reads them / Then they are the firm's records, bank details included
    assert connector(rest_fake).employee_records() == existing_employees()
    assert len(rest_fake.requests_to("/people/private")) == 2


# ------------------------------------------------------------------------------------------------------------
# Invoicing through the generic ERP and PSA
# ------------------------------------------------------------------------------------------------------------

NOVEMBER = (date(2026, 11, 1), date(2026, 11, 30))


def _invoice(**changes: Any) -> Invoice:
    invoice = Invoice(
        id="draft",
        client_id="cus_42",
        project_id="COHO-2026-001",
        currency="USD",
        posting_date=date(2026, 12, 1),
        due_date=date(2026, 12, 31),
        period_start=NOVEMBER[0],
        period_end=NOVEMBER[1],
        po_no="PO-88",
        lines=[
            InvoiceLine(
                source="time",
                source_ids=["te_1", "te_2"],
                description="Consulting",
                quantity=Decimal("12.5"),
                rate=Decimal(200),
                amount=Decimal(2500),
            ),
            InvoiceLine(
                source="adjustment",
                description="Courtesy discount",
                quantity=Decimal(1),
                rate=Decimal(-100),
                amount=Decimal(-100),
            ),
        ],
        net_total=Decimal(2400),
        grand_total=Decimal(2400),
        outstanding_amount=Decimal(2400),
    )
    return invoice.model_copy(update=changes)


def test_an_invoice_is_created_once_found_as_a_draft_and_posted_through_the_generic_erp(
    rest_fake: RestFake,
) -> None:
    # Given no invoice for the project's November
    rest = connector(rest_fake)
    assert rest.find_invoice("COHO-2026-001", *NOVEMBER) is None

    # When it is created twice with one key, found, and posted twice
    first = rest.create_invoice(_invoice(), idempotency_key="invoice#COHO-2026-001#2026-11")
    second = rest.create_invoice(_invoice(), idempotency_key="invoice#COHO-2026-001#2026-11")
    draft = rest.find_invoice("COHO-2026-001", *NOVEMBER)
    posted = rest.post_invoice(first.id)
    again = rest.post_invoice(first.id)

    # Then one invoice, its lines (and what they bill) in the vendor's shape and back
    assert (first.id, first.created, second.created) == (second.id, True, False)
    [record] = rest_fake.invoices.values()
    assert record["line_items"][0] == {
        "kind": "time",
        "refs": ["te_1", "te_2"],
        "text": "Consulting",
        "qty": "12.5",
        "unit_price": "200",
        "total": "2500",
    }
    assert draft == _invoice(id=first.id)
    # And the posted invoice has the vendor's number, the same on a second post
    assert (posted.status, posted.invoice_number) == ("posted", "INV-2026-0001") and again == posted
    assert rest.find_invoice("COHO-2026-001", date(2026, 12, 1), date(2026, 12, 31)) is None


def test_post_reads_the_invoice_again_when_the_answer_carries_none(rest_fake: RestFake) -> None:
    # Given a vendor whose finalize call answers without the invoice (the document points at nothing)
    document = example_document(rest_fake.url)
    document["operations"]["post_invoice"]["item_path"] = "/not_there"
    rest = RestConnector(RestSettings.model_validate(document), lambda: {"api_key": rest_fake.api_key})
    created = rest.create_invoice(_invoice(), idempotency_key="invoice#x")
    # When posted / Then the invoice is read with get_invoice, posted
    assert rest.post_invoice(created.id).status == "posted"
    assert len(rest_fake.requests_to(f"/v2/invoices/{created.id}", "GET")) == 1


def test_balance_tax_template_and_purchase_order_through_the_generic_erp(rest_fake: RestFake) -> None:
    # Given two customers: one owing 1,250.50, taxed NY, with a PO on the project; one with nothing
    rest_fake.seed_customers(sample_clients()[:2])
    owing, clean = (c.id for c in sample_clients()[:2])
    rest_fake.balances[owing] = "1250.50"
    rest_fake.tax_codes[owing] = "US Sales Tax - NY"
    rest_fake.purchase_orders.append(
        {
            "customer": owing,
            "project": "P-1",
            "number": "PO-7781",
            "issued": "2026-10-20",
            "remaining": "47189.60",
            "currency": "usd",
        }
    )
    rest = connector(rest_fake)

    # Then each reads as the canonical value
    assert rest.customer_balance(owing) == Decimal("1250.50")
    assert rest.customer_balance(clean) == Decimal(0)
    assert (rest.tax_template(owing), rest.tax_template(clean)) == ("US Sales Tax - NY", None)
    assert rest.purchase_order(owing, "P-1") == PurchaseOrder(
        po_no="PO-7781", po_date=date(2026, 10, 20), balance=Decimal("47189.60"), currency="USD"
    )
    assert rest.purchase_order(owing, "P-2") is None
    with pytest.raises(RecordNotFound):
        rest.customer_balance("cus_unknown")


def _time(entry_id: str, day: str, hours: str, **changes: Any) -> dict[str, Any]:
    return {
        "id": entry_id,
        "person": "W-004",
        "project": "COHO-2026-001",
        "date": day,
        "hours": hours,
        "billable": True,
        "billable_hours": hours,
        "rate": "200",
        "amount": str(Decimal(hours) * 200),
        "cost_rate": "90",
        "currency": "usd",
        "state": "approved",
        "invoice": None,
        **changes,
    }


def test_billable_projects_time_and_expenses_come_through_three_kinds_of_paging(rest_fake: RestFake) -> None:
    # Given three projects (one closed before November), seven November time entries (one of 30 hours) and one of
    # October, five November expenses
    for code, state, end in (
        ("P-1", "active", None),
        ("P-2", "closed", "2026-10-15"),
        ("P-3", "closed", "2026-11-20"),
    ):
        rest_fake.projects[code] = {
            "code": code, "name": code, "customer": "cus_42", "crm_deal": None, "billing": "time_and_materials",
            "currency": "USD", "start": "2026-01-01", "end": end, "state": state,
        }  # fmt: skip
    rest_fake.time_entries.extend(_time(f"te_{d}", f"2026-11-{d:02d}", "8") for d in range(2, 8))
    rest_fake.time_entries.append(_time("te_bad", "2026-11-09", "30"))
    rest_fake.time_entries.append(_time("te_oct", "2026-10-30", "8"))
    rest_fake.expenses.extend(
        {"id": f"ex_{d}", "person": "W-011", "project": "COHO-2026-001", "date": f"2026-11-{d:02d}",
         "category": "Airfare", "amount": "412.80", "currency": "usd", "billable": True, "state": "approved"}
        for d in range(3, 8)
    )  # fmt: skip
    rest = connector(rest_fake)

    # When each is listed, page by page
    projects = everything(lambda t: rest.list_billable_projects(*NOVEMBER, t))
    lines = everything(lambda t: rest.list_time_entries(*NOVEMBER, t))
    expenses = everything(lambda t: rest.list_expenses(*NOVEMBER, t))

    # Then projects came by offset, time by cursor, expenses by next link, each in canonical terms
    assert [(p.id, p.status) for p in projects] == [("P-1", "open"), ("P-3", "completed")]
    assert len(rest_fake.requests_to("/v2/projects", "GET")) == 1
    entries = [e for e in lines if isinstance(e, TimeEntry)]
    assert [e.id for e in entries] == [f"te_{d}" for d in range(2, 8)] and entries[0].billing_amount == 1600
    assert len(rest_fake.requests_to("/v2/time-entries")) == 3
    assert [e.id for e in expenses] == [f"ex_{d}" for d in range(3, 8)] and len(
        rest_fake.requests_to("/v2/expenses")
    ) == 3
    # And the 30-hour entry is reported with its reason, not a failed run
    [bad] = [e for e in lines if isinstance(e, UnreadableLine)]
    assert (bad.id, bad.kind, bad.project_id) == ("te_bad", "time", "COHO-2026-001")
    assert any("hours" in e for e in bad.errors)


def test_contract_milestones_and_rate_card_lines_map_element_by_element(rest_fake: RestFake) -> None:
    # Given a SOW with two milestones and the project's rate card of two roles
    rest_fake.contracts["sow_9"] = {
        "id": "sow_9", "type": "sow", "customer": "cus_42", "deal": "006Dn0000000002XYZ", "title": "Pricing strategy",
        "billing": "fixed_fee", "currency": "usd", "fee": "120000", "terms_days": 45, "starts": "2026-11-18",
        "ends": "2027-05-17",
        "milestones": [
            {"id": "ms_1", "name": "Diagnostic", "amount": "40000", "due": "2026-12-15", "state": "accepted", "accepted": "2026-12-14"},
            {"id": "ms_2", "name": "Roadmap", "amount": "80000", "due": "2027-03-01", "state": "planned"},
        ],
    }  # fmt: skip
    rest_fake.rate_cards["COHO-2026-001"] = {
        "id": "rc_1", "name": "Coho 2026", "customer": "cus_42", "starts": "2026-01-01", "ends": None,
        "rates": [
            {"role": "consultant", "activity": "Consulting", "currency": "usd", "bill": "210", "cost": "95"},
            {"role": "manager", "activity": "Consulting", "currency": "usd", "bill": "280", "cost": "130"},
        ],
    }  # fmt: skip
    rest = connector(rest_fake)

    # When read
    contract = rest.get_contract("sow_9")
    card = rest.project_rate_card("COHO-2026-001")

    # Then the lists came through their item mappings
    assert [(m.id, m.status, m.amount) for m in contract.milestones] == [
        ("ms_1", "accepted", Decimal(40000)),
        ("ms_2", "planned", Decimal(80000)),
    ]
    assert (contract.fixed_fee, contract.payment_terms_days) == (Decimal(120000), 45)
    assert card is not None and [(x.role, x.billing_rate) for x in card.lines] == [
        ("consultant", Decimal(210)),
        ("manager", Decimal(280)),
    ]
    # And what does not exist: a contract is an error, a rate card is none
    with pytest.raises(RecordNotFound):
        rest.get_contract("sow_0")
    assert rest.project_rate_card("P-9") is None


def test_lines_are_marked_billed_once_and_returned_through_the_generic_psa(rest_fake: RestFake) -> None:
    # Given three November time entries and an expense
    rest_fake.time_entries.extend(_time(f"te_{d}", f"2026-11-{d:02d}", "8") for d in range(2, 5))
    rest_fake.expenses.append(
        {"id": "ex_1", "person": "W-011", "project": "COHO-2026-001", "date": "2026-11-03", "category": "Meals",
         "amount": "880", "currency": "usd", "billable": True, "state": "approved"}
    )  # fmt: skip
    rest = connector(rest_fake)

    # When two entries are billed on inv_1 (twice, the second time on inv_2), one sent back, the expense written off
    rest.mark_billed("inv_1", time_entry_ids=["te_2", "te_3"], expense_ids=[])
    rest.mark_billed("inv_2", time_entry_ids=["te_2", "te_3"], expense_ids=[])
    rest.return_lines(
        time_entry_ids=["te_4", "te_2"], expense_ids=[], action="send_back", reason="which task?"
    )
    rest.return_lines(time_entry_ids=[], expense_ids=["ex_1"], action="write_off", reason="client dinner")

    # Then the billed entries keep the first invoice and were not sent back; the rest followed the review
    lines = {e.id: e for e in rest.list_time_entries(*NOVEMBER).items if isinstance(e, TimeEntry)}
    assert {k: (v.invoice_id, v.status) for k, v in lines.items()} == {
        "te_2": ("inv_1", "approved"),
        "te_3": ("inv_1", "approved"),
        "te_4": (None, "rejected"),
    }
    [expense] = rest.list_expenses(*NOVEMBER).items
    assert isinstance(expense, ExpenseEntry) and expense.is_billable is False
    [billed] = rest_fake.requests_to("/v2/invoices/inv_1/billed-lines")
    assert billed.json() == {"time_entries": ["te_2", "te_3"], "expenses": [], "milestones": []}
    assert rest_fake.requests_to("/v2/reviews/write_off")[0].json()["note"] == "client dinner"


@pytest.mark.parametrize(
    "call",
    [
        lambda rest: rest.customer_balance("cus_1"),
        lambda rest: rest.tax_template("cus_1"),
        lambda rest: rest.purchase_order("cus_1", "P-1"),
        lambda rest: rest.find_invoice("P-1", *NOVEMBER),
        lambda rest: rest.create_invoice(_invoice(), idempotency_key="k"),
        lambda rest: rest.post_invoice("inv_1"),
        lambda rest: rest.list_billable_projects(*NOVEMBER),
        lambda rest: rest.list_time_entries(*NOVEMBER),
        lambda rest: rest.list_expenses(*NOVEMBER),
        lambda rest: rest.get_contract("sow_1"),
        lambda rest: rest.project_rate_card("P-1"),
        lambda rest: rest.mark_billed("inv_1", time_entry_ids=["te_1"], expense_ids=[]),
        lambda rest: rest.return_lines(
            time_entry_ids=["te_1"], expense_ids=[], action="send_back", reason="r"
        ),
    ],
)
def test_every_invoicing_operation_reports_rate_limits_and_outages_by_name(
    rest_fake: RestFake, call: Any
) -> None:
    rest_fake.inject(429, {"error": {"code": "rate_limited", "message": "slow down"}}, path_prefix="/v2")
    with pytest.raises(ConnectorRateLimited):
        call(connector(rest_fake))
    rest_fake.inject(503, {"error": {"code": "maintenance", "message": "back soon"}}, path_prefix="/v2")
    with pytest.raises(ConnectorUnavailable, match="maintenance"):
        call(connector(rest_fake))


def test_an_invoicing_operation_missing_what_it_needs_is_refused_when_loaded(rest_fake: RestFake) -> None:
    document = example_document(rest_fake.url)
    del document["operations"]["customer_balance"]["value_path"]
    del document["operations"]["find_invoice"]["mapping"]
    del document["operations"]["return_lines"]["body"]
    document["operations"]["mark_billed"]["path"] = "/invoices/{id}/billed-lines"
    with pytest.raises(ValidationError) as raised:
        RestSettings.model_validate(document)
    text = str(raised.value)
    for problem in (
        "customer_balance: needs value_path",
        "find_invoice: needs a mapping",
        "return_lines: a create needs a body mapping",
        "mark_billed: unknown placeholders ['id']",
    ):
        assert problem in text
