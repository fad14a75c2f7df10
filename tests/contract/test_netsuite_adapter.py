"""The NetSuite adapter (ERP) against a fake account that follows the SuiteTalk REST web services documentation."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from pydantic import SecretStr

from backoffice.connectors.http import (
    CallRecord,
    ConnectorAuthFailed,
    ConnectorNotConfigured,
    ConnectorRequestRejected,
)
from backoffice.connectors.netsuite import NetSuiteApi, NetSuiteErp, NetSuiteSettings, signature_base_string
from backoffice.connectors.ports import ConnectorRateLimited, ConnectorUnavailable, RecordNotFound
from backoffice.local.samples import existing_client, new_client
from backoffice.models import Address, Client, Invoice, InvoiceLine, PurchaseOrder, Vendor
from backoffice.onboarding.sample_firm import sample_clients
from backoffice.onboarding.steps import match_or_create_customer
from backoffice.vendors.sample_vendors import existing_vendors
from tests.contract.conftest import FAST
from tests.contract.fakes.netsuite_fake import NetSuiteFake, concurrency_error, ns_error


def erp_for(fake: NetSuiteFake, key: str | None = None, **changes: Any) -> NetSuiteErp:
    values: dict[str, Any] = {
        "account_id": fake.account_id,
        "base_url": fake.url,
        "auth": "m2m",
        "client_id": fake.client_id,
        "certificate_id": fake.certificate_id,
        "secret_name": "backoffice/connectors/netsuite",
        "page_size": 5,
        "governance": FAST,
        **changes,
    }
    settings = NetSuiteSettings.model_validate(values)
    if settings.auth == "m2m":
        secret: dict[str, str] = {"private_key_pem": key or ""}
    else:
        secret = {
            "consumer_key": fake.consumer_key,
            "consumer_secret": fake.consumer_secret,
            "token_id": fake.token_id,
            "token_secret": fake.token_secret,
        }
    return NetSuiteErp(NetSuiteApi(settings, lambda: secret))


def all_customers(erp: NetSuiteErp) -> list[Client]:
    found, token = [], None
    while True:
        page = erp.list_customers(token)
        found.extend(page.items)
        token = page.next_token
        if not token:
            return found


@pytest.fixture
def seeded(netsuite_fake: NetSuiteFake) -> dict[str, str]:
    """The sample firm's twelve ERP customers; canonical id -> NetSuite internal id."""
    return netsuite_fake.seed_clients(sample_clients())


# ------------------------------------------------------------------------------------------------------------
# Reading customers
# ------------------------------------------------------------------------------------------------------------


def test_customers_are_listed_through_suiteql_pages_as_canonical_clients(
    netsuite_fake: NetSuiteFake, seeded: dict[str, str], rsa_key: tuple[str, str]
) -> None:
    # Given the sample firm's customers in NetSuite, and pages of five
    erp = erp_for(netsuite_fake, rsa_key[0])

    # When every page is read
    customers = all_customers(erp)

    # Then the twelve customers came in three SuiteQL pages, each sent as the documentation says
    suiteql = netsuite_fake.requests_to("/query/v1/suiteql")
    assert len(customers) == 12 and len(suiteql) == 3
    assert all(r.headers.get("Prefer") == "transient" for r in suiteql)
    assert [r.param("offset") for r in suiteql] == ["0", "5", "10"]
    # And each reads as the sample firm's customer, with NetSuite's internal id
    expected = {
        seeded[c.id]: c.model_copy(update={"id": seeded[c.id], "tax_id": None}) for c in sample_clients()
    }
    assert {c.id: c for c in customers} == expected


def test_a_frozen_customer_stays_frozen(
    netsuite_fake: NetSuiteFake, seeded: dict[str, str], rsa_key: tuple[str, str]
) -> None:
    # Given Litware on credit hold in NetSuite
    litware = next(c for c in sample_clients() if c.customer_name.startswith("Litware"))
    # When read by id / Then frozen, which blocks onboarding (BR9)
    assert erp_for(netsuite_fake, rsa_key[0]).get_customer(seeded[litware.id]).is_frozen


def test_a_customer_is_found_by_internal_or_external_id(
    netsuite_fake: NetSuiteFake, seeded: dict[str, str], rsa_key: tuple[str, str]
) -> None:
    erp = erp_for(netsuite_fake, rsa_key[0])
    # Given a customer / Then both its ids find it, and an unknown id is RecordNotFound
    assert erp.get_customer(seeded["CUST-0003"]).customer_name == "Fabrikam Retail GmbH"
    assert erp.get_customer("CUST-0003").id == seeded["CUST-0003"]
    with pytest.raises(RecordNotFound):
        erp.get_customer("999999")


def test_the_workflows_customer_matching_runs_unchanged_on_netsuite(
    netsuite_fake: NetSuiteFake, seeded: dict[str, str], rsa_key: tuple[str, str]
) -> None:
    # Given the CRM's "Northwind Logistics Inc." and NetSuite's "Northwind Logistics, Inc."
    erp = erp_for(netsuite_fake, rsa_key[0])

    # When the onboarding step matches the deal's client
    outcome, _ = match_or_create_customer(existing_client("Northwind Logistics"), erp)

    # Then it is the existing NetSuite customer, and nothing was created
    assert (outcome.decision, outcome.customer_id) == ("existing", seeded["CUST-0001"])
    assert not netsuite_fake.requests_to("/record/v1/customer/eid:", "PUT")


# ------------------------------------------------------------------------------------------------------------
# Creating customers
# ------------------------------------------------------------------------------------------------------------


NEW = Client(
    id="001Dn0000000042",
    customer_name="Coho Winery LLC",
    default_currency="EUR",
    payment_terms_days=30,
    credit_limit=Decimal("25000.00"),
    billing_email="ap@coho.example",
    tax_id=SecretStr("84-2231907"),
    address=Address(line1="12 Vineyard Road", city="Napa", region="CA", postal_code="94558", country="US"),
)


def test_a_customer_is_created_once_however_often_the_step_is_retried(
    netsuite_fake: NetSuiteFake, rsa_key: tuple[str, str]
) -> None:
    # Given a new client and an adapter
    erp = erp_for(netsuite_fake, rsa_key[0])

    # When the create step runs twice with one idempotency key
    first = erp.create_customer(NEW, idempotency_key="customer#001Dn0000000042")
    second = erp.create_customer(NEW, idempotency_key="customer#001Dn0000000042")

    # Then one customer, reported created the first time only, upserted by its externalId
    assert (first.created, second.created) == (True, False) and first.id == second.id
    [record] = netsuite_fake.customers.values()
    assert record["externalId"] == first.details["external_id"]
    assert len(netsuite_fake.requests_to("/record/v1/customer/eid:", "PUT")) == 1
    # And the record holds the client in NetSuite's terms: currency and terms by internal id, the billing address
    assert record["companyName"] == "Coho Winery LLC"
    assert record["currency"] == {"id": "4"} and record["terms"] == {"id": "2"}
    assert record["addressBook"]["items"][0]["addressBookAddress"]["country"] == {"id": "US"}
    # And no tax id was sent, since the configuration names no field for it
    assert "84-2231907" not in repr(record)


def test_the_created_customer_reads_back_as_the_client(
    netsuite_fake: NetSuiteFake, rsa_key: tuple[str, str]
) -> None:
    # Given a customer created from a client
    erp = erp_for(netsuite_fake, rsa_key[0])
    created = erp.create_customer(NEW, idempotency_key="customer#42")

    # When read back / Then it is the client (tax id aside), under NetSuite's id
    assert erp.get_customer(created.id) == NEW.model_copy(update={"id": created.id, "tax_id": None})


def test_a_new_deals_client_is_created_by_the_workflow_step(
    netsuite_fake: NetSuiteFake, rsa_key: tuple[str, str]
) -> None:
    # Given a client NetSuite does not know
    erp = erp_for(netsuite_fake, rsa_key[0])
    client = new_client(2)

    # When the onboarding step matches, twice (a retried Lambda)
    first, _ = match_or_create_customer(client, erp)
    second, _ = match_or_create_customer(client, erp)

    # Then it was created on the first run and found on the second
    assert first.decision == "created" and second.decision == "existing"
    assert first.customer_id == second.customer_id and len(netsuite_fake.customers) == 1


# ------------------------------------------------------------------------------------------------------------
# Auth
# ------------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("algorithm", ["PS256", "RS256"])
def test_machine_to_machine_auth_with_a_signed_client_assertion(
    netsuite_fake: NetSuiteFake, rsa_key: tuple[str, str], algorithm: str
) -> None:
    # Given an integration with a certificate mapped under its id
    erp = erp_for(netsuite_fake, rsa_key[0], algorithm=algorithm)

    # When reading twice
    erp.list_customers()
    erp.list_customers()

    # Then one token (the fake checked alg, kid, iss, scope, aud and the signature) served both calls
    [token] = netsuite_fake.requests_to("/auth/oauth2/v1/token")
    assert (
        b"client_assertion_type=urn%3Aietf%3Aparams%3Aoauth%3Aclient-assertion-type%3Ajwt-bearer"
        in token.body
    )


def test_an_expired_token_is_replaced_once(netsuite_fake: NetSuiteFake, rsa_key: tuple[str, str]) -> None:
    # Given a token NetSuite no longer accepts
    erp = erp_for(netsuite_fake, rsa_key[0])
    erp.list_customers()
    netsuite_fake.expire_tokens()
    # When reading again / Then a new token, and the read succeeds
    erp.list_customers()
    assert len(netsuite_fake.requests_to("/auth/oauth2/v1/token")) == 2


def test_a_wrong_certificate_id_is_an_auth_failure(
    netsuite_fake: NetSuiteFake, rsa_key: tuple[str, str]
) -> None:
    erp = erp_for(netsuite_fake, rsa_key[0], certificate_id="not-the-mapped-one")
    with pytest.raises(ConnectorAuthFailed, match="invalid_grant"):
        erp.list_customers()


def test_token_based_auth_signs_each_request_with_hmac_sha256(
    netsuite_fake: NetSuiteFake, seeded: dict[str, str]
) -> None:
    # Given token-based authentication (the fake recomputes every signature and refuses a nonce seen twice)
    erp = erp_for(netsuite_fake, auth="tba")

    # When every page is read
    customers = all_customers(erp)

    # Then each request carried an OAuth 1.0a header for the account's realm, and all were accepted
    assert len(customers) == 12
    headers = [r.headers.get("Authorization") or "" for r in netsuite_fake.requests]
    assert all(
        h.startswith('OAuth realm="1234567_SB1"') and 'oauth_signature_method="HMAC-SHA256"' in h
        for h in headers
    )


def test_token_based_auth_with_a_wrong_secret_is_refused(netsuite_fake: NetSuiteFake) -> None:
    # Given an adapter whose token secret the account has since rotated
    erp = erp_for(netsuite_fake, auth="tba")
    netsuite_fake.token_secret = "rotated"
    # Then NetSuite's 401 is an auth failure, not retried
    with pytest.raises(ConnectorAuthFailed, match="INVALID_LOGIN"):
        erp.list_customers()
    assert len(netsuite_fake.requests) == 1


def test_the_oauth1_signature_base_string_matches_rfc_5849() -> None:
    # Given the request of RFC 5849 section 3.4.1.1
    oauth = {
        "realm": "Example",
        "oauth_consumer_key": "9djdj82h48djs9d2",
        "oauth_token": "kkk9d7dh3k39sjv7",
        "oauth_signature_method": "HMAC-SHA1",
        "oauth_timestamp": "137131201",
        "oauth_nonce": "7d8f3e4a",
        "oauth_signature": "bYT5CMsGcbgUdFHObYMEfcx6bsw%3D",
    }
    # When its base string is built / Then it is the RFC's
    base = signature_base_string(
        "POST",
        "http://example.com/request?b5=%3D%253D&a3=a&c%40=&a2=r%20b",
        oauth,
        [("c2", ""), ("a3", "2 q")],
    )
    assert base == (
        "POST&http%3A%2F%2Fexample.com%2Frequest&a2%3Dr%2520b%26a3%3D2%2520q"
        "%26a3%3Da%26b5%3D%253D%25253D%26c%2540%3D%26c2%3D%26oauth_consumer_"
        "key%3D9djdj82h48djs9d2%26oauth_nonce%3D7d8f3e4a%26oauth_signature_m"
        "ethod%3DHMAC-SHA1%26oauth_timestamp%3D137131201%26oauth_token%3Dkkk"
        "9d7dh3k39sjv7"
    )


# ------------------------------------------------------------------------------------------------------------
# Failures
# ------------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("status", [429, 400])
def test_the_concurrency_limit_is_rate_limited(
    netsuite_fake: NetSuiteFake, rsa_key: tuple[str, str], status: int
) -> None:
    # Given the account's concurrent-request limit reached (429, or 400 CONCURRENCY_LIMIT_EXCEEDED)
    erp = erp_for(netsuite_fake, rsa_key[0])
    netsuite_fake.inject(status, concurrency_error(status), path_prefix="/services/rest/query")
    # Then the step retries it by name
    with pytest.raises(ConnectorRateLimited, match="CONCURRENCY_LIMIT_EXCEEDED"):
        erp.list_customers()


def test_an_invalid_request_is_refused_with_its_error_code_only(
    netsuite_fake: NetSuiteFake, rsa_key: tuple[str, str], calls: list[CallRecord]
) -> None:
    # Given NetSuite refusing the body with a detail that repeats a value sent
    erp = erp_for(netsuite_fake, rsa_key[0])
    netsuite_fake.inject(
        400,
        ns_error(400, "USER_ERROR", "Invalid value 84-2231907 for field vatRegNumber"),
        path_prefix="/services/rest/record",
        method="PUT",
    )
    # When creating / Then the error names the code, never the detail
    with pytest.raises(ConnectorRequestRejected) as raised:
        erp.create_customer(NEW, idempotency_key="customer#7")
    assert raised.value.codes == ("USER_ERROR",) and "84-2231907" not in str(raised.value)
    assert calls[-1].outcome == "rejected" and calls[-1].operation == "create_customer"


def test_a_server_error_is_unavailable(netsuite_fake: NetSuiteFake, rsa_key: tuple[str, str]) -> None:
    netsuite_fake.inject(
        500,
        ns_error(400, "UNEXPECTED_ERROR", "An unexpected error occurred."),
        path_prefix="/services/rest/query",
    )
    with pytest.raises(ConnectorUnavailable):
        erp_for(netsuite_fake, rsa_key[0]).list_customers()


# ------------------------------------------------------------------------------------------------------------
# Vendors
# ------------------------------------------------------------------------------------------------------------


def _new_vendor() -> Vendor:
    return Vendor(
        id="VREQ-0007",
        supplier_name="Harbor Analytics LLC",
        category="professional_services",
        default_currency="USD",
        payment_terms_days=30,
        email="billing@harbor.example",
        phone="+1 206 555 0100",
        address=Address(line1="1 Pier Way", city="Seattle", region="WA", postal_code="98101", country="US"),
        tax_id=SecretStr("91-1144442"),
        on_hold=True,
        hold_type="all",
    )


def test_a_vendor_is_created_on_hold_and_released_after_approval(
    netsuite_fake: NetSuiteFake, rsa_key: tuple[str, str]
) -> None:
    # Given the approval workflow creating a vendor on hold
    erp = erp_for(netsuite_fake, rsa_key[0])

    # When created (twice: a retried step), read, released, read again
    created = erp.create_vendor(_new_vendor(), idempotency_key="vendor#case-7")
    again = erp.create_vendor(_new_vendor(), idempotency_key="vendor#case-7")
    [held] = erp.list_vendors().items
    erp.release_vendor(created.id)
    [released] = erp.list_vendors().items

    # Then one vendor, inactive in NetSuite (nothing can be bought from or paid to it) until released
    assert (created.created, again.created, created.id) == (True, False, again.id)
    assert (held.on_hold, held.hold_type, held.disabled) == (True, "all", False)
    assert (released.on_hold, released.hold_type) == (False, None)
    assert netsuite_fake.vendors[created.id]["isInactive"] is False
    # And the vendor reads back as created, but for the tax id no field was configured for and the category
    # (a NetSuite list record the adapter does not map)
    assert released.model_copy(update={"id": "VREQ-0007"}) == _new_vendor().model_copy(
        update={"tax_id": None, "category": None, "on_hold": False, "hold_type": None}
    )


def test_a_firm_with_its_own_hold_checkbox_keeps_inactive_for_disabled_vendors(
    netsuite_fake: NetSuiteFake, rsa_key: tuple[str, str]
) -> None:
    # Given a custom payment-hold checkbox and a tax id field
    erp = erp_for(
        netsuite_fake, rsa_key[0], vendor_hold_field="custentity_payment_hold", vendor_tax_id_field="taxIdNum"
    )

    # When a vendor is created on hold
    created = erp.create_vendor(_new_vendor(), idempotency_key="vendor#case-8")

    # Then the checkbox holds it, the vendor stays active, and the tax id went to its field
    record = netsuite_fake.vendors[created.id]
    assert record["custentity_payment_hold"] is True and "isInactive" not in record
    assert record["taxIdNum"] == "91-1144442"


def test_a_vendor_is_read_by_id_with_its_insurance_expiry(
    netsuite_fake: NetSuiteFake, rsa_key: tuple[str, str]
) -> None:
    # Given a firm keeping the certificate's expiry in a custom date field, and a vendor created with it
    erp = erp_for(netsuite_fake, rsa_key[0], vendor_insurance_expiry_field="custentity_coi_expiry")
    vendor = _new_vendor().model_copy(update={"insurance_expires_on": date(2027, 3, 31)})
    created = erp.create_vendor(vendor, idempotency_key="vendor#case-9")

    # When read by its internal id and by its externalId, before and after its release
    held = erp.get_vendor(created.id)
    by_key = erp.get_vendor(created.details["external_id"])
    erp.release_vendor(created.id)
    released = erp.get_vendor(created.id)

    # Then the date went to the field and reads back (SuiteQL's M/D/YYYY), and the hold follows the release
    assert netsuite_fake.vendors[created.id]["custentity_coi_expiry"] == "2027-03-31"
    assert (held.id, held.on_hold, held.insurance_expires_on) == (created.id, True, date(2027, 3, 31))
    assert by_key.id == created.id
    assert (released.on_hold, released.insurance_expires_on) == (False, date(2027, 3, 31))
    # And without the field configured the vendor reads with no certificate on file
    assert erp_for(netsuite_fake, rsa_key[0]).get_vendor(created.id).insurance_expires_on is None
    with pytest.raises(RecordNotFound):
        erp.get_vendor("424242")


def test_the_firms_existing_vendors_are_listed(netsuite_fake: NetSuiteFake, rsa_key: tuple[str, str]) -> None:
    # Given the vendors the firm already pays
    seeded = netsuite_fake.seed_vendors(existing_vendors())

    # When listed / Then names, contacts and addresses come back for the duplicate-vendor checks
    vendors = {v.id: v for v in erp_for(netsuite_fake, rsa_key[0]).list_vendors().items}
    for vendor in existing_vendors():
        found = vendors[seeded[vendor.id]]
        assert (found.supplier_name, found.email, found.phone, found.address) == (
            vendor.supplier_name,
            vendor.email,
            vendor.phone,
            vendor.address,
        )


def test_releasing_an_unknown_vendor_is_record_not_found(
    netsuite_fake: NetSuiteFake, rsa_key: tuple[str, str]
) -> None:
    with pytest.raises(RecordNotFound):
        erp_for(netsuite_fake, rsa_key[0]).release_vendor("424242")


# ------------------------------------------------------------------------------------------------------------
# Invoicing
# ------------------------------------------------------------------------------------------------------------

PROJECT = "a1ADn0000000001AAA"
ITEMS = {"invoice_item_ids": {"time": "11", "expense": "12", "milestone": "13"}}


def _invoice(customer_id: str, *, start: date = date(2026, 11, 1), po_no: str | None = None) -> Invoice:
    return Invoice(
        id="draft",
        client_id=customer_id,
        project_id=PROJECT,
        currency="USD",
        posting_date=date(2026, 12, 1),
        due_date=date(2026, 12, 31),
        period_start=start,
        period_end=start.replace(day=30),
        po_no=po_no,
        lines=[
            InvoiceLine(
                source="time",
                source_ids=["a1DDn0000000001AAA-mon", "a1DDn0000000001AAA-tue"],
                description="Consulting, November",
                quantity=Decimal("12.5"),
                rate=Decimal(200),
                amount=Decimal(2500),
            ),
            InvoiceLine(
                source="expense",
                source_ids=["a1GDn0000000002AAA"],
                description="Travel",
                quantity=Decimal(1),
                rate=Decimal("310.40"),
                amount=Decimal("310.40"),
            ),
        ],
        net_total=Decimal("2810.40"),
        grand_total=Decimal("2810.40"),
        outstanding_amount=Decimal("2810.40"),
    )


def test_an_invoice_is_created_pending_approval_once_however_often_the_step_is_retried(
    netsuite_fake: NetSuiteFake, seeded: dict[str, str], rsa_key: tuple[str, str]
) -> None:
    # Given a customer, and service items configured per line source
    erp = erp_for(netsuite_fake, rsa_key[0], **ITEMS)
    customer = seeded["CUST-0001"]

    # When the create step runs twice with one key (project and period)
    first = erp.create_invoice(_invoice(customer), idempotency_key=f"invoice#{PROJECT}#2026-11")
    second = erp.create_invoice(_invoice(customer), idempotency_key=f"invoice#{PROJECT}#2026-11")

    # Then one invoice, upserted by its externalId, pending approval: NetSuite's draft, which posts nothing
    assert (first.created, second.created, first.id) == (True, False, second.id)
    [record] = netsuite_fake.invoices.values()
    assert record["externalId"] == first.details["external_id"]
    assert record["approvalStatus"] == {"id": "1"} and record["entity"] == {"id": customer}
    assert len(netsuite_fake.requests_to("/record/v1/invoice/eid:", "PUT")) == 1
    # And the project and period are in the body fields, each line on its item with what it bills
    assert record["custbody_backoffice_project"] == PROJECT
    assert record["custbody_backoffice_period_start"] == "2026-11-01"
    lines = record["item"]["items"]
    assert [(li["item"], li["custcol_backoffice_source"]) for li in lines] == [
        ({"id": "11"}, "time"),
        ({"id": "12"}, "expense"),
    ]
    assert lines[0]["custcol_backoffice_source_ids"] == "a1DDn0000000001AAA-mon,a1DDn0000000001AAA-tue"


def test_the_invoice_of_a_period_is_found_as_a_draft_then_posted_with_its_number(
    netsuite_fake: NetSuiteFake, seeded: dict[str, str], rsa_key: tuple[str, str]
) -> None:
    # Given no invoice for the project's November yet
    erp = erp_for(netsuite_fake, rsa_key[0], **ITEMS)
    november = (PROJECT, date(2026, 11, 1), date(2026, 11, 30))
    assert erp.find_invoice(*november) is None

    # When the draft is created, found, then posted twice (a retried step)
    created = erp.create_invoice(_invoice(seeded["CUST-0001"]), idempotency_key="invoice#p#2026-11")
    draft = erp.find_invoice(*november)
    posted = erp.post_invoice(created.id)
    again = erp.post_invoice(created.id)

    # Then the draft reads back as the invoice sent, without a number
    assert draft is not None and (draft.id, draft.status, draft.invoice_number) == (created.id, "draft", None)
    assert [(li.source, li.source_ids, li.amount) for li in draft.lines] == [
        (li.source, li.source_ids, li.amount) for li in _invoice(seeded["CUST-0001"]).lines
    ]
    assert (draft.currency, draft.period_start, draft.grand_total) == (
        "USD",
        date(2026, 11, 1),
        Decimal("2810.40"),
    )
    # And posting approved it once: it has its NetSuite number, and posting again changed nothing
    tran_id = netsuite_fake.invoices[created.id]["tranId"]
    assert (posted.status, posted.invoice_number, posted.outstanding_amount) == (
        "posted",
        tran_id,
        Decimal("2810.40"),
    )
    assert again == posted
    assert len(netsuite_fake.requests_to(f"/record/v1/invoice/{created.id}", "PATCH")) == 1
    # And another period of the project has none
    assert erp.find_invoice(PROJECT, date(2026, 12, 1), date(2026, 12, 31)) is None


def test_a_rejected_invoice_is_not_posted(
    netsuite_fake: NetSuiteFake, seeded: dict[str, str], rsa_key: tuple[str, str]
) -> None:
    # Given an invoice an approver rejected in NetSuite
    erp = erp_for(netsuite_fake, rsa_key[0], **ITEMS)
    created = erp.create_invoice(_invoice(seeded["CUST-0002"]), idempotency_key="invoice#r")
    netsuite_fake.invoices[created.id]["approvalStatus"] = {"id": "3"}
    # Then posting it is refused, and the period has no invoice any more
    with pytest.raises(ConnectorRequestRejected, match="rejected"):
        erp.post_invoice(created.id)
    assert erp.find_invoice(PROJECT, date(2026, 11, 1), date(2026, 11, 30)) is None


def test_a_line_without_a_configured_item_or_with_an_unknown_one_is_refused(
    netsuite_fake: NetSuiteFake, seeded: dict[str, str], rsa_key: tuple[str, str]
) -> None:
    # Given no item for expense lines / Then the create says what to configure, before any write
    erp = erp_for(netsuite_fake, rsa_key[0], invoice_item_ids={"time": "11"})
    with pytest.raises(ConnectorNotConfigured, match="expense"):
        erp.create_invoice(_invoice(seeded["CUST-0001"]), idempotency_key="invoice#1")
    assert not netsuite_fake.requests_to("/record/v1/invoice", "PUT")
    # Given an item NetSuite does not have / Then NetSuite's USER_ERROR, not retried
    erp = erp_for(netsuite_fake, rsa_key[0], invoice_item_ids={"time": "11", "expense": "99"})
    with pytest.raises(ConnectorRequestRejected) as raised:
        erp.create_invoice(_invoice(seeded["CUST-0001"]), idempotency_key="invoice#2")
    assert raised.value.codes == ("USER_ERROR",)


def test_the_customer_balance_is_what_its_posted_invoices_still_owe(
    netsuite_fake: NetSuiteFake, seeded: dict[str, str], rsa_key: tuple[str, str]
) -> None:
    # Given a customer owing 1,200 from before, one posted invoice and one draft
    erp = erp_for(netsuite_fake, rsa_key[0], **ITEMS)
    customer = seeded["CUST-0004"]
    netsuite_fake.customers[customer]["balance"] = Decimal(1200)
    posted = erp.create_invoice(_invoice(customer), idempotency_key="invoice#posted")
    erp.post_invoice(posted.id)
    erp.create_invoice(_invoice(customer, start=date(2026, 12, 1)), idempotency_key="invoice#draft")

    # Then the balance counts the posted one only; by externalId too; an unknown customer is not found
    assert erp.customer_balance(customer) == Decimal("4010.40")
    assert erp.customer_balance("CUST-0004") == Decimal("4010.40")
    assert erp.customer_balance(seeded["CUST-0005"]) == Decimal(0)
    with pytest.raises(RecordNotFound):
        erp.customer_balance("424242")


def test_the_tax_template_is_the_customers_tax_item(
    netsuite_fake: NetSuiteFake, seeded: dict[str, str], rsa_key: tuple[str, str]
) -> None:
    # Given one customer taxed with the New York item and one with none
    netsuite_fake.set_tax_item(seeded["CUST-0001"], "US Sales Tax - NY")
    erp = erp_for(netsuite_fake, rsa_key[0])
    # Then the first has that template, read as the one field, and the second none (BR10 will say so)
    assert erp.tax_template(seeded["CUST-0001"]) == "US Sales Tax - NY"
    assert netsuite_fake.requests_to("/record/v1/customer/")[-1].param("fields") == "taxItem"
    assert erp.tax_template(seeded["CUST-0002"]) is None
    # And a firm without legacy tax configures no field: no template, no call
    assert erp_for(netsuite_fake, rsa_key[0], customer_tax_template_field=None).tax_template("1") is None


def test_the_purchase_order_is_the_po_number_on_the_projects_open_sales_order(
    netsuite_fake: NetSuiteFake, seeded: dict[str, str], rsa_key: tuple[str, str]
) -> None:
    # Given a closed older order and the open order PO-7781 for 50,000 on the project, of which one invoice posted
    customer = seeded["CUST-0003"]
    common = {"project_field": "custbody_backoffice_project", "project_id": PROJECT}
    netsuite_fake.add_sales_order(
        customer, **common, po_no="PO-1000", tran_date=date(2026, 1, 5), total=Decimal(9000), status="H"
    )
    netsuite_fake.add_sales_order(
        customer, **common, po_no="PO-7781", tran_date=date(2026, 10, 20), total=Decimal(50000)
    )
    erp = erp_for(netsuite_fake, rsa_key[0], **ITEMS)
    posted = erp.create_invoice(_invoice(customer, po_no="PO-7781"), idempotency_key="invoice#po")
    erp.post_invoice(posted.id)

    # When the purchase order is read
    order = erp.purchase_order(customer, PROJECT)

    # Then it is the open one, dated as NetSuite wrote it (M/D/YYYY), with what is left after the posted invoice
    assert order == PurchaseOrder(
        po_no="PO-7781", po_date=date(2026, 10, 20), balance=Decimal("47189.60"), currency="USD"
    )
    # And another project has none
    assert erp.purchase_order(customer, "a1ADn0000000009AAA") is None


@pytest.mark.parametrize(
    ("path", "call"),
    [
        ("/services/rest/query", lambda erp, c: erp.customer_balance(c)),
        ("/services/rest/query", lambda erp, c: erp.purchase_order(c, PROJECT)),
        (
            "/services/rest/query",
            lambda erp, c: erp.find_invoice(PROJECT, date(2026, 11, 1), date(2026, 11, 30)),
        ),
        ("/services/rest/record", lambda erp, c: erp.tax_template(c)),
        ("/services/rest/record", lambda erp, c: erp.create_invoice(_invoice(c), idempotency_key="k")),
        ("/services/rest/record", lambda erp, c: erp.post_invoice("777")),
    ],
)
def test_every_invoicing_call_reports_the_concurrency_limit_and_outages_by_name(
    netsuite_fake: NetSuiteFake, seeded: dict[str, str], rsa_key: tuple[str, str], path: str, call: Any
) -> None:
    erp = erp_for(netsuite_fake, rsa_key[0], **ITEMS)
    # Given the account at its concurrency limit / Then the step retries it by name
    netsuite_fake.inject(429, concurrency_error(429), path_prefix=path)
    with pytest.raises(ConnectorRateLimited):
        call(erp, seeded["CUST-0001"])
    # Given an outage / Then unavailable
    netsuite_fake.inject(503, ns_error(400, "UNEXPECTED_ERROR", "Service unavailable"), path_prefix=path)
    with pytest.raises(ConnectorUnavailable):
        call(erp, seeded["CUST-0001"])


def test_posting_an_unknown_invoice_is_record_not_found(
    netsuite_fake: NetSuiteFake, rsa_key: tuple[str, str]
) -> None:
    with pytest.raises(RecordNotFound):
        erp_for(netsuite_fake, rsa_key[0], **ITEMS).post_invoice("424242")
