"""Approval requests and links in DynamoDB (one table, ``pk`` as the only key).

- ``request#<id>``: the request: case, step, level, approvers, quorum, the subject shown and its hash, the task token
  (server-side only; the table is encrypted with the product's key), status and counts, expiry.
- ``link#<sha256 of link id>``: one per approver per request. The link id itself is never stored, only its hash,
  so a copy of the table cannot be turned into working links.
- ``casestep#<case>#<step>``: the current request of a case's approval step and who decided which level, for
  separation of duties across levels.

Every state change is a conditional write, so two clicks, two approvers or a click racing a timeout cannot both win.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import ClientError

PENDING, APPROVED, REJECTED = "PENDING", "APPROVED", "REJECTED"
EXPIRED, ESCALATED, VOIDED, REPLACED, DECIDED = "EXPIRED", "ESCALATED", "VOIDED", "REPLACED", "DECIDED"


def link_hash(link_id: str) -> str:
    return hashlib.sha256(link_id.encode()).hexdigest()


def csrf_hash(token: str) -> str:
    return hashlib.sha256(b"csrf:" + token.encode()).hexdigest()


@dataclass
class RequestRecord:
    request_id: str
    case_id: str
    workflow: str
    step: str
    route: str
    rule: str
    level_index: int
    level_count: int
    level_name: str
    quorum: int
    approvers: list[str]
    on_behalf_of: dict[str, str]
    requested_by: str
    subject: dict[str, Any]
    payload_hash: str
    task_token: str
    status: str
    created_at: str
    expires_at: str
    escalated: bool = False
    execution_arn: str | None = None
    approvals: int = 0
    rejections: int = 0
    decided_by: list[str] = field(default_factory=list)
    comments: list[str] = field(default_factory=list)
    decided_at: str | None = None
    last_sent_at: str | None = None
    link_hashes: list[str] = field(default_factory=list)
    reject_quorum: int = 1


@dataclass
class LinkRecord:
    link_hash: str
    request_id: str
    approver: str
    status: str
    created_at: str
    on_behalf_of: str | None = None
    csrf_hashes: list[str] = field(default_factory=list)
    decision: str | None = None
    decided_at: str | None = None
    comment: str | None = None


class StaleState(RuntimeError):
    """A conditional write lost: someone else changed the record first."""


class ApprovalStore:
    def __init__(self, table_name: str, dynamodb: Any) -> None:
        self.table = table_name
        self.db = dynamodb

    # -- requests ----------------------------------------------------------------------------------------------

    def put_request(self, r: RequestRecord) -> None:
        self._put(f"request#{r.request_id}", "request", r, expected_status=None)

    def get_request(self, request_id: str) -> RequestRecord | None:
        item = self._get(f"request#{request_id}")
        return RequestRecord(**json.loads(item["body"]["S"])) if item else None

    def replace_request(self, r: RequestRecord, *, expected_status: str) -> None:
        """Write the request back only if its stored status is still ``expected_status``."""
        self._put(f"request#{r.request_id}", "request", r, expected_status=expected_status)

    def pending_requests(self) -> list[RequestRecord]:
        items = self._scan("request", PENDING)
        return sorted(
            (RequestRecord(**json.loads(i["body"]["S"])) for i in items), key=lambda r: r.created_at
        )

    # -- links -------------------------------------------------------------------------------------------------

    def put_link(self, link: LinkRecord) -> None:
        self._put(f"link#{link.link_hash}", "link", link, expected_status=None, request_id=link.request_id)

    def get_link(self, link_hash_: str) -> LinkRecord | None:
        item = self._get(f"link#{link_hash_}")
        return LinkRecord(**json.loads(item["body"]["S"])) if item else None

    def replace_link(self, link: LinkRecord, *, expected_status: str) -> None:
        self._put(
            f"link#{link.link_hash}",
            "link",
            link,
            expected_status=expected_status,
            request_id=link.request_id,
        )

    def links_of(self, request: RequestRecord) -> list[LinkRecord]:
        links = (self.get_link(h) for h in request.link_hashes)
        return [link for link in links if link is not None]

    # -- case steps --------------------------------------------------------------------------------------------

    def case_step(self, case_id: str, step: str) -> dict[str, Any]:
        item = self._get(f"casestep#{case_id}#{step}")
        return json.loads(item["body"]["S"]) if item else {"current_request_id": None, "deciders": {}}

    def save_case_step(self, case_id: str, step: str, state: dict[str, Any]) -> None:
        self.db.put_item(
            TableName=self.table,
            Item={
                "pk": {"S": f"casestep#{case_id}#{step}"},
                "kind": {"S": "casestep"},
                "body": {"S": json.dumps(state, sort_keys=True)},
            },
        )

    # -- plumbing ----------------------------------------------------------------------------------------------

    def _put(
        self,
        pk: str,
        kind: str,
        record: RequestRecord | LinkRecord,
        *,
        expected_status: str | None,
        request_id: str | None = None,
    ) -> None:
        item = {
            "pk": {"S": pk},
            "kind": {"S": kind},
            "status": {"S": record.status},
            "body": {"S": _dump(record)},
        }
        if request_id:
            item["request_id"] = {"S": request_id}
        condition: dict[str, Any]
        if expected_status is None:
            condition = {"ConditionExpression": "attribute_not_exists(pk)"}
        else:
            condition = {
                "ConditionExpression": "#s = :expected",
                "ExpressionAttributeNames": {"#s": "status"},
                "ExpressionAttributeValues": {":expected": {"S": expected_status}},
            }
        try:
            self.db.put_item(TableName=self.table, Item=item, **condition)
        except ClientError as error:
            if error.response["Error"]["Code"] == "ConditionalCheckFailedException":
                raise StaleState(f"{kind} changed before this write ({expected_status or 'new'})") from None
            raise

    def _get(self, pk: str) -> dict[str, Any] | None:
        item: dict[str, Any] | None = self.db.get_item(
            TableName=self.table, Key={"pk": {"S": pk}}, ConsistentRead=True
        ).get("Item")
        return item

    def _scan(self, kind: str, status: str | None) -> list[dict[str, Any]]:
        expression, names, values = "kind = :k", {}, {":k": {"S": kind}}
        if status:
            expression += " AND #s = :s"
            names["#s"] = "status"
            values[":s"] = {"S": status}
        found: list[dict[str, Any]] = []
        kwargs: dict[str, Any] = {"TableName": self.table, "FilterExpression": expression}
        kwargs["ExpressionAttributeValues"] = values
        if names:
            kwargs["ExpressionAttributeNames"] = names
        for page in self.db.get_paginator("scan").paginate(**kwargs):
            found.extend(page.get("Items", []))
        return found


def _dump(record: RequestRecord | LinkRecord) -> str:
    return json.dumps(record.__dict__, sort_keys=True, default=str)
