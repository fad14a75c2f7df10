"""A fake NetSuite account, after the SuiteTalk REST web services documentation (docs.oracle.com, NetSuite help).

Emulated:
- ``POST /services/rest/auth/oauth2/v1/token``: the client credentials (M2M) grant with a JWT client assertion:
  header ``alg`` PS256 or RS256 and ``kid`` = the certificate id; claims ``iss`` = client id, ``scope`` naming
  ``rest_webservices``, ``aud`` = this token URL, ``iat``/``exp`` at most 60 minutes apart; signature verified with
  the certificate's public key. Answers ``{"access_token", "expires_in": "3600", "token_type": "bearer"}``.
- Token-based authentication: ``Authorization: OAuth realm=..., oauth_consumer_key=..., oauth_token=...,
  oauth_signature_method="HMAC-SHA256", oauth_timestamp, oauth_nonce, oauth_version="1.0", oauth_signature``, the
  signature recomputed here from the request (RFC 5849 base string, query parameters included), the nonce refused if
  seen before and the timestamp if more than 5 minutes off.
- ``/services/rest/record/v1/customer`` and ``.../vendor``: GET by internal id or ``eid:<externalId>``;
  ``PUT .../eid:<externalId>`` (upsert) and POST answer 204 with ``Location``; PATCH updates the fields sent (204);
  a record is ``{"links": [...], "id": ..., fields...}``.
- ``/services/rest/record/v1/invoice`` and ``.../salesorder`` the same way. An invoice gets its ``tranId``,
  ``subtotal``, ``total``, ``amountRemaining`` and ``status`` (``Pending Approval`` while ``approvalStatus`` is 1,
  then ``Open``) as NetSuite computes them; its ``item`` sublist is returned only with ``expandSubResources=true``
  (a link otherwise); items must be known service items (``items``). ``?fields=a,b`` returns only those fields.
- ``/services/rest/record/v1/journalentry`` the same way: a journal entry must name a known currency and, on each of
  at least two lines, a known posting account (``accounts``) with a debit or a credit (not both), an ``entity``
  that is a customer or a job if given; debits must equal credits ("The transaction is out of balance"). It gets
  its ``tranId`` (``JE<n>``).
- ``POST /services/rest/query/v1/suiteql?limit=&offset=`` (``Prefer: transient`` required): the SuiteQL the adapter
  sends (customers and vendors with their currency, terms and default billing address; currency and term
  look-ups; a customer's ``balancesearch``: its seeded ``balance`` plus what its approved invoices still owe;
  ``transaction`` rows of invoices and sales orders filtered with ``=``, ``IN``, ``NOT IN``, ``IS NOT NULL`` and
  ``TO_DATE``, ``SUM`` and ``ORDER BY``, dates written ``M/D/YYYY`` as NetSuite's default format does), answered as
  ``{"links", "count", "hasMore", "items", "offset", "totalResults"}``; null columns are left out of items, as
  NetSuite does.
- Errors as NetSuite writes them: ``{"type", "title", "status", "o:errorDetails": [{"detail", "o:errorCode"}]}``;
  ``concurrency_error(429)`` / ``concurrency_error(400)`` build the concurrency-limit answers for ``inject``.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import itertools
import re
import secrets
import time
from datetime import date
from decimal import Decimal
from typing import Any
from urllib.parse import parse_qs, quote, unquote

from tests.contract.fakes.jwt_check import verify_jwt
from tests.contract.fakes.server import FakeServer, Reply, Request

_TITLES = {400: "Bad Request", 401: "Unauthorized", 404: "Not Found", 429: "Too Many Requests"}


def ns_error(status: int, code: str, detail: str) -> dict[str, Any]:
    return {
        "type": f"https://www.rfc-editor.org/rfc/rfc9110.html#section-15.5.{status - 399}",
        "title": _TITLES.get(status, "Error"),
        "status": status,
        "o:errorDetails": [{"detail": detail, "o:errorCode": code}],
    }


def concurrency_error(status: int = 429) -> dict[str, Any]:
    return ns_error(
        status,
        "CONCURRENCY_LIMIT_EXCEEDED",
        "Concurrent request limit exceeded. Request blocked.",
    )


def _enc(value: str) -> str:
    return quote(value, safe="-._~")


class NetSuiteFake(FakeServer):
    def __init__(
        self,
        *,
        account_id: str = "1234567_SB1",
        client_id: str = "fake-m2m-client",
        certificate_id: str = "cert-kid-1",
        public_key_pem: str | None = None,
        consumer_key: str = "ck-fake",
        consumer_secret: str = "cs-fake",
        token_id: str = "tk-fake",
        token_secret: str = "ts-fake",
    ) -> None:
        super().__init__()
        self.account_id = account_id
        self.client_id, self.certificate_id, self.public_key_pem = client_id, certificate_id, public_key_pem
        self.consumer_key, self.consumer_secret = consumer_key, consumer_secret
        self.token_id, self.token_secret = token_id, token_secret
        self.tokens: dict[str, float] = {}
        self.nonces: set[str] = set()
        self.records: dict[str, dict[str, dict[str, Any]]] = {
            "customer": {},
            "vendor": {},
            "invoice": {},
            "creditmemo": {},
            "salesorder": {},
            "job": {},
            "billingratecard": {},
            "journalentry": {},
            "customerpayment": {},
            "purchaseorder": {},
            # -- purchasing ----: the vendor's bills of a purchase order (createdFrom: the order)
            "vendorbill": {},
        }
        # The chart of accounts' posting accounts the journal lines may name: internal id -> number and name.
        self.accounts = {
            "120": "1250 Unbilled receivables",
            "245": "2400 Deferred revenue",
            "401": "4000 Services revenue",
            "402": "4100 Retainer revenue",
            # -- purchasing ----: what purchase orders are booked to
            "610": "6100 Subcontractors",
            "620": "6200 Software",
            "630": "6300 Travel",
        }
        self.items = {"11": "Professional services", "12": "Reimbursable expenses", "13": "Fixed fee"}
        self._tran_numbers = itertools.count(1001)
        self.currencies = {"1": "USD", "2": "GBP", "3": "CAD", "4": "EUR", "5": "CHF", "6": "AUD"}
        self.terms = {"1": 15, "2": 30, "3": 60}
        self._ids = itertools.count(101)
        # SuiteQL runs on Oracle, which refuses an IN list of more than 1,000 values (ORA-01795).
        self.in_list_limit = 1000

    @property
    def realm(self) -> str:
        return self.account_id.upper().replace("-", "_")

    # -- seeding --------------------------------------------------------------------------------------------------

    @property
    def customers(self) -> dict[str, dict[str, Any]]:
        return self.records["customer"]

    @property
    def vendors(self) -> dict[str, dict[str, Any]]:
        return self.records["vendor"]

    def add(self, record_type: str, record: dict[str, Any]) -> str:
        new_id = str(next(self._ids))
        self.records[record_type][new_id] = {**record, "id": new_id}
        return new_id

    def bill_purchase_order(self, order_id: str, amount: Decimal, *, voided: bool = False) -> str:
        """A vendor bill created from the purchase order (``createdFrom``) for part of it, in its currency."""
        order = self.records["purchaseorder"][order_id]
        return self.add(
            "vendorbill",
            {
                "entity": order.get("entity"),
                "createdFrom": {"id": order_id},
                "currency": order.get("currency"),
                "total": amount,
                "voided": voided,
            },
        )

    def add_customer(self, record: dict[str, Any]) -> str:
        return self.add("customer", record)

    def seed_clients(self, clients: list[Any]) -> dict[str, str]:
        """The sample firm's ERP customers (``sample_clients()``); returns their canonical id -> internal id."""
        ids = {}
        by_symbol = {symbol: key for key, symbol in self.currencies.items()}
        for client in clients:
            address = client.address
            record: dict[str, Any] = {
                "entityId": client.customer_name,
                "companyName": client.customer_name,
                "isPerson": False,
                "email": client.billing_email,
                "currency": {"id": by_symbol.get(client.default_currency, "1")},
                "terms": {"id": "2"} if client.payment_terms_days == 30 else None,
                "creditHoldOverride": {"id": "ON" if client.is_frozen else "AUTO"},
                "isInactive": client.disabled,
                "externalId": client.id,
                # The tax registration number, read only when the adapter is configured with its field.
                "vatRegNumber": client.tax_id.get_secret_value() if client.tax_id else None,
            }
            if address is not None:
                record["addressBook"] = {
                    "items": [
                        {
                            "defaultBilling": True,
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
            ids[client.id] = self.add_customer(record)
        return ids

    def seed_vendors(self, vendors: list[Any]) -> dict[str, str]:
        """Vendors the firm already pays (``existing_vendors()``); returns their canonical id -> internal id."""
        ids = {}
        by_symbol = {symbol: key for key, symbol in self.currencies.items()}
        for vendor in vendors:
            address = vendor.address
            record: dict[str, Any] = {
                "entityId": vendor.supplier_name,
                "companyName": vendor.doing_business_as or vendor.supplier_name,
                "legalName": vendor.supplier_name,
                "isPerson": vendor.supplier_type == "individual",
                "email": vendor.email,
                "phone": vendor.phone,
                "currency": {"id": by_symbol.get(vendor.default_currency, "1")},
                "terms": {"id": "2"} if vendor.payment_terms_days == 30 else None,
                "isInactive": vendor.on_hold or vendor.disabled,
                "externalId": vendor.id,
                "taxIdNum": vendor.tax_id.get_secret_value() if vendor.tax_id else None,
            }
            if address is not None:
                record["addressBook"] = {
                    "items": [
                        {
                            "defaultBilling": True,
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
            ids[vendor.id] = self.add("vendor", record)
        return ids

    @property
    def invoices(self) -> dict[str, dict[str, Any]]:
        return self.records["invoice"]

    def set_tax_item(self, customer_id: str, name: str | None, item_id: str = "-8") -> None:
        """The customer's sales tax item (legacy tax), as a reference field."""
        self.customers[customer_id]["taxItem"] = {"id": item_id, "refName": name} if name else None

    def add_sales_order(
        self,
        customer_id: str,
        *,
        project_field: str,
        project_id: str,
        po_no: str | None,
        tran_date: date,
        total: Decimal,
        currency_id: str = "1",
        status: str = "B",  # Pending Fulfillment; C cancelled, H closed
    ) -> str:
        return self.add(
            "salesorder",
            {
                "entity": {"id": customer_id},
                "tranDate": tran_date.isoformat(),
                "otherRefNum": po_no,
                "total": total,
                "currency": {"id": currency_id},
                "status_code": status,
                project_field: project_id,
            },
        )

    def seed_close_books(
        self, books: Any, customer_ids: dict[str, str], *, item_ids: dict[str, str], project_field: str
    ) -> dict[str, str]:
        """The finance close's sample books (``firm.CloseBooks``) as NetSuite keeps them: invoices (approved, one
        voided, one pending approval) with their item lines, the projects as ``job`` records and their billing
        rate cards (a standard card is also its customer's default). ``customer_ids``: canonical customer id ->
        internal id (``seed_clients``). Returns the canonical ids of invoices and rate cards -> internal ids."""
        by_symbol = {symbol: key for key, symbol in self.currencies.items()}
        ids: dict[str, str] = {}
        for invoice in books.invoices:
            record: dict[str, Any] = {
                "entity": {"id": customer_ids[invoice.client_id]},
                "tranId": invoice.invoice_number,
                "tranDate": invoice.posting_date.isoformat(),
                "dueDate": invoice.due_date.isoformat(),
                "approvalStatus": {"id": "1" if invoice.status == "draft" else "2"},
                "voided": invoice.status == "cancelled",
                "currency": {"id": by_symbol[invoice.currency]},
                "exchangeRate": invoice.conversion_rate,
                "otherRefNum": invoice.po_no,
                project_field: invoice.project_id,
                "custbody_backoffice_period_start": invoice.period_start.isoformat()
                if invoice.period_start
                else None,
                "custbody_backoffice_period_end": invoice.period_end.isoformat()
                if invoice.period_end
                else None,
                "paid": invoice.grand_total - invoice.outstanding_amount
                if invoice.status != "cancelled"
                else 0,
                "item": {
                    "items": [
                        {
                            "item": {"id": item_ids.get(line.source, "13")},
                            "description": line.description,
                            "quantity": line.quantity,
                            "rate": line.rate,
                            "amount": line.amount,
                            "custcol_backoffice_source": line.source,
                            "custcol_backoffice_source_ids": ",".join(line.source_ids) or None,
                        }
                        for line in invoice.lines
                    ]
                },
            }
            ids[invoice.id] = self.add("invoice", record)
            self._derive("invoice", self.invoices[ids[invoice.id]])
        projects = {project.id: project for project in books.projects}
        for project_id, card in books.rate_cards.items():
            ids[card.id] = self.add(
                "billingratecard",
                {
                    "name": card.name,
                    "customer": {"id": customer_ids[card.client_id]} if card.client_id else None,
                    "rateCardPricingMulti": {
                        "items": [
                            {
                                "billingClass": {"id": str(n + 1), "refName": line.role},
                                "currency": {"id": by_symbol[line.currency], "refName": line.currency},
                                "price": line.billing_rate,
                            }
                            for n, line in enumerate(card.lines)
                        ]
                    },
                },
            )
            if card.client_id is None:  # the firm's standard card: the default of the project's customer
                client = projects[project_id].client_id
                self.customers[customer_ids[client]]["billingRateCard"] = {"id": ids[card.id]}
        statuses = {"open": "2", "completed": "1", "cancelled": "3"}
        for project in books.projects:
            card = books.rate_cards.get(project.id)
            self.add(
                "job",
                {
                    "entityId": project.id,
                    "companyName": project.project_name,
                    "customer": {"id": customer_ids[project.client_id]},
                    "entityStatus": {"id": statuses[project.status]},
                    "jobBillingType": {"id": "FBM" if project.billing_model == "fixed_fee" else "TM"},
                    "currency": {"id": by_symbol[project.currency]},
                    "startDate": project.expected_start_date.isoformat()
                    if project.expected_start_date
                    else None,
                    "projectedEndDate": project.expected_end_date.isoformat()
                    if project.expected_end_date
                    else None,
                    "billingRateCard": {"id": ids[card.id]} if card is not None else None,
                },
            )
        return ids

    def add_credit_memo(
        self,
        invoice_id: str | None,
        *,
        tran_date: date,
        lines: list[dict[str, Any]],
        customer_id: str | None = None,
        project: tuple[str, str] | None = None,
        applied: Decimal = Decimal(0),
        voided: bool = False,
    ) -> str:
        """A credit memo, as crediting an invoice makes one (``createdfrom`` the invoice; its customer, currency and
        the item lines' custom columns copied, the amounts the credit's), or standing alone (``invoice_id`` None).
        ``project``: (body field, project id) when the memo carries one itself; ``applied``: how much of it was
        applied to invoices."""
        source = self.invoices[invoice_id] if invoice_id is not None else {}
        record = {
            "entity": {"id": customer_id} if customer_id else source["entity"],
            "tranDate": tran_date.isoformat(),
            "currency": source.get("currency") or {"id": "1"},
            "createdFrom": {"id": invoice_id} if invoice_id is not None else None,
            "voided": voided,
            "applied": applied,
            "item": {"items": lines},
        }
        if project is not None:
            record[project[0]] = project[1]
        new_id = self.add("creditmemo", record)
        self._derive("creditmemo", self.records["creditmemo"][new_id])
        return new_id

    def add_payment(
        self,
        applied: dict[str, Decimal],
        *,
        tran_date: date,
        memo: str | None = None,
        voided: bool = False,
    ) -> str:
        """A customer payment applied to invoices (``applied``: invoice internal id -> amount): each invoice's
        remaining amount goes down by what it applied, as NetSuite's apply sublist does."""
        first = self.invoices[next(iter(applied))]
        record = {
            "entity": first["entity"],
            "tranDate": tran_date.isoformat(),
            "currency": first.get("currency") or {"id": "1"},
            "memo": memo,
            "voided": voided,
            "apply": {"items": [{"doc": {"id": doc}, "amount": amount} for doc, amount in applied.items()]},
        }
        new_id = self.add("customerpayment", record)
        self.records["customerpayment"][new_id]["tranId"] = f"PYMT{next(self._tran_numbers)}"
        if not voided:
            for doc, amount in applied.items():
                invoice = self.invoices[doc]
                invoice["paid"] = Decimal(str(invoice.get("paid", 0))) + amount
                self._derive("invoice", invoice)
        return new_id

    def _payment_links(self) -> list[dict[str, Any]]:
        """``NextTransactionLineLink`` rows from an invoice to the payments and credit memos applied to it, joined
        to the paying transaction's header (its columns as ``t.<name>``)."""
        rows = []
        for code, record_type in (("CustPymt", "customerpayment"), ("CustCred", "creditmemo")):
            for record in self.records[record_type].values():
                if code == "CustCred":
                    credited = (record.get("createdFrom") or {}).get("id")
                    applied = Decimal(str(record.get("applied") or 0))
                    links = [(credited, applied)] if credited and applied > 0 else []
                else:
                    links = [
                        ((item.get("doc") or {}).get("id"), Decimal(str(item.get("amount") or 0)))
                        for item in (record.get("apply") or {}).get("items") or []
                    ]
                for doc, amount in links:
                    rows.append(
                        {
                            "t.id": str(record["id"]),
                            "t.type": code,
                            "t.entity": (record.get("entity") or {}).get("id"),
                            "t.trandate": record.get("tranDate"),
                            # When it was last changed (applied, say): NetSuite sets it; here its date unless given.
                            "t.lastmodifieddate": record.get("lastModifiedDate") or record.get("tranDate"),
                            "t.memo": record.get("memo"),
                            "t.voided": "T" if record.get("voided") else "F",
                            "t.currency": (record.get("currency") or {}).get("id"),
                            "l.previousdoc": doc,
                            "l.previoustype": "CustInvc",
                            "l.linktype": "Payment",
                            # The link's amount with the sign of its posting: a credit to the invoice.
                            "l.foreignamount": -amount,
                        }
                    )
        return rows

    def _payments(self, q: str) -> list[dict[str, Any]] | None:
        found = re.fullmatch(
            r"SELECT (.*?) FROM NextTransactionLineLink l JOIN transaction t ON t\.id = l\.nextdoc "
            r"LEFT JOIN currency cur ON cur\.id = t\.currency WHERE (.*) ORDER BY t\.id, l\.previousdoc",
            q,
        )
        if not found:
            return None
        rows = self._payment_links()
        for condition in found[2].split(" AND "):
            test = _link_condition(condition)
            if test is None:
                return None
            rows = [r for r in rows if test(r)]
        rows.sort(key=lambda r: (int(r["t.id"]), int(r["l.previousdoc"] or 0)))
        out = []
        for row in rows:
            shown: dict[str, Any] = {}
            for column in (c.strip() for c in found[1].split(", ")):
                name, _, alias = column.partition(" AS ")
                value = (
                    self.currencies.get(str(row.get("t.currency")))
                    if name == "cur.symbol"
                    else _suiteql_value(row.get(name))
                )
                if value is not None:
                    shown[alias or name.split(".", 1)[1]] = str(value)
            out.append(shown)
        return out

    def expire_tokens(self) -> None:
        self.tokens.clear()

    # -- routing --------------------------------------------------------------------------------------------------

    def route(self, request: Request) -> Reply:
        if request.path == "/services/rest/auth/oauth2/v1/token" and request.method == "POST":
            return self._token(request)
        if not request.path.startswith("/services/rest/"):
            return Reply(404, ns_error(404, "NONEXISTENT_ID", "The requested resource does not exist."))
        refused = self._authenticate(request)
        if refused is not None:
            return refused
        rest = request.path[len("/services/rest/") :]
        if rest == "query/v1/suiteql" and request.method == "POST":
            return self._suiteql(request)
        found = re.fullmatch(
            r"record/v1/(customer|vendor|invoice|salesorder|job|billingratecard|journalentry|purchaseorder)(/.*)?",
            rest,
        )
        if found:
            return self._record_api(request, found[1], found[2] or "")
        return Reply(404, ns_error(404, "INVALID_URL", "The record type does not exist."))

    # -- auth -----------------------------------------------------------------------------------------------------

    def _token(self, request: Request) -> Reply:
        form = {k: v[0] for k, v in parse_qs(request.body.decode()).items()}
        if form.get("grant_type") != "client_credentials":
            return Reply(400, {"error": "unsupported_grant_type"})
        if form.get("client_assertion_type") != "urn:ietf:params:oauth:client-assertion-type:jwt-bearer":
            return Reply(400, {"error": "invalid_request"})
        if self.public_key_pem is None:
            return Reply(400, {"error": "invalid_client"})
        try:
            header, claims = verify_jwt(
                form.get("client_assertion", ""), self.public_key_pem, ("PS256", "RS256")
            )
        except ValueError:
            return Reply(400, {"error": "invalid_grant"})
        now = time.time()
        iat, exp = claims.get("iat"), claims.get("exp")
        scope = claims.get("scope")
        scopes = scope if isinstance(scope, list) else str(scope or "").split(",")
        if (
            header.get("kid") != self.certificate_id
            or claims.get("iss") != self.client_id
            or claims.get("aud") != self.url + "/services/rest/auth/oauth2/v1/token"
            or "rest_webservices" not in [s.strip() for s in scopes]
            or not isinstance(iat, int)
            or not isinstance(exp, int)
            or exp < now
            or exp - iat > 3600
        ):
            return Reply(400, {"error": "invalid_grant"})
        token = "eyFAKE." + secrets.token_urlsafe(24)
        self.tokens[token] = now + 3600
        return Reply(200, {"access_token": token, "expires_in": "3600", "token_type": "bearer"})

    def _authenticate(self, request: Request) -> Reply | None:
        refused = Reply(
            401,
            ns_error(
                401,
                "INVALID_LOGIN",
                "Invalid login attempt. For more details, see the Login Audit Trail in the NetSuite UI.",
            ),
        )
        auth = request.headers.get("Authorization") or ""
        if auth.startswith("Bearer "):
            expiry = self.tokens.get(auth[7:])
            return None if expiry is not None and expiry > time.time() else refused
        if not auth.startswith("OAuth "):
            return refused
        params = {k: unquote(v) for k, v in re.findall(r'(\w+)="([^"]*)"', auth)}
        if (
            params.get("realm") != self.realm
            or params.get("oauth_consumer_key") != self.consumer_key
            or params.get("oauth_token") != self.token_id
            or params.get("oauth_signature_method") != "HMAC-SHA256"
            or params.get("oauth_version") != "1.0"
            or abs(time.time() - int(params.get("oauth_timestamp", "0"))) > 300
            or params.get("oauth_nonce", "") in self.nonces
        ):
            return refused
        self.nonces.add(params["oauth_nonce"])
        # The base string, built here independently of the adapter: every query parameter and oauth_* but the
        # signature and the realm, encoded, sorted, joined.
        pairs = [(k, v) for k, values in request.query.items() for v in values]
        pairs += [(k, v) for k, v in params.items() if k.startswith("oauth_") and k != "oauth_signature"]
        normalized = "&".join(sorted(f"{_enc(k)}={_enc(v)}" for k, v in pairs))
        base = "&".join([request.method, _enc(self.url + request.path), _enc(normalized)])
        key = f"{_enc(self.consumer_secret)}&{_enc(self.token_secret)}".encode()
        expected = base64.b64encode(hmac.new(key, base.encode(), hashlib.sha256).digest()).decode()
        if not hmac.compare_digest(expected, params.get("oauth_signature", "")):
            return refused
        return None

    # -- records --------------------------------------------------------------------------------------------------

    def _record(
        self,
        record_type: str,
        record: dict[str, Any],
        *,
        expand: bool = True,
        fields: list[str] | None = None,
    ) -> dict[str, Any]:
        href = f"{self.url}/services/rest/record/v1/{record_type}/{record['id']}"
        shown: dict[str, Any] = {}
        for key, value in record.items():
            if value is None or key == "status_code" or (fields is not None and key not in (*fields, "id")):
                continue
            if isinstance(value, dict) and "items" in value and not expand:
                value = {"links": [{"rel": "self", "href": f"{href}/{key}"}]}  # a sublist, unexpanded
            shown[key] = value
        shown["links"] = [{"rel": "self", "href": href}]
        return shown

    def _find(self, record_type: str, key: str) -> dict[str, Any] | None:
        table = self.records[record_type]
        if key.startswith("eid:"):
            eid = key[4:]
            return next((c for c in table.values() if c.get("externalId") == eid), None)
        return table.get(key)

    def _record_api(self, request: Request, record_type: str, rest: str) -> Reply:
        key = unquote(rest.lstrip("/"))
        missing = Reply(
            404,
            ns_error(
                404,
                "NONEXISTENT_ID",
                "The record instance does not exist. Provide a valid record instance ID.",
            ),
        )
        if request.method == "GET" and key:
            found = self._find(record_type, key)
            if found is None:
                return missing
            wanted = request.param("fields")
            return Reply(
                200,
                self._record(
                    record_type,
                    found,
                    expand=(request.param("expandSubResources") or "").lower() == "true",
                    fields=wanted.split(",") if wanted else None,
                ),
            )
        if request.method == "PATCH" and key:
            found = self._find(record_type, key)
            if found is None:
                return missing
            found.update(request.json() or {})
            self._derive(record_type, found)
            return Reply(204)
        if (request.method == "PUT" and key.startswith("eid:")) or (request.method == "POST" and not key):
            body = request.json() or {}
            problem = self._invalid(body, record_type)
            if problem:
                return Reply(400, ns_error(400, "USER_ERROR", problem))
            existing = self._find(record_type, key) if key else None
            if existing is not None:
                existing.update(body)
                self._derive(record_type, existing)
                record_id = str(existing["id"])
            else:
                if key:
                    body["externalId"] = key[4:]
                record_id = self.add(record_type, body)
                self._derive(record_type, self.records[record_type][record_id])
            location = f"{self.url}/services/rest/record/v1/{record_type}/{record_id}"
            return Reply(204, None, {"Location": location})
        return Reply(405, ns_error(400, "INVALID_REQUEST", "The request method is not supported."))

    def _invalid(self, body: dict[str, Any], record_type: str = "customer") -> str | None:
        if record_type == "journalentry":
            return self._invalid_journal(body)
        if record_type == "purchaseorder":
            return self._invalid_purchase_order(body)
        if record_type == "invoice":
            if (body.get("entity") or {}).get("id") not in self.customers:
                return "Please enter value(s) for: Customer"
            lines = (body.get("item") or {}).get("items") or []
            if not lines:
                return "You must enter at least one line item for this transaction."
            if any((line.get("item") or {}).get("id") not in self.items for line in lines):
                return "Invalid item reference key."
        elif not body.get("companyName") and not (body.get("isPerson") and body.get("lastName")):
            return "Please enter value(s) for: Company Name"
        currency = (body.get("currency") or {}).get("id")
        if currency is not None and currency not in self.currencies:
            return "Invalid currency reference key."
        return None

    def _invalid_purchase_order(self, body: dict[str, Any]) -> str | None:
        if (body.get("entity") or {}).get("id") not in self.vendors:
            return "Please enter value(s) for: Vendor"
        if (body.get("currency") or {}).get("id") not in self.currencies:
            return "Invalid currency reference key."
        lines = (body.get("expense") or {}).get("items") or []
        if not lines:
            return "You must enter at least one line item for this transaction."
        if any((line.get("account") or {}).get("id") not in self.accounts for line in lines):
            return "Invalid account reference key."
        return None

    def _invalid_journal(self, body: dict[str, Any]) -> str | None:
        if (body.get("currency") or {}).get("id") not in self.currencies:
            return "Please enter value(s) for: Currency"
        lines = (body.get("line") or {}).get("items") or []
        if len(lines) < 2:
            return "You must enter at least two line items for this transaction."
        debits = credits = Decimal(0)
        for line in lines:
            if (line.get("account") or {}).get("id") not in self.accounts:
                return "Invalid account reference key."
            entity = (line.get("entity") or {}).get("id")
            if entity is not None and entity not in self.customers and entity not in self.records["job"]:
                return "Invalid entity reference key."
            debit, credit = line.get("debit"), line.get("credit")
            if (debit is None) == (credit is None):
                return "Each line must have either a debit or a credit amount."
            debits += Decimal(str(debit or 0))
            credits += Decimal(str(credit or 0))
        if debits != credits:
            return "The transaction is out of balance."
        return None

    def _derive(self, record_type: str, record: dict[str, Any]) -> None:
        """The fields NetSuite computes on an invoice (or a journal entry) when it is saved."""
        if record_type == "journalentry":
            record.setdefault("tranId", f"JE{next(self._tran_numbers)}")
            return
        if record_type == "purchaseorder":
            record.setdefault("tranId", f"PO{next(self._tran_numbers)}")
            lines = (record.get("expense") or {}).get("items") or []
            record["total"] = sum((Decimal(str(line["amount"])) for line in lines), Decimal(0))
            record.setdefault("status", {"id": "Pending Receipt", "refName": "Pending Receipt"})
            return
        if record_type == "creditmemo":
            record.setdefault("tranId", f"CM{next(self._tran_numbers)}")
            lines = (record.get("item") or {}).get("items") or []
            total = sum((Decimal(str(line["amount"])) for line in lines), Decimal(0))
            unapplied = total - Decimal(str(record.get("applied", 0)))
            record.update(total=total, amountRemaining=unapplied)
            state = "Voided" if record.get("voided") else "Fully Applied" if unapplied <= 0 else "Open"
            record["status"] = {"id": state, "refName": state}
            return
        if record_type != "invoice":
            return
        record.setdefault("tranId", f"INV{next(self._tran_numbers)}")
        lines = (record.get("item") or {}).get("items") or []
        for line in lines:
            if line.get("amount") is None:
                line["amount"] = Decimal(str(line.get("quantity", 1))) * Decimal(str(line.get("rate", 0)))
        subtotal = sum((Decimal(str(line["amount"])) for line in lines), Decimal(0))
        paid = Decimal(str(record.get("paid", 0)))
        record.update(subtotal=subtotal, taxTotal=Decimal(0), total=subtotal, amountRemaining=subtotal - paid)
        approval = (record.get("approvalStatus") or {}).get("id")
        if record.get("voided"):
            record["status"] = {"id": "Voided", "refName": "Voided"}
        elif approval == "1":
            record["status"] = {"id": "Pending Approval", "refName": "Pending Approval"}
        elif approval == "3":
            record["status"] = {"id": "Rejected", "refName": "Rejected"}
        elif record["amountRemaining"] <= 0:
            record["status"] = {"id": "Paid In Full", "refName": "Paid In Full"}
        else:
            record["status"] = {"id": "Open", "refName": "Open"}

    # -- SuiteQL --------------------------------------------------------------------------------------------------

    def _rows(self, query: str) -> list[dict[str, Any]] | None:
        q = " ".join(query.split())
        found = re.fullmatch(r"SELECT id FROM currency WHERE symbol = '([A-Z]{3})'", q)
        if found:
            return [{"id": k} for k, v in self.currencies.items() if v == found[1]]
        found = re.fullmatch(
            r"SELECT id FROM term WHERE daysuntilnetdue = (\d+) AND isinactive = 'F' ORDER BY id", q
        )
        if found:
            return [{"id": k} for k, v in sorted(self.terms.items()) if v == int(found[1])]
        found = re.fullmatch(r"SELECT id, symbol FROM currency WHERE id = (\d+)", q)
        if found:
            return (
                [{"id": found[1], "symbol": self.currencies[found[1]]}] if found[1] in self.currencies else []
            )
        found = re.fullmatch(r"SELECT e\.id(, e\.balancesearch AS balance)? FROM customer e WHERE (.*)", q)
        if found:
            rows = [r for r in (self._where_entity(found[2], "customer") or []) if r]
            if found[1]:
                return [{"id": r["id"], "balance": str(self._balance(r["id"]))} for r in rows]
            return [{"id": r["id"]} for r in rows]
        if " FROM NextTransactionLineLink l " in q:
            return self._payments(q)
        if " FROM transactionline tl " in q:
            return self._transaction_lines(q)
        if " FROM transaction t" in q:
            return self._transactions(q)
        if " FROM job j" in q:
            return self._jobs(q)
        found = re.fullmatch(
            r"SELECT e\.id, (.*) FROM (customer|vendor) e LEFT JOIN .*?(?: WHERE (.*))? ORDER BY e\.id", q
        )
        if found:
            columns, record_type, where = found[1], found[2], found[3]
            hold = re.search(r"e\.(\w+) AS on_hold", columns)
            tax = re.search(r"e\.(\w+) AS tax_id", columns)
            expiry = re.search(r"e\.(\w+) AS insurance_expires_on", columns)
            table = sorted(self.records[record_type].items(), key=lambda kv: int(kv[0]))
            fields = (hold[1] if hold else None, tax[1] if tax else None, expiry[1] if expiry else None)
            rows = [self._row(c, *fields) for _, c in table]
            if where:
                by_id = re.fullmatch(r"e\.id = (\d+)", where)
                by_eid = re.fullmatch(r"e\.externalid = '((?:[^']|'')*)'", where)
                if by_id:
                    rows = [r for r in rows if r["id"] == by_id[1]]
                elif by_eid:
                    rows = [r for r in rows if r.get("externalid") == by_eid[1].replace("''", "'")]
                else:
                    return None
            return rows
        return None

    def _where_entity(self, where: str, record_type: str) -> list[dict[str, Any]] | None:
        by_id = re.fullmatch(r"e\.id = (\d+)", where)
        by_eid = re.fullmatch(r"e\.externalid = '((?:[^']|'')*)'", where)
        table = self.records[record_type]
        if by_id:
            return [{"id": by_id[1]}] if by_id[1] in table else []
        if by_eid:
            eid = by_eid[1].replace("''", "'")
            return [{"id": k} for k, r in table.items() if r.get("externalId") == eid]
        return None

    def _balance(self, customer_id: str) -> Decimal:
        """What the customer owes: its seeded opening balance and what its approved invoices still owe."""
        owed = Decimal(str(self.customers[customer_id].get("balance") or 0))
        for invoice in self.invoices.values():
            if (invoice.get("entity") or {}).get("id") == customer_id and (
                invoice.get("approvalStatus") or {}
            ).get("id") == "2":
                owed += Decimal(str(invoice.get("amountRemaining") or 0))
        return owed

    def _transaction_rows(self) -> list[dict[str, Any]]:
        rows = []
        for record_type, code in (
            ("invoice", "CustInvc"),
            ("creditmemo", "CustCred"),
            ("salesorder", "SalesOrd"),
            ("purchaseorder", "PurchOrd"),
            ("vendorbill", "VendBill"),
        ):
            # A credit memo's header amounts are credits to the customer: negative.
            sign = -1 if code == "CustCred" else 1
            for record in self.records[record_type].values():
                approval = (record.get("approvalStatus") or {}).get("id")
                status = record.get("status_code") or {
                    "Pending Approval": "D",
                    "Open": "A",
                    "Paid In Full": "B",
                    "Fully Applied": "B",
                    "Rejected": "E",
                    "Voided": "V",
                    # purchase orders
                    "Pending Receipt": "B",
                    "Fully Billed": "G",
                    "Closed": "H",
                }.get((record.get("status") or {}).get("id", ""), "A")
                total, unpaid = record.get("total"), record.get("amountRemaining")
                row = {
                    "id": str(record["id"]),
                    "type": code,
                    "entity": (record.get("entity") or {}).get("id"),
                    "tranid": record.get("tranId"),
                    "trandate": record.get("tranDate"),
                    "otherrefnum": record.get("otherRefNum"),
                    "foreigntotal": sign * Decimal(str(total)) if total is not None else None,
                    "foreignamountunpaid": sign * Decimal(str(unpaid)) if unpaid is not None else None,
                    "createdfrom": (record.get("createdFrom") or {}).get("id"),
                    "approvalstatus": approval,
                    "voided": "T" if record.get("voided") else "F",
                    "status": status,
                    "currency": (record.get("currency") or {}).get("id"),
                    "externalid": record.get("externalId"),
                    "duedate": record.get("dueDate"),
                    "exchangerate": record.get("exchangeRate"),
                }
                row.update({k.lower(): v for k, v in record.items() if k.lower().startswith("custbody")})
                rows.append(row)
        return rows

    def _transactions(self, q: str) -> list[dict[str, Any]] | None:
        found = re.fullmatch(
            r"SELECT (.*?) FROM transaction t(?: LEFT JOIN currency cur ON cur\.id = t\.currency)?"
            r" WHERE (.*?)(?: ORDER BY (.*))?",
            q,
        )
        if not found:
            return None
        rows = self._transaction_rows()
        for condition in found[2].split(" AND "):
            test = _condition(condition)
            if test is None:
                return None
            rows = [r for r in rows if test(r)]
        if found[3]:
            for part in reversed(found[3].split(", ")):
                column, _, direction = part.partition(" ")
                key = column.removeprefix("t.")
                rows.sort(
                    key=lambda r, c=key: _sortable(r.get(c)),
                    reverse=direction.strip() == "DESC",
                )
        out = []
        columns = [c.strip() for c in found[1].split(", ")]
        total = re.fullmatch(r"SUM\(t\.(\w+)\) AS (\w+)", columns[0])
        if total:
            values = [Decimal(str(r[total[1]])) for r in rows if r.get(total[1]) is not None]
            return [{total[2]: str(sum(values))} if values else {}]
        for row in rows:
            shown: dict[str, Any] = {}
            for column in columns:
                name, _, alias = column.partition(" AS ")
                if name == "cur.symbol":
                    value = self.currencies.get(str(row.get("currency")))
                else:
                    value = _suiteql_value(row.get(name.removeprefix("t.")))
                shown[alias or name.removeprefix("t.")] = None if value is None else str(value)
            out.append({k: v for k, v in shown.items() if v is not None})
        return out

    def _transaction_lines(self, q: str) -> list[dict[str, Any]] | None:
        """An invoice's (or credit memo's) item lines as ``transactionline`` keeps them: with the sign of their
        posting (an invoice's income lines are credits: negative quantity and amount; a credit memo's are debits:
        positive), the rate as entered; no main or tax line here."""
        found = re.fullmatch(
            r"SELECT (.*?) FROM transactionline tl WHERE tl\.transaction IN \(([\d, ]+)\) AND tl\.mainline = 'F' "
            r"AND tl\.taxline = 'F' ORDER BY tl\.transaction, tl\.linesequencenumber",
            q,
        )
        if not found:
            return None
        wanted = sorted({int(i) for i in found[2].split(",")})
        out = []
        for transaction in wanted:
            record = self.invoices.get(str(transaction))
            sign = -1
            if record is None:
                record, sign = self.records["creditmemo"].get(str(transaction)), 1
            for number, line in enumerate(((record or {}).get("item") or {}).get("items") or [], start=1):
                row = {
                    "transaction": str(transaction),
                    "linesequencenumber": number,
                    "item": (line.get("item") or {}).get("id"),
                    "memo": line.get("description"),
                    "quantity": sign * Decimal(str(line.get("quantity", 1))),
                    "rate": line.get("rate"),
                    "foreignamount": sign * Decimal(str(line.get("amount") or 0)),
                    **{k.lower(): v for k, v in line.items() if k.lower().startswith("custcol")},
                }
                out.append(self._columns(found[1], "tl.", row))
        return out

    def _jobs(self, q: str) -> list[dict[str, Any]] | None:
        found = re.fullmatch(
            r"SELECT (.*?) FROM job j(?: LEFT JOIN currency cur ON cur\.id = j\.currency)?"
            r"(?: WHERE (.*?))? ORDER BY j\.id",
            q,
        )
        if not found:
            return None
        rows = []
        for job_id, job in sorted(self.records["job"].items(), key=lambda kv: int(kv[0])):
            row = {
                "id": job_id,
                **{k.lower(): (v.get("id") if isinstance(v, dict) else v) for k, v in job.items()},
                "cur.symbol": self.currencies.get((job.get("currency") or {}).get("id", "")),
            }
            rows.append(row)
        if found[2]:
            by_code = re.fullmatch(r"j\.(\w+) = '((?:[^']|'')*)'", found[2])
            in_codes = re.fullmatch(r"j\.(\w+) IN \(((?:'(?:[^']|'')*'(?:, )?)+)\)", found[2])
            if by_code:
                rows = [r for r in rows if r.get(by_code[1]) == by_code[2].replace("''", "'")]
            elif in_codes:
                codes = {c.replace("''", "'") for c in re.findall(r"'((?:[^']|'')*)'", in_codes[2])}
                rows = [r for r in rows if r.get(in_codes[1]) in codes]
            else:
                return None
        return [self._columns(found[1], "j.", row) for row in rows]

    @staticmethod
    def _columns(selected: str, prefix: str, row: dict[str, Any]) -> dict[str, Any]:
        """The selected columns of a row (``t.x``, ``x AS alias``, ``cur.symbol``), null ones left out."""
        shown: dict[str, Any] = {}
        for column in (c.strip() for c in selected.split(", ")):
            name, _, alias = column.partition(" AS ")
            key = name if name in row else name.removeprefix(prefix)
            value = _suiteql_value(row.get(key))
            if value is not None:
                shown[alias or name.removeprefix(prefix)] = str(value)
        return shown

    def _row(
        self,
        record: dict[str, Any],
        hold_field: str | None = None,
        tax_field: str | None = None,
        expiry_field: str | None = None,
    ) -> dict[str, Any]:
        items = ((record.get("addressBook") or {}).get("items")) or []
        billing = next((i for i in items if i.get("defaultBilling")), None)
        address = (billing or {}).get("addressBookAddress") or {}
        terms_id = (record.get("terms") or {}).get("id")
        credit = record.get("creditLimit")
        row = {
            "id": str(record["id"]),
            "entityid": record.get("entityId") or record.get("companyName"),
            "companyname": record.get("companyName"),
            "isperson": "T" if record.get("isPerson") else "F",
            "firstname": record.get("firstName"),
            "lastname": record.get("lastName"),
            "email": record.get("email"),
            "creditlimit": str(Decimal(str(credit))) if credit is not None else None,
            "isinactive": "T" if record.get("isInactive") else "F",
            "creditholdoverride": (record.get("creditHoldOverride") or {}).get("id", "AUTO"),
            "externalid": record.get("externalId"),
            "currency": self.currencies.get((record.get("currency") or {}).get("id", "")),
            "terms_days": str(self.terms[terms_id]) if terms_id in self.terms else None,
            "addr1": address.get("addr1"),
            "addr2": address.get("addr2"),
            "city": address.get("city"),
            "state": address.get("state"),
            "zip": address.get("zip"),
            "country": (address.get("country") or {}).get("id"),
            "legalname": record.get("legalName"),
            "phone": record.get("phone"),
        }
        if hold_field is not None:
            value = next((v for k, v in record.items() if k.lower() == hold_field), False)
            row["on_hold"] = "T" if value else "F"
        if tax_field is not None:
            row["tax_id"] = next((v for k, v in record.items() if k.lower() == tax_field), None)
        if expiry_field is not None:
            # SuiteQL gives dates in the account's format (M/D/YYYY by default), not ISO.
            stored = next((v for k, v in record.items() if k.lower() == expiry_field), None)
            expiry = date.fromisoformat(stored) if stored else None
            row["insurance_expires_on"] = f"{expiry.month}/{expiry.day}/{expiry.year}" if expiry else None
        return {k: v for k, v in row.items() if v is not None}

    def _suiteql(self, request: Request) -> Reply:
        if (request.headers.get("Prefer") or "").lower() != "transient":
            return Reply(
                400, ns_error(400, "INVALID_HEADER", "The request is missing the Prefer: transient header.")
            )
        query = (request.json() or {}).get("q", "")
        if any(
            len(_in_list_values(values)) > self.in_list_limit
            for values in re.findall(r" IN \(((?:'(?:[^']|'')*'|[^)'])*)\)", query)
        ):
            return Reply(
                400,
                ns_error(
                    400,
                    "INVALID_PARAMETER",
                    "Invalid search query. ORA-01795: maximum number of expressions in a list is 1000",
                ),
            )
        rows = self._rows(query)
        if rows is None:
            return Reply(
                400,
                ns_error(
                    400,
                    "INVALID_PARAMETER",
                    "Invalid search query. Detailed unprocessed description follows.",
                ),
            )
        limit = int(request.param("limit") or 1000)
        offset = int(request.param("offset") or 0)
        if not 1 <= limit <= 1000:
            return Reply(400, ns_error(400, "INVALID_PARAMETER", "The limit must be between 1 and 1000."))
        page = rows[offset : offset + limit]
        has_more = offset + limit < len(rows)
        base = f"{self.url}/services/rest/query/v1/suiteql"
        links = [{"rel": "self", "href": f"{base}?limit={limit}&offset={offset}"}]
        if has_more:
            links.append({"rel": "next", "href": f"{base}?limit={limit}&offset={offset + limit}"})
        return Reply(
            200,
            {
                "links": links,
                "count": len(page),
                "hasMore": has_more,
                "items": [{"links": [], **row} for row in page],
                "offset": offset,
                "totalResults": len(rows),
            },
        )


def _suiteql_value(value: Any) -> Any:
    """A column's value as SuiteQL answers it: dates in the account's default format (``M/D/YYYY``)."""
    if isinstance(value, str) and re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
        day = date.fromisoformat(value)
        return f"{day.month}/{day.day}/{day.year}"
    if isinstance(value, bool):
        return "T" if value else "F"
    return value


def _in_list_values(values: str) -> list[str]:
    """The values of an ``IN (...)`` list: quoted literals (which may hold commas) or numbers."""
    return re.findall(r"'(?:[^']|'')*'|[^,\s]+", values)


def _sortable(value: Any) -> tuple[int, Any]:
    if value is None:
        return (0, "")
    text = str(value)
    return (1, int(text)) if text.isdigit() else (1, text)


def _condition(text: str) -> Any:
    """A SuiteQL condition on a transaction row, as a predicate (None: not one this fake understands)."""
    text = text.strip()
    either = re.fullmatch(r"\((.*)\)", text)
    if either:
        tests = [_condition(part) for part in either[1].split(" OR ")]
        if any(test is None for test in tests):
            return None
        return lambda r: any(test(r) for test in tests)
    found = re.fullmatch(r"t\.(\w+) = TO_DATE\('(\d{4}-\d{2}-\d{2})', 'YYYY-MM-DD'\)", text)
    if found:
        return lambda r, c=found[1], v=found[2]: str(r.get(c) or "") == v
    found = re.fullmatch(r"t\.(\w+) (>=|<=) TO_DATE\('(\d{4}-\d{2}-\d{2})', 'YYYY-MM-DD'\)", text)
    if found:
        if found[2] == ">=":
            return lambda r, c=found[1], v=found[3]: bool(r.get(c)) and str(r[c]) >= v
        return lambda r, c=found[1], v=found[3]: bool(r.get(c)) and str(r[c]) <= v
    found = re.fullmatch(r"t\.(\w+) = '((?:[^']|'')*)'", text)
    if found:
        literal = found[2].replace("''", "'")
        return lambda r, c=found[1], v=literal: r.get(c) is not None and str(r[c]) == v
    found = re.fullmatch(r"t\.(\w+) = (\d+)", text)
    if found:
        return lambda r, c=found[1], v=found[2]: r.get(c) is not None and str(r[c]) == v
    found = re.fullmatch(r"t\.(\w+) (NOT )?IN \(([^)]*)\)", text)
    if found:
        values = {v.strip().strip("'") for v in found[3].split(",")}
        negate = bool(found[2])
        return lambda r, c=found[1]: (str(r.get(c)) in values) != negate
    found = re.fullmatch(r"t\.(\w+) IS NOT NULL", text)
    if found:
        return lambda r, c=found[1]: r.get(c) not in (None, "")
    return None


def _link_condition(text: str) -> Any:
    """A condition on a payment link row (``t.`` and ``l.`` columns), as a predicate; None: not understood."""
    found = re.fullmatch(r"([tl]\.\w+) (>=|<=) TO_DATE\('(\d{4}-\d{2}-\d{2})', 'YYYY-MM-DD'\)", text.strip())
    if found:
        if found[2] == ">=":
            return lambda r, c=found[1], v=found[3]: bool(r.get(c)) and str(r[c]) >= v
        return lambda r, c=found[1], v=found[3]: bool(r.get(c)) and str(r[c]) <= v
    found = re.fullmatch(r"([tl]\.\w+) = '((?:[^']|'')*)'", text.strip())
    if found:
        literal = found[2].replace("''", "'")
        return lambda r, c=found[1], v=literal: str(r.get(c)) == v
    found = re.fullmatch(r"([tl]\.\w+) IN \(([^)]*)\)", text.strip())
    if found:
        values = {v.strip().strip("'") for v in found[2].split(",")}
        return lambda r, c=found[1]: str(r.get(c)) in values
    return None
