"""NetSuite (SuiteTalk REST web services): the ERP port.

- Look-ups go through SuiteQL (``POST /services/rest/query/v1/suiteql`` with ``Prefer: transient``, paged with
  ``limit``/``offset`` until ``hasMore`` is false), ordered by id so that pages neither skip nor repeat rows.
- Records go through the record API (``/services/rest/record/v1/<type>/<id>``): customers, vendors and invoices.
- Creates are idempotent by ``externalId``: the record is looked up as ``<type>/eid:<externalId>`` and, when absent,
  created with an upsert (``PUT /record/v1/<type>/eid:<externalId>``, 204 + ``Location``), so a retried Lambda never
  makes a second customer and a record people have edited since is not written over.
- Auth: OAuth 2.0 machine to machine (client credentials with a JWT client assertion signed by the certificate's
  private key, PS256 or RS256, ``kid`` = the certificate id; token cached until it expires, fetched again on 401) or
  token-based authentication (OAuth 1.0a, HMAC-SHA256, realm = the account id).
- Invoices are ``invoice`` records. NetSuite has no draft invoice: with the Invoice Approval feature (required) a
  draft is an invoice *Pending Approval* (``approvalStatus`` 1, non-posting) and posting is approving it
  (``PATCH approvalStatus`` 2), after which its ``tranId`` is the canonical invoice number. The PSA project and the
  billing period are kept in custom body fields (``invoice_project_field``, ``invoice_period_*_field``: the firm
  adds them, like ``externalId`` they are what finds the invoice of a project and period again); each line names a
  service item per canonical line source (``invoice_item_ids``) and keeps its source and source ids in custom column
  fields, so a line read back still says which time entries or expenses it bills.
- Invoicing reads: the customer's balance is NetSuite's own A/R balance of the customer (SuiteQL
  ``customer.balancesearch``: open posted invoices less unapplied credits, what NetSuite itself weighs against the
  credit limit); the tax template is the customer's tax item (record field ``taxItem`` by default, its display
  name); the purchase order is the client's PO number (``otherRefNum``, "PO #") on the customer's newest open
  sales order for the project (same project body field), its balance that order's total less the posted invoices
  quoting the same PO number.
- Finance close reads (``CloseErpPort``): the period's invoices are SuiteQL pages of ``transaction`` rows
  (``CustInvc``, ``trandate`` in the period, approved or rejected: pending approval is the draft; and credit memos,
  ``CustCred``, read as invoices of negative lines and totals, with the project of the invoice they were created
  from when they have none) with their item lines from ``transactionline`` in one query a page, each line's source
  and source ids read back from the custom columns ``create_invoice`` wrote. Every ``IN (...)`` list of ids is sent
  in chunks of ``IN_LIST_CHUNK`` (SuiteQL refuses more than 1,000 values). Projects are ``job`` records (the PSA's
  project id in ``project_id_field``: ``entityid``, the project code, by default; ``companyname``
  its name, ``customer``, ``currency``, ``entitystatus`` from the Job Status list, ``jobbillingtype``; see "Adding
  a Project with a Status", docs.oracle.com/en/cloud/saas/netsuite/ns-online-help/section_3795306517.html). Their
  billing rates are the project's billing rate card (its ``billingratecard`` field, which a customer's default
  card fills on a new project): the ``billingratecard`` record, read through the record API (section_4719596844:
  prices per billing class in the ``ratecardpricingmulti`` sublist, or ``ratecardpricing`` without Multiple
  Currencies; cards set the rates of charge-based projects' time-based charge rules, section_1487716707).
- Receivables (``ReceivablesErpPort``): the payments and credit memos applied to invoices are SuiteQL pages of
  ``NextTransactionLineLink`` rows (invoice to ``CustPymt`` or ``CustCred``, link type ``Payment``) joined to the
  paying transaction, one canonical ``Payment`` per invoice a payment settles (``list_payments``).
- Revenue recognition (``RevenueErpPort``): the period-end journal is a ``journalentry`` record (record ID
  ``journalentry``; "Journal Entry", section_159886587653: ``subsidiary``, ``currency``, ``tranDate``, ``memo`` and
  the ``line`` sublist of ``account`` with ``debit`` or ``credit``, ``memo`` and ``entity``), upserted by the
  externalId of its key like every create, so a retry, also one whose first answer was lost, finds the entry it
  booked. The policy names accounts as finance does ("1250 Unbilled receivables"); ``journal_account_ids`` maps
  each name to the NetSuite account's internal id, and each line's project is its ``job`` (found by
  ``project_id_field``) as the line's entity (customer:job). A name not mapped, a project NetSuite has no job for
  or a currency it does not know fails the posting before anything is sent.
- Failures: 429, and 400 with ``CONCURRENCY_LIMIT_EXCEEDED`` (the account's concurrent-request limit) ->
  ``ConnectorRateLimited``; 5xx -> ``ConnectorUnavailable``; 404 -> ``RecordNotFound``. Messages carry the
  ``o:errorCode`` values, never ``detail`` (which may repeat the values sent).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import date, timedelta
from decimal import Decimal
from typing import Any, Literal
from urllib.parse import parse_qsl, quote, urlsplit

from pydantic import ConfigDict, Field, ValidationError, model_validator

from backoffice.connectors.http import (
    ConnectorHttp,
    ConnectorNotConfigured,
    ConnectorRequestRejected,
    Governance,
    HttpResponse,
    RecordUnmappable,
    build_url,
    error_for_status,
    external_id,
    retry_after_seconds,
    tagged,
)
from backoffice.connectors.oauth import (
    AccessToken,
    JwtAlgorithm,
    TokenCache,
    sign_jwt,
    token_from_response,
)
from backoffice.connectors.ports import ConnectorError, ConnectorRateLimited, Created, Page, RecordNotFound
from backoffice.models import (
    Address,
    BillingModel,
    Client,
    Invoice,
    JournalEntry,
    Payment,
    Project,
    PurchaseOrder,
    RateCard,
    Vendor,
    VendorPurchaseOrder,
    readable_errors,
)
from backoffice.models.envelope import Model

SYSTEM = "netsuite"
_RATE_LIMIT_CODES = frozenset({"CONCURRENCY_LIMIT_EXCEEDED", "SSS_REQUEST_LIMIT_EXCEEDED"})
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_INTERNAL_ID = re.compile(r"^\d{1,18}$")
# approvalStatus of an invoice under the Invoice Approval feature.
_PENDING_APPROVAL, _APPROVED, _REJECTED = "1", "2", "3"
# transaction types: invoice, credit memo.
_INVOICE, _CREDIT_MEMO = "CustInvc", "CustCred"
_PAYMENT = "CustPymt"  # a customer payment
_LINE_SOURCES = frozenset({"time", "expense", "milestone", "retainer", "fee", "adjustment"})
# SuiteQL (Oracle underneath) refuses an IN list of more than 1,000 values: ids are asked for in chunks of 500.
IN_LIST_CHUNK = 500
ProjectStatus = Literal["open", "completed", "cancelled"]
# jobbillingtype: charge-based, fixed bid (interval, milestone), time and materials.
_JOB_BILLING_TYPES: dict[str, BillingModel] = {
    "CB": "time_and_materials",
    "FBI": "fixed_fee",
    "FBM": "fixed_fee",
    "TM": "time_and_materials",
}
# entitystatus, the Job Status list as NetSuite ships it: 1 Closed, 3 Not Awarded (2, 4, 5: in progress, pending,
# awarded, all open).
_JOB_STATUSES: dict[str, ProjectStatus] = {"1": "completed", "3": "cancelled"}


class NetSuiteSettings(Model):
    model_config = ConfigDict(extra="forbid", frozen=True)

    account_id: str = Field(min_length=1, pattern=r"^[A-Za-z0-9_-]+$")  # e.g. 1234567 or 1234567_SB1
    base_url: str | None = None  # default: https://<account>.suitetalk.api.netsuite.com
    auth: Literal["m2m", "tba"]
    # m2m: the integration record's client id and the certificate id of the mapping; the secret holds
    # {"private_key_pem": ...}. tba: the secret holds consumer_key, consumer_secret, token_id, token_secret.
    client_id: str | None = None
    certificate_id: str | None = None
    algorithm: JwtAlgorithm = "PS256"
    scopes: tuple[str, ...] = ("rest_webservices",)
    secret_name: str = Field(min_length=1)
    page_size: int = Field(default=500, ge=1, le=1000)
    default_currency: str = "USD"
    subsidiary_id: str | None = None  # OneWorld accounts need one on every new customer
    # Record fields holding tax ids (e.g. "vatRegNumber" on customers, "taxIdNum" on vendors); None: tax ids are
    # neither read nor written.
    customer_tax_id_field: str | None = None
    vendor_tax_id_field: str | None = None
    # The vendor field that keeps a new vendor from being used until it is approved. NetSuite has no standard
    # vendor hold: by default the vendor is created inactive (no bill or purchase order can name it) and made active
    # on release; a firm with a custom checkbox (e.g. "custentity_payment_hold") names it here.
    vendor_hold_field: str = "isInactive"
    # The custom entity field (a date) keeping when the vendor's certificate of insurance runs out (e.g.
    # "custentity_coi_expiry"); vendor approval writes it, work orders and subcontractor staff read it. None: not
    # kept, every vendor reads as having no certificate on file.
    vendor_insurance_expiry_field: str | None = None
    # Invoicing. Custom body fields on invoices (and sales orders) holding the PSA project id (free-form text) and
    # the billing period (dates); the service item each canonical line source is billed as (``"time"``,
    # ``"expense"``, ``"milestone"``, ``"retainer"``, ``"fee"``, ``"adjustment"``), else ``invoice_default_item_id``;
    # custom column fields keeping each line's source and the ids it bills (comma-separated; None: not kept, a
    # line read back is known by its item only).
    invoice_project_field: str = "custbody_backoffice_project"
    invoice_period_start_field: str = "custbody_backoffice_period_start"
    invoice_period_end_field: str = "custbody_backoffice_period_end"
    invoice_item_ids: dict[str, str] = Field(default_factory=dict)
    invoice_default_item_id: str | None = None
    invoice_line_source_field: str | None = "custcol_backoffice_source"
    invoice_line_refs_field: str | None = "custcol_backoffice_source_ids"
    # The customer field naming its sales tax item or group (legacy tax); None: no tax template is read.
    customer_tax_template_field: str | None = "taxItem"
    # Finance close (projects are ``job`` records). The project's billing type (``jobbillingtype``) and status
    # (``entitystatus``, the Job Status list: 1 Closed, 2 In Progress, 3 Not Awarded, 4 Pending, 5 Awarded by
    # default; firms add their own) in canonical terms; a type not named is time and materials, a status open.
    # The activity type a rate card's lines bill (NetSuite prices billing classes, not activities).
    project_billing_types: dict[str, BillingModel] = Field(default_factory=lambda: dict(_JOB_BILLING_TYPES))
    project_statuses: dict[str, ProjectStatus] = Field(default_factory=lambda: dict(_JOB_STATUSES))
    rate_card_activity_type: str = "Consulting"
    # The job field holding the PSA's project id, which journal lines, rate cards and the projects read are matched
    # by: ``entityid`` (the job's name) where the PSA's id is the project code, or a custom entity field (e.g.
    # ``custentity_psa_project_id``) where it is not, as on Certinia (a Salesforce Id; the job keeps the code as its
    # name). A job whose custom field is empty is read under its ``entityid``.
    project_id_field: str = Field(default="entityid", pattern=r"^[A-Za-z][A-Za-z0-9_]*$")
    # Revenue recognition. The NetSuite account (internal id) of each account name the revenue policy uses (the
    # name "1250 Unbilled receivables" -> the id "120", and so on); a journal naming another account is refused
    # before it is sent. ``journal_approved``: the entry is posted
    # approved (finance approved it in the workflow), for accounts that require approval of journal entries.
    # ``journal_line_basis_field``: a custom column (Text Area) keeping each line's basis; None: not kept.
    journal_account_ids: dict[str, str] = Field(default_factory=dict)
    journal_approved: bool = True
    journal_line_basis_field: str | None = None
    # -- purchasing ----: a vendor's purchase order is a ``purchaseorder`` record (one expense line on the account
    # its category is booked to: ``purchase_order_accounts``, category -> the account's internal id; an order of a
    # category not mapped is refused before anything is sent), the PSA project in ``invoice_project_field`` (the
    # same custom body field invoices carry), created approved (the workflow's chain approved it) unless
    # ``purchase_order_approved`` is False. What a project has committed: its purchase orders in the currency that are
    # neither rejected, fully billed nor closed (statuses C, G, H).
    purchase_order_accounts: dict[str, str] = Field(default_factory=dict)
    purchase_order_approved: bool = True
    governance: Governance = Field(default_factory=Governance)

    @model_validator(mode="after")
    def _m2m_needs_ids(self) -> NetSuiteSettings:
        if self.auth == "m2m" and not (self.client_id and self.certificate_id):
            raise ValueError("machine-to-machine auth needs client_id and certificate_id")
        return self

    @model_validator(mode="after")
    def _known_line_sources(self) -> NetSuiteSettings:
        unknown = sorted(set(self.invoice_item_ids) - _LINE_SOURCES)
        if unknown:
            raise ValueError(
                f"invoice_item_ids: unknown line sources {unknown}; one of {sorted(_LINE_SOURCES)}"
            )
        return self

    @property
    def realm(self) -> str:
        return self.account_id.upper().replace("-", "_")

    @property
    def url(self) -> str:
        return (
            self.base_url or f"https://{self.account_id.lower().replace('_', '-')}.suitetalk.api.netsuite.com"
        ).rstrip("/")


# ------------------------------------------------------------------------------------------------------------
# OAuth 1.0a (token-based authentication)
# ------------------------------------------------------------------------------------------------------------


def _pct(value: str) -> str:
    """RFC 3986 percent-encoding as OAuth 1.0a requires (RFC 5849 3.6): only unreserved characters stay."""
    return quote(value, safe="~")


def signature_base_string(
    method: str, url: str, oauth_params: Mapping[str, str], form: Sequence[tuple[str, str]] = ()
) -> str:
    """RFC 5849 3.4.1: method, base string URI (no query, default port dropped) and the normalised parameters
    (query, form body and ``oauth_*`` but ``oauth_signature`` and ``realm``), sorted after encoding."""
    parts = urlsplit(url)
    scheme, host = parts.scheme.lower(), (parts.hostname or "").lower()
    port = parts.port
    netloc = host if port is None or (scheme, port) in (("http", 80), ("https", 443)) else f"{host}:{port}"
    base_uri = f"{scheme}://{netloc}{parts.path or '/'}"
    pairs = [*parse_qsl(parts.query, keep_blank_values=True), *form]
    pairs += [(k, v) for k, v in oauth_params.items() if k not in ("oauth_signature", "realm")]
    normalized = "&".join(f"{k}={v}" for k, v in sorted((_pct(k), _pct(v)) for k, v in pairs))
    return "&".join((method.upper(), _pct(base_uri), _pct(normalized)))


def oauth1_header(
    method: str,
    url: str,
    *,
    realm: str,
    consumer_key: str,
    consumer_secret: str,
    token_id: str,
    token_secret: str,
    timestamp: int | None = None,
    nonce: str | None = None,
) -> str:
    """The ``Authorization: OAuth ...`` value NetSuite token-based authentication expects (HMAC-SHA256)."""
    params = {
        "oauth_consumer_key": consumer_key,
        "oauth_token": token_id,
        "oauth_signature_method": "HMAC-SHA256",
        "oauth_timestamp": str(timestamp if timestamp is not None else int(time.time())),
        "oauth_nonce": nonce or secrets.token_hex(16),
        "oauth_version": "1.0",
    }
    key = f"{_pct(consumer_secret)}&{_pct(token_secret)}".encode()
    digest = hmac.new(key, signature_base_string(method, url, params).encode(), hashlib.sha256).digest()
    params["oauth_signature"] = base64.b64encode(digest).decode()
    fields = [f'realm="{_pct(realm)}"', *(f'{k}="{_pct(v)}"' for k, v in params.items())]
    return "OAuth " + ", ".join(fields)


# ------------------------------------------------------------------------------------------------------------
# The API
# ------------------------------------------------------------------------------------------------------------


def _codes(body: Any) -> list[str]:
    if not isinstance(body, dict):
        return []
    details = body.get("o:errorDetails") or []
    return [str(d["o:errorCode"]) for d in details if isinstance(d, dict) and d.get("o:errorCode")]


class NetSuiteApi:
    """Authenticated REST web services calls to one account."""

    def __init__(
        self,
        settings: NetSuiteSettings,
        credentials: Callable[[], Mapping[str, Any]],
        *,
        http: ConnectorHttp | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.settings = settings
        self.credentials = credentials
        self.http = http or ConnectorHttp(SYSTEM, settings.governance)
        self.clock = clock
        self.tokens = TokenCache(self._fetch_token, clock=clock)

    @property
    def token_url(self) -> str:
        return self.settings.url + "/services/rest/auth/oauth2/v1/token"

    def _fetch_token(self) -> AccessToken:
        settings = self.settings
        now = int(self.clock())
        assertion = sign_jwt(
            {
                "iss": settings.client_id,
                "scope": ",".join(settings.scopes),
                "aud": self.token_url,
                "iat": now,
                "exp": now + 300,  # NetSuite refuses an assertion valid for more than 60 minutes
            },
            str(self.credentials()["private_key_pem"]),
            settings.algorithm,
            header={"kid": str(settings.certificate_id)},
        )
        response = self.http.request(
            "POST",
            self.token_url,
            operation="oauth.token",
            headers={"Accept": "application/json"},
            form={
                "grant_type": "client_credentials",
                "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
                "client_assertion": assertion,
            },
        )
        return token_from_response(response, system=SYSTEM, clock=self.clock)

    def call(
        self,
        method: str,
        path: str,
        *,
        operation: str,
        record_id: str | None = None,
        params: Mapping[str, Any] | None = None,
        json_body: Any = None,
        headers: Mapping[str, str] | None = None,
        allow: Sequence[int] = (),
    ) -> HttpResponse:
        """``path`` below ``/services/rest``. Statuses in ``allow`` are returned instead of raised."""
        url = build_url(self.settings.url + "/services/rest", path, params)
        for attempt in (1, 2):
            token: AccessToken | None = None
            sent = {"Accept": "application/json", **(headers or {})}
            if self.settings.auth == "m2m":
                token = self.tokens.get()
                sent["Authorization"] = f"Bearer {token.value}"
            else:
                secret = self.credentials()
                sent["Authorization"] = oauth1_header(
                    method,
                    url,
                    realm=self.settings.realm,
                    consumer_key=str(secret["consumer_key"]),
                    consumer_secret=str(secret["consumer_secret"]),
                    token_id=str(secret["token_id"]),
                    token_secret=str(secret["token_secret"]),
                    timestamp=int(self.clock()),
                )
            response = self.http.request(
                method, url, operation=operation, record_id=record_id, json_body=json_body, headers=sent
            )
            if response.status < 300 or response.status in allow:
                return response
            if response.status == 401 and token is not None and attempt == 1:
                self.tokens.invalidate(token)
                continue
            raise self._error(response, operation, record_id)
        raise AssertionError("unreachable")

    def _error(self, response: HttpResponse, operation: str, record_id: str | None) -> ConnectorError:
        codes = _codes(response.json())
        if response.status in (400, 403) and _RATE_LIMIT_CODES.intersection(codes):
            return tagged(
                ConnectorRateLimited(
                    f"netsuite {operation}: the account's concurrency limit is reached ({', '.join(codes)})",
                    retry_after_seconds=retry_after_seconds(response),
                ),
                SYSTEM,
            )
        return error_for_status(
            response, system=SYSTEM, operation=operation, record_id=record_id, codes=codes
        )

    # -- SuiteQL ------------------------------------------------------------------------------------------------

    def suiteql_page(
        self, query: str, *, offset: int = 0, limit: int | None = None, operation: str
    ) -> tuple[list[dict[str, Any]], int | None]:
        """One page of rows (column names in lower case) and the offset of the next page (None at the end)."""
        size = limit or self.settings.page_size
        response = self.call(
            "POST",
            "query/v1/suiteql",
            operation=operation,
            params={"limit": size, "offset": offset},
            json_body={"q": query},
            headers={"Prefer": "transient"},
        )
        body = response.json() or {}
        rows = [
            {k: v for k, v in item.items() if k != "links"}
            for item in body.get("items", [])
            if isinstance(item, dict)
        ]
        return rows, (offset + size if body.get("hasMore") else None)

    def suiteql(self, query: str, *, operation: str) -> Iterator[dict[str, Any]]:
        offset: int | None = 0
        while offset is not None:
            rows, offset = self.suiteql_page(query, offset=offset, operation=operation)
            yield from rows

    # -- records ------------------------------------------------------------------------------------------------

    def get_record(
        self,
        record_type: str,
        record_id: str,
        *,
        operation: str | None = None,
        params: Mapping[str, Any] | None = None,
    ) -> dict[str, Any]:
        """A record by internal id, or ``eid:<externalId>`` (``params``: ``expandSubResources``, ``fields``)."""
        response = self.call(
            "GET",
            f"record/v1/{record_type}/{quote(record_id, safe=':')}",
            operation=operation or f"get_{record_type}",
            record_id=record_id,
            params=params,
        )
        body = response.json()
        if not isinstance(body, dict):
            raise tagged(RecordUnmappable(f"netsuite {record_type}: the response is not a record"), SYSTEM)
        return body

    def update_record(
        self, record_type: str, record_id: str, body: Mapping[str, Any], *, operation: str
    ) -> None:
        """``PATCH /record/v1/<type>/<id>`` (internal id or ``eid:<externalId>``): only the fields sent change."""
        self.call(
            "PATCH",
            f"record/v1/{record_type}/{quote(record_id, safe=':')}",
            operation=operation,
            record_id=record_id,
            json_body=dict(body),
        )

    def create_record_once(
        self, record_type: str, idempotency_key: str, body: Mapping[str, Any], *, operation: str | None = None
    ) -> Created:
        """The record whose externalId comes from ``idempotency_key``: found, or created by upsert."""
        operation = operation or f"create_{record_type}"
        eid = external_id(idempotency_key)
        path = f"record/v1/{record_type}/eid:{quote(eid, safe='')}"
        found = self.call("GET", path, operation=operation, record_id=eid, allow=(404,))
        if found.status == 200:
            existing = found.json() or {}
            return Created(str(existing.get("id")), created=False, details={"external_id": eid})
        response = self.call(
            "PUT", path, operation=operation, record_id=eid, json_body={**body, "externalId": eid}
        )
        location = response.header("location") or ""
        new_id = location.rstrip("/").rsplit("/", 1)[-1]
        if not _INTERNAL_ID.match(new_id):
            again = self.get_record(record_type, f"eid:{eid}", operation=operation)
            new_id = str(again.get("id"))
        return Created(new_id, created=True, details={"external_id": eid})


# ------------------------------------------------------------------------------------------------------------
# ERP
# ------------------------------------------------------------------------------------------------------------


def suiteql_literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def in_list_chunks(values: Sequence[str], size: int = IN_LIST_CHUNK) -> Iterator[list[str]]:
    """The values (SuiteQL literals or internal ids) in chunks an ``IN (...)`` list accepts."""
    for start in range(0, len(values), size):
        yield list(values[start : start + size])


def _address(row: Mapping[str, Any]) -> dict[str, Any] | None:
    """The default billing address columns of a SuiteQL row, when complete enough for an ``Address``."""
    country = row.get("country")
    if not (row.get("addr1") and row.get("city") and isinstance(country, str) and len(country) == 2):
        return None
    return {
        "line1": row["addr1"],
        "line2": row.get("addr2") or None,
        "city": row["city"],
        "region": row.get("state") or None,
        "postal_code": row.get("zip") or None,
        "country": country,
    }


def _address_book(address: Address) -> dict[str, Any]:
    """The record API's address sublist with one address, the default for billing and shipping."""
    return {
        "items": [
            {
                "defaultBilling": True,
                "defaultShipping": True,
                "addressBookAddress": {
                    "addr1": address.line1,
                    "addr2": address.line2,
                    "city": address.city,
                    "state": address.region,
                    "zip": address.postal_code,
                    "country": {"id": address.country},
                },
            }
        ]
    }


def _person_name(row: Mapping[str, Any]) -> str | None:
    return " ".join(str(p) for p in (row.get("firstname"), row.get("lastname")) if p) or row.get("entityid")


def _page_offset(page_token: str | None) -> int:
    return int(page_token) if page_token and page_token.isdigit() else 0


def _entity_query(table: str, columns: str, extra: str, where: str) -> str:
    """A customer or vendor SuiteQL query with its currency code, terms and default billing address."""
    return (
        f"SELECT e.id, e.entityid, e.companyname, e.isperson, e.firstname, e.lastname, e.email, {columns}"
        "e.isinactive, e.externalid, cur.symbol AS currency, t.daysuntilnetdue AS terms_days, "
        f"a.addr1, a.addr2, a.city, a.state, a.zip, a.country{extra} "
        f"FROM {table} e LEFT JOIN currency cur ON cur.id = e.currency LEFT JOIN term t ON t.id = e.terms "
        "LEFT JOIN entityaddress a ON a.nkey = e.defaultbillingaddress"
        + (f" WHERE {where}" if where else "")
        + " ORDER BY e.id"
    )


def _where_id(record_id: str) -> str:
    if _INTERNAL_ID.match(record_id):
        return f"e.id = {record_id}"
    return f"e.externalid = {suiteql_literal(record_id)}"


def _record_key(record_id: str) -> str:
    """The record API's key for an id the workflow holds: an internal id as is, anything else as its externalId."""
    return record_id if _INTERNAL_ID.match(record_id) else f"eid:{record_id}"


def _ref_id(value: Any) -> str | None:
    """The id of a reference field as the record API gives it (``{"id": ..., "refName": ...}``)."""
    if isinstance(value, dict):
        found = value.get("id")
        return str(found) if found is not None else None
    return str(value) if value not in (None, "") else None


def _field(record: Mapping[str, Any], name: str) -> Any:
    """A field of a record by its id in any case (``rateCardPricingMulti`` is ``ratecardpricingmulti``)."""
    for key, value in record.items():
        if key.lower() == name:
            return value
    return None


def _sublist(record: Mapping[str, Any], name: str) -> list[Mapping[str, Any]]:
    """The lines of an expanded sublist (``{"items": [...]}``); none when absent or not expanded."""
    found = _field(record, name)
    items = found.get("items") if isinstance(found, dict) else None
    return [item for item in items if isinstance(item, Mapping)] if isinstance(items, list) else []


def _invoice_status(*, cancelled: bool, pending: bool, total: Decimal, remaining: Decimal) -> str:
    """The canonical status of an invoice: rejected or voided, pending approval (NetSuite's draft), else by what
    it still owes."""
    if cancelled:
        return "cancelled"
    if pending:
        return "draft"
    if remaining <= 0 < total:
        return "paid"
    if remaining < total:
        return "partly_paid"
    return "posted"


def _suiteql_date(value: date) -> str:
    return f"TO_DATE('{value.isoformat()}', 'YYYY-MM-DD')"


def _netsuite_date(value: Any) -> date:
    """A SuiteQL date column: ISO, or the account's default ``M/D/YYYY``."""
    text = str(value).strip()
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
        return date.fromisoformat(text)
    month, day, year = (int(part) for part in text.split("/"))
    return date(year, month, day)


class NetSuiteErp:
    """``ErpPort`` on NetSuite: customers and vendors read with SuiteQL and created through the record API by
    externalId; a vendor created on hold is released by clearing its hold field; invoices created pending approval
    and posted by approving them."""

    system = SYSTEM

    def __init__(self, api: NetSuiteApi) -> None:
        self.api = api
        self._currency_ids: dict[str, str] = {}
        self._term_ids: dict[int, str | None] = {}

    # -- customers ----------------------------------------------------------------------------------------------

    def _customer_query(self, where: str = "") -> str:
        field = self.api.settings.customer_tax_id_field
        return _entity_query(
            "customer",
            "e.creditlimit, e.creditholdoverride, ",
            f", e.{field.lower()} AS tax_id" if field else "",
            where,
        )

    def list_customers(self, page_token: str | None = None) -> Page[Client]:
        rows, following = self.api.suiteql_page(
            self._customer_query(), offset=_page_offset(page_token), operation="list_customers"
        )
        return Page([self._client(row) for row in rows], str(following) if following is not None else None)

    def get_customer(self, customer_id: str) -> Client:
        for row in self.api.suiteql(self._customer_query(_where_id(customer_id)), operation="get_customer"):
            return self._client(row)
        raise tagged(RecordNotFound(f"netsuite has no customer {customer_id}"), SYSTEM)

    def create_customer(self, client: Client, *, idempotency_key: str) -> Created:
        settings = self.api.settings
        body = self._entity_body(
            client.customer_type, client.customer_name, client.default_currency, client.payment_terms_days
        )
        if client.customer_type != "individual":
            body["companyName"] = client.customer_name
        if client.billing_email:
            body["email"] = client.billing_email
        if client.credit_limit is not None:
            body["creditLimit"] = client.credit_limit
        if settings.customer_tax_id_field and client.tax_id is not None:
            body[settings.customer_tax_id_field] = client.tax_id.get_secret_value()
        if client.address is not None:
            body["addressBook"] = _address_book(client.address)
        return self.api.create_record_once("customer", idempotency_key, body, operation="create_customer")

    def _client(self, row: Mapping[str, Any]) -> Client:
        person = row.get("isperson") == "T"
        name = row.get("companyname") if not person else None
        email, terms, credit = row.get("email"), row.get("terms_days"), row.get("creditlimit")
        body = {
            "id": str(row.get("id")),
            "customer_name": name or _person_name(row),
            "customer_type": "individual" if person else "company",
            "tax_id": row.get("tax_id") or None,
            "default_currency": row.get("currency") or self.api.settings.default_currency,
            "payment_terms_days": int(terms) if terms not in (None, "") else None,
            "credit_limit": Decimal(str(credit)) if credit not in (None, "") else None,
            "is_frozen": row.get("creditholdoverride") == "ON",
            "disabled": row.get("isinactive") == "T",
            # A malformed e-mail or address in the ERP must not hide the customer from matching: it is left out.
            "billing_email": email if isinstance(email, str) and _EMAIL.match(email) else None,
            "address": _address(row),
        }
        return self._load(Client, body, "customer", row)

    # -- vendors ------------------------------------------------------------------------------------------------

    def _vendor_query(self, where: str = "") -> str:
        settings = self.api.settings
        tax = f", e.{settings.vendor_tax_id_field.lower()} AS tax_id" if settings.vendor_tax_id_field else ""
        expiry = settings.vendor_insurance_expiry_field
        insurance = f", e.{expiry.lower()} AS insurance_expires_on" if expiry else ""
        return _entity_query(
            "vendor",
            "e.legalname, e.phone, ",
            f"{tax}, e.{settings.vendor_hold_field.lower()} AS on_hold{insurance}",
            where,
        )

    def list_vendors(self, page_token: str | None = None) -> Page[Vendor]:
        rows, following = self.api.suiteql_page(
            self._vendor_query(), offset=_page_offset(page_token), operation="list_vendors"
        )
        return Page([self._vendor(row) for row in rows], str(following) if following is not None else None)

    def get_vendor(self, vendor_id: str) -> Vendor:
        for row in self.api.suiteql(self._vendor_query(_where_id(vendor_id)), operation="get_vendor"):
            return self._vendor(row)
        raise tagged(RecordNotFound(f"netsuite has no vendor {vendor_id}"), SYSTEM)

    def create_vendor(self, vendor: Vendor, *, idempotency_key: str) -> Created:
        """The vendor, with the hold field set when ``vendor.on_hold`` (as the approval workflow creates it)."""
        settings = self.api.settings
        body = self._entity_body(
            vendor.supplier_type, vendor.supplier_name, vendor.default_currency, vendor.payment_terms_days
        )
        body["legalName"] = vendor.supplier_name
        if vendor.supplier_type != "individual":
            body["companyName"] = vendor.doing_business_as or vendor.supplier_name
        if vendor.email:
            body["email"] = vendor.email
        if vendor.phone:
            body["phone"] = vendor.phone
        if settings.vendor_tax_id_field and vendor.tax_id is not None:
            body[settings.vendor_tax_id_field] = vendor.tax_id.get_secret_value()
        if vendor.address is not None:
            body["addressBook"] = _address_book(vendor.address)
        body[settings.vendor_hold_field] = vendor.on_hold or vendor.disabled
        if settings.vendor_insurance_expiry_field and vendor.insurance_expires_on is not None:
            body[settings.vendor_insurance_expiry_field] = vendor.insurance_expires_on.isoformat()
        return self.api.create_record_once("vendor", idempotency_key, body, operation="create_vendor")

    def release_vendor(self, vendor_id: str) -> None:
        record_id = vendor_id if _INTERNAL_ID.match(vendor_id) else f"eid:{vendor_id}"
        self.api.update_record(
            "vendor", record_id, {self.api.settings.vendor_hold_field: False}, operation="release_vendor"
        )

    def _vendor(self, row: Mapping[str, Any]) -> Vendor:
        settings = self.api.settings
        person = row.get("isperson") == "T"
        legal = (row.get("legalname") or row.get("companyname")) if not person else None
        legal = legal or _person_name(row)
        company = row.get("companyname")
        on_hold = row.get("on_hold") == "T"
        email, phone, terms = row.get("email"), row.get("phone"), row.get("terms_days")
        body = {
            "id": str(row.get("id")),
            "supplier_name": legal,
            "doing_business_as": company if company and company != legal else None,
            "supplier_type": "individual" if person else "company",
            "tax_id": row.get("tax_id") or None,
            "default_currency": row.get("currency") or settings.default_currency,
            "payment_terms_days": int(terms) if terms not in (None, "") else None,
            "email": email if isinstance(email, str) and _EMAIL.match(email) else None,
            "phone": phone if isinstance(phone, str) and 3 <= len(phone) <= 40 else None,
            "address": _address(row),
            "on_hold": on_hold,
            "hold_type": "all" if on_hold else None,
            # With the default hold field an inactive vendor is one on hold, not a disabled one.
            "disabled": row.get("isinactive") == "T" and settings.vendor_hold_field.lower() != "isinactive",
            "insurance_expires_on": (
                _netsuite_date(row["insurance_expires_on"]) if row.get("insurance_expires_on") else None
            ),
        }
        return self._load(Vendor, body, "vendor", row)

    # -- invoicing ---------------------------------------------------------------------------------------------

    def customer_balance(self, customer_id: str) -> Decimal:
        for row in self.api.suiteql(
            f"SELECT e.id, e.balancesearch AS balance FROM customer e WHERE {_where_id(customer_id)}",
            operation="customer_balance",
        ):
            balance = row.get("balance")
            return Decimal(str(balance)) if balance not in (None, "") else Decimal(0)
        raise tagged(RecordNotFound(f"netsuite has no customer {customer_id}"), SYSTEM)

    def tax_template(self, customer_id: str) -> str | None:
        field = self.api.settings.customer_tax_template_field
        if field is None:
            return None
        record = self.api.get_record(
            "customer", _record_key(customer_id), operation="tax_template", params={"fields": field}
        )
        value = record.get(field)
        if isinstance(value, dict):
            value = value.get("refName") or value.get("id")
        return str(value) if value not in (None, "") else None

    def purchase_order(self, customer_id: str, project_id: str) -> PurchaseOrder | None:
        settings = self.api.settings
        customer = self._customer_internal_id(customer_id)
        orders = self.api.suiteql_page(
            "SELECT t.id, t.otherrefnum, t.trandate, t.foreigntotal, cur.symbol AS currency FROM transaction t "
            "LEFT JOIN currency cur ON cur.id = t.currency "
            f"WHERE t.type = 'SalesOrd' AND t.entity = {customer} "
            f"AND t.{settings.invoice_project_field.lower()} = {suiteql_literal(project_id)} "
            # Closed (H) and cancelled (C) orders no longer carry a purchase order to bill against.
            "AND t.otherrefnum IS NOT NULL AND t.status NOT IN ('C', 'H') "
            "ORDER BY t.trandate DESC, t.id DESC",
            limit=1,
            operation="find_purchase_order",
        )[0]
        if not orders:
            return None
        order = orders[0]
        po_no = str(order["otherrefnum"])
        invoiced = Decimal(0)
        for row in self.api.suiteql(
            "SELECT SUM(t.foreigntotal) AS invoiced FROM transaction t "
            f"WHERE t.type = 'CustInvc' AND t.entity = {customer} AND t.otherrefnum = {suiteql_literal(po_no)} "
            f"AND t.approvalstatus = {_APPROVED} AND t.voided = 'F'",
            operation="purchase_order_invoiced",
        ):
            if row.get("invoiced") not in (None, ""):
                invoiced = Decimal(str(row["invoiced"]))
        try:
            return PurchaseOrder(
                po_no=po_no,
                po_date=_netsuite_date(order["trandate"]),
                balance=Decimal(str(order.get("foreigntotal") or 0)) - invoiced,
                currency=str(order.get("currency") or settings.default_currency),
            )
        except (ValidationError, ValueError):
            raise tagged(
                RecordUnmappable(f"netsuite sales order {order.get('id')} does not fit PurchaseOrder"), SYSTEM
            ) from None

    def find_invoice(self, project_id: str, period_start: date, period_end: date) -> Invoice | None:
        settings = self.api.settings
        rows, _ = self.api.suiteql_page(
            "SELECT t.id FROM transaction t WHERE t.type = 'CustInvc' "
            f"AND t.{settings.invoice_project_field.lower()} = {suiteql_literal(project_id)} "
            f"AND t.{settings.invoice_period_start_field.lower()} = {_suiteql_date(period_start)} "
            f"AND t.{settings.invoice_period_end_field.lower()} = {_suiteql_date(period_end)} "
            f"AND t.approvalstatus IN ({_PENDING_APPROVAL}, {_APPROVED}) AND t.voided = 'F' ORDER BY t.id",
            limit=1,
            operation="find_invoice",
        )
        return self._get_invoice(str(rows[0]["id"])) if rows else None

    def create_invoice(self, invoice: Invoice, *, idempotency_key: str) -> Created:
        """The invoice, pending approval (NetSuite's draft), upserted by the externalId of the key."""
        settings = self.api.settings
        body: dict[str, Any] = {
            "entity": {"id": self._customer_internal_id(invoice.client_id)},
            "tranDate": invoice.posting_date.isoformat(),
            "dueDate": invoice.due_date.isoformat(),
            "approvalStatus": {"id": _PENDING_APPROVAL},
            "item": {"items": [self._invoice_line(line) for line in invoice.lines]},
        }
        currency_id = self._currency_id(invoice.currency)
        if currency_id:
            body["currency"] = {"id": currency_id}
        if invoice.conversion_rate != 1:
            body["exchangeRate"] = invoice.conversion_rate
        if invoice.po_no:
            body["otherRefNum"] = invoice.po_no
        if invoice.project_id:
            body[settings.invoice_project_field] = invoice.project_id
        if invoice.period_start:
            body[settings.invoice_period_start_field] = invoice.period_start.isoformat()
        if invoice.period_end:
            body[settings.invoice_period_end_field] = invoice.period_end.isoformat()
        return self.api.create_record_once("invoice", idempotency_key, body, operation="create_invoice")

    def post_invoice(self, invoice_id: str) -> Invoice:
        key = _record_key(invoice_id)
        record = self._invoice_record(key)
        status = _ref_id(record.get("approvalStatus"))
        if status == _REJECTED:
            raise tagged(
                ConnectorRequestRejected(f"netsuite post_invoice: invoice {invoice_id} was rejected"), SYSTEM
            )
        if status != _APPROVED:
            self.api.update_record(
                "invoice", key, {"approvalStatus": {"id": _APPROVED}}, operation="post_invoice"
            )
            record = self._invoice_record(key)
        return self._invoice(record)

    def _invoice_record(self, key: str) -> dict[str, Any]:
        return self.api.get_record(
            "invoice", key, operation="get_invoice", params={"expandSubResources": "true"}
        )

    def _get_invoice(self, invoice_id: str) -> Invoice:
        return self._invoice(self._invoice_record(_record_key(invoice_id)))

    def _customer_internal_id(self, customer_id: str) -> str:
        if _INTERNAL_ID.match(customer_id):
            return customer_id
        for row in self.api.suiteql(
            f"SELECT e.id FROM customer e WHERE {_where_id(customer_id)}", operation="find_customer"
        ):
            return str(row["id"])
        raise tagged(RecordNotFound(f"netsuite has no customer {customer_id}"), SYSTEM)

    def _invoice_line(self, line: Any) -> dict[str, Any]:
        settings = self.api.settings
        item_id = settings.invoice_item_ids.get(line.source) or settings.invoice_default_item_id
        if item_id is None:
            raise tagged(
                ConnectorNotConfigured(
                    f"netsuite create_invoice: no service item for {line.source} lines "
                    "(invoice_item_ids or invoice_default_item_id)"
                ),
                SYSTEM,
            )
        body: dict[str, Any] = {
            "item": {"id": item_id},
            "description": line.description,
            "quantity": line.quantity,
            "rate": line.rate,
            "amount": line.amount,
        }
        if settings.invoice_line_source_field:
            body[settings.invoice_line_source_field] = line.source
        if settings.invoice_line_refs_field and line.source_ids:
            body[settings.invoice_line_refs_field] = ",".join(line.source_ids)
        return body

    def _invoice(self, record: Mapping[str, Any]) -> Invoice:
        settings = self.api.settings
        lines = []
        sublist = record.get("item")
        for item in (sublist or {}).get("items", []) if isinstance(sublist, dict) else []:
            lines.append(
                self._line_body(
                    source=item.get(settings.invoice_line_source_field)
                    if settings.invoice_line_source_field
                    else None,
                    item_id=_ref_id(item.get("item")),
                    refs=item.get(settings.invoice_line_refs_field)
                    if settings.invoice_line_refs_field
                    else None,
                    description=item.get("description") or (item.get("item") or {}).get("refName"),
                    quantity=item.get("quantity", 1),
                    rate=item.get("rate", item.get("amount", 0)),
                    amount=item.get("amount", 0),
                )
            )
        approval = _ref_id(record.get("approvalStatus"))
        total = Decimal(str(record.get("total") or 0))
        remaining = Decimal(str(record.get("amountRemaining", total)))
        status_name = str(_ref_id(record.get("status")) or "").lower()
        status = _invoice_status(
            cancelled=approval == _REJECTED or status_name in ("voided", "rejected"),
            pending=approval == _PENDING_APPROVAL or status_name == "pending approval",
            total=total,
            remaining=remaining,
        )
        tax_item = record.get("taxItem")
        body = {
            "id": str(record.get("id")),
            "invoice_number": record.get("tranId") if status != "draft" else None,
            "client_id": str(_ref_id(record.get("entity")) or ""),
            "project_id": record.get(settings.invoice_project_field),
            # The reference's refName is the currency's name ("US Dollar"); its code is the symbol.
            "currency": self._currency_code(str(_ref_id(record.get("currency")) or "")),
            "conversion_rate": record.get("exchangeRate") or 1,
            "posting_date": record.get("tranDate"),
            "due_date": record.get("dueDate") or record.get("tranDate"),
            "period_start": record.get(settings.invoice_period_start_field),
            "period_end": record.get(settings.invoice_period_end_field),
            "po_no": record.get("otherRefNum") or None,
            "taxes_and_charges": tax_item.get("refName") if isinstance(tax_item, dict) else None,
            "lines": lines,
            "net_total": record.get("subtotal", total),
            "tax_total": record.get("taxTotal") or 0,
            "grand_total": total,
            "outstanding_amount": remaining,
            "status": status,
        }
        return self._load(Invoice, body, "invoice", record)

    def _line_body(
        self,
        *,
        source: Any,
        item_id: str | None,
        refs: Any,
        description: Any,
        quantity: Any,
        rate: Any,
        amount: Any,
    ) -> dict[str, Any]:
        """An invoice line as ``create_invoice`` wrote it: its source and source ids from the custom columns, else
        the source its service item stands for (``invoice_item_ids``), else a fee."""
        if source not in _LINE_SOURCES:
            by_item = {item: known for known, item in self.api.settings.invoice_item_ids.items()}
            source = by_item.get(str(item_id), "fee")
        return {
            "source": source,
            "source_ids": [r for r in str(refs or "").split(",") if r],
            "description": description or source,
            "quantity": quantity,
            "rate": rate,
            "amount": amount,
        }

    # -- finance close ------------------------------------------------------------------------------------------

    def list_invoices(self, start: date, end: date, page_token: str | None = None) -> Page[Invoice]:
        """A page of the invoices dated (``trandate``) in the period that were approved (posted) or rejected, and
        of the credit memos (``CustCred``, which have no approval) dated in it, with their lines: two SuiteQL
        queries a page, the headers then the lines of all of them (``transactionline``), instead of one record
        read per invoice; a third for the projects of the invoices credit memos were created from, when a memo
        has none of its own.

        A credit memo is an ``Invoice`` whose lines and totals are negative: each line keeps the source of what it
        credits (time, fee, ... as NetSuite copies the column from the invoice, else by its item), so revenue
        recognition's billed to date nets it and a credited expense stays pass-through; it keeps no source ids (it
        bills no PSA line: the ids copied from the invoice would show them billed twice). Its project is its own
        project field, else that of the invoice it was created from (``createdfrom``): a credit memo of an
        invoice refers to that invoice's project. Its status is by what it has applied (fully: paid)."""
        settings = self.api.settings
        custom = (
            settings.invoice_project_field,
            settings.invoice_period_start_field,
            settings.invoice_period_end_field,
        )
        rows, following = self.api.suiteql_page(
            "SELECT t.id, t.type, t.tranid, t.entity, t.trandate, t.duedate, t.exchangerate, t.otherrefnum, "
            "t.foreigntotal, t.foreignamountunpaid, t.approvalstatus, t.voided, t.status, t.createdfrom, "
            + "".join(f"t.{field.lower()}, " for field in custom)
            + "cur.symbol AS currency FROM transaction t LEFT JOIN currency cur ON cur.id = t.currency "
            f"WHERE t.type IN ('{_INVOICE}', '{_CREDIT_MEMO}') AND t.trandate >= {_suiteql_date(start)} "
            f"AND t.trandate <= {_suiteql_date(end)} "
            # Pending approval is NetSuite's draft: not posted, so not the period's. Credit memos have no approval.
            f"AND (t.type = '{_CREDIT_MEMO}' OR t.approvalstatus IN ({_APPROVED}, {_REJECTED})) ORDER BY t.id",
            offset=_page_offset(page_token),
            operation="list_invoices",
        )
        lines = self._invoice_lines([str(row.get("id")) for row in rows])
        project_field = settings.invoice_project_field.lower()
        credited = self._invoice_projects(
            [
                str(row["createdfrom"])
                for row in rows
                if row.get("type") == _CREDIT_MEMO and not row.get(project_field) and row.get("createdfrom")
            ]
        )
        return Page(
            [
                self._invoice_of_row(
                    row, lines.get(str(row.get("id")), []), credited.get(str(row.get("createdfrom")))
                )
                for row in rows
            ],
            str(following) if following is not None else None,
        )

    def _invoice_lines(self, invoice_ids: Sequence[str]) -> dict[str, list[dict[str, Any]]]:
        """The item lines of the invoices, by invoice id, in line order (every page of them)."""
        ids = [i for i in invoice_ids if _INTERNAL_ID.match(i)]
        settings = self.api.settings
        custom = [f for f in (settings.invoice_line_source_field, settings.invoice_line_refs_field) if f]
        found: dict[str, list[dict[str, Any]]] = {}
        for chunk in in_list_chunks(ids):
            for row in self.api.suiteql(
                "SELECT tl.transaction, tl.linesequencenumber, tl.item, tl.memo, tl.quantity, tl.rate, "
                "tl.foreignamount" + "".join(f", tl.{field.lower()}" for field in custom) + " "
                f"FROM transactionline tl WHERE tl.transaction IN ({', '.join(chunk)}) "
                "AND tl.mainline = 'F' AND tl.taxline = 'F' ORDER BY tl.transaction, tl.linesequencenumber",
                operation="list_invoice_lines",
            ):
                found.setdefault(str(row.get("transaction")), []).append(row)
        return found

    def _invoice_projects(self, invoice_ids: Sequence[str]) -> dict[str, str]:
        """The project (``invoice_project_field``) of each invoice that has one, by internal id."""
        ids = sorted({i for i in invoice_ids if _INTERNAL_ID.match(i)}, key=int)
        field = self.api.settings.invoice_project_field.lower()
        found: dict[str, str] = {}
        for chunk in in_list_chunks(ids):
            for row in self.api.suiteql(
                f"SELECT t.id, t.{field} FROM transaction t WHERE t.id IN ({', '.join(chunk)}) ORDER BY t.id",
                operation="list_credited_invoices",
            ):
                if row.get(field):
                    found[str(row.get("id"))] = str(row[field])
        return found

    def _invoice_of_row(
        self,
        row: Mapping[str, Any],
        line_rows: Sequence[Mapping[str, Any]],
        credited_project: str | None = None,
    ) -> Invoice:
        """An invoice, or a credit memo, from its SuiteQL header and line rows. ``transactionline`` keeps the item
        lines with the sign of their posting (an invoice's income is a credit, a credit memo's a debit): quantity
        and amount read negated, so a credit memo's come out negative; the rate as is. A credit memo's totals are
        a credit whatever sign the header gives them."""
        settings = self.api.settings
        credit = row.get("type") == _CREDIT_MEMO
        source_field = (settings.invoice_line_source_field or "").lower()
        refs_field = (settings.invoice_line_refs_field or "").lower()
        lines = []
        for line in line_rows:
            amount = -Decimal(str(line.get("foreignamount") or 0))
            quantity = line.get("quantity")
            lines.append(
                self._line_body(
                    source=line.get(source_field) if source_field else None,
                    item_id=line.get("item"),
                    refs=line.get(refs_field) if refs_field and not credit else None,
                    description=line.get("memo"),
                    quantity=-Decimal(str(quantity)) if quantity not in (None, "") else Decimal(1),
                    rate=line.get("rate") if line.get("rate") not in (None, "") else amount,
                    amount=amount,
                )
            )
        net = sum((Decimal(str(line["amount"])) for line in lines), Decimal(0))
        total = Decimal(str(row.get("foreigntotal") or 0))
        remaining = Decimal(str(row.get("foreignamountunpaid", total)))
        approval = str(row.get("approvalstatus") or "")
        cancelled = approval == _REJECTED or row.get("voided") == "T" or row.get("status") == "V"
        if credit:
            # What is left to apply of the credit, against its size: fully applied reads as paid.
            status = _invoice_status(
                cancelled=cancelled, pending=False, total=abs(total), remaining=abs(remaining)
            )
            total, remaining = -abs(total), -abs(remaining)
            # The tax credited, as a size: the model's tax_total is not signed.
            tax = max(abs(total) - abs(net), Decimal(0))
        else:
            status = _invoice_status(
                cancelled=cancelled, pending=approval == _PENDING_APPROVAL, total=total, remaining=remaining
            )
            tax = max(total - net, Decimal(0))

        def day(column: str) -> str | None:
            value = row.get(column.lower())
            return _netsuite_date(value).isoformat() if value not in (None, "") else None

        body = {
            "id": str(row.get("id")),
            "invoice_number": row.get("tranid") if status != "draft" else None,
            "client_id": str(row.get("entity") or ""),
            "project_id": row.get(settings.invoice_project_field.lower()) or credited_project,
            "currency": row.get("currency") or settings.default_currency,
            "conversion_rate": row.get("exchangerate") or 1,
            "posting_date": day("trandate"),
            "due_date": day("duedate") or day("trandate"),
            "period_start": day(settings.invoice_period_start_field),
            "period_end": day(settings.invoice_period_end_field),
            "po_no": row.get("otherrefnum") or None,
            "lines": lines,
            "net_total": net,
            "tax_total": tax,
            "grand_total": total,
            "outstanding_amount": remaining,
            "status": status,
        }
        return self._load(Invoice, body, "invoice", row)

    # -- receivables --------------------------------------------------------------------------------------------

    def list_payments(self, start: date, end: date, page_token: str | None = None) -> Page[Payment]:
        """A page of the customer payments (``CustPymt``) and credit memos (``CustCred``) changed in the period
        (``lastmodifieddate``: applying cash received on account, or a memo of another month, to an invoice changes
        the payment or memo, whatever day it is dated), each dated by its own ``trandate``, one row per invoice it
        was applied to: SuiteQL over ``NextTransactionLineLink`` (the join
        NetSuite keeps between a transaction and those that follow from it; ``previousdoc`` the invoice,
        ``nextdoc`` the payment or memo, ``foreignamount`` what it applied, in the transaction's currency; link
        type ``Payment`` for both), ordered by payment then invoice so pages neither skip nor repeat rows. Voided
        payments and memos are left out; a memo not applied to an invoice has no link row, so none comes back.

        Caveats, as for the other reads: SuiteQL answers column names in lower case and dates in the account's
        format (``_netsuite_date``); ``foreignamount`` carries the sign of the link's posting, read as a size; the
        memo's text is the transaction's ``memo``."""
        rows, following = self.api.suiteql_page(
            "SELECT t.id, t.type, t.entity, t.trandate, t.memo, l.previousdoc, l.foreignamount, "
            "cur.symbol AS currency FROM NextTransactionLineLink l JOIN transaction t ON t.id = l.nextdoc "
            "LEFT JOIN currency cur ON cur.id = t.currency "
            f"WHERE l.previoustype = '{_INVOICE}' AND l.linktype = 'Payment' "
            f"AND t.type IN ('{_PAYMENT}', '{_CREDIT_MEMO}') AND t.voided = 'F' "
            f"AND t.lastmodifieddate >= {_suiteql_date(start)} "
            f"AND t.lastmodifieddate <= {_suiteql_date(end + timedelta(days=1))} "
            "ORDER BY t.id, l.previousdoc",
            offset=_page_offset(page_token),
            operation="list_payments",
        )
        settings = self.api.settings
        payments = []
        for row in rows:
            credit = row.get("type") == _CREDIT_MEMO
            day = _netsuite_date(row.get("trandate")).isoformat()
            body = {
                "kind": "credit_memo" if credit else "payment",
                "id": str(row.get("id")),
                "invoice_id": str(row.get("previousdoc") or ""),
                "client_id": str(row.get("entity") or ""),
                "amount": abs(Decimal(str(row.get("foreignamount") or 0))),
                "currency": row.get("currency") or settings.default_currency,
                "credited_on" if credit else "paid_on": day,
                "memo": row.get("memo") or None,
            }
            payments.append(self._load(Payment, body, "payment", row))
        return Page(payments, str(following) if following is not None else None)

    @property
    def _project_id_field(self) -> str:
        return self.api.settings.project_id_field.lower()

    def _job_query(self, where: str = "") -> str:
        field = self._project_id_field
        return (
            "SELECT j.id, j.entityid, "
            + (f"j.{field}, " if field != "entityid" else "")
            + "j.companyname, j.customer, j.entitystatus, j.jobbillingtype, j.startdate, "
            "j.projectedenddate, cur.symbol AS currency FROM job j LEFT JOIN currency cur ON cur.id = j.currency"
            + (f" WHERE {where}" if where else "")
            + " ORDER BY j.id"
        )

    def list_projects(self, page_token: str | None = None) -> Page[Project]:
        """A page of the projects (``job`` records): the project id is the PSA's (``project_id_field``: by default
        ``entityid``, the project code), as the invoices' project field is; the client is the project's customer
        (NetSuite's internal id)."""
        rows, following = self.api.suiteql_page(
            self._job_query(), offset=_page_offset(page_token), operation="list_projects"
        )
        return Page([self._project(row) for row in rows], str(following) if following is not None else None)

    def _project(self, row: Mapping[str, Any]) -> Project:
        settings = self.api.settings

        def day(column: str) -> str | None:
            value = row.get(column)
            return _netsuite_date(value).isoformat() if value not in (None, "") else None

        body = {
            "id": row.get(self._project_id_field) or row.get("entityid"),
            "project_name": row.get("companyname") or row.get("entityid"),
            "client_id": str(row.get("customer") or ""),
            "status": settings.project_statuses.get(str(row.get("entitystatus") or ""), "open"),
            "billing_model": settings.project_billing_types.get(
                str(row.get("jobbillingtype") or ""), "time_and_materials"
            ),
            "currency": row.get("currency") or settings.default_currency,
            "expected_start_date": day("startdate"),
            "expected_end_date": day("projectedenddate"),
        }
        project: Project = self._load(Project, body, "project", row)
        return project

    def project_rate_card(self, project_id: str) -> RateCard | None:
        """The project's billing rate card (``billingratecard``: a price per billing class and currency); None when
        the project has none (the customer's default card only fills a new project's field), or no project has
        this id. A line's role is the billing class; a card holds no cost rates (0) and no dates (it applies from
        the project's start)."""
        rows, _ = self.api.suiteql_page(
            "SELECT j.id, j.startdate, j.billingratecard AS rate_card FROM job j "
            f"WHERE j.{self._project_id_field} = {suiteql_literal(project_id)} ORDER BY j.id",
            limit=1,
            operation="project_rate_card",
        )
        if not rows:
            return None
        job = rows[0]
        card_id = str(job.get("rate_card") or "")
        if not _INTERNAL_ID.match(card_id):
            return None
        record = self.api.get_record(
            "billingratecard", card_id, operation="project_rate_card", params={"expandSubResources": "true"}
        )
        settings = self.api.settings
        # ratecardpricingmulti with the Multiple Currencies feature, ratecardpricing without it.
        prices = _sublist(record, "ratecardpricingmulti") or _sublist(record, "ratecardpricing")
        lines: dict[tuple[str | None, str], dict[str, Any]] = {}
        for price in prices:
            billing_class = _field(price, "billingclass")
            role = billing_class.get("refName") if isinstance(billing_class, dict) else billing_class
            currency_id = _ref_id(_field(price, "currency"))
            currency = self._currency_code(currency_id) if currency_id else settings.default_currency
            key = (str(role) if role else None, currency)
            lines[key] = {
                "role": key[0],
                "activity_type": settings.rate_card_activity_type,
                "currency": currency,
                "billing_rate": _field(price, "price") or _field(price, "rate") or 0,
                "costing_rate": 0,
            }
        if not lines:
            return None
        start = job.get("startdate")
        body = {
            "id": str(record.get("id") or card_id),
            "name": record.get("name") or f"billing rate card {card_id}",
            "client_id": _ref_id(record.get("customer")),
            "effective_date": _netsuite_date(start).isoformat() if start not in (None, "") else "1970-01-01",
            "lines": list(lines.values()),
        }
        card: RateCard = self._load(RateCard, body, "billing rate card", record)
        return card

    # -- revenue recognition ------------------------------------------------------------------------------------

    def post_journal_entry(self, entry: JournalEntry, *, idempotency_key: str) -> Created:
        """The balanced entry as a ``journalentry``, once per key (its externalId): a second post, or a retry of one
        whose answer was lost, finds the entry booked (``created=False``). Accounts, projects and the currency are
        resolved first: one that NetSuite does not know fails the posting with nothing sent."""
        settings = self.api.settings
        unmapped = sorted({line.account for line in entry.lines} - set(settings.journal_account_ids))
        if unmapped:
            raise tagged(
                ConnectorNotConfigured(
                    f"netsuite post_journal_entry: no NetSuite account for {', '.join(unmapped)} "
                    "(netsuite.journal_account_ids)"
                ),
                SYSTEM,
            )
        currency_id = self._currency_id(entry.currency)
        if currency_id is None:
            raise tagged(
                ConnectorNotConfigured(
                    f"netsuite post_journal_entry: netsuite has no currency {entry.currency}"
                ),
                SYSTEM,
            )
        jobs = self._job_ids(sorted({line.project_id for line in entry.lines if line.project_id}))
        lines = []
        for line in entry.lines:
            item: dict[str, Any] = {
                "account": {"id": settings.journal_account_ids[line.account]},
                line.side: line.amount,
                "memo": line.memo,
            }
            if line.project_id:
                item["entity"] = {"id": jobs[line.project_id]}
            if settings.journal_line_basis_field and line.basis:
                item[settings.journal_line_basis_field] = line.basis
            lines.append(item)
        body: dict[str, Any] = {
            "tranDate": entry.journal_date.isoformat(),
            "currency": {"id": currency_id},
            "memo": entry.memo,
            "line": {"items": lines},
        }
        if settings.subsidiary_id:
            body["subsidiary"] = {"id": settings.subsidiary_id}
        if settings.journal_approved:
            body["approved"] = True
        return self.api.create_record_once(
            "journalentry", idempotency_key, body, operation="post_journal_entry"
        )

    # -- purchasing ----

    def create_purchase_order(self, order: VendorPurchaseOrder, *, idempotency_key: str) -> Created:
        """The vendor's ``purchaseorder``, once per key (its externalId): a retry, also one whose first answer was
        lost, finds the order created (``created`` False). ``details["number"]``: its ``tranId``."""
        settings = self.api.settings
        account = settings.purchase_order_accounts.get(order.category)
        if account is None:
            raise tagged(
                ConnectorNotConfigured(
                    f"netsuite create_purchase_order: no expense account for {order.category} orders "
                    "(netsuite.purchase_order_accounts)"
                ),
                SYSTEM,
            )
        currency_id = self._currency_id(order.currency)
        if currency_id is None:
            raise tagged(
                ConnectorNotConfigured(
                    f"netsuite create_purchase_order: netsuite has no currency {order.currency}"
                ),
                SYSTEM,
            )
        body: dict[str, Any] = {
            "entity": {"id": order.vendor_id},
            "tranDate": order.order_date.isoformat(),
            "currency": {"id": currency_id},
            "memo": order.description[:999],
            settings.invoice_project_field: order.project_id,
            "expense": {
                "items": [
                    {"account": {"id": account}, "amount": order.amount, "memo": order.description[:999]}
                ]
            },
        }
        if order.needed_by is not None:
            body["dueDate"] = order.needed_by.isoformat()
        if settings.subsidiary_id:
            body["subsidiary"] = {"id": settings.subsidiary_id}
        if settings.purchase_order_approved:
            body["approvalStatus"] = {"id": _APPROVED}
        created = self.api.create_record_once(
            "purchaseorder", idempotency_key, body, operation="create_purchase_order"
        )
        record = self.api.get_record(
            "purchaseorder", created.id, operation="create_purchase_order", params={"fields": "tranId"}
        )
        number = str(record.get("tranId") or created.id)
        return Created(created.id, created.created, {**created.details, "number": number})

    def committed_amount(self, project_id: str, currency: str) -> Decimal:
        """What the project's open purchase orders in ``currency`` still commit: each order's total less what the
        vendor bills created from it already billed (a partly billed order counts its unbilled part only; that part
        is in the actual cost once billed), never below 0. Rejected, fully billed and closed orders count nothing."""
        currency_id = self._currency_id(currency)
        if currency_id is None:
            return Decimal(0)
        field = self.api.settings.invoice_project_field.lower()
        totals: dict[str, Decimal] = {}
        for row in self.api.suiteql(
            "SELECT t.id, t.foreigntotal FROM transaction t WHERE t.type = 'PurchOrd' "
            f"AND t.{field} = {suiteql_literal(project_id)} AND t.currency = {currency_id} "
            "AND t.status NOT IN ('C', 'G', 'H') ORDER BY t.id",
            operation="committed_amount",
        ):
            totals[str(row["id"])] = Decimal(str(row.get("foreigntotal") or 0))
        billed = dict.fromkeys(totals, Decimal(0))
        order_ids = [order_id for order_id in totals if _INTERNAL_ID.match(order_id)]
        for chunk in in_list_chunks(order_ids):
            for row in self.api.suiteql(
                "SELECT t.createdfrom, t.foreigntotal FROM transaction t WHERE t.type = 'VendBill' "
                f"AND t.voided = 'F' AND t.createdfrom IN ({', '.join(chunk)})",
                operation="committed_amount",
            ):
                order_id = str(row.get("createdfrom"))
                if order_id in billed:
                    billed[order_id] += abs(Decimal(str(row.get("foreigntotal") or 0)))
        return sum(
            (max(total - billed[order_id], Decimal(0)) for order_id, total in totals.items()), Decimal(0)
        )

    def _job_ids(self, project_ids: Sequence[str]) -> dict[str, str]:
        """The internal id of each project's ``job`` (matched on ``project_id_field``, by default ``entityid``
        the project code), asked for in chunks; a project with none is ``RecordNotFound``."""
        field = self._project_id_field
        found: dict[str, str] = {}
        for chunk in in_list_chunks([suiteql_literal(project_id) for project_id in project_ids]):
            for row in self.api.suiteql(
                f"SELECT j.id, j.{field} FROM job j WHERE j.{field} IN ({', '.join(chunk)}) ORDER BY j.id",
                operation="find_projects",
            ):
                found.setdefault(str(row.get(field)), str(row.get("id")))
        missing = [project_id for project_id in project_ids if project_id not in found]
        if missing:
            raise tagged(
                RecordNotFound(f"netsuite has no project (job) {', '.join(missing)} for the journal"), SYSTEM
            )
        return found

    def _currency_code(self, currency_id: str) -> str:
        for code, known in self._currency_ids.items():
            if known == currency_id:
                return code
        if _INTERNAL_ID.match(currency_id):
            for row in self.api.suiteql(
                f"SELECT id, symbol FROM currency WHERE id = {currency_id}", operation="find_currency"
            ):
                self._currency_ids[str(row["symbol"])] = currency_id
                return str(row["symbol"])
        return self.api.settings.default_currency

    # -- shared -------------------------------------------------------------------------------------------------

    def _entity_body(
        self, party_type: str, name: str, currency: str, terms_days: int | None
    ) -> dict[str, Any]:
        body: dict[str, Any] = {"isPerson": party_type == "individual"}
        if party_type == "individual":
            first, _, last = name.rpartition(" ")
            body.update(firstName=first or last, lastName=last)
        currency_id = self._currency_id(currency)
        if currency_id:
            body["currency"] = {"id": currency_id}
        if terms_days is not None:
            term_id = self._term_id(terms_days)
            if term_id:
                body["terms"] = {"id": term_id}
        if self.api.settings.subsidiary_id:
            body["subsidiary"] = {"id": self.api.settings.subsidiary_id}
        return body

    def _currency_id(self, code: str) -> str | None:
        if code not in self._currency_ids:
            rows = list(
                self.api.suiteql(
                    f"SELECT id FROM currency WHERE symbol = {suiteql_literal(code)}",
                    operation="find_currency",
                )
            )
            if not rows:
                return None
            self._currency_ids[code] = str(rows[0]["id"])
        return self._currency_ids[code]

    def _term_id(self, days: int) -> str | None:
        if days not in self._term_ids:
            rows = list(
                self.api.suiteql(
                    f"SELECT id FROM term WHERE daysuntilnetdue = {int(days)} AND isinactive = 'F' ORDER BY id",
                    operation="find_terms",
                )
            )
            self._term_ids[days] = str(rows[0]["id"]) if rows else None
        return self._term_ids[days]

    @staticmethod
    def _load(model: Any, body: dict[str, Any], what: str, row: Mapping[str, Any]) -> Any:
        try:
            return model.from_json_dict(body)
        except ValidationError as error:
            raise tagged(
                RecordUnmappable(
                    f"netsuite {what} {row.get('id')} does not fit {model.__name__}", readable_errors(error)
                ),
                SYSTEM,
            ) from None
