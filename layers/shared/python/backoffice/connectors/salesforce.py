"""Salesforce (REST API): the CRM port, and the PSA port for firms on Certinia (PSA objects on the same org).

- Reads: records by id (``GET /services/data/vXX.X/sobjects/<object>/<id>?fields=...``) and SOQL
  (``GET .../query?q=...``), following ``nextRecordsUrl`` until ``done``.
- The SOW: files linked to the opportunity (``ContentDocumentLink`` -> latest ``ContentVersion``), the one whose title
  says SOW or statement of work; its ``VersionData`` is downloaded and stored in S3 through the injected uploader.
- Creates are idempotent through an external-id field the firm adds to each object written (default
  ``Backoffice_Key__c``, Text, External ID, Unique): the record is looked up by it and, when absent, created with an
  upsert (``PATCH .../sobjects/<object>/<field>/<value>``), so a retried Lambda never makes a second record and a
  record people have edited since is not written over.
- Auth: OAuth 2.0 client credentials (the connected app's secret, against the org's My Domain) or the JWT bearer
  flow (RS256, the connected app's certificate); the token is cached and fetched again on 401 INVALID_SESSION_ID.
- ``Sforce-Limit-Info`` (``api-usage=18/5000``) is parsed from every response into ``SalesforceApi.api_usage`` and
  passed to an optional ``on_api_usage`` callback (for a metric).
- Failures: 429 and 403 REQUEST_LIMIT_EXCEEDED -> ``ConnectorRateLimited``, 503 and other 5xx ->
  ``ConnectorUnavailable``, timeouts -> ``ConnectorTimeout``, 404 -> ``RecordNotFound``.

Certinia field names beyond the objects of DOMAIN.md (project code, rate and hour fields) differ between orgs and
package versions; each one used is a setting with a default.

Invoicing on Certinia (the ``PsaPort`` invoicing methods):

- Time comes from the timecard *splits* (``pse__Timecard__c``), one ``TimeEntry`` per day with hours
  (``<split id>-<mon|tue|...>``), not from the headers: Certinia splits a weekly timecard at time-period and
  assignment boundaries and bills splits (a project counts its ``pse__Billing_Eligible_Timecard_Splits__c``), so a
  week that straddles a month end is two splits, each billed with its own period, and marking one billed never marks
  days of the other. (``timecard_object`` may name ``pse__Timecard_Header__c`` for an org that bills whole weeks.)
- Expenses are ``pse__Expense__c``; projects ``pse__Proj__c``, those active or ending on or after the period's start.
  What an expense's receipt says (total, date, number, tip) and the card or advance it went on have no standard
  fields: ``expense_fact_fields`` names the org's own, and the anomaly scorer's receipt checks read them.
- The contract of a project is its statement of work, which Certinia keeps on the won opportunity: the contract id
  is the opportunity id (``Project.contract_id``), read as a ``sow`` contract with the project's billing type, dates
  and milestones (the fixed fee is the opportunity amount).
- The rate card is the account's ``pse__Rate_Card__c`` records (one per role), else the org's standard ones (no
  account) in the project's currency; a role with several dated records takes the latest.
- ``mark_billed`` checks ``pse__Billed__c`` and ``pse__Invoiced__c`` (``billed_fields``) on the splits, expenses
  and milestones and writes the ERP invoice id into ``invoice_id_field`` (a Text field the firm adds, like the
  external-id field), so a line read back carries its invoice (BR2); a line billed in Certinia itself reads as
  billed too. A split is billed whole. Lines already billed are left alone, so a retry changes nothing.
- ``return_lines`` sends time back by rejecting its timecard (the header's ``pse__Status__c`` = ``Rejected``;
  Certinia carries the status to the splits) and expenses by rejecting them; a write-off sets
  ``pse__Exclude_from_Billing__c``. The reason goes to ``review_note_field``. Billed lines are left alone.
- Updates go through sObject Collections (``PATCH .../composite/sobjects``, 200 records a call, all or none).
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from typing import Any, Literal, TypeVar
from urllib.parse import quote

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from backoffice.connectors.http import (
    ConnectorAuthFailed,
    ConnectorHttp,
    ConnectorRequestRejected,
    Governance,
    HttpResponse,
    RecordUnmappable,
    error_for_status,
    external_id,
    retry_after_seconds,
    same_origin,
    tagged,
)
from backoffice.connectors.oauth import (
    AccessToken,
    TokenCache,
    client_credentials_token,
    sign_jwt,
    token_from_response,
)
from backoffice.connectors.ports import (
    Allocation,
    ConnectorError,
    ConnectorRateLimited,
    Created,
    Page,
    RecordNotFound,
    ResourceRequest,
    UnreadableLine,
)
from backoffice.connectors.s3_upload import DocumentUploader
from backoffice.models import (
    EXPENSE_RECEIPT_FACTS,
    BillingModel,
    Client,
    Contract,
    Document,
    ExpenseEntry,
    Milestone,
    Opportunity,
    Project,
    ProjectTemplate,
    RateCard,
    TimeEntry,
    readable_errors,
)

SYSTEM = "salesforce"
_SALESFORCE_ID = re.compile(r"^[A-Za-z0-9]{15}(?:[A-Za-z0-9]{3})?$")
_CONTENT_TYPES = {
    "pdf": "application/pdf",
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "doc": "application/msword",
    "txt": "text/plain",
}
_WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")

_BILLING_TYPES: dict[str, BillingModel] = {
    "Time and Materials": "time_and_materials",
    "Fixed Price": "fixed_fee",
    "Retainer": "retainer",
}

# ------------------------------------------------------------------------------------------------------------
# Settings
# ------------------------------------------------------------------------------------------------------------


class CertiniaSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    project_code_field: str = "pse__Project_ID__c"
    # Where the ERP's customer id is kept on the project, if the org has such a field.
    erp_customer_field: str | None = None
    # The worker id the HRIS knows, seen from an assignment or a timecard (a relationship path is fine).
    worker_id_field: str = "pse__Resource__c"
    bill_rate_field: str = "pse__Bill_Rate__c"
    cost_rate_field: str = "pse__Cost_Rate_Amount__c"
    activity_type: str = "Consulting"
    billing_types: dict[str, BillingModel] = Field(default_factory=lambda: dict(_BILLING_TYPES))
    resource_request_status: str = "Ready to Staff"
    # Invoicing (see the module docstring).
    timecard_object: Literal["pse__Timecard__c", "pse__Timecard_Header__c"] = "pse__Timecard__c"
    invoice_id_field: str = "Backoffice_Invoice__c"
    billed_fields: tuple[str, ...] = ("pse__Billed__c", "pse__Invoiced__c")
    review_note_field: str | None = "pse__Audit_Notes__c"
    # What an expense's receipt says and how it was paid, where the org keeps it (custom fields, none by
    # default): an ExpenseEntry receipt fact -> the field's API name, e.g. {"receipt_amount":
    # "Receipt_Total__c", "card_id": "Corporate_Card__c"}. The anomaly scorer's receipt checks read them.
    expense_fact_fields: dict[str, str] = Field(default_factory=dict)
    # Opportunities carry no payment terms: the terms the SOW contracts are read with.
    contract_payment_terms_days: int = Field(default=30, ge=0, le=365)
    # Certinia's template projects do not carry the phases and roles the product plans with: templates are kept in
    # the connector configuration.
    project_templates: list[ProjectTemplate] = Field(default_factory=list)

    @field_validator("expense_fact_fields")
    @classmethod
    def _known_facts(cls, fields: dict[str, str]) -> dict[str, str]:
        unknown = sorted(set(fields) - set(EXPENSE_RECEIPT_FACTS))
        if unknown:
            raise ValueError(
                f"unknown expense facts {', '.join(unknown)}: use {', '.join(EXPENSE_RECEIPT_FACTS)}"
            )
        return fields


class SalesforceSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    auth: Literal["client_credentials", "jwt_bearer"]
    # Where tokens come from: the org's My Domain for client credentials, login.salesforce.com (or
    # test.salesforce.com for a sandbox) for the JWT bearer flow.
    login_url: str = "https://login.salesforce.com"
    jwt_audience: str | None = None  # default: login_url
    client_id: str = Field(min_length=1)
    username: str | None = None  # the integration user (JWT ``sub``)
    # Secrets Manager secret (JSON): {"client_secret": ...} or {"private_key_pem": ...}.
    secret_name: str = Field(min_length=1)
    instance_url: str | None = None  # default: the token response's instance_url
    api_version: str = Field(default="v62.0", pattern=r"^v\d{2,3}\.\d$")
    multi_currency: bool = True  # single-currency orgs have no CurrencyIsoCode field
    default_currency: str = "USD"
    external_id_field: str = "Backoffice_Key__c"
    country_code_field: str | None = "BillingCountryCode"  # None: BillingCountry, when it is a 2-letter code
    account_tax_id_field: str | None = None
    account_billing_email_field: str | None = None
    sow_title_pattern: str = r"(?i)\b(sow|statement of work)\b"
    governance: Governance = Field(default_factory=Governance)
    certinia: CertiniaSettings = Field(default_factory=CertiniaSettings)

    @model_validator(mode="after")
    def _jwt_needs_user(self) -> SalesforceSettings:
        if self.auth == "jwt_bearer" and not self.username:
            raise ValueError("the JWT bearer flow needs username (the integration user)")
        return self


# ------------------------------------------------------------------------------------------------------------
# The API
# ------------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ApiUsage:
    """``Sforce-Limit-Info``: the org's daily API requests used and allowed, and per connected app if given."""

    used: int
    limit: int
    per_app: Mapping[str, tuple[int, int]] = field(default_factory=dict)

    @property
    def remaining(self) -> int:
        return max(self.limit - self.used, 0)


def parse_limit_info(header: str | None) -> ApiUsage | None:
    """``api-usage=18/5000; per-app-api-usage=17/250(appName=sample-connected-app)`` -> ``ApiUsage``."""
    if not header:
        return None
    used = limit = None
    per_app: dict[str, tuple[int, int]] = {}
    for part in header.split(";"):
        name, _, value = part.strip().partition("=")
        found = re.match(r"^\s*(\d+)/(\d+)(?:\(appName=([^)]*)\))?", value)
        if not found:
            continue
        if name == "api-usage":
            used, limit = int(found[1]), int(found[2])
        elif name == "per-app-api-usage" and found[3]:
            per_app[found[3]] = (int(found[1]), int(found[2]))
    if used is None or limit is None:
        return None
    return ApiUsage(used, limit, per_app)


def soql_literal(value: str) -> str:
    """A SOQL string literal: quotes and backslashes escaped as SOQL requires, so a value cannot end the string."""
    escaped = (
        value.replace("\\", "\\\\")
        .replace("'", "\\'")
        .replace('"', '\\"')
        .replace("\n", "\\n")
        .replace("\r", "\\r")
        .replace("\t", "\\t")
    )
    return f"'{escaped}'"


def salesforce_id(value: str, what: str) -> str:
    """``value`` if it is a Salesforce id (15 or 18 letters and digits), else ``RecordNotFound`` without a call."""
    if not _SALESFORCE_ID.match(value):
        raise tagged(RecordNotFound(f"{what} id is not a Salesforce id"), SYSTEM)
    return value


def _codes(body: Any) -> list[str]:
    if isinstance(body, list):
        return [
            str(item.get("errorCode")) for item in body if isinstance(item, dict) and item.get("errorCode")
        ]
    if isinstance(body, dict) and body.get("error"):
        return [str(body["error"])]
    return []


class SalesforceApi:
    """Authenticated REST calls to one org."""

    def __init__(
        self,
        settings: SalesforceSettings,
        credentials: Callable[[], Mapping[str, Any]],
        *,
        http: ConnectorHttp | None = None,
        clock: Callable[[], float] = time.time,
        on_api_usage: Callable[[ApiUsage], None] | None = None,
    ) -> None:
        self.settings = settings
        self.credentials = credentials
        self.http = http or ConnectorHttp(SYSTEM, settings.governance)
        self.clock = clock
        self.on_api_usage = on_api_usage
        self.tokens = TokenCache(self._fetch_token, clock=clock)
        self.api_usage: ApiUsage | None = None

    # -- auth ---------------------------------------------------------------------------------------------------

    def _fetch_token(self) -> AccessToken:
        settings = self.settings
        token_url = settings.login_url.rstrip("/") + "/services/oauth2/token"
        secret = self.credentials()
        if settings.auth == "client_credentials":
            return client_credentials_token(
                self.http,
                token_url,
                client_id=settings.client_id,
                client_secret=str(secret["client_secret"]),
                clock=self.clock,
            )
        now = int(self.clock())
        assertion = sign_jwt(
            {
                "iss": settings.client_id,
                "sub": settings.username,
                "aud": settings.jwt_audience or settings.login_url.rstrip("/"),
                "exp": now + 180,  # Salesforce accepts at most 3 minutes
            },
            str(secret["private_key_pem"]),
            "RS256",
        )
        response = self.http.request(
            "POST",
            token_url,
            operation="oauth.token",
            headers={"Accept": "application/json"},
            form={"grant_type": "urn:ietf:params:oauth:grant-type:jwt-bearer", "assertion": assertion},
        )
        return token_from_response(response, system=SYSTEM, clock=self.clock)

    def _instance(self, token: AccessToken) -> str:
        instance = self.settings.instance_url or token.extras.get("instance_url")
        if not instance:
            raise tagged(ConnectorAuthFailed("salesforce: the token response names no instance_url"), SYSTEM)
        return instance.rstrip("/")

    # -- calls --------------------------------------------------------------------------------------------------

    def call(
        self,
        method: str,
        path: str,
        *,
        operation: str,
        record_id: str | None = None,
        params: Mapping[str, Any] | None = None,
        json_body: Any = None,
        allow: Sequence[int] = (),
    ) -> HttpResponse:
        """``path`` below ``/services/data/vXX.X`` or absolute from the instance (``/services/...``, as
        ``nextRecordsUrl`` is). Statuses in ``allow`` are returned instead of raised."""
        for attempt in (1, 2):
            token = self.tokens.get()
            instance = self._instance(token)
            if path.startswith("/services/"):
                url = instance + path
            else:
                url = f"{instance}/services/data/{self.settings.api_version}/{path.lstrip('/')}"
            if not same_origin(url, instance):
                raise tagged(
                    ConnectorRequestRejected("salesforce: a link leads off the org's instance"), SYSTEM
                )
            response = self.http.request(
                method,
                url,
                operation=operation,
                record_id=record_id,
                params=params,
                json_body=json_body,
                headers={"Authorization": f"Bearer {token.value}", "Accept": "application/json"},
            )
            self._note_usage(response)
            if response.status < 300 or response.status in allow:
                return response
            codes = _codes(response.json())
            if response.status == 401 and attempt == 1:
                # The session expired or was revoked: one new token, one more try.
                self.tokens.invalidate(token)
                continue
            raise self._error(response, operation, record_id, codes)
        raise AssertionError("unreachable")

    def _error(
        self, response: HttpResponse, operation: str, record_id: str | None, codes: list[str]
    ) -> ConnectorError:
        if response.status == 403 and "REQUEST_LIMIT_EXCEEDED" in codes:
            return tagged(
                ConnectorRateLimited(
                    f"salesforce {operation}: the org's API request limit is used up (REQUEST_LIMIT_EXCEEDED)",
                    retry_after_seconds=retry_after_seconds(response),
                ),
                SYSTEM,
            )
        return error_for_status(
            response, system=SYSTEM, operation=operation, record_id=record_id, codes=codes
        )

    def _note_usage(self, response: HttpResponse) -> None:
        usage = parse_limit_info(response.header("sforce-limit-info"))
        if usage is not None:
            self.api_usage = usage
            if self.on_api_usage is not None:
                self.on_api_usage(usage)

    def get_record(
        self, sobject: str, record_id: str, fields: Sequence[str], *, operation: str
    ) -> dict[str, Any]:
        response = self.call(
            "GET",
            f"sobjects/{sobject}/{quote(record_id, safe='')}",
            operation=operation,
            record_id=record_id,
            params={"fields": ",".join(fields)},
        )
        body = response.json()
        if not isinstance(body, dict):
            raise tagged(RecordUnmappable(f"salesforce {operation}: the response is not a record"), SYSTEM)
        return body

    def query_page(
        self, soql: str | None = None, *, next_url: str | None = None, operation: str
    ) -> tuple[list[dict[str, Any]], str | None]:
        """One batch of a SOQL query, and the ``nextRecordsUrl`` of the next one (None when ``done``)."""
        if next_url is not None:
            response = self.call("GET", next_url, operation=operation)
        else:
            response = self.call("GET", "query", operation=operation, params={"q": soql})
        body = response.json() or {}
        records = [r for r in body.get("records", []) if isinstance(r, dict)]
        following = None if body.get("done", True) else body.get("nextRecordsUrl")
        return records, following

    def query(self, soql: str, *, operation: str) -> Iterator[dict[str, Any]]:
        records, following = self.query_page(soql, operation=operation)
        yield from records
        while following:
            records, following = self.query_page(next_url=following, operation=operation)
            yield from records

    def create_once(
        self, sobject: str, idempotency_key: str, body: Mapping[str, Any], *, operation: str
    ) -> Created:
        """The record keyed by ``idempotency_key`` in the external-id field: found, or created by upsert."""
        field_name = self.settings.external_id_field
        key = external_id(idempotency_key)
        path = f"sobjects/{sobject}/{field_name}/{quote(key, safe='')}"
        found = self.call(
            "GET", path, operation=operation, record_id=key, params={"fields": "Id"}, allow=(404,)
        )
        if found.status == 200:
            return Created(str((found.json() or {})["Id"]), created=False, details={"external_id": key})
        response = self.call("PATCH", path, operation=operation, record_id=key, json_body=dict(body))
        result = response.json() or {}
        if response.status == 201:
            return Created(str(result["id"]), created=True, details={"external_id": key})
        if response.status == 200 and result.get("id"):
            # Another caller created it between our look-up and our upsert: the upsert updated that record.
            return Created(
                str(result["id"]), created=bool(result.get("created")), details={"external_id": key}
            )
        # API versions before 46.0 answer an update with 204 and no body.
        again = self.call("GET", path, operation=operation, record_id=key, params={"fields": "Id"})
        return Created(str((again.json() or {})["Id"]), created=False, details={"external_id": key})

    def update_records(
        self, sobject: str, changes: Mapping[str, Mapping[str, Any]], *, operation: str
    ) -> None:
        """Update records by id (``changes``: id -> fields) through sObject Collections, 200 a call, all or none."""
        items = list(changes.items())
        for start in range(0, len(items), 200):
            batch = items[start : start + 200]
            response = self.call(
                "PATCH",
                "composite/sobjects",
                operation=operation,
                json_body={
                    "allOrNone": True,
                    "records": [
                        {"attributes": {"type": sobject}, "id": record_id, **fields}
                        for record_id, fields in batch
                    ],
                },
            )
            results = response.json()
            failed = (
                [r for r in results if isinstance(r, dict) and not r.get("success")]
                if isinstance(results, list)
                else []
            )
            if failed:
                codes = sorted(
                    {
                        str(e.get("statusCode"))
                        for r in failed
                        for e in r.get("errors") or []
                        if isinstance(e, dict) and e.get("statusCode")
                    }
                )
                raise tagged(
                    ConnectorRequestRejected(
                        f"salesforce {operation}: {len(failed)} {sobject} records refused ({', '.join(codes)})",
                        response.status,
                        codes,
                    ),
                    SYSTEM,
                )

    def records_by_id(
        self, sobject: str, ids: Iterable[str], fields: Sequence[str], *, operation: str
    ) -> dict[str, dict[str, Any]]:
        """The records with these ids (missing ones are absent), queried 200 ids at a time."""
        wanted = sorted(set(ids))
        found: dict[str, dict[str, Any]] = {}
        for start in range(0, len(wanted), 200):
            batch = ", ".join(soql_literal(i) for i in wanted[start : start + 200])
            for record in self.query(
                f"SELECT {', '.join(fields)} FROM {sobject} WHERE Id IN ({batch})", operation=operation
            ):
                found[str(record["Id"])] = record
        return found

    def download(self, path: str, *, operation: str, record_id: str) -> bytes:
        return self.call("GET", path, operation=operation, record_id=record_id).body


def _load(model: Any, body: dict[str, Any], what: str) -> Any:
    try:
        return model.from_json_dict(body)
    except ValidationError as error:
        raise tagged(
            RecordUnmappable(f"salesforce {what} does not fit {model.__name__}", readable_errors(error)),
            SYSTEM,
        ) from None


_Line = TypeVar("_Line", TimeEntry, ExpenseEntry)


def _line(
    model: type[_Line], kind: Literal["time", "expense"], body: dict[str, Any]
) -> _Line | UnreadableLine:
    """A time entry or expense, or the reasons it is not one (the billing run reports those, it does not fail)."""
    try:
        return model.from_json_dict(body)
    except ValidationError as error:
        project = body.get("project_id")
        return UnreadableLine(
            kind, str(body.get("id") or "?"), str(project) if project else None, tuple(readable_errors(error))
        )


def _decimal(value: Any) -> Decimal | None:
    return None if value is None else Decimal(str(value))


def _read(record: Mapping[str, Any], path: str) -> Any:
    """A field of a SOQL result, following relationship paths (``pse__Schedule__r.pse__Start_Date__c``)."""
    value: Any = record
    for part in path.split("."):
        if not isinstance(value, Mapping):
            return None
        value = value.get(part)
    return value


# ------------------------------------------------------------------------------------------------------------
# CRM
# ------------------------------------------------------------------------------------------------------------

_OPPORTUNITY_FIELDS = (
    "Id",
    "AccountId",
    "Name",
    "StageName",
    "Amount",
    "CloseDate",
    "IsClosed",
    "IsWon",
    "Probability",
    "OwnerId",
)


class SalesforceCrm:
    """``CrmPort`` on Salesforce: opportunities, their accounts as clients, their SOW files."""

    system = SYSTEM

    def __init__(self, api: SalesforceApi, uploader: DocumentUploader) -> None:
        self.api = api
        self.uploader = uploader

    def get_opportunity(self, opportunity_id: str) -> Opportunity:
        record_id = salesforce_id(opportunity_id, "opportunity")
        fields = [*_OPPORTUNITY_FIELDS, *(["CurrencyIsoCode"] if self.api.settings.multi_currency else [])]
        record = self.api.get_record("Opportunity", record_id, fields, operation="get_opportunity")
        opportunity: Opportunity = _load(
            Opportunity,
            {
                "id": record.get("Id"),
                "account_id": record.get("AccountId"),
                "name": record.get("Name"),
                "stage_name": record.get("StageName"),
                "amount": record.get("Amount") if record.get("Amount") is not None else 0,
                "close_date": record.get("CloseDate"),
                "is_closed": record.get("IsClosed"),
                "is_won": record.get("IsWon"),
                "currency": record.get("CurrencyIsoCode") or self.api.settings.default_currency,
                "probability": record.get("Probability"),
                "owner_id": record.get("OwnerId"),
            },
            "Opportunity",
        )
        return opportunity

    def get_account(self, account_id: str) -> Client:
        """The Account as the canonical ``Client`` (billing address, currency, optional tax id and e-mail fields)."""
        settings = self.api.settings
        record_id = salesforce_id(account_id, "account")
        optional = [
            f
            for f in (
                settings.country_code_field,
                settings.account_tax_id_field,
                settings.account_billing_email_field,
                "CurrencyIsoCode" if settings.multi_currency else None,
            )
            if f
        ]
        fields = [
            "Id",
            "Name",
            "BillingStreet",
            "BillingCity",
            "BillingState",
            "BillingPostalCode",
            "BillingCountry",
            *optional,
        ]
        record = self.api.get_record("Account", record_id, fields, operation="get_account")
        street = [
            line.strip() for line in str(record.get("BillingStreet") or "").splitlines() if line.strip()
        ]
        country = record.get(settings.country_code_field) if settings.country_code_field else None
        if (
            not country
            and isinstance(record.get("BillingCountry"), str)
            and len(record["BillingCountry"]) == 2
        ):
            country = record["BillingCountry"].upper()
        address = None
        if street and record.get("BillingCity") and country:
            address = {
                "line1": street[0],
                "line2": ", ".join(street[1:]) or None,
                "city": record["BillingCity"],
                "region": record.get("BillingState"),
                "postal_code": record.get("BillingPostalCode"),
                "country": country,
            }
        client: Client = _load(
            Client,
            {
                "id": record.get("Id"),
                "customer_name": record.get("Name"),
                "tax_id": record.get(settings.account_tax_id_field)
                if settings.account_tax_id_field
                else None,
                "default_currency": record.get("CurrencyIsoCode") or settings.default_currency,
                "billing_email": (
                    record.get(settings.account_billing_email_field)
                    if settings.account_billing_email_field
                    else None
                ),
                "address": address,
            },
            "Account",
        )
        return client

    def sow_document(self, opportunity_id: str) -> Document | None:
        record_id = salesforce_id(opportunity_id, "opportunity")
        links = self.api.query(
            f"SELECT ContentDocumentId FROM ContentDocumentLink WHERE LinkedEntityId = {soql_literal(record_id)}",
            operation="list_attachments",
        )
        document_ids = sorted(
            {str(link["ContentDocumentId"]) for link in links if link.get("ContentDocumentId")}
        )
        if not document_ids:
            return None
        versions = list(
            self.api.query(
                "SELECT Id, Title, PathOnClient, FileExtension, ContentSize, ContentDocumentId, CreatedDate "
                f"FROM ContentVersion WHERE ContentDocumentId IN ({', '.join(soql_literal(d) for d in document_ids)}) "
                "AND IsLatest = true ORDER BY CreatedDate DESC",
                operation="list_attachment_versions",
            )
        )
        pattern = re.compile(self.api.settings.sow_title_pattern)
        named = [
            v
            for v in versions
            if pattern.search(str(v.get("Title") or "")) or pattern.search(str(v.get("PathOnClient") or ""))
        ]
        if not named:
            return None
        # The newest PDF that says it is the SOW; a Word draft only when there is no PDF.
        named.sort(key=lambda v: str(v.get("FileExtension") or "").lower() != "pdf")
        version = named[0]
        version_id = salesforce_id(str(version["Id"]), "content version")
        content = self.api.download(
            f"sobjects/ContentVersion/{version_id}/VersionData",
            operation="download_attachment",
            record_id=version_id,
        )
        extension = str(version.get("FileExtension") or "pdf").lower()
        file_name = str(
            version.get("PathOnClient") or f"{version.get('Title') or 'statement-of-work'}.{extension}"
        )
        safe_name = re.sub(r"[^A-Za-z0-9._]+", "-", file_name).strip("-") or f"statement-of-work.{extension}"
        return self.uploader.upload(
            key=f"crm/opportunities/{record_id}/{version_id}/{safe_name}",
            content=content,
            content_type=_CONTENT_TYPES.get(extension, "application/octet-stream"),
            file_name=file_name,
            document_type="sow",
        )


# ------------------------------------------------------------------------------------------------------------
# PSA on Certinia
# ------------------------------------------------------------------------------------------------------------

_PROJECT = "pse__Proj__c"
_MILESTONE = "pse__Milestone__c"
_RESOURCE_REQUEST = "pse__Resource_Request__c"
_TIMECARD = "pse__Timecard_Header__c"
_EXPENSE = "pse__Expense__c"
_RATE_CARD = "pse__Rate_Card__c"
_ASSIGNMENT = "pse__Assignment__c"
_ENTRY_ID = re.compile(r"^([A-Za-z0-9]{15}(?:[A-Za-z0-9]{3})?)-(mon|tue|wed|thu|fri|sat|sun)$")
_EXPENSE_STATUS = {
    "draft": "draft",
    "submitted": "submitted",
    "approved": "approved",
    "rejected": "rejected",
}
_STATUS_BY_STAGE = {"completed": "completed", "canceled": "cancelled", "cancelled": "cancelled"}
_TIMECARD_STATUS = {
    "saved": "draft",
    "submitted": "submitted",
    "approved": "approved",
    "rejected": "rejected",
}
_CENT = Decimal("0.01")


class CertiniaPsa:
    """``PsaPort`` on Certinia PSA: projects, resource requests, assignments; also milestones and timecards."""

    system = SYSTEM

    def __init__(self, api: SalesforceApi) -> None:
        self.api = api
        self.settings = api.settings.certinia

    def _project_fields(self) -> list[str]:
        fields = [
            "Id",
            "Name",
            "pse__Account__c",
            "pse__Opportunity__c",
            "pse__Stage__c",
            "pse__Billing_Type__c",
            "pse__Start_Date__c",
            "pse__End_Date__c",
            self.settings.project_code_field,
        ]
        if self.settings.erp_customer_field:
            fields.append(self.settings.erp_customer_field)
        if self.api.settings.multi_currency:
            fields.append("CurrencyIsoCode")
        return fields

    def _project(self, record: Mapping[str, Any]) -> Project:
        by_label = self.settings.billing_types
        erp_field = self.settings.erp_customer_field
        client_id = (record.get(erp_field) if erp_field else None) or record.get("pse__Account__c")
        project: Project = _load(
            Project,
            {
                "id": record.get("Id"),
                "project_name": record.get("Name"),
                "client_id": client_id,
                "opportunity_id": record.get("pse__Opportunity__c"),
                # The SOW is the won opportunity (see get_contract).
                "contract_id": record.get("pse__Opportunity__c"),
                "status": _STATUS_BY_STAGE.get(str(record.get("pse__Stage__c") or "").lower(), "open"),
                "billing_model": by_label.get(str(record.get("pse__Billing_Type__c")), "time_and_materials"),
                "currency": record.get("CurrencyIsoCode") or self.api.settings.default_currency,
                "expected_start_date": record.get("pse__Start_Date__c"),
                "expected_end_date": record.get("pse__End_Date__c"),
            },
            _PROJECT,
        )
        return project

    def get_project(self, project_id: str) -> Project:
        record_id = salesforce_id(project_id, "project")
        return self._project(
            self.api.get_record(_PROJECT, record_id, self._project_fields(), operation="get_project")
        )

    def find_project_by_opportunity(self, opportunity_id: str) -> Project | None:
        record_id = salesforce_id(opportunity_id, "opportunity")
        for record in self.api.query(
            f"SELECT {', '.join(self._project_fields())} FROM {_PROJECT} "
            f"WHERE pse__Opportunity__c = {soql_literal(record_id)} ORDER BY CreatedDate LIMIT 1",
            operation="find_project_by_opportunity",
        ):
            return self._project(record)
        return None

    def create_project(self, project: Project, *, idempotency_key: str) -> Created:
        labels = {model: label for label, model in self.settings.billing_types.items()}
        body: dict[str, Any] = {
            "Name": project.project_name,
            "pse__Stage__c": "Planned",
            "pse__Is_Active__c": project.status == "open",
            "pse__Billing_Type__c": labels.get(project.billing_model, project.billing_model),
            "pse__Start_Date__c": project.expected_start_date,
            "pse__End_Date__c": project.expected_end_date,
            self.settings.project_code_field: project.id,
        }
        if self.api.settings.multi_currency:
            body["CurrencyIsoCode"] = project.currency
        if self.settings.erp_customer_field:
            body[self.settings.erp_customer_field] = project.client_id
        if project.opportunity_id and _SALESFORCE_ID.match(project.opportunity_id):
            body["pse__Opportunity__c"] = project.opportunity_id
            # The project's account is the deal's account in the CRM (the client id is the ERP's).
            opportunity = self.api.get_record(
                "Opportunity", project.opportunity_id, ["AccountId"], operation="get_opportunity"
            )
            if opportunity.get("AccountId"):
                body["pse__Account__c"] = opportunity["AccountId"]
        return self.api.create_once(_PROJECT, idempotency_key, body, operation="create_project")

    def create_resource_request(self, request: ResourceRequest, *, idempotency_key: str) -> Created:
        notes = []
        if request.skills:
            notes.append("Skills: " + ", ".join(request.skills))
        if request.candidate_ids:
            notes.append("Proposed: " + ", ".join(request.candidate_ids))
        notes.extend(f"Conflict: {c}" for c in request.conflicts)
        body = {
            "pse__Project__c": salesforce_id(request.project_id, "project"),
            "pse__Resource_Role__c": request.role,
            "pse__SOW_Hours__c": request.hours,
            "pse__Start_Date__c": request.start,
            "pse__End_Date__c": request.end,
            "pse__Status__c": self.settings.resource_request_status,
            "pse__Notes__c": "\n".join(notes) or None,
        }
        return self.api.create_once(
            _RESOURCE_REQUEST, idempotency_key, body, operation="create_resource_request"
        )

    def allocations(self, start: date, end: date) -> list[Allocation]:
        worker = self.settings.worker_id_field
        found = []
        for record in self.api.query(
            f"SELECT Id, {worker}, pse__Project__c, pse__Schedule__r.pse__Start_Date__c, "
            "pse__Schedule__r.pse__End_Date__c, pse__Schedule__r.pse__Scheduled_Hours__c "
            f"FROM {_ASSIGNMENT} WHERE pse__Schedule__r.pse__Start_Date__c <= {end.isoformat()} "
            f"AND pse__Schedule__r.pse__End_Date__c >= {start.isoformat()}",
            operation="list_assignments",
        ):
            a_start = date.fromisoformat(str(_read(record, "pse__Schedule__r.pse__Start_Date__c")))
            a_end = date.fromisoformat(str(_read(record, "pse__Schedule__r.pse__End_Date__c")))
            hours = _decimal(_read(record, "pse__Schedule__r.pse__Scheduled_Hours__c")) or Decimal(0)
            weeks = Decimal((a_end - a_start).days + 1) / 7
            found.append(
                Allocation(
                    worker_id=str(_read(record, worker)),
                    project_id=str(record.get("pse__Project__c")),
                    start=a_start,
                    end=a_end,
                    hours_per_week=(hours / max(weeks, Decimal(1))).quantize(_CENT),
                )
            )
        return found

    def next_project_sequence(self, client_code: str, year: int) -> int:
        """One more than the highest sequence among the client's project codes of the year (``CODE-YYYY-NNN``).

        Certinia keeps no sequence; two projects planned at the same moment can draw the same number, which the
        project code check of the workflow reports (the projects themselves stay distinct: they are keyed by deal).
        """
        code_field = self.settings.project_code_field
        prefix = f"{client_code}-{year}-"
        highest = 0
        for record in self.api.query(
            f"SELECT {code_field} FROM {_PROJECT} WHERE {code_field} LIKE {soql_literal(prefix + '%')}",
            operation="list_project_codes",
        ):
            tail = str(record.get(code_field) or "")[len(prefix) :]
            if tail.isdigit():
                highest = max(highest, int(tail))
        return highest + 1

    def project_templates(self) -> list[ProjectTemplate]:
        return list(self.settings.project_templates)

    def milestones(self, project_id: str) -> list[Milestone]:
        record_id = salesforce_id(project_id, "project")
        found = []
        for record in self.api.query(
            "SELECT Id, Name, pse__Milestone_Amount__c, pse__Target_Date__c, pse__Status__c, pse__Approved__c, "
            f"pse__Actual_Date__c, pse__Invoiced__c FROM {_MILESTONE} WHERE pse__Project__c = {soql_literal(record_id)} "
            "ORDER BY pse__Target_Date__c",
            operation="list_milestones",
        ):
            status = str(record.get("pse__Status__c") or "").lower()
            if record.get("pse__Invoiced__c"):
                state = "invoiced"
            elif record.get("pse__Approved__c") or status == "approved":
                state = "accepted"
            elif status in ("complete", "completed", "delivered"):
                state = "delivered"
            else:
                state = "planned"
            found.append(
                _load(
                    Milestone,
                    {
                        "id": record.get("Id"),
                        "name": record.get("Name"),
                        "amount": record.get("pse__Milestone_Amount__c") or 0,
                        "due_date": record.get("pse__Target_Date__c"),
                        "status": state,
                        "accepted_date": record.get("pse__Actual_Date__c")
                        if state in ("accepted", "invoiced")
                        else None,
                    },
                    _MILESTONE,
                )
            )
        return found

    def time_entries(self, start: date, end: date, project_id: str | None = None) -> list[TimeEntry]:
        """Every time entry of the period (of one project, if given), across pages."""
        found: list[TimeEntry] = []
        token: str | None = None
        while True:
            page = self.list_time_entries(start, end, token)
            found.extend(
                e
                for e in page.items
                if isinstance(e, TimeEntry) and (project_id is None or e.project_id == project_id)
            )
            token = page.next_token
            if not token:
                return found

    # -- invoicing ---------------------------------------------------------------------------------------------

    def list_billable_projects(self, start: date, end: date, page_token: str | None = None) -> Page[Project]:
        records, following = self._page(
            f"SELECT {', '.join(self._project_fields())} FROM {_PROJECT} "
            "WHERE (pse__Is_Active__c = true OR pse__End_Date__c = null "
            f"OR pse__End_Date__c >= {start.isoformat()}) ORDER BY Id",
            page_token,
            operation="list_billable_projects",
        )
        return Page([self._project(r) for r in records], following)

    def _timecard_fields(self) -> list[str]:
        settings = self.settings
        return [
            "Id",
            settings.worker_id_field,
            "pse__Project__c",
            "pse__Start_Date__c",
            "pse__End_Date__c",
            "pse__Status__c",
            "pse__Billable__c",
            "pse__Exclude_from_Billing__c",
            settings.bill_rate_field,
            settings.cost_rate_field,
            *(f"pse__{day}_Hours__c" for day in _WEEKDAYS),
            *self._billing_fields(),
            *(["CurrencyIsoCode"] if self.api.settings.multi_currency else []),
        ]

    def _billing_fields(self) -> list[str]:
        return [*self.settings.billed_fields, self.settings.invoice_id_field, "pse__Billing_Event_Item__c"]

    def _invoice_of(self, record: Mapping[str, Any]) -> str | None:
        """The invoice a line is on: ours, else Certinia's billing event item, else a marker when billed there."""
        ours = record.get(self.settings.invoice_id_field)
        if ours:
            return str(ours)
        if record.get("pse__Billing_Event_Item__c"):
            return str(record["pse__Billing_Event_Item__c"])
        if any(record.get(f) for f in self.settings.billed_fields):
            return f"certinia-billed-{record.get('Id')}"
        return None

    def list_time_entries(
        self, start: date, end: date, page_token: str | None = None
    ) -> Page[TimeEntry | UnreadableLine]:
        sobject = self.settings.timecard_object
        records, following = self._page(
            f"SELECT {', '.join(self._timecard_fields())} FROM {sobject} "
            f"WHERE pse__Start_Date__c <= {end.isoformat()} AND pse__End_Date__c >= {start.isoformat()} "
            "ORDER BY Id",
            page_token,
            operation="list_time_entries",
        )
        return Page([e for r in records for e in self._day_entries(r, start, end)], following)

    def _day_entries(
        self, record: Mapping[str, Any], start: date, end: date
    ) -> list[TimeEntry | UnreadableLine]:
        """One ``TimeEntry`` per day with hours, of the days of the card within the period (a day that does not
        make a valid entry, say 30 hours, is an ``UnreadableLine`` with the reasons)."""
        settings = self.settings
        card_start = date.fromisoformat(str(record["pse__Start_Date__c"]))
        card_end = date.fromisoformat(str(record.get("pse__End_Date__c") or card_start + timedelta(days=6)))
        billable = bool(record.get("pse__Billable__c")) and not record.get("pse__Exclude_from_Billing__c")
        rate = _decimal(_read(record, settings.bill_rate_field)) or Decimal(0)
        cost = _decimal(_read(record, settings.cost_rate_field)) or Decimal(0)
        invoice_id = self._invoice_of(record)
        entries: list[TimeEntry | UnreadableLine] = []
        for offset in range((card_end - card_start).days + 1):
            day = card_start + timedelta(days=offset)
            weekday = _WEEKDAYS[day.weekday()]
            hours = _decimal(record.get(f"pse__{weekday}_Hours__c")) or Decimal(0)
            if hours == 0 or not start <= day <= end:
                continue
            entries.append(
                _line(
                    TimeEntry,
                    "time",
                    {
                        "id": f"{record['Id']}-{weekday[:3].lower()}",
                        "worker_id": _read(record, settings.worker_id_field),
                        "project_id": record.get("pse__Project__c"),
                        "activity_type": settings.activity_type,
                        "work_date": day.isoformat(),
                        "hours": hours,
                        "is_billable": billable,
                        "billing_hours": hours if billable else 0,
                        "billing_rate": rate if billable else 0,
                        "billing_amount": (rate * hours).quantize(_CENT) if billable else 0,
                        "costing_rate": cost,
                        "currency": record.get("CurrencyIsoCode") or self.api.settings.default_currency,
                        "status": _TIMECARD_STATUS.get(
                            str(record.get("pse__Status__c") or "").lower(), "draft"
                        ),
                        "invoice_id": invoice_id,
                    },
                )
            )
        return entries

    def list_expenses(
        self, start: date, end: date, page_token: str | None = None
    ) -> Page[ExpenseEntry | UnreadableLine]:
        settings = self.settings
        fields = [
            "Id",
            settings.worker_id_field,
            "pse__Project__c",
            "pse__Expense_Date__c",
            "pse__Type__c",
            "pse__Description__c",
            "pse__Amount__c",
            "pse__Billable__c",
            "pse__Exclude_from_Billing__c",
            "pse__Status__c",
            *self._billing_fields(),
            *(["CurrencyIsoCode"] if self.api.settings.multi_currency else []),
            *settings.expense_fact_fields.values(),
        ]
        records, following = self._page(
            f"SELECT {', '.join(fields)} FROM {_EXPENSE} WHERE pse__Expense_Date__c >= {start.isoformat()} "
            f"AND pse__Expense_Date__c <= {end.isoformat()} ORDER BY Id",
            page_token,
            operation="list_expenses",
        )
        expenses: list[ExpenseEntry | UnreadableLine] = []
        for record in records:
            expenses.append(
                _line(
                    ExpenseEntry,
                    "expense",
                    {
                        "id": record.get("Id"),
                        "worker_id": _read(record, settings.worker_id_field),
                        "project_id": record.get("pse__Project__c"),
                        "expense_date": record.get("pse__Expense_Date__c"),
                        "expense_type": record.get("pse__Type__c") or "Other",
                        "description": record.get("pse__Description__c") or None,
                        "amount": record.get("pse__Amount__c") or 0,
                        "currency": record.get("CurrencyIsoCode") or self.api.settings.default_currency,
                        "is_billable": bool(record.get("pse__Billable__c"))
                        and not record.get("pse__Exclude_from_Billing__c"),
                        "status": _EXPENSE_STATUS.get(
                            str(record.get("pse__Status__c") or "").lower(), "draft"
                        ),
                        "invoice_id": self._invoice_of(record),
                        **{fact: _read(record, path) for fact, path in settings.expense_fact_fields.items()},
                    },
                )
            )
        return Page(expenses, following)

    def get_contract(self, contract_id: str) -> Contract:
        """The SOW won on the opportunity ``contract_id``, with its project's billing type, dates and milestones."""
        record_id = salesforce_id(contract_id, "contract")
        opportunity = self.api.get_record(
            "Opportunity",
            record_id,
            [
                "Id",
                "AccountId",
                "Name",
                "Amount",
                "CloseDate",
                *(["CurrencyIsoCode"] if self.api.settings.multi_currency else []),
            ],
            operation="get_contract",
        )
        project = self.find_project_by_opportunity(record_id)
        billing_model = project.billing_model if project else "time_and_materials"
        amount = opportunity.get("Amount")
        contract: Contract = _load(
            Contract,
            {
                "id": opportunity.get("Id"),
                "kind": "sow",
                "client_id": project.client_id if project else opportunity.get("AccountId"),
                "opportunity_id": opportunity.get("Id"),
                "title": opportunity.get("Name"),
                "billing_model": billing_model,
                "currency": (project.currency if project else None)
                or opportunity.get("CurrencyIsoCode")
                or self.api.settings.default_currency,
                "fixed_fee": amount if billing_model == "fixed_fee" and amount is not None else None,
                "payment_terms_days": self.settings.contract_payment_terms_days,
                "effective_date": (project.expected_start_date if project else None)
                or opportunity.get("CloseDate"),
                "end_date": project.expected_end_date if project else None,
                "milestones": [m.to_json_dict() for m in self.milestones(project.id)] if project else [],
            },
            "Opportunity",
        )
        return contract

    def project_rate_card(self, project_id: str) -> RateCard | None:
        record_id = salesforce_id(project_id, "project")
        project_record = self.api.get_record(
            _PROJECT, record_id, self._project_fields(), operation="project_rate_card"
        )
        project = self._project(project_record)
        fields = [
            "Id",
            "pse__Role__c",
            "pse__Account__c",
            "pse__Suggested_Bill_Rate__c",
            "pse__Average_Cost_Rate__c",
            "pse__Start_Date__c",
            "pse__End_Date__c",
            *(["CurrencyIsoCode"] if self.api.settings.multi_currency else []),
        ]
        select = f"SELECT {', '.join(fields)} FROM {_RATE_CARD} WHERE "
        account = project_record.get("pse__Account__c")
        records: list[dict[str, Any]] = []
        if account:
            records = list(
                self.api.query(
                    select + f"pse__Account__c = {soql_literal(str(account))} ORDER BY pse__Start_Date__c",
                    operation="list_rate_cards",
                )
            )
        client_id: str | None = project.client_id
        if not records:
            client_id = None
            currency = (
                f" AND CurrencyIsoCode = {soql_literal(project.currency)}"
                if self.api.settings.multi_currency
                else ""
            )
            records = list(
                self.api.query(
                    select + f"pse__Account__c = null{currency} ORDER BY pse__Start_Date__c",
                    operation="list_rate_cards",
                )
            )
        if not records:
            return None
        lines: dict[tuple[str | None, str], dict[str, Any]] = {}
        for record in records:  # oldest first: a later record of the same role replaces an earlier one
            currency_code = record.get("CurrencyIsoCode") or self.api.settings.default_currency
            role = record.get("pse__Role__c") or None
            lines[(role, currency_code)] = {
                "role": role,
                "activity_type": self.settings.activity_type,
                "currency": currency_code,
                "billing_rate": record.get("pse__Suggested_Bill_Rate__c") or 0,
                "costing_rate": record.get("pse__Average_Cost_Rate__c") or 0,
            }
        starts = [str(r["pse__Start_Date__c"]) for r in records if r.get("pse__Start_Date__c")]
        ends = [r.get("pse__End_Date__c") for r in records]
        card: RateCard = _load(
            RateCard,
            {
                "id": f"rate-cards-{account}" if client_id else f"rate-cards-standard-{project.currency}",
                "name": "Certinia rate cards of the account" if client_id else "Certinia standard rate cards",
                "client_id": client_id,
                # Rate cards without a start date apply since always.
                "effective_date": min(starts) if starts else "1970-01-01",
                "end_date": None if not ends or None in ends else max(str(e) for e in ends),
                "lines": list(lines.values()),
            },
            _RATE_CARD,
        )
        return card

    def mark_billed(
        self,
        invoice_id: str,
        *,
        time_entry_ids: Sequence[str],
        expense_ids: Sequence[str],
        milestone_ids: Sequence[str] = (),
    ) -> None:
        billed = {
            **dict.fromkeys(self.settings.billed_fields, True),
            self.settings.invoice_id_field: invoice_id,
        }
        for sobject, ids in (
            (self.settings.timecard_object, _card_ids(time_entry_ids)),
            (_EXPENSE, [salesforce_id(i, "expense") for i in expense_ids]),
            (_MILESTONE, [salesforce_id(i, "milestone") for i in milestone_ids]),
        ):
            if not ids:
                continue
            found = self.api.records_by_id(
                sobject, ids, ["Id", *self._billing_fields()], operation="mark_billed"
            )
            _all_found(sobject, ids, found)
            unbilled = {i: billed for i in found if self._invoice_of(found[i]) is None}
            if unbilled:
                self.api.update_records(sobject, unbilled, operation="mark_billed")

    def return_lines(
        self,
        *,
        time_entry_ids: Sequence[str],
        expense_ids: Sequence[str],
        action: Literal["send_back", "write_off"],
        reason: str,
    ) -> None:
        note = {self.settings.review_note_field: reason} if self.settings.review_note_field else {}
        card_object = self.settings.timecard_object
        card_ids = _card_ids(time_entry_ids)
        header_field = "Id" if card_object == _TIMECARD else "pse__Timecard_Header__c"
        for sobject, ids in (
            (card_object, card_ids),
            (_EXPENSE, [salesforce_id(i, "expense") for i in expense_ids]),
        ):
            if not ids:
                continue
            fields = ["Id", *self._billing_fields(), *([header_field] if sobject == card_object else [])]
            found = self.api.records_by_id(
                sobject, ids, list(dict.fromkeys(fields)), operation="return_lines"
            )
            _all_found(sobject, ids, found)
            open_lines = [
                i for i in found if self._invoice_of(found[i]) is None
            ]  # billed meanwhile: left alone
            if not open_lines:
                continue
            if action == "write_off":
                self.api.update_records(
                    sobject,
                    {i: {"pse__Exclude_from_Billing__c": True, **note} for i in open_lines},
                    operation="return_lines",
                )
            elif sobject == card_object:
                # Certinia approves and rejects whole timecards: the header, which passes its status to the splits.
                headers = {str(found[i][header_field]) for i in open_lines if found[i].get(header_field)}
                self.api.update_records(
                    _TIMECARD,
                    {h: {"pse__Status__c": "Rejected", **note} for h in sorted(headers)},
                    operation="return_lines",
                )
            else:
                self.api.update_records(
                    sobject,
                    {i: {"pse__Status__c": "Rejected", **note} for i in open_lines},
                    operation="return_lines",
                )

    def _page(
        self, soql: str, page_token: str | None, *, operation: str
    ) -> tuple[list[dict[str, Any]], str | None]:
        """A page of a listing: the query's first batch, or the batch ``page_token`` (a ``nextRecordsUrl``) names."""
        if page_token:
            return self.api.query_page(next_url=page_token, operation=operation)
        return self.api.query_page(soql, operation=operation)


def _card_ids(time_entry_ids: Sequence[str]) -> list[str]:
    """The timecards of day entries (``<card id>-<day>``); an id of another shape is no entry of ours."""
    cards = []
    for entry_id in time_entry_ids:
        found = _ENTRY_ID.match(entry_id)
        if not found:
            raise tagged(RecordNotFound("a time entry id is not a Certinia timecard day"), SYSTEM)
        cards.append(found[1])
    return sorted(set(cards))


def _all_found(sobject: str, ids: Sequence[str], found: Mapping[str, Any]) -> None:
    missing = sorted(set(ids) - set(found))
    if missing:
        raise tagged(RecordNotFound(f"salesforce has no {sobject} {', '.join(missing)}"), SYSTEM)
