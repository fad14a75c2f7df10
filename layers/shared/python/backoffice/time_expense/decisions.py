"""The weekly decisions store: what the weekly review decided about each time entry and expense line.

The month-end billing run reads it (``DecisionStore.get_many``): a line approved in the week whose content hash
(``line_hash``) is unchanged since is not reviewed again; a line changed after its decision (hours edited, a new
description) has another hash and is scored as new. So the hash covers what a reviewer looked at and what billing
bills (worker, project, date, hours or amount, description, billable, rate), never the line's status or invoice id,
which the PSA changes as a consequence of the decision itself.

Table ``time_expense``: ``pk`` = ``line#<line id>``, ``sk`` = ``decision``; attributes ``kind`` (time|expense),
``decision`` (approved|rejected|sent_back), ``line_hash``, ``case_id``, ``decided_by`` ("policy" or the person's
e-mail), ``decided_at`` (ISO 8601, UTC), ``rules`` (the scorer's rule ids that flagged it, a list), ``reason``
(a rejection's words), ``version`` (1, 2, ...). Decision words: ``approved`` (by the policy or a person; approved in
the PSA), ``sent_back`` (a person rejected it and the PSA has it back with the worker, status rejected, to correct
and resubmit), ``rejected`` (rejected and not returned for correction: the store accepts it for the month-end
write-off; the weekly review itself sends back).

Every write is conditional (docs/concurrency.md, "Weekly time and expense decisions"): the first decision of a line
only if none exists, a later one only on the version read. A decision older than the one stored (a retried step of
an earlier case arriving late) never replaces it, and the same decision recorded twice (a retried step) writes
nothing the second time.
"""

from __future__ import annotations

import hashlib
import json
import random
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, Literal

from botocore.exceptions import ClientError

from backoffice.models import ExpenseEntry, TimeEntry

DecisionWord = Literal["approved", "rejected", "sent_back"]
LineKind = Literal["time", "expense"]
DECISION_SK = "decision"
MAX_ATTEMPTS = 50
_BATCH = 100  # BatchGetItem's limit per request


class DecisionChangedMeanwhile(RuntimeError):
    """A conditional write kept losing: the line's decision changed under every attempt."""


def _canonical_number(value: Decimal | None) -> str | None:
    """8, 8.0 and 8.00 hours are one line: the number without trailing zeros, never in exponent form."""
    if value is None:
        return None
    text = format(value.normalize(), "f")
    return "0" if text in ("-0", "") else text


def _canonical_text(value: str | None) -> str | None:
    """Descriptions compared as a reader would: surrounding and repeated whitespace does not make a new line."""
    return " ".join(value.split()) if value else None


# The receipt facts the scorer reads off an expense (``anomaly.rows.LINE_FACTS``' sources), in the hash: a receipt
# changed after the approval makes the line new.
_EXPENSE_FACTS = {
    "merchant",
    "city",
    "receipt_document",
    "attendees",
    "receipt_amount",
    "receipt_date",
    "receipt_number",
    "tip_amount",
    "advance_amount",
    "card_id",
    "nights",
    "trip_id",
}


def line_hash(line: TimeEntry | ExpenseEntry) -> str:
    """The sha256 of the fields a decision is about, as canonical JSON: a line whose hash is unchanged is the line
    that was decided. Status, submission time and invoice id are left out: the PSA changes them because of the
    decision (approved, sent back, billed), and that must not make the line look new."""
    fields: dict[str, Any]
    if isinstance(line, TimeEntry):
        fields = {
            "kind": "time",
            "id": line.id,
            "worker_id": line.worker_id,
            "project_id": line.project_id,
            "date": line.work_date.isoformat(),
            "activity_type": line.activity_type,
            "hours": _canonical_number(line.hours),
            "billing_hours": _canonical_number(line.billing_hours),
            "description": _canonical_text(line.description),
            "billable": line.is_billable,
            "rate": _canonical_number(line.billing_rate),
            "currency": line.currency,
        }
    else:
        fields = {
            "kind": "expense",
            "id": line.id,
            "worker_id": line.worker_id,
            "project_id": line.project_id,
            "date": line.expense_date.isoformat(),
            "expense_type": line.expense_type,
            "amount": _canonical_number(line.amount),
            "currency": line.currency,
            "description": _canonical_text(line.description),
            "billable": line.is_billable,
            # What billing bills (the sanctioned amount) and what the scorer reads off the receipt.
            "sanctioned_amount": _canonical_number(line.sanctioned_amount),
            "facts": json.loads(line.model_dump_json(include=_EXPENSE_FACTS)),
        }
    canonical = json.dumps(fields, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def line_kind(line: TimeEntry | ExpenseEntry) -> LineKind:
    return "time" if isinstance(line, TimeEntry) else "expense"


@dataclass(frozen=True)
class Decision:
    """One line's decision as stored (``version`` 0: not stored yet)."""

    line_id: str
    kind: LineKind
    decision: DecisionWord
    line_hash: str
    case_id: str
    decided_by: str  # "policy" (approved automatically) or the deciding person's e-mail
    decided_at: datetime
    rules: tuple[str, ...] = ()
    reason: str | None = None
    version: int = 0

    @classmethod
    def of_line(
        cls,
        line: TimeEntry | ExpenseEntry,
        decision: DecisionWord,
        *,
        case_id: str,
        decided_by: str,
        decided_at: datetime,
        rules: Iterable[str] = (),
        reason: str | None = None,
    ) -> Decision:
        return cls(
            line_id=line.id,
            kind=line_kind(line),
            decision=decision,
            line_hash=line_hash(line),
            case_id=case_id,
            decided_by=decided_by,
            decided_at=decided_at.astimezone(UTC),
            rules=tuple(rules),
            reason=reason,
        )

    def settles(self, line: TimeEntry | ExpenseEntry) -> bool:
        """This decision is about the line as it is now: approved, and the line unchanged since."""
        return self.decision == "approved" and self.line_hash == line_hash(line)

    def same_as(self, other: Decision) -> bool:
        """The same decision of the same case about the same content (a retried step recording it again)."""
        return (self.decision, self.line_hash, self.case_id, self.decided_by) == (
            other.decision,
            other.line_hash,
            other.case_id,
            other.decided_by,
        )

    def item(self) -> dict[str, Any]:
        item: dict[str, Any] = {
            **_key(self.line_id),
            "kind": {"S": self.kind},
            "decision": {"S": self.decision},
            "line_hash": {"S": self.line_hash},
            "case_id": {"S": self.case_id},
            "decided_by": {"S": self.decided_by},
            "decided_at": {"S": self.decided_at.isoformat()},
            "rules": {"L": [{"S": rule} for rule in self.rules]},
            "version": {"N": str(self.version)},
        }
        if self.reason:
            item["reason"] = {"S": self.reason}
        return item

    @classmethod
    def from_item(cls, item: Mapping[str, Any]) -> Decision:
        return cls(
            line_id=item["pk"]["S"].removeprefix("line#"),
            kind=item["kind"]["S"],
            decision=item["decision"]["S"],
            line_hash=item["line_hash"]["S"],
            case_id=item["case_id"]["S"],
            decided_by=item["decided_by"]["S"],
            decided_at=datetime.fromisoformat(item["decided_at"]["S"]),
            rules=tuple(rule["S"] for rule in item.get("rules", {}).get("L", [])),
            reason=item.get("reason", {}).get("S"),
            version=int(item["version"]["N"]),
        )


def _key(line_id: str) -> dict[str, Any]:
    return {"pk": {"S": f"line#{line_id}"}, "sk": {"S": DECISION_SK}}


@dataclass(frozen=True)
class Recorded:
    """What ``DecisionStore.record`` did with each decision, by line id: ``written`` (stored, a new version),
    ``unchanged`` (the same decision was stored already: a retried step), ``superseded`` (a later decision is
    stored: this one is older and is kept out)."""

    written: tuple[str, ...] = ()
    unchanged: tuple[str, ...] = ()
    superseded: tuple[str, ...] = ()
    stored: Mapping[str, Decision] = field(default_factory=dict)


class DecisionStore:
    """The ``time_expense`` table's decisions. ``dynamodb``: a boto3 DynamoDB client (injected)."""

    def __init__(self, table_name: str, dynamodb: Any) -> None:
        self.table = table_name
        self.db = dynamodb

    def get(self, line_id: str) -> Decision | None:
        item = self.db.get_item(TableName=self.table, Key=_key(line_id), ConsistentRead=True).get("Item")
        return Decision.from_item(item) if item else None

    def get_many(self, line_ids: Iterable[str]) -> dict[str, Decision]:
        """The stored decision of each line that has one (consistent reads, 100 keys a request; keys DynamoDB
        leaves unprocessed under load are asked again)."""
        wanted = list(dict.fromkeys(line_ids))
        found: dict[str, Decision] = {}
        for start in range(0, len(wanted), _BATCH):
            keys = [_key(line_id) for line_id in wanted[start : start + _BATCH]]
            request: dict[str, Any] = {self.table: {"Keys": keys, "ConsistentRead": True}}
            for attempt in range(MAX_ATTEMPTS):
                answer = self.db.batch_get_item(RequestItems=request)
                for item in answer.get("Responses", {}).get(self.table, []):
                    decision = Decision.from_item(item)
                    found[decision.line_id] = decision
                request = answer.get("UnprocessedKeys") or {}
                if not request:
                    break
                time.sleep(random.uniform(0, 0.01 * min(attempt + 1, 10)))  # jitter, not a secret
            else:
                raise DecisionChangedMeanwhile("DynamoDB kept leaving keys of the decisions unread")
        return found

    def settled_in_week(self, lines: Sequence[TimeEntry | ExpenseEntry]) -> dict[str, list[str]]:
        """``invoicing.steps.WeeklyDecisions``: of ``lines``, those approved in the week and unchanged since
        (``Decision.settles``), with the scorer's rules that had flagged each then."""
        stored = self.get_many(line.id for line in lines)
        return {
            line.id: list(stored[line.id].rules)
            for line in lines
            if line.id in stored and stored[line.id].settles(line)
        }

    def record(self, decisions: Sequence[Decision]) -> Recorded:
        """Store each decision unless the same one, or a later one, is stored already (see ``Recorded``)."""
        written: list[str] = []
        unchanged: list[str] = []
        superseded: list[str] = []
        stored: dict[str, Decision] = {}
        for decision in decisions:
            outcome, now_stored = self._record_one(decision)
            {"written": written, "unchanged": unchanged, "superseded": superseded}[outcome].append(
                decision.line_id
            )
            stored[decision.line_id] = now_stored
        return Recorded(tuple(written), tuple(unchanged), tuple(superseded), stored)

    def _record_one(self, decision: Decision) -> tuple[str, Decision]:
        for attempt in range(MAX_ATTEMPTS):
            current = self.get(decision.line_id)
            if current is not None:
                if current.same_as(decision):
                    return "unchanged", current
                if current.decided_at > decision.decided_at:
                    return "superseded", current
            candidate = replace(decision, version=(current.version if current else 0) + 1)
            if self._put(candidate, current.version if current else None):
                return "written", candidate
            time.sleep(random.uniform(0, 0.002 * min(attempt + 1, 10)))  # jitter, not a secret
        raise DecisionChangedMeanwhile(f"line {decision.line_id}'s decision kept changing under this one")

    def _put(self, decision: Decision, read_version: int | None) -> bool:
        """Put on the version read (None: only if the line has no decision yet); False on a lost race."""
        condition: dict[str, Any]
        if read_version is None:
            condition = {"ConditionExpression": "attribute_not_exists(pk)"}
        else:
            condition = {
                "ConditionExpression": "#v = :v",
                "ExpressionAttributeNames": {"#v": "version"},
                "ExpressionAttributeValues": {":v": {"N": str(read_version)}},
            }
        try:
            self.db.put_item(TableName=self.table, Item=decision.item(), **condition)
        except ClientError as error:
            if error.response["Error"]["Code"] == "ConditionalCheckFailedException":
                return False
            raise
        return True
