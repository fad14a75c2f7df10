"""Approval requests and links in DynamoDB (one table, ``pk`` as the only key).

- ``request#<id>``: the request: case, step, level, approvers, quorum, the subject shown and its hash, the task token
  (server-side only; the table is encrypted with the product's key), status and counts, expiry.
- ``link#<sha256 of link id>``: one per approver per request. The link id itself is never stored, only its hash,
  so a copy of the table cannot be turned into working links.
- ``casestep#<case>#<step>``: the current request of a case's approval step and who decided which level, for
  separation of duties across levels.

- ``refusals#unknown#<hour>#<ip>``: how many requests for unknown links came from one address in one hour (the
  audit trail records the first and every tenth power; see docs/concurrency.md).

Every change is a read-modify-write guarded by a version: each item carries ``version``, a write succeeds only if the
stored version is still the one read (and stores the next), and a writer that loses reads again and re-applies its
change (``update_request``, ``update_link``, ``update_case_step``). So two approvers voting at once both count, two
clicks on one link decide once, and a click racing a timeout or a reminder cannot both win. Counters that need no
read (the refusal windows) use DynamoDB's atomic ADD.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import random
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, TypeVar

from botocore.exceptions import ClientError

PENDING, APPROVED, REJECTED = "PENDING", "APPROVED", "REJECTED"
# How long a refusal window's counter is kept (TTL) after the window opened.
REFUSAL_WINDOW_KEPT = timedelta(days=30)
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
    # Approvers SES could not deliver to (a permanent bounce or a complaint), and whether the level's early
    # escalation was signalled to the waiting workflow (Approvals.mail_undeliverable).
    unreachable: list[str] = field(default_factory=list)
    escalation_signalled: bool = False
    # What is to be done, when the request offered choices (approvals.resolutions): the first approval's; the
    # other approvals of the level must choose the same.
    resolution: str | None = None
    # The approval context summary shown above the facts (approvals.summary: text, who wrote it, facts used), written
    # once when the request is made; None: none was written.
    summary: dict[str, Any] | None = None
    version: int = 0  # the stored item's version when read; every write is conditioned on it


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
    message_id: str | None = None  # SES's id of the mail that carried the link
    version: int = 0


Record = TypeVar("Record", "RequestRecord", "LinkRecord")
# A writer that lost re-reads and tries again; each loss means another writer made progress, so this bounds the
# wait, not the number of concurrent approvers a level can have (a level has a handful).
MAX_ATTEMPTS = 50


class StaleState(RuntimeError):
    """A conditional write lost: someone else changed the record first."""


class ApprovalStore:
    def __init__(self, table_name: str, dynamodb: Any) -> None:
        self.table = table_name
        self.db = dynamodb

    # -- requests ----------------------------------------------------------------------------------------------

    def put_request(self, r: RequestRecord) -> None:
        self._put(f"request#{r.request_id}", "request", r, new=True)

    def get_request(self, request_id: str) -> RequestRecord | None:
        item = self.get_item(f"request#{request_id}")
        return _load(RequestRecord, item) if item else None

    def replace_request(self, r: RequestRecord) -> None:
        """Write the request back only if nobody wrote it since it was read (raises StaleState)."""
        self._put(f"request#{r.request_id}", "request", r, new=False)

    def update_request(
        self, request_id: str, change: Callable[[RequestRecord], bool]
    ) -> tuple[RequestRecord | None, bool]:
        """Read the request, let ``change`` modify it (it returns False to leave it as it is), write it back on its
        version; on a lost race read again and re-apply. Returns the request as stored and whether it changed."""
        return self._update(lambda: self.get_request(request_id), change, self.replace_request)

    def pending_requests(self) -> list[RequestRecord]:
        items = self.scan_items("request", PENDING)
        return sorted((_load(RequestRecord, i) for i in items), key=lambda r: r.created_at)

    # -- links -------------------------------------------------------------------------------------------------

    def put_link(self, link: LinkRecord) -> None:
        self._put(f"link#{link.link_hash}", "link", link, new=True, request_id=link.request_id)

    def get_link(self, link_hash_: str) -> LinkRecord | None:
        item = self.get_item(f"link#{link_hash_}")
        return _load(LinkRecord, item) if item else None

    def replace_link(self, link: LinkRecord) -> None:
        """Write the link back only if nobody wrote it since it was read (raises StaleState)."""
        self._put(f"link#{link.link_hash}", "link", link, new=False, request_id=link.request_id)

    def update_link(
        self, link_hash_: str, change: Callable[[LinkRecord], bool]
    ) -> tuple[LinkRecord | None, bool]:
        """``update_request`` for a link."""
        return self._update(lambda: self.get_link(link_hash_), change, self.replace_link)

    def links_of(self, request: RequestRecord) -> list[LinkRecord]:
        links = (self.get_link(h) for h in request.link_hashes)
        return [link for link in links if link is not None]

    # -- case steps --------------------------------------------------------------------------------------------

    def case_step(self, case_id: str, step: str) -> dict[str, Any]:
        item = self.get_item(f"casestep#{case_id}#{step}")
        return json.loads(item["body"]["S"]) if item else {"current_request_id": None, "deciders": {}}

    def update_case_step(self, case_id: str, step: str, change: Callable[[dict[str, Any]], None]) -> None:
        """Apply ``change`` to the case step's state (current request, deciders) on its version, re-reading on a
        lost race: two approvers of one level both end up in ``deciders``."""
        pk = f"casestep#{case_id}#{step}"
        for attempt in range(MAX_ATTEMPTS):
            item = self.get_item(pk)
            version = item_version(item)
            state = json.loads(item["body"]["S"]) if item else {"current_request_id": None, "deciders": {}}
            change(state)
            body = {"S": json.dumps(state, sort_keys=True)}
            try:
                self._write(
                    {"pk": {"S": pk}, "kind": {"S": "casestep"}, "body": body},
                    version=version,
                    new=item is None,
                )
                return
            except StaleState:
                back_off(attempt)
        raise StaleState(f"could not update {pk} after {MAX_ATTEMPTS} attempts")

    # -- refusal windows ---------------------------------------------------------------------------------------

    def count_refusal(self, window: str, now: str) -> int:
        """Add one to a refusal window's counter and return the new count (atomic: concurrent refusals each get
        their own number, so exactly one of them sees 1, one sees 10, ...). The counter expires (DynamoDB TTL on
        ``expires_at``) ``REFUSAL_WINDOW_KEPT`` after the window opened: it is an operational number, the audit
        records it gave rise to are the evidence."""
        expires = int((datetime.fromisoformat(now) + REFUSAL_WINDOW_KEPT).timestamp())
        answer = self.db.update_item(
            TableName=self.table,
            Key={"pk": {"S": window}},
            UpdateExpression=(
                "ADD #c :one SET kind = :k, first_at = if_not_exists(first_at, :now), last_at = :now, "
                "expires_at = if_not_exists(expires_at, :expires)"
            ),
            ConditionExpression="attribute_not_exists(pk) OR kind = :k",
            ExpressionAttributeNames={"#c": "count"},
            ExpressionAttributeValues={
                ":one": {"N": "1"},
                ":k": {"S": "refusals"},
                ":now": {"S": now},
                ":expires": {"N": str(expires)},
            },
            ReturnValues="UPDATED_NEW",
        )
        return int(answer["Attributes"]["count"]["N"])

    def claim_once(self, key: str, now: str) -> bool:
        """Put a marker under ``key`` unless one is there (or only a released one): True for the one caller that
        put it. SNS may deliver a mail event twice (at once, too); what such an event only records is recorded by
        the delivery that claims it. The marker expires (TTL) after ``REFUSAL_WINDOW_KEPT``, long after SNS stops
        redelivering."""
        expires = int((datetime.fromisoformat(now) + REFUSAL_WINDOW_KEPT).timestamp())
        try:
            self.db.put_item(
                TableName=self.table,
                Item={
                    "pk": {"S": key},
                    "kind": {"S": "claim"},
                    "claimed_at": {"S": now},
                    "expires_at": {"N": str(expires)},
                },
                ConditionExpression="attribute_not_exists(pk) OR #k = :released",
                ExpressionAttributeNames={"#k": "kind"},
                ExpressionAttributeValues={":released": {"S": "released"}},
            )
        except ClientError as error:
            if error.response["Error"]["Code"] == "ConditionalCheckFailedException":
                return False
            raise
        return True

    @contextmanager
    def claimed(self, key: str, now: str) -> Iterator[bool]:
        """``claim_once`` for work that follows the claim: when that work fails, the claim is released (its owner's
        only: ``claimed_at`` still ``now``), so the event's redelivery or Lambda's retry does the work instead of
        finding it claimed and doing nothing."""
        won = self.claim_once(key, now)
        try:
            yield won
        except BaseException:
            if won:
                with contextlib.suppress(ClientError):
                    self.db.update_item(
                        TableName=self.table,
                        Key={"pk": {"S": key}},
                        UpdateExpression="SET #k = :released",
                        ConditionExpression="claimed_at = :now",
                        ExpressionAttributeNames={"#k": "kind"},
                        ExpressionAttributeValues={":released": {"S": "released"}, ":now": {"S": now}},
                    )
            raise

    def refusal_count(self, window: str) -> int:
        item = self.get_item(window)
        return int(item["count"]["N"]) if item else 0

    # -- plumbing ----------------------------------------------------------------------------------------------

    def _update(
        self,
        read: Callable[[], Record | None],
        change: Callable[[Record], bool],
        write: Callable[[Record], None],
    ) -> tuple[Record | None, bool]:
        for attempt in range(MAX_ATTEMPTS):
            record = read()
            if record is None or not change(record):
                return record, False
            try:
                write(record)
            except StaleState:
                back_off(attempt)
                continue
            return record, True
        raise StaleState(f"could not write after {MAX_ATTEMPTS} attempts: too many concurrent writers")

    def _put(
        self,
        pk: str,
        kind: str,
        record: RequestRecord | LinkRecord,
        *,
        new: bool,
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
        self._write(item, version=record.version, new=new)
        record.version += 1

    def _write(self, item: dict[str, Any], *, version: int, new: bool) -> None:
        """Put ``item`` as version ``version + 1``: a new item only if the key is free, else only if the stored
        version is still ``version`` (items written before versions existed count as version 0)."""
        item = {**item, "version": {"N": str(version + 1)}}
        condition: dict[str, Any]
        if new:
            condition = {"ConditionExpression": "attribute_not_exists(pk)"}
        else:
            condition = {
                "ConditionExpression": "#v = :v" if version else "attribute_not_exists(#v) OR #v = :v",
                "ExpressionAttributeNames": {"#v": "version"},
                "ExpressionAttributeValues": {":v": {"N": str(version)}},
            }
        try:
            self.db.put_item(TableName=self.table, Item=item, **condition)
        except ClientError as error:
            if error.response["Error"]["Code"] == "ConditionalCheckFailedException":
                raise StaleState(f"{item['kind']['S']} changed before this write") from None
            raise

    def get_item(self, pk: str) -> dict[str, Any] | None:
        """The raw item under ``pk``, read consistently; modules that keep their own items in this table (vendor
        upload links) read them with it and guard their writes with ``item_version`` like this store."""
        item: dict[str, Any] | None = self.db.get_item(
            TableName=self.table, Key={"pk": {"S": pk}}, ConsistentRead=True
        ).get("Item")
        return item

    def scan_items(self, kind: str | tuple[str, ...], status: str | None) -> list[dict[str, Any]]:
        """The items of ``kind`` (or of any of several kinds, in one scan) in ``status``."""
        names: dict[str, str] = {}
        if isinstance(kind, str):
            expression, values = "kind = :k", {":k": {"S": kind}}
        else:
            values = {f":k{index}": {"S": one} for index, one in enumerate(kind)}
            expression = f"kind IN ({', '.join(values)})"
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


def item_version(item: dict[str, Any] | None) -> int:
    """The version a guarded write must find still stored (0: the item does not exist yet)."""
    return int(item["version"]["N"]) if item and "version" in item else 0


def _load(cls: type[Record], item: dict[str, Any]) -> Record:
    fields = json.loads(item["body"]["S"])
    fields["version"] = item_version(item)  # the item's attribute is the truth the conditions test
    return cls(**fields)


def back_off(attempt: int) -> None:
    # Spread the retries of writers that lost to each other, so they do not collide again in lockstep.
    time.sleep(random.uniform(0, 0.002 * min(attempt + 1, 10)))  # jitter, not a secret


def _dump(record: RequestRecord | LinkRecord) -> str:
    return json.dumps(record.__dict__, sort_keys=True, default=str)
