"""A fake generic SaaS API (an HRIS and a small ERP/PSA) in the shapes REST vendors commonly use.

Emulated:
- Auth: an API key header (``X-API-Key``), or OAuth 2.0 client credentials (``POST /oauth/token``, the secret in the
  form or as HTTP Basic; bearer tokens refused with 401 once ``expire_tokens`` is called).
- ``GET /v2/employees``: cursor paging (``?cursor=&limit=``, the next cursor at ``meta.next_cursor``).
- ``GET /v2/customers``: next-link paging, the link in the body (``links.next``) or, with ``link_header=True``, in
  an RFC 8288 ``Link: <...>; rel="next"`` header; ``GET /v2/customers/<id>`` -> ``{"customer": {...}}``;
  ``POST /v2/customers`` honours ``Idempotency-Key`` (the first request creates, 201; a replay answers the same
  body with 200).
- ``GET /v2/allocations?from=&to=``: offset paging (``?offset=&limit=``, ``has_more``).
- ``GET /v2/projects?opportunity=`` and ``POST /v2/projects``, ``POST /v2/staffing-requests``,
  ``GET /v2/sequences/<client>/<year>``.
- ``GET /v2/suppliers`` (offset paging), ``GET /v2/suppliers/<id>``, ``POST /v2/suppliers`` (idempotent),
  ``POST /v2/suppliers/<id>/release`` (204); ``GET /v2/people/private`` (payroll's view of employees: home address, phone, bank; cursor paging).
- Invoicing (a small ERP/PSA): ``GET /v2/customers/<id>/balance`` and ``.../tax``; ``GET /v2/purchase-orders?customer=
  &project=``; ``GET /v2/invoices?project=&from=&to=``, ``POST /v2/invoices`` (idempotent, a ``draft``),
  ``POST /v2/invoices/<id>/finalize`` (numbers it, ``open``; again: unchanged), ``GET /v2/invoices/<id>``;
  ``GET /v2/projects?active_since=`` (offset paging), ``GET /v2/time-entries?from=&to=`` (cursor paging),
  ``GET /v2/expenses?from=&to=`` (next links in the body), ``GET /v2/contracts/<id>``,
  ``GET /v2/projects/<code>/rate-card``, ``POST /v2/invoices/<id>/billed-lines`` (links unbilled lines, 204) and
  ``POST /v2/reviews/send_back|write_off|approve`` (204; approve: the weekly review's approval, with the approver).
- Finance close: ``GET /v2/invoices?issued_from=&issued_to=`` (every invoice issued in the period but drafts, offset
  paging), ``GET /v2/jobs`` (the ledger's projects, cursor paging), ``GET /v2/accounts/<id>`` (the PSA's account of
  a client, by the customer id its projects name); ``seed_close_books`` loads the sample books. ``GET /v2/accounts``
  (the CRM's accounts, cursor paging; ``seed_crm_accounts``).
- Revenue recognition: ``GET /v2/projects/<code>/estimate`` (the estimate at completion, 404 when the project has
  none; ``seed_estimates``) and ``POST /v2/journal-entries`` (idempotent; refused with 422 when the lines name an
  account the ledger does not have or do not balance).
- Receivables: ``GET /v2/payments?received_from=&received_to=`` (each payment's or credit note's application to
  one invoice, dated ``received_on`` or ``credited_on``; offset paging; ``add_payment``).
- Resource onboarding: ``GET /v2/rate-cards/standard/<currency>`` (the firm's standard card; ``seed_standard_rate_card``),
  ``PUT /v2/resources/<worker id>`` (201 created, 200 updated: one resource per worker; the manager's resource id
  when the manager is a resource), ``GET /v2/staffing-requests?role=&state=open`` (offset paging) and
  ``POST /v2/staffing-requests/<id>/assign`` (200 when the request is, or already was, this resource's; 409 when
  another resource holds it: the check and the write are one, under the fake's lock).
- Errors as ``{"error": {"code": ..., "message": ...}}``.

``seed_workers`` and ``seed_customers`` load the sample firm in these shapes; ``EXAMPLE_DOCUMENT`` (next to this file,
``rest_connector_example.json``) is the connector document a firm would write for this API.
"""

from __future__ import annotations

import base64
import itertools
import json
import re
import secrets
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote

from tests.contract.fakes.server import FakeServer, Reply, Request

EXAMPLE_DOCUMENT = Path(__file__).with_name("rest_connector_example.json")
_EMPLOYMENT = {"employee": "Full-Time", "contractor": "Contractor", "subcontractor": "Subcontractor"}


def error(status: int, code: str, message: str) -> Reply:
    return Reply(status, {"error": {"code": code, "message": message}})


def example_document(base_url: str, *, auth: dict[str, Any] | None = None) -> dict[str, Any]:
    document: dict[str, Any] = json.loads(EXAMPLE_DOCUMENT.read_text())
    document["base_url"] = base_url + "/v2"
    if auth is not None:
        document["auth"] = auth
    return document


class RestFake(FakeServer):
    def __init__(
        self,
        *,
        api_key: str = "key-fake-123",
        client_id: str = "rest-client",
        client_secret: str = "rest-secret",
        link_header: bool = False,
    ) -> None:
        super().__init__()
        self.api_key, self.client_id, self.client_secret = api_key, client_id, client_secret
        self.link_header = link_header
        self.tokens: set[str] = set()
        self.employees: list[dict[str, Any]] = []
        self.customers: dict[str, dict[str, Any]] = {}
        self.allocations: list[dict[str, Any]] = []
        self.projects: dict[str, dict[str, Any]] = {}
        self.staffing_requests: dict[str, dict[str, Any]] = {}
        self.suppliers: dict[str, dict[str, Any]] = {}
        self.people_private: list[dict[str, Any]] = []
        self.idempotent: dict[str, tuple[int, dict[str, Any]]] = {}
        self.balances: dict[str, str] = {}
        self.tax_codes: dict[str, str | None] = {}
        self.purchase_orders: list[dict[str, Any]] = []
        self.invoices: dict[str, dict[str, Any]] = {}
        self.time_entries: list[dict[str, Any]] = []
        self.expenses: list[dict[str, Any]] = []
        self.contracts: dict[str, dict[str, Any]] = {}
        self.rate_cards: dict[str, dict[str, Any]] = {}
        # -- resource onboarding --
        self.standard_rate_cards: dict[str, dict[str, Any]] = {}
        self.resources: dict[str, dict[str, Any]] = {}
        self.jobs: list[dict[str, Any]] = []
        self.accounts: dict[str, dict[str, Any]] = {}
        self.estimates: dict[str, dict[str, Any]] = {}
        self.journal_entries: dict[str, dict[str, Any]] = {}
        # -- purchasing ----: vendors' purchase orders (``status`` open, billed or closed) and projects' budgets
        self.vendor_orders: dict[str, dict[str, Any]] = {}
        self.project_budgets: dict[str, dict[str, Any]] = {}
        self.payments: list[dict[str, Any]] = []
        # The ledger's accounts a journal line may name (the example document maps the policy's names to these).
        self.ledger_accounts = {"1250", "2400", "4000"}
        self._numbers = itertools.count(1)
        self.sequences: dict[str, int] = {}
        self._ids = itertools.count(1)

    # -- seeding --------------------------------------------------------------------------------------------------

    def seed_workers(self, workers: list[Any]) -> None:
        for worker in workers:
            self.employees.append(
                {
                    "employeeId": worker.id,
                    "displayName": worker.name,
                    "workEmail": worker.email.upper() if worker.email else None,
                    "employmentType": _EMPLOYMENT[worker.employment],
                    "jobCodes": ",".join(worker.roles),
                    "skills": list(worker.skills),
                    "costRate": {"amount": str(worker.cost_rate), "currency": worker.currency.lower()},
                    "status": "Active" if worker.is_active else "Terminated",
                    # The practice as the HRIS spells its departments; contracted hours only for part-timers.
                    "department": worker.practice.title() if worker.practice else None,
                    "scheduledHoursPerWeek": str(worker.weekly_hours) if worker.weekly_hours else None,
                    "managerId": worker.manager_id,
                    "hireDate": worker.start_date.isoformat() if worker.start_date else None,
                    "terminationDate": worker.end_date.isoformat() if worker.end_date else None,
                }
            )

    def seed_customers(self, clients: list[Any]) -> None:
        for client in clients:
            address = client.address
            self.customers[client.id] = {
                "uuid": client.id,
                "legal_name": client.customer_name,
                "currency": client.default_currency.lower(),
                "payment_terms_days": client.payment_terms_days,
                "credit_limit_cents": None,
                "on_hold": client.is_frozen,
                "archived": client.disabled,
                "billing": {
                    "email": client.billing_email,
                    "address": {
                        "street": address.line1,
                        "city": address.city,
                        "region": address.region,
                        "postcode": address.postal_code,
                        "country": address.country,
                    }
                    if address
                    else None,
                },
            }

    def seed_vendors(self, vendors: list[Any]) -> None:
        for vendor in vendors:
            address = vendor.address
            self.suppliers[vendor.id] = {
                "uuid": vendor.id,
                "legal_name": vendor.supplier_name,
                "dba": vendor.doing_business_as,
                "category": vendor.category,
                "currency": vendor.default_currency.lower(),
                "terms_days": vendor.payment_terms_days,
                "email": vendor.email,
                "phone": vendor.phone,
                "address": {
                    "street": address.line1,
                    "street2": address.line2,
                    "city": address.city,
                    "region": address.region,
                    "postcode": address.postal_code,
                    "country": address.country,
                }
                if address
                else None,
                "on_hold": vendor.on_hold,
                "inactive": vendor.disabled,
                "coi_expires": vendor.insurance_expires_on.isoformat()
                if vendor.insurance_expires_on
                else None,
            }

    def seed_employee_records(self, records: list[Any]) -> None:
        for record in records:
            home, bank = record.home_address, record.bank_account
            self.people_private.append(
                {
                    "employeeId": record.worker_id,
                    "displayName": record.name,
                    "workEmail": record.email,
                    "phone": record.phone,
                    "home": {
                        "street": home.line1,
                        "city": home.city,
                        "region": home.region,
                        "postcode": home.postal_code,
                        "country": home.country,
                    }
                    if home
                    else None,
                    "payroll": {
                        "holder": bank.account_holder_name,
                        "bank": bank.bank_name,
                        "routing": bank.routing_number.get_secret_value(),
                        "account": bank.account_number.get_secret_value(),
                        "type": bank.account_type,
                    }
                    if bank
                    else None,
                }
            )

    def seed_allocations(self, allocations: list[Any]) -> None:
        for allocation in allocations:
            self.allocations.append(
                {
                    "person": allocation.worker_id,
                    "project": allocation.project_id,
                    "from": allocation.start.isoformat(),
                    "to": allocation.end.isoformat(),
                    "weekly_hours": str(allocation.hours_per_week),
                }
            )

    def seed_close_books(self, books: Any) -> None:
        """The finance close's sample books (``firm.CloseBooks``) in this API's shapes: invoices with their line
        items, the ledger's projects (jobs), rate cards by project, the PSA's accounts."""
        states = {
            "draft": "draft",
            "posted": "open",
            "partly_paid": "partial",
            "paid": "paid",
            "cancelled": "void",
        }
        for invoice in books.invoices:
            self.invoices[invoice.id] = {
                "uuid": invoice.id,
                "number": invoice.invoice_number,
                "customer": invoice.client_id,
                "project": invoice.project_id,
                "currency": invoice.currency.lower(),
                "fx_rate": str(invoice.conversion_rate),
                "issued_on": invoice.posting_date.isoformat(),
                "due_on": invoice.due_date.isoformat(),
                "period": {
                    "from": invoice.period_start.isoformat() if invoice.period_start else None,
                    "to": invoice.period_end.isoformat() if invoice.period_end else None,
                },
                "po": invoice.po_no,
                "line_items": [
                    {
                        "kind": line.source,
                        "refs": list(line.source_ids),
                        "text": line.description,
                        "qty": str(line.quantity),
                        "unit_price": str(line.rate),
                        "total": str(line.amount),
                    }
                    for line in invoice.lines
                ],
                "subtotal": str(invoice.net_total),
                "tax": str(invoice.tax_total),
                "total": str(invoice.grand_total),
                "balance_due": str(invoice.outstanding_amount),
                "state": states[invoice.status],
            }
        project_states = {"open": "active", "completed": "closed", "cancelled": "cancelled"}
        for project in books.projects:
            self.jobs.append(
                {
                    "code": project.id,
                    "name": project.project_name,
                    "customer": project.client_id,
                    "billing": project.billing_model,
                    "currency": project.currency.lower(),
                    "start": project.expected_start_date.isoformat() if project.expected_start_date else None,
                    "end": project.expected_end_date.isoformat() if project.expected_end_date else None,
                    "state": project_states[project.status],
                }
            )
        for project_id, card in books.rate_cards.items():
            self.rate_cards[project_id] = {
                "id": card.id,
                "name": card.name,
                "customer": card.client_id,
                "starts": card.effective_date.isoformat(),
                "ends": card.end_date.isoformat() if card.end_date else None,
                "rates": [
                    {
                        "role": line.role,
                        "activity": line.activity_type,
                        "currency": line.currency.lower(),
                        "bill": str(line.billing_rate),
                        "cost": str(line.costing_rate),
                    }
                    for line in card.lines
                ],
            }
        self.seed_crm_accounts(books.accounts)

    def seed_crm_accounts(self, clients: list[Any]) -> None:
        """Accounts (the PSA's of ``seed_close_books``, or the CRM's, ``firm.sample_crm_accounts``)."""
        for client in clients:
            address = client.address
            self.accounts[client.id] = {
                "id": client.id,
                "name": client.customer_name,
                "currency": client.default_currency.lower(),
                "terms_days": client.payment_terms_days,
                "email": client.billing_email,
                "address": {
                    "street": address.line1,
                    "street2": address.line2,
                    "city": address.city,
                    "region": address.region,
                    "postcode": address.postal_code,
                    "country": address.country,
                }
                if address
                else None,
            }

    def seed_estimates(self, estimates: dict[str, Any]) -> None:
        """Estimates at completion by project code (``firm.sample_estimates``)."""
        for code, estimate in estimates.items():
            self.estimates[code] = {
                "project": code,
                "eac_hours": str(estimate.hours) if estimate.hours is not None else None,
                "eac_cost": str(estimate.cost) if estimate.cost is not None else None,
            }

    def add_payment(
        self,
        invoice_id: str,
        applied: str,
        day: str,
        *,
        credit: bool = False,
        payment_id: str | None = None,
        note: str | None = None,
    ) -> str:
        """A payment (or a credit note) applied to one of the ERP's invoices, in the invoice's currency."""
        invoice = self.invoices[invoice_id]
        uuid = payment_id or f"{'crn' if credit else 'pay'}_{next(self._ids)}"
        self.payments.append(
            {
                "uuid": uuid,
                "type": "CREDIT_NOTE" if credit else "PAYMENT",
                "invoice": invoice_id,
                "customer": invoice.get("customer"),
                "applied": applied,
                "currency": str(invoice.get("currency") or "usd").lower(),
                "credited_on" if credit else "received_on": day,
                "note": note,
            }
        )
        return uuid

    def _payments(self, request: Request, found: re.Match[str]) -> Reply:
        start, end = request.param("received_from") or "", request.param("received_to") or "9999"
        rows = [
            p for p in self.payments if start <= (p.get("received_on") or p.get("credited_on") or "") <= end
        ]
        limit, offset = int(request.param("limit") or 50), int(request.param("offset") or 0)
        return Reply(200, {"items": rows[offset : offset + limit], "has_more": offset + limit < len(rows)})

    # -- resource onboarding --------------------------------------------------------------------------------------

    def seed_standard_rate_card(self, card: Any) -> None:
        """The firm's standard ``RateCard`` in this API's shape (as ``project_rate_card`` answers)."""
        self.standard_rate_cards[card.lines[0].currency.lower()] = {
            "id": card.id,
            "name": card.name,
            "customer": None,
            "starts": card.effective_date.isoformat(),
            "ends": card.end_date.isoformat() if card.end_date else None,
            "rates": [
                {
                    "role": line.role,
                    "activity": line.activity_type,
                    "currency": line.currency.lower(),
                    "bill": str(line.billing_rate),
                    "cost": str(line.costing_rate),
                }
                for line in card.lines
            ],
        }

    def add_staffing_request(self, project: str, role: str, start: str, end: str, hours: str = "160") -> str:
        record_id = f"srq_{next(self._ids):05d}"
        self.staffing_requests[record_id] = {
            "uuid": record_id,
            "project": project,
            "role": role,
            "hours": hours,
            "from": start,
            "to": end,
        }
        return record_id

    def _standard_rate_card(self, request: Request, found: re.Match[str]) -> Reply:
        card = self.standard_rate_cards.get(unquote(found[1]).lower())
        return Reply(200, {"rate_card": card}) if card else error(404, "not_found", "no standard rate card")

    def _save_resource(self, request: Request, found: re.Match[str]) -> Reply:
        worker = unquote(found[1])
        body = dict(request.json() or {})
        with self._lock:
            existing = self.resources.get(worker)
            record = {**(existing or {}), **body, "id": f"res_{worker}"}
            self.resources[worker] = record
        manager = self.resources.get(str(body.get("manager") or ""))
        return Reply(
            200 if existing else 201,
            {"id": record["id"], "manager_resource": manager["id"] if manager else None},
        )

    def _staffing_requests(self, request: Request, found: re.Match[str]) -> Reply:
        rows = [
            r
            for r in self.staffing_requests.values()
            if r.get("role") == request.param("role") and not r.get("assigned_to")
        ]
        limit = int(request.param("limit") or 50)
        offset = int(request.param("offset") or 0)
        return Reply(200, {"items": rows[offset : offset + limit], "has_more": offset + limit < len(rows)})

    def _assign(self, request: Request, found: re.Match[str]) -> Reply:
        body = request.json() or {}
        with self._lock:
            row = self.staffing_requests.get(unquote(found[1]))
            if row is None:
                return error(404, "not_found", "no such staffing request")
            if row.get("assigned_to") not in (None, body.get("resource")):
                return error(409, "conflict", "the staffing request is assigned to another resource")
            row["assigned_to"] = body.get("resource")
        return Reply(200, {"id": row["uuid"], "assigned_to": row["assigned_to"]})

    def expire_tokens(self) -> None:
        self.tokens.clear()

    # -- routing --------------------------------------------------------------------------------------------------

    def route(self, request: Request) -> Reply:
        if request.path == "/oauth/token" and request.method == "POST":
            return self._token(request)
        if not self._authorized(request):
            return error(401, "unauthorized", "missing or invalid credentials")
        path = request.path.removeprefix("/v2")
        # First match wins, in table order; a handler answering None passes the request on to the next entry.
        for method, pattern, handler in _ROUTES:
            if method is not None and request.method != method:
                continue
            found = pattern.fullmatch(path)
            if found:
                reply = handler(self, request, found)
                if reply is not None:
                    return reply
        return error(404, "not_found", "no such resource")

    def _customer(self, request: Request, found: re.Match[str]) -> Reply:
        customer = self.customers.get(unquote(found[1]))
        return Reply(200, {"customer": customer}) if customer else error(404, "not_found", "no such customer")

    def _suppliers(self, request: Request, found: re.Match[str]) -> Reply:
        limit, offset = int(request.param("limit") or 50), int(request.param("offset") or 0)
        rows = list(self.suppliers.values())
        return Reply(200, {"items": rows[offset : offset + limit], "has_more": offset + limit < len(rows)})

    def _supplier(self, request: Request, found: re.Match[str]) -> Reply:
        supplier = self.suppliers.get(unquote(found[1]))
        if supplier is None:
            return error(404, "not_found", "no such supplier")
        return Reply(200, {"supplier": supplier})

    def _release_supplier(self, request: Request, found: re.Match[str]) -> Reply:
        supplier = self.suppliers.get(unquote(found[1]))
        if supplier is None:
            return error(404, "not_found", "no such supplier")
        supplier["on_hold"] = False
        return Reply(204)

    def _projects_for_deal(self, request: Request, found: re.Match[str]) -> Reply:
        wanted = request.param("opportunity")
        return Reply(200, {"items": [p for p in self.projects.values() if p.get("crm_deal") == wanted]})

    def _next_in_sequence(self, request: Request, found: re.Match[str]) -> Reply:
        key = found[1]
        self.sequences[key] = self.sequences.get(key, 0) + 1
        return Reply(200, {"next": self.sequences[key]})

    # -- invoicing ------------------------------------------------------------------------------------------------

    def _customer_balance_or_tax(self, request: Request, found: re.Match[str]) -> Reply:
        customer = unquote(found[1])
        if customer not in self.customers:
            return error(404, "not_found", "no such customer")
        if found[2] == "balance":
            return Reply(200, {"customer": customer, "open_balance": self.balances.get(customer, "0.00")})
        return Reply(200, {"customer": customer, "tax_code": self.tax_codes.get(customer)})

    def _purchase_orders(self, request: Request, found: re.Match[str]) -> Reply:
        customer, project = request.param("customer"), request.param("project")
        rows = [o for o in self.purchase_orders if (o["customer"], o["project"]) == (customer, project)]
        return Reply(200, {"items": rows})

    def _invoices_issued(self, request: Request, found: re.Match[str]) -> Reply | None:
        if request.param("issued_from") is None:
            return None
        start, end = request.param("issued_from") or "", request.param("issued_to") or "9999"
        rows = [i for i in self.invoices.values() if i["state"] != "draft" and start <= i["issued_on"] <= end]
        limit, offset = int(request.param("limit") or 50), int(request.param("offset") or 0)
        return Reply(200, {"items": rows[offset : offset + limit], "has_more": offset + limit < len(rows)})

    def _jobs(self, request: Request, found: re.Match[str]) -> Reply:
        limit, start = int(request.param("limit") or 25), int(request.param("cursor") or 0)
        following = str(start + limit) if start + limit < len(self.jobs) else None
        return Reply(200, {"data": self.jobs[start : start + limit], "meta": {"next_cursor": following}})

    def _account(self, request: Request, found: re.Match[str]) -> Reply:
        account = self.accounts.get(unquote(found[1]))
        return Reply(200, {"account": account}) if account else error(404, "not_found", "no such account")

    def _accounts(self, request: Request, found: re.Match[str]) -> Reply:
        rows = list(self.accounts.values())
        limit, start = int(request.param("limit") or 25), int(request.param("cursor") or 0)
        following = str(start + limit) if start + limit < len(rows) else None
        return Reply(200, {"data": rows[start : start + limit], "meta": {"next_cursor": following}})

    def _estimate(self, request: Request, found: re.Match[str]) -> Reply:
        estimate = self.estimates.get(unquote(found[1]))
        if estimate is None:
            return error(404, "not_found", "the project has no estimate")
        return Reply(200, {"estimate": estimate})

    def _create_journal_entry(self, request: Request, found: re.Match[str]) -> Reply:
        key = request.headers.get("Idempotency-Key")
        if not (key and key in self.idempotent):
            lines = (request.json() or {}).get("lines") or []
            if len(lines) < 2 or any(line.get("account") not in self.ledger_accounts for line in lines):
                return error(422, "invalid_journal", "a line names no ledger account")
            by_side = {"debit": Decimal(0), "credit": Decimal(0)}
            for line in lines:
                by_side[line["side"]] += Decimal(str(line["amount"]))
            if by_side["debit"] != by_side["credit"]:
                return error(422, "unbalanced", "debits do not equal credits")
        return self._create(request, self.journal_entries, "je")

    def _invoices_for_period(self, request: Request, found: re.Match[str]) -> Reply:
        wanted = (request.param("project"), request.param("from"), request.param("to"))
        rows = [
            i
            for i in self.invoices.values()
            if (i.get("project"), i["period"]["from"], i["period"]["to"]) == wanted and i["state"] != "void"
        ]
        return Reply(200, {"items": rows})

    def _create_invoice(self, request: Request, found: re.Match[str]) -> Reply:
        reply = self._create(request, self.invoices, "inv")
        invoice = self.invoices[reply.body["id"]]
        invoice.setdefault("state", "draft")
        invoice.setdefault("number", None)
        invoice.setdefault("tax", "0")
        invoice.setdefault("balance_due", invoice.get("total"))
        return reply

    def _billed_lines(self, request: Request, found: re.Match[str]) -> Reply:
        # The PSA's side: the invoice itself is the ERP's.
        return self._link_lines(request, unquote(found[1]))

    def _invoice(self, request: Request, found: re.Match[str]) -> Reply | None:
        invoice = self.invoices.get(unquote(found[1]))
        if invoice is None:
            return error(404, "not_found", "no such invoice")
        if found[2] == "/finalize" and request.method == "POST":
            if invoice["state"] == "draft":
                invoice.update(state="open", number=f"INV-2026-{next(self._numbers):04d}")
            return Reply(200, {"invoice": invoice})
        if found[2] is None and request.method == "GET":
            return Reply(200, {"invoice": invoice})
        return None

    def _projects_active_since(self, request: Request, found: re.Match[str]) -> Reply | None:
        if request.param("active_since") is None:
            return None
        since = request.param("active_since") or ""
        rows = [
            p
            for p in self.projects.values()
            if p.get("state", "active") == "active" or not p.get("end") or p["end"] >= since
        ]
        limit, offset = int(request.param("limit") or 50), int(request.param("offset") or 0)
        return Reply(200, {"items": rows[offset : offset + limit], "has_more": offset + limit < len(rows)})

    def _time_entries(self, request: Request, found: re.Match[str]) -> Reply:
        rows = self._dated(self.time_entries, request)
        limit, start = int(request.param("limit") or 25), int(request.param("cursor") or 0)
        following = str(start + limit) if start + limit < len(rows) else None
        return Reply(200, {"data": rows[start : start + limit], "meta": {"next_cursor": following}})

    def _expenses(self, request: Request, found: re.Match[str]) -> Reply:
        rows = self._dated(self.expenses, request)
        size, number = int(request.param("page_size") or 5), int(request.param("page") or 1)
        link = None
        if number * size < len(rows):
            link = (
                f"{self.url}/v2/expenses?from={request.param('from')}&to={request.param('to')}"
                f"&page={number + 1}&page_size={size}"
            )
        return Reply(200, {"results": rows[(number - 1) * size : number * size], "links": {"next": link}})

    def _contract(self, request: Request, found: re.Match[str]) -> Reply:
        contract = self.contracts.get(unquote(found[1]))
        return Reply(200, {"contract": contract}) if contract else error(404, "not_found", "no such contract")

    def _rate_card(self, request: Request, found: re.Match[str]) -> Reply:
        card = self.rate_cards.get(unquote(found[1]))
        return Reply(200, {"rate_card": card}) if card else error(404, "not_found", "no rate card")

    def _review(self, request: Request, found: re.Match[str]) -> Reply:
        body = request.json() or {}
        for rows, ids in (
            (self.time_entries, body.get("time_entries")),
            (self.expenses, body.get("expenses")),
        ):
            for row in rows:
                if row["id"] in (ids or []) and not row.get("invoice"):
                    if found[1] == "send_back":
                        row.update(state="rejected", review_note=body.get("note"))
                    elif found[1] == "approve":
                        row.update(
                            state="approved", approved_by=body.get("approver"), review_note=body.get("note")
                        )
                    else:
                        row.update(billable=False, review_note=body.get("note"))
        return Reply(204)

    @staticmethod
    def _dated(rows: list[dict[str, Any]], request: Request) -> list[dict[str, Any]]:
        start, end = request.param("from") or "", request.param("to") or "9999"
        return [r for r in rows if start <= r["date"] <= end]

    def _link_lines(self, request: Request, invoice_id: str) -> Reply:
        body = request.json() or {}
        wanted = {
            "time": set(body.get("time_entries") or []),
            "expense": set(body.get("expenses") or []),
        }
        known = {
            "time": {r["id"]: r for r in self.time_entries},
            "expense": {r["id"]: r for r in self.expenses},
        }
        for kind, ids in wanted.items():
            if ids - set(known[kind]):
                return error(404, "not_found", f"no such {kind} line")
        for kind, ids in wanted.items():
            for line_id in ids:
                known[kind][line_id].setdefault("invoice", invoice_id)
                if known[kind][line_id]["invoice"] is None:
                    known[kind][line_id]["invoice"] = invoice_id
        for contract in self.contracts.values():
            for milestone in contract.get("milestones", []):
                if milestone["id"] in (body.get("milestones") or []):
                    milestone["state"] = "invoiced"
        return Reply(204)

    def _token(self, request: Request) -> Reply:
        form = {k: v[0] for k, v in parse_qs(request.body.decode()).items()}
        client_id, client_secret = form.get("client_id"), form.get("client_secret")
        basic = request.headers.get("Authorization") or ""
        if basic.startswith("Basic "):
            client_id, _, client_secret = base64.b64decode(basic[6:]).decode().partition(":")
        if form.get("grant_type") != "client_credentials":
            return Reply(400, {"error": "unsupported_grant_type"})
        if client_id != self.client_id or client_secret != self.client_secret:
            return Reply(401, {"error": "invalid_client"})
        token = secrets.token_urlsafe(16)
        self.tokens.add(token)
        return Reply(200, {"access_token": token, "token_type": "Bearer", "expires_in": 3600})

    def _authorized(self, request: Request) -> bool:
        if request.headers.get("X-API-Key") == self.api_key:
            return True
        auth = request.headers.get("Authorization") or ""
        return auth.startswith("Bearer ") and auth[7:] in self.tokens

    def _employees(self, request: Request) -> Reply:
        limit = int(request.param("limit") or 25)
        start = int(request.param("cursor") or 0)
        page = self.employees[start : start + limit]
        following = str(start + limit) if start + limit < len(self.employees) else None
        return Reply(200, {"data": page, "meta": {"next_cursor": following}})

    def _people_private(self, request: Request) -> Reply:
        limit = int(request.param("limit") or 25)
        start = int(request.param("cursor") or 0)
        page = self.people_private[start : start + limit]
        following = str(start + limit) if start + limit < len(self.people_private) else None
        return Reply(200, {"data": page, "meta": {"next_cursor": following}})

    def _customers(self, request: Request) -> Reply:
        size = int(request.param("page_size") or 5)
        number = int(request.param("page") or 1)
        records = list(self.customers.values())
        page = records[(number - 1) * size : number * size]
        link = (
            f"{self.url}/v2/customers?page={number + 1}&page_size={size}"
            if number * size < len(records)
            else None
        )
        if self.link_header:
            headers = {"Link": f'<{link}>; rel="next"'} if link else {}
            return Reply(200, {"results": page}, headers)
        return Reply(200, {"results": page, "links": {"next": link}})

    def _allocations(self, request: Request) -> Reply:
        start, end = request.param("from") or "", request.param("to") or "9999"
        rows = [a for a in self.allocations if a["from"] <= end and start <= a["to"]]
        limit = int(request.param("limit") or 50)
        offset = int(request.param("offset") or 0)
        return Reply(200, {"items": rows[offset : offset + limit], "has_more": offset + limit < len(rows)})

    # -- purchasing ----

    def _create_vendor_order(self, request: Request, found: re.Match[str]) -> Reply:
        """An idempotent create (the ``Idempotency-Key``) whose answer carries the order's number."""
        key = request.headers.get("Idempotency-Key")
        if key and key in self.idempotent:
            _, body = self.idempotent[key]
            return Reply(200, body)
        record = dict(request.json() or {})
        if not record.get("supplier") or record.get("supplier") not in self.suppliers:
            return error(422, "unknown_supplier", "the order names no supplier we know")
        record_id = f"vo_{next(self._ids):05d}"
        record.update(uuid=record_id, number=f"VO-{len(self.vendor_orders) + 1:05d}", status="open")
        self.vendor_orders[record_id] = record
        body = {"id": record_id, "object": "vendor_order", "number": record["number"]}
        if key:
            self.idempotent[key] = (201, body)
        return Reply(201, body)

    def _committed(self, request: Request, found: re.Match[str]) -> Reply:
        project, currency = request.param("project"), (request.param("currency") or "").lower()
        total = sum(
            (
                Decimal(str(order["amount"]))
                for order in self.vendor_orders.values()
                if order.get("project") == project
                and str(order.get("currency", "")).lower() == currency
                and order.get("status") == "open"
            ),
            Decimal(0),
        )
        return Reply(200, {"committed": f"{total:.2f}"})

    def _project_budget(self, request: Request, found: re.Match[str]) -> Reply:
        budget = self.project_budgets.get(unquote(found[1]))
        if budget is None:
            return error(404, "not_found", "no such project")
        return Reply(200, {"budget": budget})

    def _create(self, request: Request, table: dict[str, dict[str, Any]], prefix: str) -> Reply:
        key = request.headers.get("Idempotency-Key")
        if key and key in self.idempotent:
            _, body = self.idempotent[key]
            return Reply(200, body)
        record = dict(request.json() or {})
        record_id = f"{prefix}_{next(self._ids):05d}"
        record["uuid"] = record_id
        table[record_id] = record
        body = {"id": record_id, "object": prefix}
        if key:
            self.idempotent[key] = (201, body)
        return Reply(201, body)


_Handler = Callable[[RestFake, Request, re.Match[str]], Reply | None]


def _path(pattern: str) -> re.Pattern[str]:
    # DOTALL: a ``.*`` tail takes the rest of the path whatever it holds, as ``startswith`` did.
    return re.compile(pattern, re.DOTALL)


# (method or None for any, path after /v2, handler), tried in order. The invoicing routes come first: they claim
# some paths (``/customers/<id>/balance``, ``/projects?active_since=``) that the older routes below also match.
_ROUTES: list[tuple[str | None, re.Pattern[str], _Handler]] = [
    ("GET", _path(r"/customers/([^/]+)/(balance|tax)"), RestFake._customer_balance_or_tax),
    ("GET", _path(r"/purchase-orders"), RestFake._purchase_orders),
    ("GET", _path(r"/invoices"), RestFake._invoices_issued),
    ("GET", _path(r"/invoices"), RestFake._invoices_for_period),
    ("GET", _path(r"/jobs"), RestFake._jobs),
    ("GET", _path(r"/payments"), RestFake._payments),
    ("GET", _path(r"/accounts"), RestFake._accounts),
    ("GET", _path(r"/accounts/([^/]+)"), RestFake._account),
    ("GET", _path(r"/projects/([^/]+)/estimate"), RestFake._estimate),
    # -- purchasing ----
    ("GET", _path(r"/projects/([^/]+)/budget"), RestFake._project_budget),
    ("GET", _path(r"/vendor-orders/committed"), RestFake._committed),
    ("POST", _path(r"/vendor-orders"), RestFake._create_vendor_order),
    ("POST", _path(r"/journal-entries"), RestFake._create_journal_entry),
    ("POST", _path(r"/invoices"), RestFake._create_invoice),
    ("POST", _path(r"/invoices/([^/]+)/billed-lines"), RestFake._billed_lines),
    (None, _path(r"/invoices/([^/]+)(/finalize)?"), RestFake._invoice),
    ("GET", _path(r"/projects"), RestFake._projects_active_since),
    ("GET", _path(r"/time-entries"), RestFake._time_entries),
    ("GET", _path(r"/expenses"), RestFake._expenses),
    ("GET", _path(r"/contracts/([^/]+)"), RestFake._contract),
    ("GET", _path(r"/projects/([^/]+)/rate-card"), RestFake._rate_card),
    ("POST", _path(r"/reviews/(send_back|write_off|approve)"), RestFake._review),
    (None, _path(r"/employees"), lambda fake, request, found: fake._employees(request)),
    ("GET", _path(r"/customers"), lambda fake, request, found: fake._customers(request)),
    ("POST", _path(r"/customers"), lambda fake, request, found: fake._create(request, fake.customers, "cus")),
    (None, _path(r"/customers/(.*)"), RestFake._customer),
    (None, _path(r"/allocations"), lambda fake, request, found: fake._allocations(request)),
    (None, _path(r"/people/private"), lambda fake, request, found: fake._people_private(request)),
    ("GET", _path(r"/suppliers"), RestFake._suppliers),
    ("POST", _path(r"/suppliers"), lambda fake, request, found: fake._create(request, fake.suppliers, "sup")),
    ("POST", _path(r"/suppliers/([^/]+)/release"), RestFake._release_supplier),
    ("GET", _path(r"/suppliers/([^/]+)"), RestFake._supplier),
    ("GET", _path(r"/projects"), RestFake._projects_for_deal),
    ("POST", _path(r"/projects"), lambda fake, request, found: fake._create(request, fake.projects, "prj")),
    (
        "POST",
        _path(r"/staffing-requests"),
        lambda fake, request, found: fake._create(request, fake.staffing_requests, "srq"),
    ),
    (None, _path(r"/sequences/(.*)"), RestFake._next_in_sequence),
    # -- resource onboarding --
    ("GET", _path(r"/rate-cards/standard/([^/]+)"), RestFake._standard_rate_card),
    ("PUT", _path(r"/resources/([^/]+)"), RestFake._save_resource),
    ("GET", _path(r"/staffing-requests"), RestFake._staffing_requests),
    ("POST", _path(r"/staffing-requests/([^/]+)/assign"), RestFake._assign),
]
