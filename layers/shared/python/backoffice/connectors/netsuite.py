"""NetSuite (SuiteTalk REST web services): the ERP port.

- Look-ups go through SuiteQL (``POST /services/rest/query/v1/suiteql`` with ``Prefer: transient``, paged with
  ``limit``/``offset`` until ``hasMore`` is false), ordered by id so that pages neither skip nor repeat rows.
- Records go through the record API (``/services/rest/record/v1/<type>/<id>``): customers now; vendors
  (``vendor``), invoices (``invoice``) and projects (``job``) through ``get_record`` / ``create_record_once``.
- Creates are idempotent by ``externalId``: the record is looked up as ``<type>/eid:<externalId>`` and, when absent,
  created with an upsert (``PUT /record/v1/<type>/eid:<externalId>``, 204 + ``Location``), so a retried Lambda never
  makes a second customer and a record people have edited since is not written over.
- Auth: OAuth 2.0 machine to machine (client credentials with a JWT client assertion signed by the certificate's
  private key, PS256 or RS256, ``kid`` = the certificate id; token cached until it expires, fetched again on 401) or
  token-based authentication (OAuth 1.0a, HMAC-SHA256, realm = the account id).
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
from decimal import Decimal
from typing import Any, Literal
from urllib.parse import parse_qsl, quote, urlsplit

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from backoffice.connectors.http import (
    AccessToken,
    ConnectorHttp,
    Governance,
    HttpResponse,
    JwtAlgorithm,
    RecordUnmappable,
    TokenCache,
    build_url,
    error_for_status,
    external_id,
    retry_after_seconds,
    sign_jwt,
    tagged,
    token_from_response,
)
from backoffice.connectors.ports import ConnectorError, ConnectorRateLimited, Created, Page, RecordNotFound
from backoffice.models import Address, Client, Vendor, readable_errors

SYSTEM = "netsuite"
_RATE_LIMIT_CODES = frozenset({"CONCURRENCY_LIMIT_EXCEEDED", "SSS_REQUEST_LIMIT_EXCEEDED"})
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_INTERNAL_ID = re.compile(r"^\d{1,18}$")


class NetSuiteSettings(BaseModel):
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
    governance: Governance = Field(default_factory=Governance)

    @model_validator(mode="after")
    def _m2m_needs_ids(self) -> NetSuiteSettings:
        if self.auth == "m2m" and not (self.client_id and self.certificate_id):
            raise ValueError("machine-to-machine auth needs client_id and certificate_id")
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

    def get_record(self, record_type: str, record_id: str, *, operation: str | None = None) -> dict[str, Any]:
        """A record by internal id, or ``eid:<externalId>``."""
        response = self.call(
            "GET",
            f"record/v1/{record_type}/{quote(record_id, safe=':')}",
            operation=operation or f"get_{record_type}",
            record_id=record_id,
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


class NetSuiteErp:
    """``ErpPort`` on NetSuite: customers and vendors read with SuiteQL and created through the record API by
    externalId; a vendor created on hold is released by clearing its hold field."""

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
        return _entity_query(
            "vendor",
            "e.legalname, e.phone, ",
            f"{tax}, e.{settings.vendor_hold_field.lower()} AS on_hold",
            where,
        )

    def list_vendors(self, page_token: str | None = None) -> Page[Vendor]:
        rows, following = self.api.suiteql_page(
            self._vendor_query(), offset=_page_offset(page_token), operation="list_vendors"
        )
        return Page([self._vendor(row) for row in rows], str(following) if following is not None else None)

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
        }
        return self._load(Vendor, body, "vendor", row)

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
