"""The canonical models: what an incoming event must look like, and that secrets never leak."""

from __future__ import annotations

import copy
import json
import logging
from collections.abc import Callable
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest
from pydantic import BaseModel, ConfigDict, SecretStr, ValidationError, field_validator

from backoffice.models import (
    EVENT_DETAIL_MODELS,
    ApprovalRequest,
    BillingPeriodClosed,
    CanonicalModel,
    CaseOutcome,
    Client,
    Contract,
    DetailType,
    Document,
    EventEnvelope,
    ExpenseEntry,
    FinancePeriod,
    InvalidEvent,
    Invoice,
    Opportunity,
    OpportunityClosedWon,
    Project,
    RateCard,
    TimeEntry,
    UnknownEventType,
    Vendor,
    VendorOnboardingRequested,
    Worker,
    last4,
    parse_event,
    parse_event_as,
    readable_errors,
)

EIN = "91-1144442"
ROUTING = "111000025"
ACCOUNT = "000123456789"
SHA = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"


# ------------------------------------------------------------------------------------------------------------
# Sample data: JSON-shaped, as it arrives from EventBridge or a connector
# ------------------------------------------------------------------------------------------------------------


def document(document_type: str = "sow") -> dict[str, Any]:
    return {
        "bucket": "backoffice-documents",
        "key": "deals/006Dn000001/sow.pdf",
        "version_id": "3HL4kqtJlcpXroDTDmJ.rmSpXd3dIbrHY",
        "content_type": "application/pdf",
        "document_type": document_type,
        "sha256": SHA,
        "size_bytes": 48213,
    }


def client() -> dict[str, Any]:
    return {
        "id": "001Dn000000ABC",
        "customer_name": "Northwind Logistics Inc.",
        "customer_type": "company",
        "tax_id": EIN,
        "default_currency": "USD",
        "payment_terms_days": 30,
        "credit_limit": "250000.00",
        "billing_email": "ap@northwind.example",
        "address": {"line1": "1 Harbor Way", "city": "Seattle", "region": "WA", "country": "US"},
    }


def closed_won_event() -> dict[str, Any]:
    return {
        "version": "0",
        "id": "6a7e8feb-b491-4cf7-a9f1-bf3703467718",
        "detail-type": "Opportunity Closed Won",
        "source": "crm.salesforce",
        "account": "123456789012",
        "time": "2026-11-02T15:04:05Z",
        "region": "us-east-1",
        "resources": [],
        "detail": {
            "opportunity": {
                "id": "006Dn000001XYZ",
                "account_id": "001Dn000000ABC",
                "name": "Northwind - ERP implementation",
                "stage_name": "Closed Won",
                "amount": "420000.00",
                "close_date": "2026-11-02",
                "is_closed": True,
                "is_won": True,
                "currency": "USD",
                "probability": 100,
            },
            "client": client(),
            "sow_document": document(),
            "service_line": "technology",
        },
        # Keys EventBridge adds on replays and archives: not part of the model, not an error either.
        "ingestion-time": "2026-11-02T15:04:06Z",
        "replay-name": "weekly-replay",
    }


def event_of(detail_type: str, detail: dict[str, Any]) -> dict[str, Any]:
    event = closed_won_event()
    event["detail-type"] = detail_type
    event["detail"] = detail
    return event


def vendor() -> dict[str, Any]:
    return {
        "id": "SUP-0042",
        "supplier_name": "Acme Data Services LLC",
        "supplier_type": "company",
        "category": "it_services",
        "tax_id": EIN,
        "tax_withholding_category": "None",
        "default_currency": "USD",
        "payment_terms_days": 45,
        "bank_account": {
            "account_holder_name": "Acme Data Services LLC",
            "bank_name": "First Example Bank",
            "routing_number": ROUTING,
            "account_number": ACCOUNT,
            "account_type": "checking",
        },
        "email": "billing@acme.example",
        "on_hold": True,
        "hold_type": "payments",
    }


def _parent(data: dict[str, Any], path: str) -> tuple[Any, str]:
    *parents, leaf = path.split(".")
    node: Any = data
    for part in parents:
        node = node[int(part)] if isinstance(node, list) else node[part]
    return node, leaf


def _set(data: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    """``data`` with the value at a dotted path replaced (list items by index)."""
    node, leaf = _parent(data, path)
    node[leaf] = value
    return data


def _drop(data: dict[str, Any], path: str) -> dict[str, Any]:
    """``data`` without the key at a dotted path."""
    node, leaf = _parent(data, path)
    del node[leaf]
    return data


def _string_leaves(value: Any) -> list[str]:
    if isinstance(value, dict):
        return [leaf for item in value.values() for leaf in _string_leaves(item)]
    if isinstance(value, list):
        return [leaf for item in value for leaf in _string_leaves(item)]
    return [value] if isinstance(value, str) else []


# ------------------------------------------------------------------------------------------------------------
# parse_event: the valid event
# ------------------------------------------------------------------------------------------------------------


def test_a_valid_closed_won_event_parses_into_typed_models() -> None:
    # Given a Closed Won event as EventBridge delivers it, with keys added by a replay
    raw = closed_won_event()

    # When it is parsed
    envelope, detail = parse_event(raw)

    # Then the envelope and the detail are typed: money as Decimal, dates as date, the time zone-aware
    assert envelope.detail_type == DetailType.OPPORTUNITY_CLOSED_WON
    assert envelope.time == datetime(2026, 11, 2, 15, 4, 5, tzinfo=UTC)
    assert isinstance(detail, OpportunityClosedWon)
    assert detail.opportunity.amount == Decimal("420000.00")
    assert detail.opportunity.close_date == date(2026, 11, 2)
    assert detail.opportunity.probability == Decimal(100)
    assert detail.client.credit_limit == Decimal("250000.00")
    assert detail.client.tax_id is not None and detail.client.tax_id.get_secret_value() == EIN
    assert detail.sow_document is not None and detail.sow_document.document_type == "sow"


def test_a_json_float_amount_becomes_the_decimal_as_written() -> None:
    # Given amounts written as JSON floats, one of which binary floating point cannot hold exactly
    raw = _set(closed_won_event(), "detail.opportunity.amount", 12.5)
    _set(raw, "detail.client.credit_limit", 0.1)

    # When the event is parsed
    _, detail = parse_event_as(raw, OpportunityClosedWon)

    # Then each amount is the decimal written, not the float's binary approximation
    assert detail.opportunity.amount == Decimal("12.5")
    assert detail.client.credit_limit == Decimal("0.1")


def test_every_digit_is_kept_when_the_source_is_parsed_with_decimal_floats() -> None:
    # Given an amount with more digits than a float holds, read with json.loads(parse_float=Decimal)
    text = json.dumps(closed_won_event()).replace('"420000.00"', "420000.0000000000000000001")
    raw = json.loads(text, parse_float=Decimal)

    # When the event is parsed
    _, detail = parse_event_as(raw, OpportunityClosedWon)

    # Then no digit is lost
    assert detail.opportunity.amount == Decimal("420000.0000000000000000001")


def test_every_registered_detail_type_parses_its_own_detail() -> None:
    # Given one event of each kind the product consumes or publishes
    outcome = {"case_id": "onboard-006Dn000001XYZ", "workflow": "onboarding", "outcome": "blocked"}
    events: dict[str, dict[str, Any]] = {
        "Billing Period Closed": {"period_start": "2026-10-01", "period_end": "2026-10-31"},
        "Vendor Onboarding Requested": {
            "requester_email": "pat.lee@firm.example",
            "vendor_legal_name": "Acme Data Services LLC",
            "category": "it_services",
            "expected_annual_spend": "120000",
            "contact_email": "onboarding@acme.example",
            "documents": [document("w9"), document("coi")],
        },
        "Onboarding Blocked": {**outcome, "reasons": ["client is frozen in the ERP"], "data": {"n": 1}},
    }

    # When each is parsed
    details = {name: parse_event(event_of(name, detail))[1] for name, detail in events.items()}

    # Then each detail is the model registered for its type
    assert isinstance(details["Billing Period Closed"], BillingPeriodClosed)
    assert details["Billing Period Closed"].project_ids is None
    assert isinstance(details["Vendor Onboarding Requested"], VendorOnboardingRequested)
    assert details["Vendor Onboarding Requested"].expected_annual_spend == Decimal(120000)
    assert isinstance(details["Onboarding Blocked"], CaseOutcome)
    assert details["Onboarding Blocked"].reasons == ["client is frozen in the ERP"]


def test_the_registry_covers_every_detail_type_and_outcomes_share_one_model() -> None:
    # Given the detail-types the product names
    # When the registry is consulted
    # Then each has a model, and every outcome event uses CaseOutcome
    assert set(EVENT_DETAIL_MODELS) == set(DetailType)
    outcomes = set(DetailType) - {
        DetailType.OPPORTUNITY_CLOSED_WON,
        DetailType.BILLING_PERIOD_CLOSED,
        DetailType.VENDOR_ONBOARDING_REQUESTED,
        DetailType.INVOICE_PAID,  # the ERP's: a payment, not an outcome of ours
        DetailType.TIMESHEET_SUBMITTED,  # the PSA's submissions, which start the weekly review
        DetailType.EXPENSE_REPORT_SUBMITTED,
        DetailType.PURCHASE_REQUESTED,  # the procurement portal's request, which starts a purchase approval
        DetailType.WORKER_HIRED,  # the HRIS's hires, which start resource onboarding
        *FINANCE_PERIOD_EVENTS,
    }
    assert {EVENT_DETAIL_MODELS[name] for name in outcomes} == {CaseOutcome}
    # And the finance close's requests share the period's model
    assert {EVENT_DETAIL_MODELS[name] for name in FINANCE_PERIOD_EVENTS} == {FinancePeriod}


FINANCE_PERIOD_EVENTS = (
    DetailType.BILLING_RUN_COMPLETED,
    DetailType.RECONCILIATION_REQUESTED,
    DetailType.REVENUE_RECOGNITION_REQUESTED,
)


# ------------------------------------------------------------------------------------------------------------
# parse_event: invalid events
# ------------------------------------------------------------------------------------------------------------

Change = Callable[[dict[str, Any]], dict[str, Any]]

INVALID_EVENTS: list[tuple[str, Change, str]] = [
    (
        "missing field",
        lambda e: _drop(e, "detail.opportunity.close_date"),
        "detail.opportunity.close_date: Field required",
    ),
    (
        "missing envelope field",
        lambda e: _drop(e, "detail-type"),
        "detail-type: Field required",
    ),
    (
        "amount not a number",
        lambda e: _set(e, "detail.opportunity.amount", "four hundred grand"),
        "detail.opportunity.amount: Input should be a valid decimal",
    ),
    (
        "lower-case currency",
        lambda e: _set(e, "detail.opportunity.currency", "usd"),
        "detail.opportunity.currency: Input should be an ISO 4217 currency code in upper case",
    ),
    (
        "unknown currency",
        lambda e: _set(e, "detail.client.default_currency", "XYZ"),
        "detail.client.default_currency: Input should be an ISO 4217 currency code in upper case",
    ),
    (
        "negative amount",
        lambda e: _set(e, "detail.opportunity.amount", "-5000.00"),
        "detail.opportunity.amount: Input should be greater than or equal to 0",
    ),
    (
        "naive datetime",
        lambda e: _set(e, "time", "2026-11-02T15:04:05"),
        "time: Input should have timezone info",
    ),
    (
        "extra field",
        lambda e: _set(e, "detail.client.ssn", "536-90-4399"),
        "detail.client.ssn: Extra inputs are not permitted",
    ),
    (
        "boolean as a string",
        lambda e: _set(e, "detail.opportunity.is_won", "true"),
        "detail.opportunity.is_won: Input should be a valid boolean",
    ),
    (
        "date in another format",
        lambda e: _set(e, "detail.opportunity.close_date", "11/02/2026"),
        "detail.opportunity.close_date: Input should be a valid date",
    ),
    (
        "bad digest in a nested document",
        lambda e: _set(e, "detail.sow_document.sha256", "not-a-digest"),
        "detail.sow_document.sha256: Input should be a SHA-256 digest: 64 lower-case hex digits",
    ),
    (
        "detail not an object",
        lambda e: _set(e, "detail", ["opportunity"]),
        "detail: Input should be an object",
    ),
]


@pytest.mark.parametrize(
    ("change", "expected"), [case[1:] for case in INVALID_EVENTS], ids=[c[0] for c in INVALID_EVENTS]
)
def test_an_invalid_event_is_refused_with_readable_errors_that_hide_the_input(
    change: Change, expected: str
) -> None:
    # Given a Closed Won event spoiled in one way
    raw = change(closed_won_event())

    # When it is parsed
    with pytest.raises(InvalidEvent) as caught:
        parse_event(raw)

    # Then the error says where and what, in words, and shows no value of the event (a tax id among them)
    errors = caught.value.errors
    assert any(error.startswith(expected) for error in errors), errors
    shown = "\n".join([*errors, str(caught.value), repr(caught.value)])
    for value in _string_leaves(raw):
        if len(value) >= 4:
            assert value not in shown
    assert EIN not in shown


def test_several_problems_are_all_reported() -> None:
    # Given an event with a bad amount and a missing client name
    raw = _set(closed_won_event(), "detail.opportunity.amount", "n/a")
    _drop(raw, "detail.client.customer_name")

    # When it is parsed
    with pytest.raises(InvalidEvent) as caught:
        parse_event(raw)

    # Then both problems are listed
    assert caught.value.errors == [
        "detail.opportunity.amount: Input should be a valid decimal",
        "detail.client.customer_name: Field required",
    ]


def test_an_unknown_detail_type_is_an_invalid_event_that_keeps_its_type_aside() -> None:
    # Given an event of a type no workflow handles
    raw = _set(closed_won_event(), "detail-type", "Opportunity Closed Lost")

    # When it is parsed
    with pytest.raises(UnknownEventType) as caught:
        parse_event(raw)

    # Then it is an InvalidEvent (a ValueError) with a readable error; the type is on the exception, not in it
    assert isinstance(caught.value, InvalidEvent)
    assert isinstance(caught.value, ValueError)
    assert caught.value.errors == ["detail-type: not a registered event type"]
    assert caught.value.detail_type == "Opportunity Closed Lost"


def test_an_error_in_a_list_names_the_item() -> None:
    # Given a vendor request whose second document has no digest
    detail = {
        "requester_email": "pat.lee@firm.example",
        "vendor_legal_name": "Acme Data Services LLC",
        "category": "it_services",
        "expected_annual_spend": "120000",
        "contact_email": "not an e-mail",
        "documents": [document("w9"), _drop(document("coi"), "sha256")],
    }

    # When it is parsed
    with pytest.raises(InvalidEvent) as caught:
        parse_event(event_of("Vendor Onboarding Requested", detail))

    # Then the location points at the item, and the bad e-mail is described, not quoted
    assert caught.value.errors == [
        "detail.contact_email: Input should be an e-mail address",
        "detail.documents[1].sha256: Field required",
    ]


@pytest.mark.parametrize(
    "raw",
    [
        ["not", "a", "mapping"],
        {**closed_won_event(), "time": float("nan")},
        {**closed_won_event(), "resources": {"arn"}},
    ],
    ids=["not a mapping", "NaN", "a set"],
)
def test_input_that_is_not_json_shaped_is_an_invalid_event(raw: Any) -> None:
    # Given input JSON cannot represent
    # When it is parsed
    # Then it is refused as an InvalidEvent, not with a TypeError from deep inside
    with pytest.raises(InvalidEvent):
        parse_event(raw)


def test_parse_event_as_refuses_an_event_of_another_type() -> None:
    # Given a billing event
    raw = event_of("Billing Period Closed", {"period_start": "2026-10-01", "period_end": "2026-10-31"})

    # When a caller expecting a Closed Won detail parses it
    # Then it is refused
    with pytest.raises(InvalidEvent, match="OpportunityClosedWon"):
        parse_event_as(raw, OpportunityClosedWon)


def test_a_message_that_would_quote_the_input_is_replaced() -> None:
    # Given a validator (of some future model) whose message quotes the value it refused
    class Careless(BaseModel):
        model_config = ConfigDict(hide_input_in_errors=True)
        tax_id: str

        @field_validator("tax_id")
        @classmethod
        def _check(cls, value: str) -> str:
            raise ValueError(f"{value} is not an EIN")

    # When its error is made readable
    with pytest.raises(ValidationError) as caught:
        Careless.model_validate({"tax_id": "07-1144442"})
    errors = readable_errors(caught.value, prefix="detail")

    # Then the location stays and the value does not
    assert errors == ["detail.tax_id: Input is not valid (value_error)"]


# ------------------------------------------------------------------------------------------------------------
# Secrets
# ------------------------------------------------------------------------------------------------------------


def test_tax_ids_and_bank_details_never_show_in_repr_str_logs_or_default_dumps(
    caplog: pytest.LogCaptureFixture,
) -> None:
    # Given a vendor and a client holding a tax id, a routing number and an account number
    supplier = Vendor.from_json_dict(vendor())
    customer = Client.from_json_dict(client())

    # When they are shown every way a developer might log them
    logging.getLogger("test").warning("vendor %s client %r", supplier, customer)
    shown = [
        repr(supplier),
        str(supplier),
        f"{customer}",
        str(supplier.model_dump()),
        str(customer.model_dump()),
        json.dumps(supplier.model_dump(mode="json")),
        supplier.model_dump_json(),
        json.dumps(supplier.to_json_dict()),
        json.dumps(customer.to_json_dict()),
        caplog.text,
    ]

    # Then none of the secrets appears anywhere
    for text in shown:
        for secret in (EIN, ROUTING, ACCOUNT):
            assert secret not in text
    assert supplier.to_json_dict()["tax_id"] == "**********"
    assert supplier.to_json_dict()["bank_account"]["account_number"] == "**********"


def test_secrets_are_dumped_only_on_explicit_request() -> None:
    # Given a vendor with bank details
    supplier = Vendor.from_json_dict(vendor())

    # When its dump is asked for with reveal_secrets
    dumped = supplier.to_json_dict(reveal_secrets=True)

    # Then the values are there, for the code that sends them to a system of record
    assert dumped["tax_id"] == EIN
    assert dumped["bank_account"]["routing_number"] == ROUTING
    assert dumped["bank_account"]["account_number"] == ACCOUNT


def test_a_masked_secret_fed_back_in_is_refused() -> None:
    # Given the default (masked) dump of a client
    masked = Client.from_json_dict(client()).to_json_dict()

    # When it is read back as if it were data
    # Then the mask is not taken for a tax id
    with pytest.raises(ValidationError, match="masked secret"):
        Client.from_json_dict(masked)


def test_a_refused_routing_number_does_not_appear_in_the_validation_error() -> None:
    # Given bank details with a routing number one digit short
    raw = _set(vendor(), "bank_account.routing_number", "11100002")

    # When the vendor is validated
    with pytest.raises(ValidationError) as caught:
        Vendor.from_json_dict(raw)

    # Then the error explains the expected form and hides the number
    assert "Input should be a 9-digit ABA routing number" in str(caught.value)
    assert "11100002" not in str(caught.value)
    assert EIN not in str(caught.value)


@pytest.mark.parametrize(
    ("secret", "shown"),
    [(EIN, "****4442"), ("536-90-4399", "****4399"), ("1234", "****"), ("", "****"), (None, None)],
)
def test_last4_shows_at_most_the_last_four_letters_or_digits(secret: str | None, shown: str | None) -> None:
    # Given a secret (or none)
    # When it is prepared for display
    # Then only its last four significant characters show, and never all of a short one
    assert last4(None if secret is None else SecretStr(secret)) == shown


# ------------------------------------------------------------------------------------------------------------
# Round trips and the entities
# ------------------------------------------------------------------------------------------------------------


def test_an_event_round_trips_through_its_json_dump() -> None:
    # Given a parsed event
    envelope, detail = parse_event(closed_won_event())

    # When it is dumped the way a publisher would (aliases, secrets revealed for the system of record)
    dumped = {
        **envelope.to_json_dict(),
        "detail": detail.model_dump(mode="json", context={"reveal_secrets": True}),
    }
    again_envelope, again_detail = parse_event(json.loads(json.dumps(dumped)))

    # Then it parses back to the same models, with the EventBridge key spellings
    assert "detail-type" in dumped and "detail_type" not in dumped
    assert again_detail == detail
    assert again_envelope.model_dump(exclude={"detail"}) == envelope.model_dump(exclude={"detail"})


def test_the_envelope_ignores_unknown_top_level_keys_and_dumps_with_aliases() -> None:
    # Given an event with keys EventBridge adds on replay
    envelope = EventEnvelope.from_json_dict(closed_won_event())

    # When it is dumped as JSON
    dumped = envelope.model_dump(mode="json", by_alias=True)

    # Then the extra keys are gone, the aliases are used and the time keeps its zone
    assert "ingestion-time" not in dumped and "replay-name" not in dumped
    assert dumped["detail-type"] == "Opportunity Closed Won"
    assert dumped["time"] == "2026-11-02T15:04:05Z"


ENTITIES: list[tuple[type[CanonicalModel], dict[str, Any]]] = [
    (Opportunity, closed_won_event()["detail"]["opportunity"]),
    (Client, client()),
    (Vendor, vendor()),
    (Document, document()),
    (
        Contract,
        {
            "id": "SOW-2026-014",
            "kind": "sow",
            "client_id": "001Dn000000ABC",
            "parent_contract_id": "MSA-2024-003",
            "title": "ERP implementation, phase 1",
            "billing_model": "fixed_fee",
            "currency": "USD",
            "rates_by_role": {"engagement_manager": "275.00", "consultant": "185.00"},
            "fixed_fee": "300000.00",
            "payment_terms_days": 45,
            "effective_date": "2026-11-09",
            "end_date": "2027-05-31",
            "not_to_exceed": "330000.00",
            "milestones": [
                {"id": "M1", "name": "Blueprint signed off", "amount": "90000.00", "due_date": "2027-01-15"},
                {"id": "M2", "name": "Go-live", "amount": "210000.00", "status": "planned"},
            ],
            "document": document(),
        },
    ),
    (
        Project,
        {
            "id": "PROJ-0101",
            "project_name": "Northwind ERP phase 1",
            "client_id": "001Dn000000ABC",
            "contract_id": "SOW-2026-014",
            "billing_model": "time_and_materials",
            "currency": "USD",
            "expected_start_date": "2026-11-09",
            "expected_end_date": "2027-05-31",
            "estimated_costing": "180000",
        },
    ),
    (
        Worker,
        {
            "id": "EMP-007",
            "name": "Dana Whitfield",
            "email": "dana.whitfield@firm.example",
            "employment": "employee",
            "roles": ["consultant"],
            "skills": ["sap-fi", "data-migration"],
            "cost_rate": "82.50",
            "currency": "USD",
        },
    ),
    (
        TimeEntry,
        {
            "id": "TS-0001-1",
            "worker_id": "EMP-007",
            "project_id": "PROJ-0101",
            "task": "TASK-12",
            "activity_type": "Consulting",
            "work_date": "2026-11-10",
            "from_time": "2026-11-10T09:00:00-05:00",
            "to_time": "2026-11-10T17:30:00-05:00",
            "hours": 8.5,
            "is_billable": True,
            "billing_hours": 8,
            "billing_rate": "185.00",
            "billing_amount": "1480.00",
            "costing_rate": "82.50",
            "currency": "USD",
            "status": "approved",
        },
    ),
    (
        ExpenseEntry,
        {
            "id": "EXP-0009",
            "worker_id": "EMP-007",
            "project_id": "PROJ-0101",
            "expense_date": "2026-11-10",
            "expense_type": "meals",
            "amount": 142.8,
            "sanctioned_amount": "120.00",
            "currency": "USD",
            "merchant": "Harbor Grill",
            "receipt_document": document("other"),
            "attendees": 3,
            "is_billable": True,
            "status": "submitted",
        },
    ),
    (
        RateCard,
        {
            "id": "RC-2026",
            "name": "Standard rates 2026",
            "effective_date": "2026-01-01",
            "lines": [
                {
                    "role": "consultant",
                    "activity_type": "Consulting",
                    "currency": "USD",
                    "billing_rate": "185",
                    "costing_rate": "82.5",
                },
                {"activity_type": "Travel", "currency": "USD", "billing_rate": "0", "costing_rate": "0"},
            ],
        },
    ),
    (
        Invoice,
        {
            "id": "INV-DRAFT-31",
            "client_id": "001Dn000000ABC",
            "project_id": "PROJ-0101",
            "currency": "USD",
            "posting_date": "2026-11-30",
            "due_date": "2026-12-30",
            "po_no": "PO-88812",
            "po_date": "2026-11-01",
            "tax_id": EIN,
            "lines": [
                {
                    "source": "time",
                    "source_ids": ["TS-0001-1"],
                    "description": "Consulting, 10 Nov",
                    "quantity": "8",
                    "rate": "185.00",
                    "amount": "1480.00",
                },
                {
                    "source": "adjustment",
                    "description": "Courtesy discount",
                    "quantity": 1,
                    "rate": "-80",
                    "amount": "-80",
                },
            ],
            "net_total": "1400.00",
            "grand_total": "1400.00",
            "outstanding_amount": "1400.00",
        },
    ),
    (
        ApprovalRequest,
        {
            "approval_id": "APR-1",
            "case_id": "vendor-acme",
            "workflow": "vendor_onboarding",
            "step": "finance review",
            "subject_summary": "Acme Data Services LLC, expected spend 120,000 USD",
            "amount": "120000",
            "currency": "USD",
            "approvers": ["finance-controllers"],
            "level": 2,
            "status": "approved",
            "requested_by": "pat.lee@firm.example",
            "requested_at": "2026-11-03T09:00:00Z",
            "due_at": "2026-11-05T17:00:00Z",
            "payload_hash": SHA,
            "decided_by": "sam.ortiz@firm.example",
            "decided_at": "2026-11-03T11:12:00+00:00",
        },
    ),
]


@pytest.mark.parametrize(("model", "data"), ENTITIES, ids=[model.__name__ for model, _ in ENTITIES])
def test_each_entity_round_trips_through_its_json_dump(
    model: type[CanonicalModel], data: dict[str, Any]
) -> None:
    # Given an entity read from its JSON shape
    entity = model.from_json_dict(copy.deepcopy(data))

    # When it is dumped to JSON (secrets revealed) and read again
    again = model.from_json_dict(json.loads(json.dumps(entity.to_json_dict(reveal_secrets=True))))

    # Then nothing changed
    assert again == entity


def test_entities_are_immutable() -> None:
    # Given an opportunity
    opportunity = Opportunity.from_json_dict(closed_won_event()["detail"]["opportunity"])

    # When someone changes its amount in place
    # Then it refuses: a model read from an event is what the event said
    with pytest.raises(ValidationError):
        opportunity.amount = Decimal(1)  # type: ignore[misc]


def test_integral_decimals_from_dynamodb_fill_integer_fields() -> None:
    # Given a client item as boto3 reads it from DynamoDB (every number a Decimal)
    raw = {**client(), "payment_terms_days": Decimal(30), "credit_limit": Decimal("250000.00")}

    # When it is read
    customer = Client.from_json_dict(raw)

    # Then integers stay integers and amounts keep their digits
    assert customer.payment_terms_days == 30
    assert customer.credit_limit == Decimal("250000.00")


def sample(model: type[CanonicalModel]) -> dict[str, Any]:
    """A fresh copy of the sample data of ``model`` from ENTITIES."""
    return copy.deepcopy(next(data for entity, data in ENTITIES if entity is model))


def _duplicate_first_line(rate_card: dict[str, Any]) -> dict[str, Any]:
    rate_card["lines"].append(copy.deepcopy(rate_card["lines"][0]))
    return rate_card


@pytest.mark.parametrize(
    ("model", "data", "message"),
    [
        (TimeEntry, _set(sample(TimeEntry), "to_time", "2026-11-10T08:00:00-05:00"), "to_time is not after"),
        (Contract, _set(sample(Contract), "end_date", "2026-01-01"), "end_date is before effective_date"),
        (Vendor, _set(vendor(), "on_hold", False), "hold_type is set but on_hold is false"),
        (RateCard, _duplicate_first_line(sample(RateCard)), "two lines have the same"),
        (Invoice, _set(sample(Invoice), "due_date", "2026-11-01"), "due_date is before posting_date"),
        (ApprovalRequest, _drop(sample(ApprovalRequest), "decided_by"), "needs decided_by and decided_at"),
        (ExpenseEntry, _set(sample(ExpenseEntry), "currency", "EURO"), "ISO 4217"),
    ],
    ids=[
        "time interval",
        "contract dates",
        "vendor hold",
        "rate card",
        "invoice dates",
        "approval",
        "currency",
    ],
)
def test_an_entity_that_contradicts_itself_is_refused(
    model: type[CanonicalModel], data: dict[str, Any], message: str
) -> None:
    # Given an entity whose fields contradict each other
    # When it is read
    # Then it is refused with a message naming the contradiction
    with pytest.raises(ValidationError, match=message):
        model.from_json_dict(data)


def test_an_expense_carries_what_its_receipt_says() -> None:
    # Given an expense with what its receipt shows and how it was paid, as an expense tool reports it
    data = sample(ExpenseEntry) | {
        "receipt_amount": "212.40",
        "receipt_date": "2026-11-03",
        "receipt_number": "INV-004711",
        "tip_amount": "12.00",
        "advance_amount": "100.00",
        "card_id": "CARD-7",
        "nights": 2,
    }
    # When it is read and written back
    expense = ExpenseEntry.from_json_dict(data)
    # Then the facts keep their types and survive the round trip
    assert (expense.receipt_amount, expense.receipt_date) == (Decimal("212.40"), date(2026, 11, 3))
    assert ExpenseEntry.from_json_dict(expense.to_json_dict()) == expense
    # And impossible facts are refused
    for field, value in (("nights", 0), ("receipt_amount", "-1.00"), ("receipt_number", "")):
        with pytest.raises(ValidationError, match=field):
            ExpenseEntry.from_json_dict(data | {field: value})
