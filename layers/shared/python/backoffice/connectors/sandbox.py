"""Sandbox adapters: the CRM, PSA, ERP and HRIS of a sample firm, kept in one DynamoDB table.

They make the product demonstrable and testable without a firm's real systems, and behave like the real APIs in the
ways the workflows must survive: paged listing, idempotent creates keyed by the caller, and injected failures (an ERP
outage that recovers after N calls, a rate limit) raised as the same named errors the real adapters raise.

Table layout: ``pk`` = ``<system>#<entity>``, ``sk`` = record id, ``body`` = the record as JSON (secrets revealed:
the table is encrypted and the sandbox stands in for the system of record). ``idem#<system>`` items map idempotency
keys to the ids they created; ``faults`` items hold injected failures per system.
"""

from __future__ import annotations

import base64
import json
import uuid
from collections.abc import Callable, Iterable
from datetime import date
from decimal import Decimal
from typing import Any, TypeVar

from botocore.exceptions import ClientError
from pydantic import BaseModel

from backoffice.connectors.ports import (
    Allocation,
    ConnectorError,
    ConnectorRateLimited,
    ConnectorTimeout,
    ConnectorUnavailable,
    Created,
    Page,
    RecordNotFound,
    ResourceRequest,
)
from backoffice.models import Client, Document, Opportunity, Project, Vendor, Worker
from backoffice.onboarding.project_setup import ProjectTemplate
from backoffice.vendors.facts import EmployeeRecord

M = TypeVar("M", bound=BaseModel)
_FAULTS = {
    "ConnectorUnavailable": ConnectorUnavailable,
    "ConnectorRateLimited": ConnectorRateLimited,
    "ConnectorTimeout": ConnectorTimeout,
}


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

    def get(self, system: str, entity: str, record_id: str) -> dict[str, Any] | None:
        item = self.db.get_item(
            TableName=self.table,
            Key={"pk": {"S": f"{system}#{entity}"}, "sk": {"S": record_id}},
            ConsistentRead=True,
        ).get("Item")
        return json.loads(item["body"]["S"]) if item else None

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
            items, token = self.page(system, entity, token)
            found.extend(items)
            if not token:
                return found

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
        try:
            self.db.put_item(
                TableName=self.table,
                Item={
                    "pk": {"S": f"idem#{system}"},
                    "sk": {"S": idempotency_key},
                    "body": {"S": json.dumps({"id": new_id})},
                },
                ConditionExpression="attribute_not_exists(sk)",
            )
        except ClientError as error:
            if error.response["Error"]["Code"] != "ConditionalCheckFailedException":
                raise
            existing = self.get_key(system, idempotency_key)
            if existing and self.get(system, entity, existing) is not None:
                return Created(existing, created=False)
            new_id = (
                existing or new_id
            )  # the first attempt claimed the key but died before writing the record
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
        try:
            response = self.db.update_item(
                TableName=self.table,
                Key={"pk": {"S": "faults"}, "sk": {"S": system}},
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


def _dump(record: BaseModel) -> dict[str, Any]:
    dumped: dict[str, Any] = record.to_json_dict(reveal_secrets=True)  # type: ignore[attr-defined]
    return dumped


class _Adapter:
    system = "sandbox"

    def __init__(self, store: SandboxStore) -> None:
        self.store = store

    def _call(self) -> None:
        self.store.raise_injected_fault(self.system)


class SandboxCrm(_Adapter):
    system = "crm"

    def get_opportunity(self, opportunity_id: str) -> Opportunity:
        self._call()
        body = self.store.get(self.system, "opportunity", opportunity_id)
        if body is None:
            raise RecordNotFound(f"CRM has no opportunity {opportunity_id}")
        return _load(Opportunity, body)

    def get_account(self, account_id: str) -> Client:
        self._call()
        body = self.store.get(self.system, "account", account_id)
        if body is None:
            raise RecordNotFound(f"CRM has no account {account_id}")
        return _load(Client, body)

    def sow_document(self, opportunity_id: str) -> Document | None:
        self._call()
        body = self.store.get(self.system, "attachment", opportunity_id)
        return _load(Document, body) if body else None


class SandboxErp(_Adapter):
    system = "erp"

    def list_customers(self, page_token: str | None = None) -> Page[Client]:
        self._call()
        items, token = self.store.page(self.system, "customer", page_token)
        return Page([_load(Client, i) for i in items], token)

    def get_customer(self, customer_id: str) -> Client:
        self._call()
        body = self.store.get(self.system, "customer", customer_id)
        if body is None:
            raise RecordNotFound(f"ERP has no customer {customer_id}")
        return _load(Client, body)

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


class SandboxPsa(_Adapter):
    system = "psa"

    def find_project_by_opportunity(self, opportunity_id: str) -> Project | None:
        self._call()
        for body in self.store.all(self.system, "project"):
            if body.get("opportunity_id") == opportunity_id:
                return _load(Project, body)
        return None

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
        response = self.store.db.update_item(
            TableName=self.store.table,
            Key={"pk": {"S": "psa#sequence"}, "sk": {"S": f"{client_code}-{year}"}},
            UpdateExpression="ADD seq :one",
            ExpressionAttributeValues={":one": {"N": "1"}},
            ReturnValues="UPDATED_NEW",
        )
        return int(response["Attributes"]["seq"]["N"])


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
