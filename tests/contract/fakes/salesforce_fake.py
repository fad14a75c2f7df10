"""A fake Salesforce org, after the REST API and OAuth 2.0 documentation (developer.salesforce.com).

Emulated:
- ``POST /services/oauth2/token``: ``client_credentials`` (client id + secret) and
  ``urn:ietf:params:oauth:grant-type:jwt-bearer`` (RS256 assertion verified with the connected app's certificate key;
  ``iss`` = client id, ``sub`` = the user, ``aud`` = the login URL, ``exp`` at most 3 minutes ahead). Answers
  ``{access_token, instance_url, id, token_type, issued_at, signature, scope}`` or ``{"error", "error_description"}``.
- ``/services/data/vXX.X/...`` with a bearer token; an unknown or expired token gets 401
  ``[{"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID"}]``. Every answer carries
  ``Sforce-Limit-Info: api-usage=<n>/<limit>``.
- ``sobjects/<object>/<id>?fields=``, ``sobjects/<object>/<extIdField>/<value>`` (GET; PATCH = upsert: 201 created,
  200 ``created: false`` updated, 300 when the value matches several records), ``ContentVersion/<id>/VersionData``.
- ``query?q=<SOQL>`` for the SOQL the adapters send (SELECT fields incl. relationship paths FROM one object, WHERE
  with AND, OR and parentheses over =, !=, <, <=, >, >=, LIKE, IN; ORDER BY; LIMIT), answered in batches of
  ``batch_size`` with
  ``done``/``nextRecordsUrl`` (``/services/data/vXX.X/query/<locator>-<offset>``); bad SOQL -> 400 MALFORMED_QUERY.
- ``PATCH composite/sobjects`` (sObject Collections update: ``{"allOrNone", "records": [{"attributes": {"type"},
  "id", fields...}]}``, at most 200 records; an unknown id fails with ``ENTITY_IS_DELETED`` and, all or none,
  nothing is written) answered ``[{"id", "success", "errors"}]``. Like Certinia, a timecard header's
  ``pse__Status__c`` is carried to its splits (``pse__Timecard__c``).
- Errors as Salesforce writes them: ``[{"message": ..., "errorCode": ...}]`` (NOT_FOUND, INVALID_FIELD, ...).

Seed it with ``seed_deal`` (the sample firm's deals, accounts and SOW PDFs) and ``seed_allocations``; the finance
close's data with ``seed_close_books``, ``seed_crm_accounts`` and ``seed_estimates``.
"""

from __future__ import annotations

import itertools
import re
import secrets
import time
from collections.abc import Callable
from datetime import date, timedelta
from decimal import Decimal
from typing import Any
from urllib.parse import parse_qs, unquote

from backoffice.onboarding.sample_firm import sample_sow_spec
from backoffice.onboarding.sample_sow import sow_pdf
from tests.contract.fakes.jwt_check import verify_jwt
from tests.contract.fakes.server import FakeServer, Reply, Request

INVALID_SESSION = [{"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID"}]
NOT_FOUND = [{"errorCode": "NOT_FOUND", "message": "The requested resource does not exist"}]
_PREFIXES = {
    "Account": "001",
    "Opportunity": "006",
    "ContentDocument": "069",
    "ContentVersion": "068",
    "ContentDocumentLink": "06A",
    "pse__Proj__c": "a1A",
    "pse__Milestone__c": "a1B",
    "pse__Resource_Request__c": "a1C",
    "pse__Timecard_Header__c": "a1D",
    "pse__Assignment__c": "a1E",
    "pse__Schedule__c": "a1F",
    "pse__Timecard__c": "a1G",
    "pse__Expense__c": "a1H",
    "pse__Rate_Card__c": "a1J",
    "pse__Budget__c": "a1K",  # -- purchasing ----
    # -- resource onboarding --
    "Contact": "003",
    "pse__Work_Calendar__c": "a1P",
    "pse__Practice__c": "a1Q",
    "pse__Skill__c": "a1R",
    "pse__Skill_Certification_Rating__c": "a1S",
}
# -- resource onboarding --: what the org requires of a created assignment
_REQUIRED_ON_CREATE = {
    "pse__Assignment__c": (
        "pse__Resource__c",
        "pse__Project__c",
        "pse__Schedule__c",
        "pse__Bill_Rate__c",
        "pse__Is_Billable__c",
    ),
}
_TOKEN = re.compile(
    r"\s*(?:(?P<string>'(?:\\.|[^'\\])*')|(?P<op><=|>=|!=|=|<|>|\(|\)|,)|(?P<word>[A-Za-z0-9_.%:+-]+))"
)


# Certinia's billing type labels (the adapter's default settings) -> the canonical billing model.
BILLING_LABELS = {
    "Time and Materials": "time_and_materials",
    "Fixed Price": "fixed_fee",
    "Retainer": "retainer",
}
_WEEK = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


class SoqlError(ValueError):
    pass


def _unescape(literal: str) -> str:
    body = literal[1:-1]
    return re.sub(r"\\(.)", lambda m: {"n": "\n", "r": "\r", "t": "\t"}.get(m[1], m[1]), body)


def _tokens(soql: str) -> list[tuple[str, str]]:
    found, position = [], 0
    while position < len(soql):
        if soql[position:].strip() == "":
            break
        match = _TOKEN.match(soql, position)
        if not match:
            raise SoqlError(f"unexpected text at {position}")
        kind = match.lastgroup or "word"
        found.append((kind, match[kind]))
        position = match.end()
    return found


def _literal(kind: str, text: str) -> Any:
    if kind == "string":
        return _unescape(text)
    lowered = text.lower()
    if lowered in ("true", "false"):
        return lowered == "true"
    if lowered == "null":
        return None
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
        return text
    if re.fullmatch(r"-?\d+(\.\d+)?", text):
        return Decimal(text)
    raise SoqlError(f"not a literal: {text}")


def read(record: dict[str, Any], path: str) -> Any:
    value: Any = record
    for part in path.split("."):
        if not isinstance(value, dict):
            return None
        value = value.get(part)
    return value


def _compare(left: Any, op: str, right: Any) -> bool:
    if op == "IN":
        return left in right
    if op == "LIKE":
        pattern = "^" + re.escape(str(right)).replace("%", ".*").replace("_", ".") + "$"
        return left is not None and re.match(pattern, str(left), re.IGNORECASE) is not None
    if op == "=":
        return _norm(left) == _norm(right)
    if op == "!=":
        return _norm(left) != _norm(right)
    if left is None or right is None:
        return False
    a, b = _norm(left), _norm(right)
    return {"<": a < b, "<=": a <= b, ">": a > b, ">=": a >= b}[op]


def _norm(value: Any) -> Any:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return Decimal(str(value))
    return value


class _SoqlParser:
    """A recursive-descent reader of the SOQL subset the adapters send, one token at a time."""

    def __init__(self, soql: str) -> None:
        self.tokens = _tokens(soql)
        self.position = 0

    def peek(self) -> tuple[str, str]:
        return self.tokens[self.position] if self.position < len(self.tokens) else ("end", "")

    def take(self, expected: str | None = None) -> tuple[str, str]:
        token = self.peek()
        if token[0] == "end" or (expected is not None and token[1].upper() != expected):
            raise SoqlError(f"expected {expected or 'more'} at token {self.position}")
        self.position += 1
        return token

    def at(self, keyword: str) -> bool:
        return self.peek()[1].upper() == keyword

    def comma_separated(self, item: Callable[[], Any]) -> list[Any]:
        items = [item()]
        while self.peek()[1] == ",":
            self.take(",")
            items.append(item())
        return items

    def select(self) -> tuple[list[str], str]:
        self.take("SELECT")
        fields: list[str] = self.comma_separated(lambda: self.take()[1])
        self.take("FROM")
        return fields, self.take()[1]

    def where(self) -> Callable[[dict[str, Any]], bool]:
        if not self.at("WHERE"):
            return lambda r: True
        self.take("WHERE")
        return self.disjunction()

    def disjunction(self) -> Callable[[dict[str, Any]], bool]:
        parts = [self.conjunction()]
        while self.at("OR"):
            self.take("OR")
            parts.append(self.conjunction())
        return lambda r: any(p(r) for p in parts)

    def conjunction(self) -> Callable[[dict[str, Any]], bool]:
        parts = [self.condition()]
        while self.at("AND"):
            self.take("AND")
            parts.append(self.condition())
        return lambda r: all(p(r) for p in parts)

    def condition(self) -> Callable[[dict[str, Any]], bool]:
        if self.peek()[1] == "(":
            self.take("(")
            inner = self.disjunction()
            self.take(")")
            return inner
        field = self.take()[1]
        op = self.take()[1].upper()
        if op == "IN":
            self.take("(")
            values = self.comma_separated(lambda: _literal(*self.take()))
            self.take(")")
            return lambda r: _compare(read(r, field), "IN", values)
        if op in ("=", "!=", "<", "<=", ">", ">=", "LIKE"):
            value = _literal(*self.take())
            return lambda r: _compare(read(r, field), op, value)
        raise SoqlError(f"unknown operator {op}")

    def order_by(self) -> tuple[str, bool] | None:
        if not self.at("ORDER"):
            return None
        self.take("ORDER")
        self.take("BY")
        field = self.take()[1]
        descending = False
        if self.peek()[1].upper() in ("ASC", "DESC"):
            descending = self.take()[1].upper() == "DESC"
        return field, descending

    def limit(self) -> int | None:
        if not self.at("LIMIT"):
            return None
        self.take("LIMIT")
        return int(self.take()[1])

    def end(self) -> None:
        if self.peek()[0] != "end":
            raise SoqlError(f"unexpected {self.peek()[1]}")


def run_soql(
    soql: str, tables: dict[str, dict[str, dict[str, Any]]]
) -> tuple[str, list[str], list[dict[str, Any]]]:
    """(object, selected fields, matching records) of a SOQL query."""
    parser = _SoqlParser(soql)
    fields, sobject = parser.select()
    if sobject not in tables and sobject not in _PREFIXES:
        raise SoqlError(f"sObject type '{sobject}' is not supported")
    matches = parser.where()
    order = parser.order_by()
    limit = parser.limit()
    parser.end()
    rows = [r for r in tables.get(sobject, {}).values() if matches(r)]
    if order is not None:
        rows.sort(key=lambda r: (read(r, order[0]) is None, str(read(r, order[0]) or "")), reverse=order[1])
    if limit is not None:
        rows = rows[:limit]
    return sobject, fields, rows


def project(record: dict[str, Any], sobject: str, fields: list[str], version: str) -> dict[str, Any]:
    """The record as a query or a retrieve returns it: ``attributes`` and the selected fields (nested for paths)."""
    out: dict[str, Any] = {
        "attributes": {"type": sobject, "url": f"/services/data/{version}/sobjects/{sobject}/{record['Id']}"}
    }
    for path in fields:
        parts = path.split(".")
        node = out
        source: Any = record
        for part in parts[:-1]:
            source = source.get(part) if isinstance(source, dict) else None
            if source is None:
                node[part] = None
                break
            node = node.setdefault(part, {"attributes": {"type": "Related"}})
        else:
            node[parts[-1]] = source.get(parts[-1]) if isinstance(source, dict) else None
    return out


def sample_sow_pdf(deal: Any) -> bytes:
    """The SOW PDF ``backoffice.local.samples.put_deal`` stores for ``deal``."""
    close = date(2026, 11, 2) + timedelta(days=deal.index)
    spec = sample_sow_spec(
        title=f"Statement of Work: {deal.name}",
        client_legal_name=deal.client.customer_name,
        amount=deal.amount,
        start=close + timedelta(days=14),
        currency=deal.client.default_currency,
        service_line=deal.service_line,
        billing_model=deal.billing_model,
        risks=deal.risks,
    )
    return sow_pdf(spec)


def _account_record(client: Any, *, billing_email_field: str, payment_terms_field: str) -> dict[str, Any]:
    """A client as an Account: its street in one multi-line ``BillingStreet``, its terms a picklist label such as
    "Net 30", its e-mail in a custom field."""
    address = client.address
    street = "\n".join(line for line in (address.line1, address.line2) if line) if address else None
    return {
        "Name": client.customer_name,
        "BillingStreet": street,
        "BillingCity": address.city if address else None,
        "BillingState": address.region if address else None,
        "BillingPostalCode": address.postal_code if address else None,
        "BillingCountryCode": address.country if address else None,
        "CurrencyIsoCode": client.default_currency,
        billing_email_field: client.billing_email,
        payment_terms_field: f"Net {client.payment_terms_days}"
        if client.payment_terms_days is not None
        else None,
    }


class SalesforceFake(FakeServer):
    def __init__(
        self,
        *,
        client_id: str = "3MVG9fake.client",
        client_secret: str = "fake-client-secret",
        username: str = "integration@meridian.example",
        public_key_pem: str | None = None,
        api_version: str = "v62.0",
        batch_size: int = 2000,
        daily_limit: int = 15000,
    ) -> None:
        super().__init__()
        self.client_id, self.client_secret, self.username = client_id, client_secret, username
        self.public_key_pem = public_key_pem
        self.api_version = api_version
        self.batch_size = batch_size
        self.daily_limit = daily_limit
        self.api_calls = 0
        self.tokens: set[str] = set()
        self.tables: dict[str, dict[str, dict[str, Any]]] = {name: {} for name in _PREFIXES}
        self.external_id_fields = {"Backoffice_Key__c"}
        self.files: dict[str, bytes] = {}
        self._ids = itertools.count(1)
        self._locators: dict[str, tuple[str, list[dict[str, Any]]]] = {}

    # -- seeding --------------------------------------------------------------------------------------------------

    def new_id(self, sobject: str) -> str:
        return f"{_PREFIXES.get(sobject, 'a0Z')}Dn{next(self._ids):010d}AAA"

    def put(self, sobject: str, record: dict[str, Any]) -> str:
        record = dict(record)
        record.setdefault("Id", self.new_id(sobject))
        record.setdefault(
            "CreatedDate", f"2026-01-01T00:00:{len(self.tables.setdefault(sobject, {})) % 60:02d}.000+0000"
        )
        self.tables[sobject][record["Id"]] = record
        return str(record["Id"])

    def attach(self, record_id: str, title: str, content: bytes, extension: str = "pdf") -> str:
        """A file on the record: ContentDocument, its latest ContentVersion and the ContentDocumentLink."""
        document_id = self.put("ContentDocument", {"Title": title})
        version_id = self.put(
            "ContentVersion",
            {
                "Title": title,
                "PathOnClient": f"{title}.{extension}",
                "FileExtension": extension,
                "ContentSize": len(content),
                "ContentDocumentId": document_id,
                "IsLatest": True,
            },
        )
        self.files[version_id] = content
        self.put("ContentDocumentLink", {"ContentDocumentId": document_id, "LinkedEntityId": record_id})
        return version_id

    def seed_deal(self, deal: Any) -> None:
        """A deal of the sample pipeline (``backoffice.local.samples.Deal``): its Account, its Opportunity with the
        same ids and fields as ``put_deal`` gives the sandbox, and (``deal.with_sow``) the same SOW PDF, attached."""
        client = deal.client
        address = client.address
        self.put(
            "Account",
            {
                "Id": client.id,
                "Name": client.customer_name,
                "BillingStreet": address.line1 if address else None,
                "BillingCity": address.city if address else None,
                "BillingState": address.region if address else None,
                "BillingPostalCode": address.postal_code if address else None,
                "BillingCountryCode": address.country if address else None,
                "BillingCountry": address.country if address else None,
                "CurrencyIsoCode": client.default_currency,
            },
        )
        close = date(2026, 11, 2) + timedelta(days=deal.index)
        self.put(
            "Opportunity",
            {
                "Id": deal.opportunity_id,
                "AccountId": client.id,
                "Name": deal.name,
                "StageName": "Closed Won" if deal.won else "Closed Lost",
                "Amount": Decimal(deal.amount),
                "CloseDate": close.isoformat(),
                "IsClosed": True,
                "IsWon": deal.won,
                "Probability": Decimal(100 if deal.won else 0),
                "CurrencyIsoCode": client.default_currency,
                "OwnerId": "005Dn0000000001AAA",
            },
        )
        if deal.with_sow:
            self.attach(deal.opportunity_id, f"Statement of Work - {deal.name}", sample_sow_pdf(deal))

    def seed_close_books(
        self,
        books: Any,
        *,
        erp_customer_field: str,
        billing_email_field: str = "Billing_Email__c",
        payment_terms_field: str = "Payment_Terms__c",
    ) -> dict[str, str]:
        """The PSA's accounts of the finance close's sample books (``firm.CloseBooks.accounts``): each an Account
        (its street in one multi-line ``BillingStreet``, its terms a picklist label such as "Net 30", e-mail in a
        custom field) with a Certinia project that names the client by the ERP's customer id, as onboarding creates
        projects. Returns the client id -> Account Id."""
        ids = {}
        for number, client in enumerate(books.accounts, start=1):
            account = self.put(
                "Account",
                _account_record(
                    client, billing_email_field=billing_email_field, payment_terms_field=payment_terms_field
                ),
            )
            self.put(
                "pse__Proj__c",
                {
                    "Name": f"{client.customer_name} - engagement {number}",
                    "pse__Account__c": account,
                    "pse__Stage__c": "In Progress",
                    "pse__Billing_Type__c": "Time and Materials",
                    "CurrencyIsoCode": client.default_currency,
                    erp_customer_field: client.id,
                },
            )
            ids[client.id] = account
        return ids

    def seed_crm_accounts(
        self,
        clients: list[Any],
        *,
        billing_email_field: str = "Billing_Email__c",
        payment_terms_field: str = "Payment_Terms__c",
    ) -> dict[str, str]:
        """The CRM's accounts (``firm.sample_crm_accounts``) as Accounts, shaped as ``seed_close_books`` shapes
        them; returns the client id -> Account Id."""
        return {
            client.id: self.put(
                "Account",
                _account_record(
                    client, billing_email_field=billing_email_field, payment_terms_field=payment_terms_field
                ),
            )
            for client in clients
        }

    def seed_estimates(
        self,
        projects: list[Any],
        estimates: dict[str, Any],
        *,
        hours_field: str = "pse__Estimated_Hours_at_Completion__c",
        cost_field: str | None = None,
        project_code_field: str = "pse__Project_ID__c",
    ) -> dict[str, str]:
        """The projects (``firm.CloseBooks.projects``) as Certinia projects with their estimates at completion
        (``firm.sample_estimates``, by project code): Certinia's hours roll-up reads 0 on a project never
        estimated, the org's cost field is empty. Returns the project code -> project Id."""
        ids = {}
        for project in projects:
            estimate = estimates.get(project.id)
            record: dict[str, Any] = {
                "Name": project.project_name,
                project_code_field: project.id,
                "pse__Stage__c": "In Progress",
                "pse__Billing_Type__c": "Fixed Price"
                if project.billing_model == "fixed_fee"
                else "Time and Materials",
                "CurrencyIsoCode": project.currency,
                hours_field: estimate.hours if estimate is not None and estimate.hours is not None else 0,
            }
            if cost_field:
                record[cost_field] = estimate.cost if estimate is not None else None
            ids[project.id] = self.put("pse__Proj__c", record)
        return ids

    # -- purchasing ----

    def seed_project_budget(
        self,
        project: Any,
        *,
        owner_email: str | None,
        budgets: list[tuple[Decimal, str]],
        costs: dict[str, Decimal],
        project_code_field: str = "pse__Project_ID__c",
    ) -> str:
        """A Certinia project (a canonical ``Project``) with its owner (the project manager: a Contact of that
        e-mail, by its Contact Id), its budget records (amount, status) and its cost roll-ups (field -> amount).
        Returns the project's Id."""
        manager: dict[str, Any] | None = None
        if owner_email is not None:
            name = owner_email.split("@")[0]
            contact_id = self.put(
                "Contact", {"LastName": name, "Email": owner_email, "pse__Is_Resource__c": True}
            )
            manager = {"Id": contact_id, "Email": owner_email}
        record: dict[str, Any] = {
            "Name": project.project_name,
            project_code_field: project.id,
            "pse__Stage__c": "In Progress" if project.status == "open" else "Completed",
            "pse__Billing_Type__c": "Time and Materials",
            "CurrencyIsoCode": project.currency,
            "pse__Project_Manager__c": manager["Id"] if manager else None,
            "pse__Project_Manager__r": manager,
            **costs,
        }
        project_id = self.put("pse__Proj__c", record)
        for amount, status in budgets:
            self.put(
                "pse__Budget__c",
                {"pse__Project__c": project_id, "pse__Amount__c": amount, "pse__Status__c": status},
            )
        return project_id

    def seed_allocations(self, allocations: list[Any]) -> None:
        """The sample firm's allocations as Certinia assignments with their schedules."""
        for allocation in allocations:
            weeks = Decimal((allocation.end - allocation.start).days + 1) / 7
            self.put(
                "pse__Assignment__c",
                {
                    "pse__Resource__c": allocation.worker_id,
                    "pse__Project__c": allocation.project_id,
                    "pse__Schedule__r": {
                        "pse__Start_Date__c": allocation.start.isoformat(),
                        "pse__End_Date__c": allocation.end.isoformat(),
                        "pse__Scheduled_Hours__c": (Decimal(allocation.hours_per_week) * weeks).quantize(
                            Decimal("0.01")
                        ),
                    },
                },
            )

    def add_timecard(
        self,
        *,
        worker_id: str,
        project_id: str,
        week_start: date,
        hours: dict[str, Decimal],
        status: str = "Approved",
        billable: bool = True,
        bill_rate: Decimal = Decimal(200),
        cost_rate: Decimal = Decimal(90),
        split_at: date | None = None,
        currency: str = "USD",
    ) -> list[str]:
        """A weekly timecard (``hours``: ``{"Monday": 8, ...}``) and its splits, cut at ``split_at`` (the first day
        of a new time period) as Certinia cuts them; returns the split ids."""
        days = {week_start + timedelta(days=i): _WEEK[i] for i in range(7)}
        common = {
            "pse__Resource__c": worker_id,
            "pse__Project__c": project_id,
            "pse__Status__c": status,
            "pse__Billable__c": billable,
            "pse__Bill_Rate__c": bill_rate,
            "pse__Cost_Rate_Amount__c": cost_rate,
            "CurrencyIsoCode": currency,
        }
        week = {f"pse__{day}_Hours__c": Decimal(str(hours.get(day, 0))) for day in _WEEK}
        header = self.put(
            "pse__Timecard_Header__c",
            {
                **common,
                **week,
                "pse__Start_Date__c": week_start.isoformat(),
                "pse__End_Date__c": (week_start + timedelta(days=6)).isoformat(),
            },
        )
        ranges = [(week_start, week_start + timedelta(days=6))]
        if split_at is not None and week_start < split_at <= week_start + timedelta(days=6):
            ranges = [(week_start, split_at - timedelta(days=1)), (split_at, week_start + timedelta(days=6))]
        splits = []
        for first, last in ranges:
            split_hours = {
                f"pse__{name}_Hours__c": (
                    week[f"pse__{name}_Hours__c"] if first <= day <= last else Decimal(0)
                )
                for day, name in days.items()
            }
            splits.append(
                self.put(
                    "pse__Timecard__c",
                    {
                        **common,
                        **split_hours,
                        "pse__Timecard_Header__c": header,
                        "pse__Start_Date__c": first.isoformat(),
                        "pse__End_Date__c": last.isoformat(),
                        "pse__Billed__c": False,
                        "pse__Invoiced__c": False,
                        "pse__Exclude_from_Billing__c": False,
                    },
                )
            )
        return splits

    def expire_tokens(self) -> None:
        self.tokens.clear()

    # -- routing --------------------------------------------------------------------------------------------------

    def route(self, request: Request) -> Reply:
        if request.path == "/services/oauth2/token" and request.method == "POST":
            return self._token(request)
        prefix = f"/services/data/{self.api_version}/"
        if not request.path.startswith("/services/data/"):
            return Reply(404, NOT_FOUND)
        auth = request.headers.get("Authorization") or ""
        if not auth.startswith("Bearer ") or auth[7:] not in self.tokens:
            return Reply(401, INVALID_SESSION)
        self.api_calls += 1
        limit_info = {"Sforce-Limit-Info": f"api-usage={self.api_calls}/{self.daily_limit}"}
        if not request.path.startswith(prefix):
            return Reply(404, NOT_FOUND, limit_info)
        reply = self._api(request, request.path[len(prefix) :])
        reply.headers.update(limit_info)
        return reply

    def _token(self, request: Request) -> Reply:
        form = {k: v[0] for k, v in parse_qs(request.body.decode()).items()}
        grant = form.get("grant_type")
        if grant == "client_credentials":
            if form.get("client_id") != self.client_id or form.get("client_secret") != self.client_secret:
                return Reply(
                    400, {"error": "invalid_client", "error_description": "invalid client credentials"}
                )
        elif grant == "urn:ietf:params:oauth:grant-type:jwt-bearer":
            if self.public_key_pem is None:
                return Reply(400, {"error": "invalid_grant", "error_description": "no certificate"})
            try:
                _, claims = verify_jwt(form.get("assertion", ""), self.public_key_pem, ("RS256",))
            except ValueError as error:
                return Reply(400, {"error": "invalid_grant", "error_description": str(error)})
            now = time.time()
            if claims.get("iss") != self.client_id:
                return Reply(
                    400, {"error": "invalid_client_id", "error_description": "client identifier invalid"}
                )
            if claims.get("sub") != self.username:
                return Reply(
                    400, {"error": "invalid_grant", "error_description": "user hasn't approved this consumer"}
                )
            if claims.get("aud") != self.url:
                return Reply(400, {"error": "invalid_grant", "error_description": "audience is invalid"})
            exp = claims.get("exp")
            if not isinstance(exp, int) or exp < now or exp > now + 300:
                return Reply(
                    400, {"error": "invalid_grant", "error_description": "expired authorization code"}
                )
        else:
            return Reply(
                400, {"error": "unsupported_grant_type", "error_description": "grant type not supported"}
            )
        token = "00DFAKE!" + secrets.token_urlsafe(24)
        self.tokens.add(token)
        return Reply(
            200,
            {
                "access_token": token,
                "instance_url": self.url,
                "id": f"{self.url}/id/00DFAKE/005FAKE",
                "token_type": "Bearer",
                "issued_at": str(int(time.time() * 1000)),
                "signature": "fake",
                "scope": "api",
            },
        )

    def _api(self, request: Request, rest: str) -> Reply:
        parts = [unquote(p) for p in rest.split("/")]
        if parts == ["composite", "sobjects"] and request.method == "PATCH":
            return self._update_collection(request)
        if parts[0] == "query":
            if len(parts) == 2:
                return self._more(parts[1])
            try:
                sobject, fields, rows = run_soql(request.param("q") or "", self.tables)
            except SoqlError as error:
                return Reply(400, [{"message": str(error), "errorCode": "MALFORMED_QUERY"}])
            return self._batch(sobject, [project(r, sobject, fields, self.api_version) for r in rows], 0)
        if parts[0] != "sobjects" or len(parts) < 2 or (len(parts) == 2 and request.method != "POST"):
            return Reply(404, NOT_FOUND)
        sobject = parts[1]
        if sobject not in self.tables:
            return Reply(
                404, [{"errorCode": "NOT_FOUND", "message": "The requested resource does not exist"}]
            )
        selected = request.param("fields")
        wanted = selected.split(",") if selected else None
        if len(parts) == 4 and parts[3] == "VersionData" and sobject == "ContentVersion":
            content = self.files.get(parts[2])
            return Reply(200, content) if content is not None else Reply(404, NOT_FOUND)
        if len(parts) == 2 and request.method == "POST":
            return self._create(request, sobject)
        if len(parts) == 3 and request.method == "GET":
            record = self.tables[sobject].get(parts[2])
            if record is None:
                return Reply(404, NOT_FOUND)
            return Reply(200, self._retrieve(record, sobject, wanted))
        if len(parts) == 4:
            return self._by_external_id(request, sobject, parts[2], parts[3], wanted)
        return Reply(405, [{"errorCode": "METHOD_NOT_ALLOWED", "message": "HTTP Method not allowed"}])

    def _retrieve(self, record: dict[str, Any], sobject: str, fields: list[str] | None) -> dict[str, Any]:
        if fields is None:
            fields = [k for k in record if not isinstance(record[k], dict)]
        return project(record, sobject, fields, self.api_version)

    def _by_external_id(
        self, request: Request, sobject: str, field: str, value: str, fields: list[str] | None
    ) -> Reply:
        if field not in self.external_id_fields:
            return Reply(
                404,
                [
                    {
                        "errorCode": "NOT_FOUND",
                        "message": f"Provided external ID field does not exist or is not accessible: {field}",
                    }
                ],
            )
        matches = [r for r in self.tables[sobject].values() if r.get(field) == value]
        if len(matches) > 1:
            return Reply(
                300, [f"/services/data/{self.api_version}/sobjects/{sobject}/{r['Id']}" for r in matches]
            )
        if request.method == "GET":
            if not matches:
                return Reply(404, NOT_FOUND)
            return Reply(200, self._retrieve(matches[0], sobject, fields))
        if request.method != "PATCH":
            return Reply(405, [{"errorCode": "METHOD_NOT_ALLOWED", "message": "HTTP Method not allowed"}])
        body = request.json() or {}
        bad = sorted(k for k in body if not re.fullmatch(r"[A-Za-z][A-Za-z0-9_]*", k))
        if bad or "Id" in body:
            return Reply(
                400, [{"message": "No such column on entity", "errorCode": "INVALID_FIELD", "fields": bad}]
            )
        if matches:
            matches[0].update(body)
            return Reply(200, {"id": matches[0]["Id"], "success": True, "errors": [], "created": False})
        new_id = self.put(sobject, {**body, field: value})
        return Reply(201, {"id": new_id, "success": True, "errors": [], "created": True})

    def _create(self, request: Request, sobject: str) -> Reply:
        """``POST sobjects/<object>``: a new record; an external-id field is unique, as the org defines it: a value
        already held answers 400 ``DUPLICATE_VALUE`` naming the record that holds it."""
        body = request.json() or {}
        bad = sorted(k for k in body if not re.fullmatch(r"[A-Za-z][A-Za-z0-9_]*", k))
        if bad or "Id" in body:
            return Reply(
                400, [{"message": "No such column on entity", "errorCode": "INVALID_FIELD", "fields": bad}]
            )
        # -- resource onboarding --: the org's required fields (a staffed, billable assignment on a schedule)
        missing = [f for f in _REQUIRED_ON_CREATE.get(sobject, ()) if body.get(f) in (None, "")]
        if (
            sobject == "pse__Assignment__c"
            and body.get("pse__Schedule__c") not in self.tables["pse__Schedule__c"]
        ):
            missing = [*missing, "pse__Schedule__c"]
        if missing:
            return Reply(
                400,
                [
                    {
                        "message": f"Required fields are missing: [{', '.join(sorted(set(missing)))}]",
                        "errorCode": "REQUIRED_FIELD_MISSING",
                        "fields": sorted(set(missing)),
                    }
                ],
            )
        with self._lock:  # the org checks and inserts as one: of two creates at once, one wins
            holder = next(
                (
                    r
                    for field in self.external_id_fields
                    for r in self.tables[sobject].values()
                    if body.get(field) and r.get(field) == body[field]
                ),
                None,
            )
            if holder is None:
                return Reply(201, {"id": self.put(sobject, dict(body)), "success": True, "errors": []})
        field = next(f for f in self.external_id_fields if body.get(f) == holder.get(f))
        return Reply(
            400,
            [
                {
                    "message": f"duplicate value found: {field} duplicates value on record with id: "
                    f"{holder['Id']}",
                    "errorCode": "DUPLICATE_VALUE",
                    "fields": [field],
                }
            ],
        )

    def _update_collection(self, request: Request) -> Reply:
        body = request.json() or {}
        records = body.get("records") or []
        if len(records) > 200:
            return Reply(400, [{"message": "Maximum 200 records allowed", "errorCode": "EXCEEDED_ID_LIMIT"}])
        results, ok = [], True
        for record in records:
            sobject = (record.get("attributes") or {}).get("type")
            target = self.tables.get(sobject, {}).get(record.get("id"))
            if target is None:
                ok = False
                results.append(
                    {
                        "id": record.get("id"),
                        "success": False,
                        "errors": [
                            {"statusCode": "ENTITY_IS_DELETED", "message": "entity is deleted", "fields": []}
                        ],
                    }
                )
            else:
                results.append({"id": record["id"], "success": True, "errors": []})
        if ok or not body.get("allOrNone"):
            for record in records:
                sobject = (record.get("attributes") or {}).get("type")
                target = self.tables.get(sobject, {}).get(record.get("id"))
                if target is None:
                    continue
                target.update({k: v for k, v in record.items() if k not in ("attributes", "id")})
                if sobject == "pse__Timecard_Header__c" and "pse__Status__c" in record:
                    for split in self.tables["pse__Timecard__c"].values():
                        if split.get("pse__Timecard_Header__c") == target["Id"]:
                            split["pse__Status__c"] = record["pse__Status__c"]
        elif body.get("allOrNone"):
            results = [
                r
                if not r["success"]
                else {
                    "id": r["id"],
                    "success": False,
                    "errors": [{"statusCode": "ALL_OR_NONE_OPERATION_ROLLED_BACK", "message": "rolled back"}],
                }
                for r in results
            ]
        return Reply(200, results)

    def _batch(self, sobject: str, rows: list[dict[str, Any]], offset: int) -> Reply:
        batch = rows[offset : offset + self.batch_size]
        done = offset + self.batch_size >= len(rows)
        body: dict[str, Any] = {"totalSize": len(rows), "done": done, "records": batch}
        if not done:
            locator = f"01gDn{secrets.token_hex(6)}"
            self._locators[locator] = (sobject, rows)
            body["nextRecordsUrl"] = (
                f"/services/data/{self.api_version}/query/{locator}-{offset + self.batch_size}"
            )
        return Reply(200, body)

    def _more(self, locator_and_offset: str) -> Reply:
        locator, _, offset = locator_and_offset.rpartition("-")
        found = self._locators.get(locator)
        if found is None or not offset.isdigit():
            return Reply(400, [{"message": "invalid query locator", "errorCode": "INVALID_QUERY_LOCATOR"}])
        return self._batch(found[0], found[1], int(offset))
