"""A configurable REST adapter: a firm connects its PSA, HRIS, CRM or ERP by writing a JSON document, not code.

The document names the base URL, the auth (an API key header, OAuth 2.0 client credentials, or none), and for each
port operation it uses: method, path, query, where the records are in the response, how pages follow each other
(a cursor, a next link in the body or the ``Link`` header, or an offset), and a ``FieldMapping`` from the system's
records to the canonical model (and, for creates, from the canonical model to the request body)::

    {"name": "peoplehr", "base_url": "https://api.peoplehr.example/v2",
     "auth": {"type": "api_key", "header": "X-API-Key", "secret_name": "backoffice/peoplehr"},
     "operations": {
        "list_workers": {"path": "/employees", "items_path": "/data",
                         "paging": {"style": "cursor", "cursor_param": "after", "cursor_path": "/meta/next"},
                         "mapping": {"fields": {"id": "/id", "name": "/displayName", ...}}}}}

Operations: CRM ``get_opportunity`` ({id}), ``get_account`` ({id}), ``sow_document`` ({opportunity_id}; maps to
url, file_name, content_type); ERP ``list_customers``, ``get_customer`` ({id}), ``create_customer``,
``list_vendors``, ``get_vendor`` ({id}), ``create_vendor``, ``release_vendor`` ({id}; an optional body mapped
from ``id`` and ``on_hold``); PSA ``find_project_by_opportunity`` ({opportunity_id}), ``create_project``,
``create_resource_request``, ``allocations`` ({start}, {end}), ``next_project_sequence`` ({client_code}, {year};
reads ``value_path``); HRIS ``list_workers``, ``employee_records``. ``{name}`` placeholders
may appear in the path and the query values.

Invoicing: ERP ``customer_balance`` ({customer_id}; reads ``value_path``), ``tax_template`` ({customer_id};
``value_path``, null or not found: none), ``purchase_order`` ({customer_id}, {project_id}; maps to PurchaseOrder,
none found: None), ``find_invoice`` ({project_id}, {period_start}, {period_end}), ``create_invoice``,
``post_invoice`` ({id}; maps the invoice in the response, or reads it again with ``get_invoice`` ({id}) when the
response has none); PSA ``list_billable_projects``, ``list_time_entries``, ``list_expenses`` (each {start}, {end},
paged), ``get_contract`` ({id}), ``project_rate_card`` ({project_id}; not found: None), ``mark_billed``
({invoice_id}; an optional body mapped from ``invoice_id``, ``time_entry_ids``, ``expense_ids``,
``milestone_ids``) and ``return_lines`` ({action}; a body mapped from ``time_entry_ids``, ``expense_ids``,
``action``, ``reason``), and ``approve_lines`` (the weekly time and expense review; a body mapped from
``time_entry_ids``, ``expense_ids``, ``approver``, ``note``). An invoice's lines, a contract's milestones and a rate card's lines map with ``items``
(``backoffice.connectors.mapping``). Creates send the idempotency key in a header (``Idempotency-Key`` by
default) and can map it into the body as the source ``$idempotency_key``.

Purchasing: ERP ``create_purchase_order`` (a create; the order's number read at ``value_path``, else its id) and
``committed_amount`` ({project_id}, {currency}; reads ``value_path``, not found: 0); PSA ``project_budget``
({project_id}; maps to ProjectBudget, not found: RecordNotFound).

Finance close: ERP ``list_invoices`` ({start}, {end}; the invoices posted in the period, every status but draft,
with their lines; paged) and ``list_projects`` (the ERP's projects; paged). The ERP's ``project_rate_card`` and the
PSA's ``get_account`` ({id}; the client's account, by the id the PSA's projects name it by) are the operations of
those names in that system's document: each system has its own document, so one name reads what that system holds.
The CRM's ``list_accounts`` (every account, paged) lets the reconciliation compare the CRM's customer master; a CRM
document without it is not read (``wiring.close_crm``).

Revenue recognition: PSA ``project_estimate`` ({project_id}; the estimate at completion, ``hours`` and ``cost``;
not found: None) and ERP ``post_journal_entry`` (a create: the entry's ``journal_date``, ``currency``, ``memo``,
``period_start``, ``period_end`` and ``lines`` with ``account``, ``side``, ``amount``, ``project_id``, ``memo``
and ``basis``; idempotent by its key like the other creates). An account the body mapping's ``values`` table does
not know (the ledger's codes for the policy's account names) fails the request before anything is sent.

Receivables: ERP ``list_payments`` ({start}, {end}; the payments and credit memos dated in the period, one record
per invoice each applies to: ``kind`` payment or credit_memo, ``id``, ``invoice_id``, ``client_id``, ``amount``,
``currency``, ``paid_on`` or ``credited_on``, ``memo``; paged). A document without it refuses the daily read by
name.

Resource onboarding: PSA ``standard_rate_card`` ({currency}; maps to RateCard, not found: None),
``save_resource`` (PUT-like {worker_id}; a body mapped from the resource: worker_id, name, email, employment, role,
practice, cost_rate, bill_rate, currency, start_date, weekly_hours, manager_worker_id, skills, vendor_id; one of
``created_statuses`` means created, another 2xx updated; the manager's resource id, if the system answers it, at
``value_path``), ``open_resource_requests`` ({role}; paged; each maps to id, project_id, role, hours, start, end)
and ``assign_resource_request`` ({request_id}; a body mapped from resource_id and worker_id; 409 means another
resource holds the request).

A next link is followed only to the configured host: the adapter never sends its credentials elsewhere.
"""

from __future__ import annotations

import contextlib
import re
import string
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import asdict
from datetime import date
from decimal import Decimal
from typing import Annotated, Any, Literal
from urllib.parse import quote

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
    same_origin,
    tagged,
)
from backoffice.connectors.mapping import FieldMapping, MappingError, read_path
from backoffice.connectors.oauth import AccessToken, TokenCache, client_credentials_token
from backoffice.connectors.ports import (
    Allocation,
    Created,
    Page,
    PsaResource,
    RecordNotFound,
    ResourceRequest,
    ResourceSaved,
    UnreadableLine,
)
from backoffice.connectors.s3_upload import DocumentUploader
from backoffice.models import (
    Client,
    Contract,
    Document,
    EmployeeRecord,
    ExpenseEntry,
    Invoice,
    JournalEntry,
    Opportunity,
    Payment,
    Project,
    ProjectBudget,
    ProjectEstimate,
    ProjectTemplate,
    PurchaseOrder,
    RateCard,
    TimeEntry,
    Vendor,
    VendorPurchaseOrder,
    Worker,
    readable_errors,
)
from backoffice.models.envelope import Model

OperationName = Literal[
    "get_opportunity",
    "get_account",
    "sow_document",
    "list_customers",
    "get_customer",
    "create_customer",
    "list_vendors",
    "get_vendor",
    "create_vendor",
    "release_vendor",
    "find_project_by_opportunity",
    "create_project",
    "create_resource_request",
    "allocations",
    "next_project_sequence",
    "list_workers",
    "employee_records",
    "customer_balance",
    "tax_template",
    "purchase_order",
    "find_invoice",
    "create_invoice",
    "post_invoice",
    "get_invoice",
    "list_billable_projects",
    "list_time_entries",
    "list_expenses",
    "get_contract",
    "project_rate_card",
    "mark_billed",
    "return_lines",
    "list_invoices",
    "list_projects",
    "list_accounts",
    "project_estimate",
    "post_journal_entry",
    "list_payments",
    "approve_lines",
    # -- purchasing ----
    "create_purchase_order",
    "committed_amount",
    "project_budget",
    # -- resource onboarding --
    "standard_rate_card",
    "save_resource",
    "open_resource_requests",
    "assign_resource_request",
]
_PLACEHOLDERS: dict[str, frozenset[str]] = {
    "get_opportunity": frozenset({"id"}),
    "get_account": frozenset({"id"}),
    "release_vendor": frozenset({"id"}),
    "get_vendor": frozenset({"id"}),
    "sow_document": frozenset({"opportunity_id"}),
    "get_customer": frozenset({"id"}),
    "find_project_by_opportunity": frozenset({"opportunity_id"}),
    "allocations": frozenset({"start", "end"}),
    "next_project_sequence": frozenset({"client_code", "year"}),
    "customer_balance": frozenset({"customer_id"}),
    "tax_template": frozenset({"customer_id"}),
    "purchase_order": frozenset({"customer_id", "project_id"}),
    "find_invoice": frozenset({"project_id", "period_start", "period_end"}),
    "post_invoice": frozenset({"id"}),
    "get_invoice": frozenset({"id"}),
    "list_billable_projects": frozenset({"start", "end"}),
    "list_time_entries": frozenset({"start", "end"}),
    "list_expenses": frozenset({"start", "end"}),
    "get_contract": frozenset({"id"}),
    "project_rate_card": frozenset({"project_id"}),
    "mark_billed": frozenset({"invoice_id"}),
    "return_lines": frozenset({"action"}),
    "list_invoices": frozenset({"start", "end"}),
    "project_estimate": frozenset({"project_id"}),
    "list_payments": frozenset({"start", "end"}),
    # -- purchasing ----
    "committed_amount": frozenset({"project_id", "currency"}),
    "project_budget": frozenset({"project_id"}),
    # -- resource onboarding --
    "standard_rate_card": frozenset({"currency"}),
    "save_resource": frozenset({"worker_id"}),
    "open_resource_requests": frozenset({"role"}),
    "assign_resource_request": frozenset({"request_id"}),
}
_CREATES = frozenset(
    {
        "create_customer",
        "create_vendor",
        "create_project",
        "create_resource_request",
        "create_invoice",
        "post_journal_entry",
        "create_purchase_order",  # -- purchasing ----
    }
)
_LISTS = frozenset(
    {
        "list_customers",
        "list_vendors",
        "list_workers",
        "allocations",
        "employee_records",
        "list_billable_projects",
        "list_time_entries",
        "list_expenses",
        "list_invoices",
        "list_projects",
        "list_accounts",
        "list_payments",
        "open_resource_requests",
    }
)
_VALUES = frozenset({"next_project_sequence", "customer_balance", "tax_template", "committed_amount"})
_NO_MAPPING = _CREATES | _VALUES | {"release_vendor", "mark_billed", "return_lines", "approve_lines"}
# Writes that are no create but send a body the document maps (resource onboarding's).
_BODY_WRITES = frozenset({"save_resource", "assign_resource_request"})
_LINK_NEXT = re.compile(r'<([^>]+)>\s*;[^,]*\brel="?next"?', re.IGNORECASE)

# ------------------------------------------------------------------------------------------------------------
# The document
# ------------------------------------------------------------------------------------------------------------


class _Strict(Model):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ApiKeyAuth(_Strict):
    type: Literal["api_key"]
    header: str = "X-API-Key"
    prefix: str = ""  # e.g. "Bearer " or "Token "
    secret_name: str = Field(min_length=1)
    secret_key: str = "api_key"  # the key of the value in the secret's JSON


class OAuth2ClientCredentialsAuth(_Strict):
    type: Literal["oauth2_client_credentials"]
    token_url: str = Field(min_length=1)
    client_id: str = Field(min_length=1)
    scope: str | None = None
    basic_auth: bool = False  # client secret as HTTP Basic instead of in the form
    secret_name: str = Field(min_length=1)
    secret_key: str = "client_secret"


class NoAuth(_Strict):
    type: Literal["none"]


Auth = Annotated[ApiKeyAuth | OAuth2ClientCredentialsAuth | NoAuth, Field(discriminator="type")]


class Paging(_Strict):
    style: Literal["none", "cursor", "next_link", "offset"] = "none"
    page_size: int | None = Field(default=None, ge=1, le=10_000)
    limit_param: str | None = "limit"
    cursor_param: str = "cursor"
    cursor_path: str = "/next_cursor"
    next_link_path: str | None = None  # None: the Link header's rel="next" (RFC 8288)
    offset_param: str = "offset"
    has_more_path: str | None = None  # offset paging without it stops at a short page


class Operation(_Strict):
    method: Literal["GET", "POST", "PUT", "PATCH"] = "GET"
    path: str = Field(min_length=1)
    query: dict[str, str] = Field(default_factory=dict)
    items_path: str | None = None  # where the list of records is ("" for a bare list)
    item_path: str = ""  # where the one record is
    value_path: str | None = None  # next_project_sequence, customer_balance, tax_template: where the value is
    paging: Paging = Field(default_factory=Paging)
    mapping: FieldMapping | None = None  # the system's record -> the canonical model
    body: FieldMapping | None = None  # the canonical model -> the request body (creates)
    id_path: str = "/id"  # creates: where the new record's id is in the response
    idempotency_header: str | None = "Idempotency-Key"
    created_statuses: tuple[int, ...] = (201,)
    not_found_statuses: tuple[int, ...] = (404,)


class RestSettings(_Strict):
    name: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,39}$")  # the system's name in call records and breakers
    base_url: str = Field(pattern=r"^https?://")
    auth: Auth
    headers: dict[str, str] = Field(default_factory=dict)
    operations: dict[OperationName, Operation] = Field(min_length=1)
    error_code_path: str | None = None  # where the system puts an error code in an error body
    project_templates: list[ProjectTemplate] = Field(default_factory=list)
    governance: Governance = Field(default_factory=Governance)

    @model_validator(mode="after")
    def _operations_complete(self) -> RestSettings:
        problems = []
        for name, op in self.operations.items():
            allowed = _PLACEHOLDERS.get(name, frozenset())
            used = {
                field
                for text in (op.path, *op.query.values())
                for _, field, _, _ in string.Formatter().parse(text)
                if field is not None
            }
            if used - allowed:
                problems.append(
                    f"{name}: unknown placeholders {sorted(used - allowed)}; allowed {sorted(allowed)}"
                )
            if (
                name in _CREATES or name in ("return_lines", "approve_lines", *_BODY_WRITES)
            ) and op.body is None:
                problems.append(f"{name}: a create needs a body mapping")
            if name in _VALUES and op.value_path is None:
                problems.append(f"{name}: needs value_path")
            elif name not in _NO_MAPPING | _BODY_WRITES and op.mapping is None:
                problems.append(f"{name}: needs a mapping")
            if name in _LISTS and op.items_path is None:
                problems.append(f"{name}: needs items_path")
        if problems:
            raise ValueError("; ".join(problems))
        return self


# ------------------------------------------------------------------------------------------------------------
# The adapter
# ------------------------------------------------------------------------------------------------------------


def _canonical(value: Any) -> Any:
    """A dataclass or model's values in JSON shape, for the body mapping."""
    if isinstance(value, dict):
        return {k: _canonical(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_canonical(v) for v in value]
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, date):
        return value.isoformat()
    return value


class RestConnector:
    """Every port, operation by operation, as the document describes; an operation it lacks raises
    ``ConnectorNotConfigured``."""

    def __init__(
        self,
        settings: RestSettings,
        credentials: Callable[[], Mapping[str, Any]] | None = None,
        *,
        http: ConnectorHttp | None = None,
        uploader: DocumentUploader | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.settings = settings
        self.system = settings.name
        self.credentials = credentials or (lambda: {})
        self.http = http or ConnectorHttp(settings.name, settings.governance)
        self.uploader = uploader
        self.clock = clock
        self.tokens = TokenCache(self._fetch_token, clock=clock)

    # -- plumbing -----------------------------------------------------------------------------------------------

    def _fetch_token(self) -> AccessToken:
        auth = self.settings.auth
        if not isinstance(auth, OAuth2ClientCredentialsAuth):
            raise AssertionError("only OAuth 2.0 auth fetches tokens")
        return client_credentials_token(
            self.http,
            auth.token_url,
            client_id=auth.client_id,
            client_secret=str(self.credentials()[auth.secret_key]),
            scope=auth.scope,
            basic_auth=auth.basic_auth,
            clock=self.clock,
        )

    def _operation(self, name: OperationName) -> Operation:
        op = self.settings.operations.get(name)
        if op is None:
            raise tagged(
                ConnectorNotConfigured(f"{self.system}: no {name} operation is configured"), self.system
            )
        return op

    def _send(
        self,
        name: OperationName,
        op: Operation,
        url: str,
        *,
        record_id: str | None = None,
        json_body: Any = None,
        headers: Mapping[str, str] | None = None,
        allow: tuple[int, ...] = (),
    ) -> HttpResponse:
        if not same_origin(url, self.settings.base_url):
            raise tagged(
                ConnectorRequestRejected(f"{self.system} {name}: a link leads off {self.settings.base_url}"),
                self.system,
            )
        for attempt in (1, 2):
            sent = {"Accept": "application/json", **self.settings.headers, **(headers or {})}
            token = None
            auth = self.settings.auth
            if isinstance(auth, ApiKeyAuth):
                sent[auth.header] = auth.prefix + str(self.credentials()[auth.secret_key])
            elif isinstance(auth, OAuth2ClientCredentialsAuth):
                token = self.tokens.get()
                sent["Authorization"] = f"Bearer {token.value}"
            response = self.http.request(
                op.method,
                url,
                operation=name,
                record_id=record_id,
                headers=sent,
                json_body=json_body,
            )
            if response.status < 300 or response.status in allow:
                return response
            if response.status == 401 and token is not None and attempt == 1:
                self.tokens.invalidate(token)
                continue
            codes = []
            if self.settings.error_code_path:
                code = read_path(response.json(), self.settings.error_code_path)
                if code is not None:
                    codes.append(str(code))
            raise error_for_status(
                response, system=self.system, operation=name, record_id=record_id, codes=codes
            )
        raise AssertionError("unreachable")

    def _url(self, op: Operation, values: Mapping[str, Any], extra: Mapping[str, Any] | None = None) -> str:
        path = op.path.format_map({k: quote(str(v), safe="") for k, v in values.items()})
        query = {k: v.format_map({n: str(x) for n, x in values.items()}) for k, v in op.query.items()}
        return build_url(self.settings.base_url, path, {**query, **(extra or {})})

    def _map(self, name: str, op: Operation, record: Any, model: type[Any]) -> Any:
        assert op.mapping is not None  # checked when the document was loaded
        try:
            mapped = op.mapping.apply(record)
        except MappingError as error:
            raise tagged(
                RecordUnmappable(f"{self.system} {name}: record does not map", error.errors), self.system
            ) from None
        try:
            return model.from_json_dict(mapped)
        except ValidationError as error:
            raise tagged(
                RecordUnmappable(
                    f"{self.system} {name}: record does not fit {model.__name__}", readable_errors(error)
                ),
                self.system,
            ) from None

    def _page(
        self, name: OperationName, values: Mapping[str, Any], page_token: str | None
    ) -> tuple[list[Any], str | None]:
        op = self._operation(name)
        paging = op.paging
        extra: dict[str, Any] = {}
        if paging.page_size and paging.limit_param and paging.style != "none":
            extra[paging.limit_param] = paging.page_size
        if paging.style == "next_link" and page_token:
            url = page_token
        else:
            if paging.style == "cursor" and page_token:
                extra[paging.cursor_param] = page_token
            elif paging.style == "offset":
                extra[paging.offset_param] = int(page_token) if page_token and page_token.isdigit() else 0
            url = self._url(op, values, extra)
        response = self._send(name, op, url)
        body = response.json()
        items = read_path(body, op.items_path or "")
        records = items if isinstance(items, list) else []
        following: str | None = None
        if paging.style == "cursor":
            cursor = read_path(body, paging.cursor_path)
            following = str(cursor) if cursor not in (None, "") and records else None
        elif paging.style == "next_link":
            if paging.next_link_path:
                link = read_path(body, paging.next_link_path)
            else:
                found = _LINK_NEXT.search(response.header("link") or "")
                link = found[1] if found else None
            if isinstance(link, str) and link:
                following = link if link.startswith("http") else build_url(self.settings.base_url, link)
        elif paging.style == "offset":
            offset = int(extra[paging.offset_param]) + len(records)
            if paging.has_more_path:
                more = read_path(body, paging.has_more_path) in (True, "true", "T")
            else:
                more = bool(records) and (paging.page_size is None or len(records) >= paging.page_size)
            following = str(offset) if more else None
        return records, following

    def _all(self, name: OperationName, values: Mapping[str, Any]) -> Iterator[Any]:
        token: str | None = None
        while True:
            records, token = self._page(name, values, token)
            yield from records
            if not token:
                return

    def _one(self, name: OperationName, values: Mapping[str, Any], record_id: str) -> Any | None:
        op = self._operation(name)
        response = self._send(
            name, op, self._url(op, values), record_id=record_id, allow=op.not_found_statuses
        )
        if response.status in op.not_found_statuses:
            return None
        if op.items_path is not None:
            items = read_path(response.json(), op.items_path)
            return items[0] if isinstance(items, list) and items else None
        return read_path(response.json(), op.item_path)

    def _body(self, name: OperationName, op: Operation, canonical: Any) -> Any:
        """The request body the operation's body mapping builds from ``canonical`` (None: no body mapping)."""
        if op.body is None:
            return None
        try:
            return op.body.apply(_canonical(canonical))
        except MappingError as error:
            raise tagged(
                RecordUnmappable(f"{self.system} {name}: cannot build the request", error.errors), self.system
            ) from None

    def _value(self, name: OperationName, values: Mapping[str, Any], record_id: str) -> tuple[bool, Any]:
        """(found, the value at ``value_path``) of a read that answers one value."""
        op = self._operation(name)
        response = self._send(
            name, op, self._url(op, values), record_id=record_id, allow=op.not_found_statuses
        )
        if response.status in op.not_found_statuses:
            return False, None
        return True, read_path(response.json(), op.value_path or "")

    def _maybe(self, name: OperationName, values: Mapping[str, Any], record_id: str, model: type[Any]) -> Any:
        """The operation's one record as ``model``, or None when there is none."""
        record = self._one(name, values, record_id)
        if record in (None, {}, []):
            return None
        return self._map(name, self._operation(name), record, model)

    def _create(self, name: OperationName, canonical: Any, idempotency_key: str) -> Created:
        return self._create_answer(name, canonical, idempotency_key)[0]

    def _create_answer(
        self, name: OperationName, canonical: Any, idempotency_key: str
    ) -> tuple[Created, Any]:
        """The create and the system's answer (a purchase order's number is read from it)."""
        op = self._operation(name)
        assert op.body is not None  # checked when the document was loaded
        try:
            body = op.body.apply(_canonical(canonical), context={"idempotency_key": idempotency_key})
        except MappingError as error:
            raise tagged(
                RecordUnmappable(f"{self.system} {name}: cannot build the request", error.errors), self.system
            ) from None
        headers = {op.idempotency_header: idempotency_key} if op.idempotency_header else {}
        response = self._send(
            name, op, self._url(op, {}), record_id=idempotency_key, json_body=body, headers=headers
        )
        new_id = read_path(response.json(), op.id_path)
        if new_id in (None, ""):
            raise tagged(
                RecordUnmappable(f"{self.system} {name}: the response has no id at {op.id_path}"), self.system
            )
        return Created(str(new_id), created=response.status in op.created_statuses), response.json()

    # -- CRM ----------------------------------------------------------------------------------------------------

    def get_opportunity(self, opportunity_id: str) -> Opportunity:
        record = self._one("get_opportunity", {"id": opportunity_id}, opportunity_id)
        if record is None:
            raise tagged(RecordNotFound(f"{self.system} has no opportunity {opportunity_id}"), self.system)
        opportunity: Opportunity = self._map(
            "get_opportunity", self._operation("get_opportunity"), record, Opportunity
        )
        return opportunity

    def get_account(self, account_id: str) -> Client:
        record = self._one("get_account", {"id": account_id}, account_id)
        if record is None:
            raise tagged(RecordNotFound(f"{self.system} has no account {account_id}"), self.system)
        client: Client = self._map("get_account", self._operation("get_account"), record, Client)
        return client

    def list_accounts(self, page_token: str | None = None) -> Page[Client]:
        op = self._operation("list_accounts")
        records, following = self._page("list_accounts", {}, page_token)
        return Page([self._map("list_accounts", op, r, Client) for r in records], following)

    def sow_document(self, opportunity_id: str) -> Document | None:
        if "sow_document" not in self.settings.operations:
            return None
        op = self._operation("sow_document")
        record = self._one("sow_document", {"opportunity_id": opportunity_id}, opportunity_id)
        if record is None:
            return None
        assert op.mapping is not None
        try:
            file = op.mapping.apply(record)
        except MappingError as error:
            raise tagged(
                RecordUnmappable(f"{self.system} sow_document: record does not map", error.errors),
                self.system,
            ) from None
        if not file.get("url"):
            return None
        if self.uploader is None:
            raise tagged(
                ConnectorNotConfigured(f"{self.system}: no document store to put the SOW in"), self.system
            )
        url = str(file["url"])
        url = url if url.startswith("http") else build_url(self.settings.base_url, url)
        content = self._send(
            "sow_document", op.model_copy(update={"method": "GET"}), url, record_id=opportunity_id
        ).body
        file_name = str(file.get("file_name") or "statement-of-work.pdf")
        safe_name = re.sub(r"[^A-Za-z0-9._]+", "-", file_name).strip("-") or "statement-of-work.pdf"
        return self.uploader.upload(
            key=f"crm/opportunities/{quote(opportunity_id, safe='')}/{safe_name}",
            content=content,
            content_type=str(file.get("content_type") or "application/pdf"),
            file_name=file_name,
            document_type="sow",
        )

    # -- ERP ----------------------------------------------------------------------------------------------------

    def list_customers(self, page_token: str | None = None) -> Page[Client]:
        op = self._operation("list_customers")
        records, following = self._page("list_customers", {}, page_token)
        return Page([self._map("list_customers", op, r, Client) for r in records], following)

    def get_customer(self, customer_id: str) -> Client:
        record = self._one("get_customer", {"id": customer_id}, customer_id)
        if record is None:
            raise tagged(RecordNotFound(f"{self.system} has no customer {customer_id}"), self.system)
        client: Client = self._map("get_customer", self._operation("get_customer"), record, Client)
        return client

    def create_customer(self, client: Client, *, idempotency_key: str) -> Created:
        return self._create("create_customer", client.to_json_dict(reveal_secrets=True), idempotency_key)

    def list_vendors(self, page_token: str | None = None) -> Page[Vendor]:
        op = self._operation("list_vendors")
        records, following = self._page("list_vendors", {}, page_token)
        return Page([self._map("list_vendors", op, r, Vendor) for r in records], following)

    def get_vendor(self, vendor_id: str) -> Vendor:
        record = self._one("get_vendor", {"id": vendor_id}, vendor_id)
        if record is None:
            raise tagged(RecordNotFound(f"{self.system} has no vendor {vendor_id}"), self.system)
        vendor: Vendor = self._map("get_vendor", self._operation("get_vendor"), record, Vendor)
        return vendor

    def create_vendor(self, vendor: Vendor, *, idempotency_key: str) -> Created:
        """The vendor as the workflow passes it (on hold until approved): the body mapping sends ``on_hold``."""
        return self._create("create_vendor", vendor.to_json_dict(reveal_secrets=True), idempotency_key)

    def release_vendor(self, vendor_id: str) -> None:
        op = self._operation("release_vendor")
        body = None
        if op.body is not None:
            try:
                body = op.body.apply({"id": vendor_id, "on_hold": False})
            except MappingError as error:
                raise tagged(
                    RecordUnmappable(f"{self.system} release_vendor: cannot build the request", error.errors),
                    self.system,
                ) from None
        self._send(
            "release_vendor", op, self._url(op, {"id": vendor_id}), record_id=vendor_id, json_body=body
        )

    # -- ERP invoicing -----------------------------------------------------------------------------------------

    def customer_balance(self, customer_id: str) -> Decimal:
        found, value = self._value("customer_balance", {"customer_id": customer_id}, customer_id)
        if not found:
            raise tagged(RecordNotFound(f"{self.system} has no customer {customer_id}"), self.system)
        try:
            return Decimal(str(value)) if value not in (None, "") else Decimal(0)
        except ArithmeticError:
            raise tagged(
                RecordUnmappable(f"{self.system} customer_balance: no number at the value path"), self.system
            ) from None

    def tax_template(self, customer_id: str) -> str | None:
        _, value = self._value("tax_template", {"customer_id": customer_id}, customer_id)
        return str(value) if value not in (None, "") else None

    def purchase_order(self, customer_id: str, project_id: str) -> PurchaseOrder | None:
        values = {"customer_id": customer_id, "project_id": project_id}
        order: PurchaseOrder | None = self._maybe("purchase_order", values, customer_id, PurchaseOrder)
        return order

    def find_invoice(self, project_id: str, period_start: date, period_end: date) -> Invoice | None:
        values = {
            "project_id": project_id,
            "period_start": period_start.isoformat(),
            "period_end": period_end.isoformat(),
        }
        invoice: Invoice | None = self._maybe("find_invoice", values, project_id, Invoice)
        return invoice

    def create_invoice(self, invoice: Invoice, *, idempotency_key: str) -> Created:
        return self._create("create_invoice", invoice.to_json_dict(reveal_secrets=True), idempotency_key)

    def post_invoice(self, invoice_id: str) -> Invoice:
        name: OperationName = "post_invoice"
        op = self._operation(name)
        response = self._send(
            name,
            op,
            self._url(op, {"id": invoice_id}),
            record_id=invoice_id,
            json_body=self._body(name, op, {"id": invoice_id}),
        )
        record = read_path(response.json(), op.item_path)
        if isinstance(record, dict) and record:
            posted: Invoice = self._map(name, op, record, Invoice)
            return posted
        if "get_invoice" not in self.settings.operations:
            raise tagged(
                RecordUnmappable(
                    f"{self.system} post_invoice: the response has no invoice and no get_invoice"
                ),
                self.system,
            )
        again: Invoice | None = self._maybe("get_invoice", {"id": invoice_id}, invoice_id, Invoice)
        if again is None:
            raise tagged(RecordNotFound(f"{self.system} has no invoice {invoice_id}"), self.system)
        return again

    # -- ERP finance close -------------------------------------------------------------------------------------

    def list_invoices(self, start: date, end: date, page_token: str | None = None) -> Page[Invoice]:
        return self._list("list_invoices", start, end, page_token, Invoice)

    def list_projects(self, page_token: str | None = None) -> Page[Project]:
        op = self._operation("list_projects")
        records, following = self._page("list_projects", {}, page_token)
        return Page([self._map("list_projects", op, r, Project) for r in records], following)

    # -- ERP receivables ---------------------------------------------------------------------------------------

    def list_payments(self, start: date, end: date, page_token: str | None = None) -> Page[Payment]:
        return self._list("list_payments", start, end, page_token, Payment)

    # -- ERP revenue recognition -------------------------------------------------------------------------------

    def post_journal_entry(self, entry: JournalEntry, *, idempotency_key: str) -> Created:
        return self._create("post_journal_entry", entry.to_json_dict(), idempotency_key)

    # -- purchasing ----

    def create_purchase_order(self, order: VendorPurchaseOrder, *, idempotency_key: str) -> Created:
        """The vendor's purchase order, once per key (the operation's idempotency header); ``details["number"]``:
        the order's number at the operation's ``value_path``, else its id."""
        name: OperationName = "create_purchase_order"
        created, answer = self._create_answer(name, order.to_json_dict(), idempotency_key)
        path = self._operation(name).value_path
        number = read_path(answer, path) if path else None
        return Created(created.id, created.created, {"number": str(number or created.id)})

    def committed_amount(self, project_id: str, currency: str) -> Decimal:
        found, value = self._value(
            "committed_amount", {"project_id": project_id, "currency": currency}, project_id
        )
        if not found or value in (None, ""):
            return Decimal(0)
        try:
            return Decimal(str(value))
        except ArithmeticError:
            raise tagged(
                RecordUnmappable(f"{self.system} committed_amount: not an amount"), self.system
            ) from None

    def project_budget(self, project_id: str) -> ProjectBudget:
        name: OperationName = "project_budget"
        record = self._one(name, {"project_id": project_id}, project_id)
        if record in (None, {}, []):
            raise tagged(RecordNotFound(f"{self.system} has no project {project_id}"), self.system)
        budget: ProjectBudget = self._map(name, self._operation(name), record, ProjectBudget)
        return budget

    # -- PSA ----------------------------------------------------------------------------------------------------

    def find_project_by_opportunity(self, opportunity_id: str) -> Project | None:
        name: OperationName = "find_project_by_opportunity"
        record = self._one(name, {"opportunity_id": opportunity_id}, opportunity_id)
        if record is None:
            return None
        project: Project = self._map(name, self._operation(name), record, Project)
        return project

    def create_project(self, project: Project, *, idempotency_key: str) -> Created:
        return self._create("create_project", project.to_json_dict(), idempotency_key)

    def create_resource_request(self, request: ResourceRequest, *, idempotency_key: str) -> Created:
        return self._create("create_resource_request", asdict(request), idempotency_key)

    def allocations(self, start: date, end: date) -> list[Allocation]:
        op = self._operation("allocations")
        found = []
        for record in self._all("allocations", {"start": start.isoformat(), "end": end.isoformat()}):
            assert op.mapping is not None
            try:
                mapped = op.mapping.apply(record)
                found.append(
                    Allocation(
                        worker_id=str(mapped["worker_id"]),
                        project_id=str(mapped["project_id"]),
                        start=date.fromisoformat(str(mapped["start"])),
                        end=date.fromisoformat(str(mapped["end"])),
                        hours_per_week=Decimal(str(mapped["hours_per_week"])),
                    )
                )
            except MappingError as error:
                raise tagged(
                    RecordUnmappable(f"{self.system} allocations: record does not map", error.errors),
                    self.system,
                ) from None
            except (KeyError, ValueError, ArithmeticError):
                raise tagged(
                    RecordUnmappable(
                        f"{self.system} allocations: a record lacks worker_id, project_id, start, end or hours_per_week"
                    ),
                    self.system,
                ) from None
        return found

    def next_project_sequence(self, client_code: str, year: int) -> int:
        op = self._operation("next_project_sequence")
        response = self._send(
            "next_project_sequence", op, self._url(op, {"client_code": client_code, "year": year})
        )
        value = read_path(response.json(), op.value_path or "")
        if isinstance(value, bool) or not str(value).isdigit():
            raise tagged(
                RecordUnmappable(f"{self.system} next_project_sequence: no number at {op.value_path}"),
                self.system,
            )
        return int(str(value))

    def project_templates(self) -> list[ProjectTemplate]:
        return list(self.settings.project_templates)

    # -- PSA invoicing -----------------------------------------------------------------------------------------

    def _list(
        self, name: OperationName, start: date, end: date, page_token: str | None, model: type[Any]
    ) -> Page[Any]:
        op = self._operation(name)
        records, following = self._page(
            name, {"start": start.isoformat(), "end": end.isoformat()}, page_token
        )
        return Page([self._map(name, op, r, model) for r in records], following)

    def list_billable_projects(self, start: date, end: date, page_token: str | None = None) -> Page[Project]:
        return self._list("list_billable_projects", start, end, page_token, Project)

    def list_time_entries(
        self, start: date, end: date, page_token: str | None = None
    ) -> Page[TimeEntry | UnreadableLine]:
        return self._lines("list_time_entries", "time", start, end, page_token, TimeEntry)

    def list_expenses(
        self, start: date, end: date, page_token: str | None = None
    ) -> Page[ExpenseEntry | UnreadableLine]:
        return self._lines("list_expenses", "expense", start, end, page_token, ExpenseEntry)

    def _lines(
        self,
        name: OperationName,
        kind: Literal["time", "expense"],
        start: date,
        end: date,
        page_token: str | None,
        model: type[Any],
    ) -> Page[Any]:
        """A page of time entries or expenses; one that does not map or fit is an ``UnreadableLine`` with the
        reasons (the billing run reports it instead of failing)."""
        op = self._operation(name)
        records, following = self._page(
            name, {"start": start.isoformat(), "end": end.isoformat()}, page_token
        )
        lines: list[Any] = []
        for record in records:
            try:
                lines.append(self._map(name, op, record, model))
            except RecordUnmappable as error:
                mapped: dict[str, Any] = {}
                if op.mapping is not None:
                    with contextlib.suppress(MappingError):  # the reasons are in the error already
                        mapped = op.mapping.apply(record)
                project = mapped.get("project_id")
                lines.append(
                    UnreadableLine(
                        kind,
                        str(mapped.get("id") or "?"),
                        str(project) if project else None,
                        tuple(error.errors),
                    )
                )
        return Page(lines, following)

    def get_contract(self, contract_id: str) -> Contract:
        contract: Contract | None = self._maybe("get_contract", {"id": contract_id}, contract_id, Contract)
        if contract is None:
            raise tagged(RecordNotFound(f"{self.system} has no contract {contract_id}"), self.system)
        return contract

    def project_rate_card(self, project_id: str) -> RateCard | None:
        card: RateCard | None = self._maybe(
            "project_rate_card", {"project_id": project_id}, project_id, RateCard
        )
        return card

    def project_estimate(self, project_id: str) -> ProjectEstimate | None:
        estimate: ProjectEstimate | None = self._maybe(
            "project_estimate", {"project_id": project_id}, project_id, ProjectEstimate
        )
        return estimate

    def mark_billed(
        self,
        invoice_id: str,
        *,
        time_entry_ids: Sequence[str],
        expense_ids: Sequence[str],
        milestone_ids: Sequence[str] = (),
    ) -> None:
        name: OperationName = "mark_billed"
        op = self._operation(name)
        lines = {
            "invoice_id": invoice_id,
            "time_entry_ids": list(time_entry_ids),
            "expense_ids": list(expense_ids),
            "milestone_ids": list(milestone_ids),
        }
        self._send(
            name,
            op,
            self._url(op, {"invoice_id": invoice_id}),
            record_id=invoice_id,
            json_body=self._body(name, op, lines),
        )

    def return_lines(
        self,
        *,
        time_entry_ids: Sequence[str],
        expense_ids: Sequence[str],
        action: Literal["send_back", "write_off"],
        reason: str,
    ) -> None:
        name: OperationName = "return_lines"
        op = self._operation(name)
        lines = {
            "time_entry_ids": list(time_entry_ids),
            "expense_ids": list(expense_ids),
            "action": action,
            "reason": reason,
        }
        self._send(name, op, self._url(op, {"action": action}), json_body=self._body(name, op, lines))

    def approve_lines(
        self,
        *,
        time_entry_ids: Sequence[str],
        expense_ids: Sequence[str],
        approver: str,
        note: str | None = None,
    ) -> None:
        name: OperationName = "approve_lines"
        op = self._operation(name)
        lines = {
            "time_entry_ids": list(time_entry_ids),
            "expense_ids": list(expense_ids),
            "approver": approver,
            "note": note,
        }
        self._send(name, op, self._url(op, {}), json_body=self._body(name, op, lines))

    # -- PSA resource onboarding (issue #22) ---------------------------------------------------------------------

    def standard_rate_card(self, currency: str, *, as_of: date | None = None) -> RateCard | None:
        # The PSA's endpoint answers its card in force now (``as_of`` is not part of its contract).
        card: RateCard | None = self._maybe("standard_rate_card", {"currency": currency}, currency, RateCard)
        return card

    def save_resource(self, resource: PsaResource) -> ResourceSaved:
        name: OperationName = "save_resource"
        op = self._operation(name)
        response = self._send(
            name,
            op,
            self._url(op, {"worker_id": resource.worker_id}),
            record_id=resource.worker_id,
            json_body=self._body(name, op, asdict(resource)),
        )
        body = response.json()
        new_id = read_path(body, op.id_path)
        if new_id in (None, ""):
            raise tagged(
                RecordUnmappable(f"{self.system} {name}: the response has no id at {op.id_path}"), self.system
            )
        manager = read_path(body, op.value_path) if op.value_path else None
        return ResourceSaved(
            str(new_id), response.status in op.created_statuses, str(manager) if manager else None
        )

    def open_resource_requests(self, role: str) -> list[ResourceRequest]:
        name: OperationName = "open_resource_requests"
        op = self._operation(name)
        assert op.mapping is not None  # checked when the document was loaded
        found = []
        for record in self._all(name, {"role": role}):
            try:
                mapped = op.mapping.apply(record)
                found.append(
                    ResourceRequest(
                        project_id=str(mapped["project_id"]),
                        role=str(mapped.get("role") or role),
                        hours=Decimal(str(mapped.get("hours") or 0)),
                        start=date.fromisoformat(str(mapped["start"])),
                        end=date.fromisoformat(str(mapped["end"])),
                        status="open",
                        id=str(mapped["id"]),
                    )
                )
            except MappingError as error:
                raise tagged(
                    RecordUnmappable(f"{self.system} {name}: record does not map", error.errors), self.system
                ) from None
            except (KeyError, ValueError, ArithmeticError):
                raise tagged(
                    RecordUnmappable(f"{self.system} {name}: a request lacks id, project_id, start or end"),
                    self.system,
                ) from None
        return sorted(found, key=lambda r: (r.start, r.id or ""))

    def assign_resource_request(
        self, request_id: str, *, resource_id: str, worker_id: str, bill_rate: Decimal | None = None
    ) -> bool:
        name: OperationName = "assign_resource_request"
        op = self._operation(name)
        response = self._send(
            name,
            op,
            self._url(op, {"request_id": request_id}),
            record_id=request_id,
            json_body=self._body(
                name,
                op,
                {"resource_id": resource_id, "worker_id": worker_id, "bill_rate": bill_rate},
            ),
            allow=(409,),
        )
        return response.status != 409

    # -- HRIS ---------------------------------------------------------------------------------------------------

    def list_workers(self, page_token: str | None = None) -> Page[Worker]:
        op = self._operation("list_workers")
        records, following = self._page("list_workers", {}, page_token)
        return Page([self._map("list_workers", op, r, Worker) for r in records], following)

    def employee_records(self) -> list[EmployeeRecord]:
        """Home address, phone and payroll bank account per employee (every page)."""
        op = self._operation("employee_records")
        return [
            self._map("employee_records", op, r, EmployeeRecord) for r in self._all("employee_records", {})
        ]
