"""Sandbox adapters: the CRM, PSA, ERP and HRIS of a sample firm, kept in one DynamoDB table.

They make the product demonstrable and testable without a firm's real systems, and behave like the real APIs in the
ways the workflows must survive: paged listing, idempotent creates keyed by the caller, and injected failures (an ERP
outage that recovers after N calls, a rate limit) raised as the same named errors the real adapters raise.

Table layout: ``pk`` = ``<system>#<entity>``, ``sk`` = record id, ``body`` = the record as JSON (secrets revealed:
the table is encrypted and the sandbox stands in for the system of record). ``idem#<system>`` items map idempotency
keys to the ids they created; ``faults`` items hold injected failures per system. ``<system>#<entity>#by#<field>``
items map a field's value to the id of the record holding it (``LOOKUPS``), so a record is found by that field
without reading every record of the entity.
"""

from __future__ import annotations

import base64
import json
import random
import time
import uuid
import zlib
from collections.abc import Callable, Iterable, Sequence
from datetime import date
from decimal import Decimal
from typing import Any, Literal, TypeVar

from botocore.exceptions import ClientError
from pydantic import BaseModel, ValidationError

from backoffice.connectors.ports import (
    Allocation,
    ConnectorError,
    ConnectorRateLimited,
    ConnectorTimeout,
    ConnectorUnavailable,
    Created,
    Page,
    PsaResource,
    RecordNotFound,
    ResourceRequest,
    ResourceSaved,
    UnreadableLine,
)
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

M = TypeVar("M", bound=BaseModel)
# The fields a sandbox system finds its records by, as the real APIs do with a filtered query (Certinia: a SOQL WHERE
# on the project's opportunity): (system, entity) -> field. Read through every record instead, each onboarding case
# read all the PSA's projects, so a case took longer the more cases came before it.
LOOKUPS: dict[tuple[str, str], str] = {("psa", "project"): "opportunity_id"}
# The fields a sandbox system lists its records by, many records to a value, as an ERP answers "this customer's open
# invoices" or "this project's invoice for the period" from an index: (system, entity) -> fields. Read through every
# invoice instead, each project of a billing run read all the ERP's invoices twice (17 % of a 200-project run).
INDEXES: dict[tuple[str, str], tuple[str, ...]] = {("erp", "invoice"): ("client_id", "project_id")}
# -- purchasing ----: a project's open purchase orders, as the ERP answers "what this project has committed".
INDEXES[("erp", "vendor_purchase_order")] = ("project_id",)
_FAULTS = {
    "ConnectorUnavailable": ConnectorUnavailable,
    "ConnectorRateLimited": ConnectorRateLimited,
    "ConnectorTimeout": ConnectorTimeout,
}


def _index_key(system: str, entity: str, field: str, value: str) -> str:
    return f"{system}#{entity}#by#{field}#{value}"


class SandboxStore:
    def __init__(self, table_name: str, dynamodb: Any) -> None:
        self.table, self.db = table_name, dynamodb

    # -- records -----------------------------------------------------------------------------------------------

    def put(self, system: str, entity: str, record_id: str, body: dict[str, Any]) -> None:
        self.db.put_item(
            TableName=self.table,
            Item={
                "pk": {"S": f"{system}#{entity}"},
                "sk": {"S": record_id},
                "body": {"S": json.dumps(body, default=str)},
            },
        )
        for lookup in self._lookup_items(system, entity, record_id, body):
            self.db.put_item(TableName=self.table, Item=lookup)

    def _lookup_items(
        self, system: str, entity: str, record_id: str, body: dict[str, Any]
    ) -> list[dict[str, Any]]:
        """The items that find a record by its fields: one per ``LOOKUPS`` field (the value's record) and one per
        ``INDEXES`` field (the value's partition lists the record), none for a field without a value."""
        items = []
        field = LOOKUPS.get((system, entity))
        value = body.get(field) if field else None
        if value:
            items.append(
                {
                    "pk": {"S": f"{system}#{entity}#by#{field}"},
                    "sk": {"S": str(value)},
                    "body": {"S": json.dumps({"id": record_id})},
                }
            )
        for indexed in INDEXES.get((system, entity), ()):
            if body.get(indexed):
                items.append(
                    {
                        "pk": {"S": _index_key(system, entity, indexed, str(body[indexed]))},
                        "sk": {"S": record_id},
                        "body": {"S": json.dumps({"id": record_id})},
                    }
                )
        return items

    def find_all_by(self, system: str, entity: str, field: str, value: str) -> list[dict[str, Any]]:
        """The records whose ``field`` (one of ``INDEXES``) is ``value``, in id order, read from the index's
        partition instead of every record of the entity."""
        if field not in INDEXES.get((system, entity), ()):
            raise ValueError(f"sandbox: {system} {entity} records are not listed by {field}")
        ids: list[str] = []
        for page in self.db.get_paginator("query").paginate(
            TableName=self.table,
            KeyConditionExpression="pk = :pk",
            ExpressionAttributeValues={":pk": {"S": _index_key(system, entity, field, value)}},
            ConsistentRead=True,
        ):
            ids.extend(item["sk"]["S"] for item in page.get("Items", []))
        bodies = (self.get(system, entity, record_id) for record_id in ids)
        return [body for body in bodies if body is not None and str(body.get(field)) == value]

    def find_by(self, system: str, entity: str, field: str, value: str) -> dict[str, Any] | None:
        """The record whose ``field`` (one of ``LOOKUPS``) is ``value``: the last one written with it; None if there
        is none, or if that record no longer holds the value."""
        if LOOKUPS.get((system, entity)) != field:
            raise ValueError(f"sandbox: {system} {entity} records are not found by {field}")
        item = self.db.get_item(
            TableName=self.table,
            Key={"pk": {"S": f"{system}#{entity}#by#{field}"}, "sk": {"S": value}},
            ConsistentRead=True,
        ).get("Item")
        if item is None:
            return None
        body = self.get(system, entity, str(json.loads(item["body"]["S"])["id"]))
        return body if body is not None and str(body.get(field)) == value else None

    def get(self, system: str, entity: str, record_id: str) -> dict[str, Any] | None:
        item = self.db.get_item(
            TableName=self.table,
            Key={"pk": {"S": f"{system}#{entity}"}, "sk": {"S": record_id}},
            ConsistentRead=True,
        ).get("Item")
        return json.loads(item["body"]["S"]) if item else None

    def change(
        self,
        system: str,
        entity: str,
        record_id: str,
        change: Callable[[dict[str, Any]], dict[str, Any] | None],
    ) -> dict[str, Any] | None:
        """Read a record, apply ``change`` (None: leave it as it is) and write it back only if it is still what was
        read (``#b = :read``, the stored JSON text); a lost race re-reads and re-applies. Returns the record as
        stored, None if there is none."""
        key = {"pk": {"S": f"{system}#{entity}"}, "sk": {"S": record_id}}
        for attempt in range(self._CHANGE_ATTEMPTS):
            item = self.db.get_item(TableName=self.table, Key=key, ConsistentRead=True).get("Item")
            if item is None:
                return None
            read = item["body"]["S"]
            changed = change(json.loads(read))
            if changed is None:
                return dict(json.loads(read))
            try:
                self.db.put_item(
                    TableName=self.table,
                    Item={**item, "body": {"S": json.dumps(changed, default=str)}},
                    ConditionExpression="#b = :read",
                    ExpressionAttributeNames={"#b": "body"},
                    ExpressionAttributeValues={":read": {"S": read}},
                )
                return changed
            except ClientError as error:
                if error.response["Error"]["Code"] != "ConditionalCheckFailedException":
                    raise
            time.sleep(random.uniform(0, 0.002 * min(attempt + 1, 10)))  # jitter, not a secret
        raise ConnectorUnavailable(f"sandbox: {system} {entity} {record_id} kept changing under this update")

    def page(
        self, system: str, entity: str, token: str | None, limit: int = 50
    ) -> tuple[list[dict[str, Any]], str | None]:
        kwargs: dict[str, Any] = {
            "TableName": self.table,
            "KeyConditionExpression": "pk = :pk",
            "ExpressionAttributeValues": {":pk": {"S": f"{system}#{entity}"}},
            "Limit": limit,
            "ConsistentRead": True,
        }
        if token:
            kwargs["ExclusiveStartKey"] = json.loads(base64.urlsafe_b64decode(token))
        response = self.db.query(**kwargs)
        last = response.get("LastEvaluatedKey")
        next_token = base64.urlsafe_b64encode(json.dumps(last).encode()).decode() if last else None
        return [json.loads(i["body"]["S"]) for i in response.get("Items", [])], next_token

    def all(self, system: str, entity: str) -> list[dict[str, Any]]:
        found, token = [], None
        while True:
            items, token = self.page(system, entity, token, limit=500)
            found.extend(items)
            if not token:
                return found

    # -- dated lines (time entries, expenses): kept by day, like a PSA's timesheet pages ------------------------
    # One item per day holds that day's lines ({id: body}); 64 index items map line ids (by a hash of the id) to
    # the day that holds them, so a line is found by id without an item per line. Items carry a version:
    # concurrent updates (two invoices posted at once marking lines of the same day) retry instead of
    # overwriting each other.

    _INDEX_BUCKETS = 64

    def _bucket(self, line_id: str) -> str:
        return f"{zlib.crc32(line_id.encode()) % self._INDEX_BUCKETS:02d}"

    def put_lines(self, system: str, entity: str, lines: Iterable[tuple[str, date, dict[str, Any]]]) -> int:
        """Add or replace lines (seeding a sample period): returns how many."""
        by_day: dict[str, dict[str, Any]] = {}
        by_bucket: dict[str, dict[str, Any]] = {}
        for line_id, day, body in lines:
            by_day.setdefault(day.isoformat(), {})[line_id] = body
            by_bucket.setdefault(self._bucket(line_id), {})[line_id] = day.isoformat()
        for kind, groups in (("day", by_day), ("index", by_bucket)):
            for key, entries in groups.items():

                def merge(found: dict[str, Any], entries: dict[str, Any] = entries) -> dict[str, Any]:
                    return {**found, **entries}

                self._change_item(f"{system}#{entity}#{kind}", key, merge)
        return sum(len(entries) for entries in by_day.values())

    def put_many(self, records: Iterable[tuple[str, str, str, date | None, dict[str, Any]]]) -> int:
        """Write (system, entity, id, day or None, body) records in batches of 25 (seeding a sample period)."""
        items = []
        lookups: dict[tuple[str, str], dict[str, Any]] = {}  # one per value (a batch refuses a key twice)
        for system, entity, record_id, day, body in records:
            item = {
                "pk": {"S": f"{system}#{entity}"},
                "sk": {"S": record_id},
                "body": {"S": json.dumps(body, default=str)},
            }
            if day is not None:
                item["day"] = {"S": day.isoformat()}
            items.append({"PutRequest": {"Item": item}})
            for lookup in self._lookup_items(system, entity, record_id, body):
                lookups[(lookup["pk"]["S"], lookup["sk"]["S"])] = lookup
        count = len(items)
        items.extend({"PutRequest": {"Item": lookup}} for lookup in lookups.values())
        for start in range(0, len(items), 25):
            pending: dict[str, Any] = {self.table: items[start : start + 25]}
            while pending:
                response = self.db.batch_write_item(RequestItems=pending)
                pending = response.get("UnprocessedItems") or {}
        return count

    def lines_between(
        self, system: str, entity: str, start: date, end: date, token: str | None, days_per_page: int = 7
    ) -> tuple[list[dict[str, Any]], str | None]:
        """A page of the lines dated from ``start`` to ``end`` (a week of days per page)."""
        kwargs: dict[str, Any] = {
            "TableName": self.table,
            "KeyConditionExpression": "pk = :pk AND sk BETWEEN :start AND :end",
            "ExpressionAttributeValues": {
                ":pk": {"S": f"{system}#{entity}#day"},
                ":start": {"S": start.isoformat()},
                ":end": {"S": end.isoformat()},
            },
            "Limit": days_per_page,
            "ConsistentRead": True,
        }
        if token:
            kwargs["ExclusiveStartKey"] = json.loads(base64.urlsafe_b64decode(token))
        response = self.db.query(**kwargs)
        last = response.get("LastEvaluatedKey")
        next_token = base64.urlsafe_b64encode(json.dumps(last).encode()).decode() if last else None
        lines = [
            body for item in response.get("Items", []) for body in json.loads(item["body"]["S"]).values()
        ]
        return lines, next_token

    def all_lines(self, system: str, entity: str) -> list[dict[str, Any]]:
        found, token = [], None
        while True:
            items, token = self.lines_between(system, entity, date.min, date.max, token, days_per_page=100)
            found.extend(items)
            if not token:
                return found

    def update_lines(
        self,
        system: str,
        entity: str,
        line_ids: Sequence[str],
        change: Callable[[dict[str, Any]], dict[str, Any]],
    ) -> list[str]:
        """Apply ``change`` to each line's body; returns the ids of lines that do not exist."""
        days: dict[str, list[str]] = {}
        missing: list[str] = []
        wanted = list(dict.fromkeys(line_ids))
        buckets = sorted({self._bucket(i) for i in wanted})
        located: dict[str, str] = {}
        keys = [{"pk": {"S": f"{system}#{entity}#index"}, "sk": {"S": b}} for b in buckets]
        request: dict[str, Any] = {self.table: {"Keys": keys, "ConsistentRead": True}} if keys else {}
        while request:
            response = self.db.batch_get_item(RequestItems=request)
            for item in response.get("Responses", {}).get(self.table, []):
                located.update(json.loads(item["body"]["S"]))
            request = response.get("UnprocessedKeys") or {}
        for line_id in wanted:
            if line_id in located:
                days.setdefault(located[line_id], []).append(line_id)
            else:
                missing.append(line_id)
        for day, ids in days.items():

            def apply(bodies: dict[str, Any], ids: list[str] = ids) -> dict[str, Any]:
                return {**bodies, **{i: change(bodies[i]) for i in ids if i in bodies}}

            self._change_item(f"{system}#{entity}#day", day, apply)
        return missing

    # A writer that lost re-reads and tries again after a random pause: each loss means another writer made
    # progress. Without the pause, eight writers on one day re-collided in lockstep and some gave up after 20
    # losses (measured: 3 to 6 of 400 lines lost as ConnectorUnavailable); with it none did.
    _CHANGE_ATTEMPTS = 50

    def _change_item(self, pk: str, sk: str, change: Callable[[dict[str, Any]], dict[str, Any]]) -> None:
        key = {"pk": {"S": pk}, "sk": {"S": sk}}
        for attempt in range(self._CHANGE_ATTEMPTS):
            item = self.db.get_item(TableName=self.table, Key=key, ConsistentRead=True).get("Item")
            version = int(item["version"]["N"]) if item else 0
            body = change(json.loads(item["body"]["S"]) if item else {})
            try:
                self.db.put_item(
                    TableName=self.table,
                    Item={
                        **key,
                        "body": {"S": json.dumps(body, default=str)},
                        "version": {"N": str(version + 1)},
                    },
                    ConditionExpression="attribute_not_exists(version) OR version = :v",
                    ExpressionAttributeValues={":v": {"N": str(version)}},
                )
                return
            except ClientError as error:
                if error.response["Error"]["Code"] != "ConditionalCheckFailedException":
                    raise
            time.sleep(random.uniform(0, 0.002 * min(attempt + 1, 10)))  # jitter, not a secret
        raise ConnectorUnavailable(f"sandbox: {pk} {sk} kept changing under this update")

    def next_sequence(self, system: str, name: str) -> int:
        response = self.db.update_item(
            TableName=self.table,
            Key={"pk": {"S": f"{system}#sequence"}, "sk": {"S": name}},
            UpdateExpression="ADD seq :one",
            ExpressionAttributeValues={":one": {"N": "1"}},
            ReturnValues="UPDATED_NEW",
        )
        return int(response["Attributes"]["seq"]["N"])

    # -- idempotent creates ------------------------------------------------------------------------------------

    def create_once(
        self,
        system: str,
        entity: str,
        idempotency_key: str,
        make: Callable[[str], dict[str, Any]],
        prefix: str,
        record_id: str | None = None,
    ) -> Created:
        """Create the record unless this key created one before; returns the id either way. The system assigns
        the id (``prefix`` + random) unless the caller's record carries its own (``record_id``)."""
        new_id = record_id or f"{prefix}-{uuid.uuid4().hex[:10].upper()}"
        body = make(new_id)
        # The claim and the record are written in one transaction: a concurrent copy that loses the claim always
        # finds the record. Written one after the other, a copy arriving between the two took the claim for a dead
        # one, wrote the record again and also reported created (measured: 42 of 150 races of 10 copies), and its
        # late write could undo a change made to the new record meanwhile.
        for attempt in range(self._CHANGE_ATTEMPTS):
            try:
                self.db.transact_write_items(
                    TransactItems=[
                        {
                            "Put": {
                                "TableName": self.table,
                                "Item": {
                                    "pk": {"S": f"idem#{system}"},
                                    "sk": {"S": idempotency_key},
                                    "body": {"S": json.dumps({"id": new_id})},
                                },
                                "ConditionExpression": "attribute_not_exists(sk)",
                            }
                        },
                        {
                            "Put": {
                                "TableName": self.table,
                                "Item": {
                                    "pk": {"S": f"{system}#{entity}"},
                                    "sk": {"S": new_id},
                                    "body": {"S": json.dumps(body, default=str)},
                                },
                            }
                        },
                        *(
                            {"Put": {"TableName": self.table, "Item": lookup}}
                            for lookup in self._lookup_items(system, entity, new_id, body)
                        ),
                    ]
                )
                return Created(new_id, created=True)
            except ClientError as error:
                reasons = [r.get("Code") for r in error.response.get("CancellationReasons", [])]
                if error.response["Error"]["Code"] != "TransactionCanceledException":
                    raise
                if reasons and reasons[0] == "ConditionalCheckFailed":
                    break  # the key was claimed: by a concurrent copy or an earlier call
                if "TransactionConflict" not in reasons:
                    raise
            # DynamoDB cancels a transaction that meets another one on the same claim: try again
            time.sleep(random.uniform(0, 0.002 * min(attempt + 1, 10)))  # jitter, not a secret
        else:
            raise ConnectorUnavailable(f"sandbox: {system} create {idempotency_key} kept conflicting")
        existing = self.get_key(system, idempotency_key)
        if existing and self.get(system, entity, existing) is not None:
            return Created(existing, created=False)
        # A claim without its record: left by a create from before claims and records were one transaction.
        new_id = existing or new_id
        self.put(system, entity, new_id, make(new_id))
        return Created(new_id, created=True)

    def get_key(self, system: str, idempotency_key: str) -> str | None:
        item = self.db.get_item(
            TableName=self.table,
            Key={"pk": {"S": f"idem#{system}"}, "sk": {"S": idempotency_key}},
            ConsistentRead=True,
        ).get("Item")
        return str(json.loads(item["body"]["S"])["id"]) if item else None

    # -- injected faults ---------------------------------------------------------------------------------------

    def inject_fault(self, system: str, error: str, times: int) -> None:
        if error not in _FAULTS:
            raise ValueError(f"unknown fault {error!r}; one of {sorted(_FAULTS)}")
        self.db.put_item(
            TableName=self.table,
            Item={
                "pk": {"S": "faults"},
                "sk": {"S": system},
                "error": {"S": error},
                "remaining": {"N": str(times)},
            },
        )

    def raise_injected_fault(self, system: str) -> None:
        key = {"pk": {"S": "faults"}, "sk": {"S": system}}
        # Nearly every call finds no fault injected: a read says so without the refused write (and the error a
        # refusal makes the client raise and parse), which cost every sandbox call; the write below stays the guard.
        injected = self.db.get_item(TableName=self.table, Key=key, ConsistentRead=True).get("Item")
        if injected is None or int(injected.get("remaining", {}).get("N", "0")) <= 0:
            return
        try:
            response = self.db.update_item(
                TableName=self.table,
                Key=key,
                UpdateExpression="SET remaining = remaining - :one",
                ConditionExpression="remaining > :zero",
                ExpressionAttributeValues={":one": {"N": "1"}, ":zero": {"N": "0"}},
                ReturnValues="ALL_NEW",
            )
        except ClientError as error:
            if error.response["Error"]["Code"] == "ConditionalCheckFailedException":
                return
            raise
        name = response["Attributes"]["error"]["S"]
        fault: type[ConnectorError] = _FAULTS[name]
        raise fault(
            f"{system} sandbox: injected {name} ({response['Attributes']['remaining']['N']} more to come)"
        )


def _load(model: type[M], body: dict[str, Any]) -> M:
    loader: Callable[[dict[str, Any]], M] = model.from_json_dict  # type: ignore[attr-defined]
    return loader(body)


L = TypeVar("L", TimeEntry, ExpenseEntry)


def _load_line(model: type[L], kind: Literal["time", "expense"], body: dict[str, Any]) -> L | UnreadableLine:
    try:
        return _load(model, body)
    except ValidationError as error:
        project = body.get("project_id")
        return UnreadableLine(
            kind, str(body.get("id", "?")), str(project) if project else None, tuple(readable_errors(error))
        )


def _dump(record: BaseModel) -> dict[str, Any]:
    dumped: dict[str, Any] = record.to_json_dict(reveal_secrets=True)  # type: ignore[attr-defined]
    return dumped


class _Adapter:
    system = "sandbox"

    def __init__(self, store: SandboxStore) -> None:
        self.store = store

    def _call(self) -> None:
        self.store.raise_injected_fault(self.system)

    def _get(self, entity: str, record_id: str, model: type[M]) -> M:
        """The record, or RecordNotFound naming the system and what is missing ("ERP has no customer C-1")."""
        self._call()
        body = self.store.get(self.system, entity, record_id)
        if body is None:
            raise RecordNotFound(f"{self.system.upper()} has no {entity.replace('_', ' ')} {record_id}")
        return _load(model, body)


class SandboxCrm(_Adapter):
    system = "crm"

    def get_opportunity(self, opportunity_id: str) -> Opportunity:
        return self._get("opportunity", opportunity_id, Opportunity)

    def get_account(self, account_id: str) -> Client:
        return self._get("account", account_id, Client)

    def sow_document(self, opportunity_id: str) -> Document | None:
        self._call()
        body = self.store.get(self.system, "attachment", opportunity_id)
        return _load(Document, body) if body else None

    def list_accounts(self, page_token: str | None = None) -> Page[Client]:
        self._call()
        items, token = self.store.page(self.system, "account", page_token)
        return Page([_load(Client, body) for body in items], token)


class SandboxErp(_Adapter):
    system = "erp"

    def list_customers(self, page_token: str | None = None) -> Page[Client]:
        self._call()
        items, token = self.store.page(self.system, "customer", page_token)
        return Page([_load(Client, i) for i in items], token)

    def get_customer(self, customer_id: str) -> Client:
        return self._get("customer", customer_id, Client)

    def create_customer(self, client: Client, *, idempotency_key: str) -> Created:
        self._call()
        return self.store.create_once(
            self.system,
            "customer",
            idempotency_key,
            lambda new_id: {**_dump(client), "id": new_id},
            prefix="CUST",
        )

    def list_vendors(self, page_token: str | None = None) -> Page[Vendor]:
        self._call()
        items, token = self.store.page(self.system, "vendor", page_token)
        return Page([_load(Vendor, i) for i in items], token)

    def get_vendor(self, vendor_id: str) -> Vendor:
        return self._get("vendor", vendor_id, Vendor)

    def create_vendor(self, vendor: Vendor, *, idempotency_key: str) -> Created:
        self._call()
        return self.store.create_once(
            self.system,
            "vendor",
            idempotency_key,
            lambda new_id: {**_dump(vendor), "id": new_id},
            prefix="SUPP",
        )

    def release_vendor(self, vendor_id: str) -> None:
        self._call()
        body = self.store.get(self.system, "vendor", vendor_id)
        if body is None:
            raise RecordNotFound(f"ERP has no vendor {vendor_id}")
        self.store.put(self.system, "vendor", vendor_id, {**body, "on_hold": False, "hold_type": None})

    # -- invoicing -------------------------------------------------------------------------------------------

    def customer_balance(self, customer_id: str) -> Decimal:
        self._call()
        opening = self.store.get(self.system, "opening_balance", customer_id) or {}
        balance = Decimal(str(opening.get("outstanding", "0")))
        for body in self.store.find_all_by(self.system, "invoice", "client_id", customer_id):
            if body.get("status") in ("posted", "partly_paid"):
                balance += Decimal(str(body.get("outstanding_amount", "0")))
        return balance

    def tax_template(self, customer_id: str) -> str | None:
        self._call()
        body = self.store.get(self.system, "tax_template", customer_id)
        return str(body["template"]) if body else None

    def purchase_order(self, customer_id: str, project_id: str) -> PurchaseOrder | None:
        self._call()
        body = self.store.get(self.system, "purchase_order", f"{customer_id}#{project_id}")
        return PurchaseOrder.from_json_dict(body) if body else None

    def find_invoice(self, project_id: str, period_start: date, period_end: date) -> Invoice | None:
        self._call()
        for body in self.store.find_all_by(self.system, "invoice", "project_id", project_id):
            if (
                body.get("period_start") == period_start.isoformat()
                and body.get("period_end") == period_end.isoformat()
                and body.get("status") != "cancelled"
            ):
                return _load(Invoice, body)
        return None

    def create_invoice(self, invoice: Invoice, *, idempotency_key: str) -> Created:
        self._call()
        return self.store.create_once(
            self.system,
            "invoice",
            idempotency_key,
            lambda new_id: {**_dump(invoice), "id": new_id, "status": "draft", "invoice_number": None},
            prefix="SINV",
        )

    def post_invoice(self, invoice_id: str) -> Invoice:
        self._call()

        def post(body: dict[str, Any]) -> dict[str, Any] | None:
            if body.get("status") != "draft":
                return None  # posted already (by a retry or a concurrent post): its number stands
            year = str(body["posting_date"])[:4]
            number = self.store.next_sequence(self.system, f"invoice-{year}")
            return {**body, "status": "posted", "invoice_number": f"INV-{year}-{number:05d}"}

        # Conditioned on the draft still being what was read: two posts of one draft at once give one number
        # (the loser re-reads, finds it posted and answers with the winner's number; its own number is a gap).
        body = self.store.change(self.system, "invoice", invoice_id, post)
        if body is None:
            raise RecordNotFound(f"ERP has no invoice {invoice_id}")
        return _load(Invoice, body)

    # -- finance close ---------------------------------------------------------------------------------------

    def list_invoices(self, start: date, end: date, page_token: str | None = None) -> Page[Invoice]:
        self._call()
        items, token = self.store.page(self.system, "invoice", page_token)
        first, last = start.isoformat(), end.isoformat()
        return Page(
            [
                _load(Invoice, body)
                for body in items
                if body.get("status") != "draft" and first <= str(body.get("posting_date")) <= last
            ],
            token,
        )

    def list_projects(self, page_token: str | None = None) -> Page[Project]:
        self._call()
        items, token = self.store.page(self.system, "project", page_token)
        return Page([_load(Project, body) for body in items], token)

    def project_rate_card(self, project_id: str) -> RateCard | None:
        self._call()
        body = self.store.get(self.system, "rate_card", project_id)
        return _load(RateCard, body) if body else None

    def post_journal_entry(self, entry: JournalEntry, *, idempotency_key: str) -> Created:
        self._call()
        return self.store.create_once(
            self.system,
            "journal_entry",
            idempotency_key,
            lambda new_id: {**_dump(entry), "id": new_id, "status": "posted"},
            prefix="JE",
        )

    # -- receivables -----------------------------------------------------------------------------------------

    def list_payments(self, start: date, end: date, page_token: str | None = None) -> Page[Payment]:
        self._call()
        items, token = self.store.page(self.system, "payment", page_token)
        first, last = start.isoformat(), end.isoformat()
        return Page(
            [
                _load(Payment, body)
                for body in items
                if first <= str(body.get("paid_on") or body.get("credited_on")) <= last
            ],
            token,
        )

    def pay_invoice(
        self,
        invoice_id: str,
        amount: Decimal,
        paid_on: date,
        *,
        payment_id: str | None = None,
        memo: str | None = None,
    ) -> Payment:
        """The client pays (part of) a posted invoice: the payment is kept and the invoice's open amount goes down
        (the sandbox's stand-in for a payment entered in the ERP). Paying with a ``payment_id`` used before returns
        that payment and changes nothing."""
        return self._apply("payment", invoice_id, amount, paid_on, payment_id, memo)

    def credit_invoice(
        self,
        invoice_id: str,
        amount: Decimal,
        credited_on: date,
        *,
        credit_id: str | None = None,
        memo: str | None = None,
    ) -> Payment:
        """A credit memo applied to a posted invoice (a dispute settled, a correction)."""
        return self._apply("credit_memo", invoice_id, amount, credited_on, credit_id, memo)

    def _apply(
        self,
        kind: Literal["payment", "credit_memo"],
        invoice_id: str,
        amount: Decimal,
        on: date,
        record_id: str | None,
        memo: str | None,
    ) -> Payment:
        self._call()
        invoice = self._get("invoice", invoice_id, Invoice)
        if invoice.status in ("draft", "cancelled"):
            raise RecordNotFound(f"ERP has no posted invoice {invoice_id}")
        key = f"{kind}#{record_id or uuid.uuid4().hex}#{invoice_id}"
        dated = {"paid_on": on.isoformat()} if kind == "payment" else {"credited_on": on.isoformat()}
        created = self.store.create_once(
            self.system,
            "payment",
            key,
            lambda new_id: {
                "kind": kind,
                # One record per invoice a payment settles: the store's id is the pair, the payment's is its own.
                "id": record_id or new_id,
                "invoice_id": invoice_id,
                "client_id": invoice.client_id,
                "amount": str(amount),
                "currency": invoice.currency,
                **dated,
                "memo": memo,
            },
            prefix="PAY" if kind == "payment" else "CM",
            record_id=f"{record_id}#{invoice_id}" if record_id else None,
        )
        body = self.store.get(self.system, "payment", created.id)
        assert body is not None
        if created.created:

            def settle(found: dict[str, Any]) -> dict[str, Any]:
                open_after = max(Decimal(str(found.get("outstanding_amount", "0"))) - amount, Decimal(0))
                total = Decimal(str(found.get("grand_total", "0")))
                status = "paid" if open_after == 0 else "partly_paid" if open_after < total else "posted"
                return {**found, "outstanding_amount": str(open_after), "status": status}

            self.store.change(self.system, "invoice", invoice_id, settle)
        return _load(Payment, body)

    # -- purchasing ----

    def create_purchase_order(self, order: VendorPurchaseOrder, *, idempotency_key: str) -> Created:
        self._call()
        year = order.order_date.year

        def make(new_id: str) -> dict[str, Any]:
            number = self.store.next_sequence(self.system, f"purchase-order-{year}")
            return {**_dump(order), "id": new_id, "number": f"PO-{year}-{number:05d}", "status": "open"}

        created = self.store.create_once(
            self.system, "vendor_purchase_order", idempotency_key, make, prefix="PO"
        )
        body = self.store.get(self.system, "vendor_purchase_order", created.id) or {}
        return Created(created.id, created.created, {"number": str(body.get("number") or created.id)})

    def committed_amount(self, project_id: str, currency: str) -> Decimal:
        self._call()
        committed = Decimal(0)
        for body in self.store.find_all_by(self.system, "vendor_purchase_order", "project_id", project_id):
            if body.get("status") == "open" and body.get("currency") == currency:
                committed += Decimal(str(body["amount"])) - Decimal(str(body.get("billed_amount") or 0))
        return committed


class SandboxPsa(_Adapter):
    system = "psa"

    def find_project_by_opportunity(self, opportunity_id: str) -> Project | None:
        self._call()
        body = self.store.find_by(self.system, "project", "opportunity_id", opportunity_id)
        return _load(Project, body) if body is not None else None

    def create_project(self, project: Project, *, idempotency_key: str) -> Created:
        self._call()
        return self.store.create_once(
            self.system,
            "project",
            idempotency_key,
            lambda new_id: {**_dump(project), "id": new_id},
            prefix="PRJ",
            # The project's id is its code, from the PSA's own sequence.
            record_id=project.id,
        )

    def create_resource_request(self, request: ResourceRequest, *, idempotency_key: str) -> Created:
        self._call()
        return self.store.create_once(
            self.system,
            "resource_request",
            idempotency_key,
            lambda new_id: {**request.__dict__, "id": new_id},
            prefix="RR",
        )

    def project_templates(self) -> list[ProjectTemplate]:
        self._call()
        return [ProjectTemplate.from_json_dict(body) for body in self.store.all(self.system, "template")]

    def resource_requests(self, project_id: str) -> list[dict[str, Any]]:
        return [
            r for r in self.store.all(self.system, "resource_request") if r.get("project_id") == project_id
        ]

    def allocations(self, start: date, end: date) -> list[Allocation]:
        self._call()
        found = []
        for body in self.store.all(self.system, "allocation"):
            a_start, a_end = date.fromisoformat(body["start"]), date.fromisoformat(body["end"])
            if a_start <= end and start <= a_end:
                found.append(
                    Allocation(
                        body["worker_id"],
                        body["project_id"],
                        a_start,
                        a_end,
                        Decimal(str(body["hours_per_week"])),
                    )
                )
        return found

    def next_project_sequence(self, client_code: str, year: int) -> int:
        return self.store.next_sequence(self.system, f"{client_code}-{year}")

    # -- invoicing -------------------------------------------------------------------------------------------

    def list_billable_projects(self, start: date, end: date, page_token: str | None = None) -> Page[Project]:
        self._call()
        items, token = self.store.page(self.system, "project", page_token)
        projects = [_load(Project, i) for i in items]
        return Page(
            [
                project
                for project in projects
                if project.status == "open"
                or project.expected_end_date is None
                or project.expected_end_date >= start
            ],
            token,
        )

    def list_time_entries(
        self, start: date, end: date, page_token: str | None = None
    ) -> Page[TimeEntry | UnreadableLine]:
        self._call()
        items, token = self.store.lines_between(self.system, "time_entry", start, end, page_token)
        return Page([_load_line(TimeEntry, "time", i) for i in items], token)

    def list_expenses(
        self, start: date, end: date, page_token: str | None = None
    ) -> Page[ExpenseEntry | UnreadableLine]:
        self._call()
        items, token = self.store.lines_between(self.system, "expense", start, end, page_token)
        return Page([_load_line(ExpenseEntry, "expense", i) for i in items], token)

    def get_contract(self, contract_id: str) -> Contract:
        return self._get("contract", contract_id, Contract)

    def get_account(self, client_id: str) -> Client:
        return self._get("account", client_id, Client)

    def project_estimate(self, project_id: str) -> ProjectEstimate | None:
        self._call()
        body = self.store.get(self.system, "estimate", project_id)
        return ProjectEstimate.from_json_dict(body) if body else None

    def project_rate_card(self, project_id: str) -> RateCard | None:
        self._call()
        project = self.store.get(self.system, "project", project_id)
        if project is None:
            raise RecordNotFound(f"PSA has no project {project_id}")
        cards = [_load(RateCard, body) for body in self.store.all(self.system, "rate_card")]
        for card in cards:
            if project.get("contract_id") and card.contract_id == project["contract_id"]:
                return card
        for card in cards:
            if card.client_id == project["client_id"] and card.contract_id is None:
                return card
        standard = [c for c in cards if c.client_id is None and c.lines[0].currency == project["currency"]]
        return standard[0] if standard else None

    def mark_billed(
        self,
        invoice_id: str,
        *,
        time_entry_ids: Sequence[str],
        expense_ids: Sequence[str],
        milestone_ids: Sequence[str] = (),
    ) -> None:
        self._call()

        def billed(body: dict[str, Any]) -> dict[str, Any]:
            return body if body.get("invoice_id") else {**body, "invoice_id": invoice_id}

        self._update_lines(time_entry_ids, expense_ids, billed)
        if milestone_ids:
            for body in self.store.all(self.system, "contract"):
                milestones = body.get("milestones") or []
                if any(m["id"] in milestone_ids for m in milestones):
                    body["milestones"] = [
                        {**m, "status": "invoiced"} if m["id"] in milestone_ids else m for m in milestones
                    ]
                    self.store.put(self.system, "contract", body["id"], body)

    def return_lines(
        self,
        *,
        time_entry_ids: Sequence[str],
        expense_ids: Sequence[str],
        action: Literal["send_back", "write_off"],
        reason: str,
    ) -> None:
        self._call()

        def returned(body: dict[str, Any]) -> dict[str, Any]:
            if body.get("invoice_id"):
                return body  # billed meanwhile: nothing to return
            if action == "send_back":
                return {**body, "status": "rejected", "review_note": reason}
            return {**body, "is_billable": False, "written_off": True, "review_note": reason}

        self._update_lines(time_entry_ids, expense_ids, returned)
        if action == "send_back":
            self._note(time_entry_ids, expense_ids, {"status": "rejected", "note": reason})

    def review_notes(self, line_id: str) -> list[dict[str, Any]]:
        """What the PSA shows the worker about a line's reviews (sent back with a reason, approved by whom)."""
        found = self.store.get(self.system, "line_review", line_id)
        return list((found or {}).get("notes", []))

    def _note(self, time_entry_ids: Sequence[str], expense_ids: Sequence[str], note: dict[str, Any]) -> None:
        for line_id in [*time_entry_ids, *expense_ids]:
            notes = self.review_notes(line_id)
            if not notes or notes[-1] != note:  # a retried call notes nothing twice
                self.store.put(self.system, "line_review", line_id, {"notes": [*notes, note]})

    def approve_lines(
        self,
        *,
        time_entry_ids: Sequence[str],
        expense_ids: Sequence[str],
        approver: str,
        note: str | None = None,
    ) -> None:
        self._call()

        def approved(body: dict[str, Any]) -> dict[str, Any]:
            if body.get("invoice_id"):
                return body  # billed meanwhile: nothing to approve
            # Who approved is kept beside the line (``review_notes``), not on it: an approved line must stay
            # readable, it is billed at month end.
            kept = {k: v for k, v in body.items() if k != "review_note"}  # an earlier send-back's
            return {**kept, "status": "approved"}

        self._update_lines(time_entry_ids, expense_ids, approved)
        self._note(time_entry_ids, expense_ids, {"status": "approved", "by": approver, "note": note})

    def _update_lines(
        self,
        time_entry_ids: Sequence[str],
        expense_ids: Sequence[str],
        change: Callable[[dict[str, Any]], dict[str, Any]],
    ) -> None:
        for entity, ids in (("time_entry", time_entry_ids), ("expense", expense_ids)):
            missing = self.store.update_lines(self.system, entity, ids, change)
            if missing:
                raise RecordNotFound(f"PSA has no {entity.replace('_', ' ')} {', '.join(missing[:5])}")

    # -- purchasing ----

    def project_budget(self, project_id: str) -> ProjectBudget:
        """The project as the PSA holds it, with its budget record (``project_budget``: budget and actual cost)."""
        self._call()
        project = self.store.get(self.system, "project", project_id)
        if project is None:
            raise RecordNotFound(f"PSA has no project {project_id}")
        budget = self.store.get(self.system, "project_budget", project_id) or {}
        return ProjectBudget(
            project_id=project_id,
            project_name=project.get("project_name"),
            status=project.get("status") or "open",
            owner_id=project.get("project_manager_id"),
            currency=project["currency"],
            budget=budget.get("budget"),
            actual_cost=budget.get("actual_cost") or 0,
        )

    # -- resource onboarding (issue #22) ---------------------------------------------------------------------

    def standard_rate_card(self, currency: str, *, as_of: date | None = None) -> RateCard | None:
        self._call()
        cards = [_load(RateCard, body) for body in self.store.all(self.system, "rate_card")]
        standard = [
            c
            for c in cards
            if c.client_id is None and c.contract_id is None and c.lines[0].currency == currency
            and (as_of is None or (c.effective_date <= as_of and (c.end_date is None or c.end_date >= as_of)))
        ]  # fmt: skip
        return max(standard, key=lambda c: c.effective_date) if standard else None

    def save_resource(self, resource: PsaResource) -> ResourceSaved:
        """The resource ``RES-<worker id>``: created once (the key is the worker id), updated on a rehire."""
        self._call()
        manager = (
            self.store.get(self.system, "resource", f"RES-{resource.manager_worker_id}")
            if resource.manager_worker_id
            else None
        )
        body = {
            **{k: v for k, v in resource.__dict__.items() if k != "skills"},
            "skills": list(resource.skills),
            "is_active": True,
            "manager_resource_id": manager["id"] if manager else None,
        }
        created = self.store.create_once(
            self.system,
            "resource",
            f"resource:{resource.worker_id}",
            lambda new_id: {**body, "id": new_id},
            prefix="RES",
            record_id=f"RES-{resource.worker_id}",
        )
        if not created.created:
            self.store.change(
                self.system, "resource", created.id, lambda found: {**found, **body, "id": created.id}
            )
        return ResourceSaved(created.id, created.created, manager["id"] if manager else None)

    def resource(self, worker_id: str) -> dict[str, Any] | None:
        """The PSA resource of a worker, as stored (tests and the demo look at it)."""
        return self.store.get(self.system, "resource", f"RES-{worker_id}")

    def open_resource_requests(self, role: str) -> list[ResourceRequest]:
        self._call()
        found = [
            ResourceRequest(
                project_id=str(body["project_id"]),
                role=str(body["role"]),
                hours=Decimal(str(body["hours"])),
                start=date.fromisoformat(str(body["start"])),
                end=date.fromisoformat(str(body["end"])),
                skills=tuple(body.get("skills") or ()),
                candidate_ids=tuple(body.get("candidate_ids") or ()),
                status=str(body.get("status") or "open"),
                id=str(body["id"]),
            )
            for body in self.store.all(self.system, "resource_request")
            if body.get("role") == role
            and (body.get("status") or "open") == "open"
            and not body.get("assigned_resource_id")
        ]
        return sorted(found, key=lambda r: (r.start, r.id or ""))

    def assign_resource_request(
        self, request_id: str, *, resource_id: str, worker_id: str, bill_rate: Decimal | None = None
    ) -> bool:
        """A conditional write (``SandboxStore.change``: written only if the request is still as read): of two
        hires at once, the second finds the request assigned and is told so."""
        self._call()
        holder: dict[str, str] = {}

        def assign(body: dict[str, Any]) -> dict[str, Any] | None:
            holder["resource"] = str(body.get("assigned_resource_id") or "")
            if body.get("assigned_resource_id"):
                return None  # assigned already: to this resource (a retry) or to another
            holder["resource"] = resource_id
            return {
                **body,
                "status": "assigned",
                "assigned_resource_id": resource_id,
                "assigned_worker_id": worker_id,
                **({"bill_rate": str(bill_rate)} if bill_rate is not None else {}),
            }

        if self.store.change(self.system, "resource_request", request_id, assign) is None:
            raise RecordNotFound(f"PSA has no resource request {request_id}")
        return holder.get("resource") == resource_id


class SandboxHris(_Adapter):
    system = "hris"

    def list_workers(self, page_token: str | None = None) -> Page[Worker]:
        self._call()
        items, token = self.store.page(self.system, "worker", page_token)
        return Page([_load(Worker, i) for i in items], token)

    def employee_records(self) -> list[EmployeeRecord]:
        self._call()
        return [_load(EmployeeRecord, body) for body in self.store.all(self.system, "employee")]


def seed(store: SandboxStore, records: Iterable[tuple[str, str, str, dict[str, Any]]]) -> int:
    """Write (system, entity, id, body) records; returns how many."""
    count = 0
    for system, entity, record_id, body in records:
        store.put(system, entity, record_id, body)
        count += 1
    return count
