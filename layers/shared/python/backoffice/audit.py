"""The audit trail: append-only, hash-chained records of every step, decision and AI output of a case.

Each record names who acted (a system function, a person or an AI model), what they did, the outcome and why, with
digests of the step's input and output. Records of one case form a chain: each holds the SHA-256 of the record before
it, so editing, removing or inserting a record breaks the chain at a point that ``verify`` names.

Writes are conditional puts on (case_id, seq): a record is never overwritten, and the writer's IAM policy allows
``PutItem`` only. Two writers racing for the same sequence number both stay correct: the loser re-reads the head of
the chain and tries the next number.

What the chain alone cannot prove: that the newest records were not cut off the end, that a case was not deleted
whole, or that a chain was not rewritten consistently (SHA-256 has no key). Each record is therefore also anchored
outside the table, in an S3 Object Lock bucket the writers cannot reach (``backoffice.audit_anchors``), and
``verify`` given the anchor store checks the trail against it too.

Nor can a chain or an anchor prove who wrote a record: anyone who may put items into the table can append a
record with the right ``prev_hash`` and ``hash``, and the stream anchors it like any other. So each record also
carries ``mac``, an HMAC of its hash made by KMS (``GenerateMac``) with a key only the product's writers may use
(``AUDIT_SIGNING_KEY_ARN``; the key material never leaves KMS). ``verify`` given a ``MacVerifier`` names a record
without a MAC (``unsigned``) or with a wrong one (``forged``). The MAC is not part of the hashed body: it signs
the hash, which covers everything else.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, Literal, Protocol

from botocore.exceptions import ClientError
from pydantic import ConfigDict, Field

from backoffice import aws
from backoffice.models.envelope import Model

if TYPE_CHECKING:
    from backoffice.audit_anchors import AnchorStore

GENESIS_HASH = "0" * 64
_MAX_APPEND_ATTEMPTS = 20
# The environment variable naming the KMS HMAC key that signs records (set on every function that appends).
SIGNING_KEY_VARIABLE = "AUDIT_SIGNING_KEY_ARN"
MAC_ALGORITHM = "HMAC_SHA_256"

ActorKind = Literal["system", "user", "ai"]
# Scheduled jobs that keep their own trail (one "case" per run or month): the weekly process report and the daily
# sanctions list refresh, the monthly delivery measurement; the receivables recorder's own bookkeeping (the daily
# payments read, payments of unknown invoices), the missing-timesheet reminders (on worker-week cases that a
# submission may start later). Their records are evidence, not cases: the process report leaves them
# out of case metrics (and reads the measurements: intelligence.events.MEASUREMENT_WORKFLOWS).
JOB_WORKFLOWS = frozenset(
    {"process_report", "sanctions_list", "receivables", "delivery", "timesheet_reminders"}
)


class Actor(Model):
    """Who acted: ``system`` (a function of this product), ``user`` (a person, by e-mail) or ``ai`` (a model)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: ActorKind
    id: str

    @classmethod
    def system(cls, name: str) -> Actor:
        return cls(kind="system", id=name)

    @classmethod
    def user(cls, email: str) -> Actor:
        return cls(kind="user", id=email)

    @classmethod
    def ai(cls, model: str) -> Actor:
        return cls(kind="ai", id=model)

    def __str__(self) -> str:
        return f"{self.kind}:{self.id}"


class AuditRecord(Model):
    """One entry of a case's trail. ``hash`` covers every other field, ``prev_hash`` links to the record before."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    case_id: str
    seq: int = Field(ge=1)
    workflow: str
    step: str
    actor: Actor
    action: str
    outcome: str
    reasons: tuple[str, ...] = ()
    input_digest: str | None = None
    output_digest: str | None = None
    data: Mapping[str, Any] = Field(default_factory=dict)
    timestamp: str
    execution_arn: str | None = None
    prev_hash: str
    hash: str
    # KMS HMAC of ``hash`` by the signing key (base64); None for a record written without one.
    mac: str | None = None

    def body(self) -> dict[str, Any]:
        """The hashed content: every field but ``hash`` and ``mac``, in a form that survives a DynamoDB round trip."""
        return _body(self.model_dump(exclude={"hash", "mac"}, mode="json"))

    def computed_hash(self) -> str:
        return _sha256(self.body())


def digest(value: Any) -> str:
    """A stable digest of a step's input or output, so the trail proves what was seen without storing it."""
    return "sha256:" + _sha256(value)


def _canonical(value: Any) -> bytes:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str).encode()


def _sha256(value: Any) -> str:
    return hashlib.sha256(_canonical(value)).hexdigest()


def _body(fields: Mapping[str, Any]) -> dict[str, Any]:
    body = dict(fields)
    body["reasons"] = list(body.get("reasons") or [])
    body["data"] = dict(body.get("data") or {})
    return body


def _utc_now() -> str:
    return datetime.now(UTC).isoformat(timespec="microseconds")


# --------------------------------------------------------------------------------------------------------------
# Storage
# --------------------------------------------------------------------------------------------------------------


def _to_item(record: AuditRecord) -> dict[str, Any]:
    # Free-form parts are stored as JSON text so that the bytes hashed are the bytes read back (DynamoDB would turn
    # numbers into Decimals and drop empty strings).
    item: dict[str, Any] = {
        "case_id": {"S": record.case_id},
        "seq": {"N": str(record.seq)},
        "workflow": {"S": record.workflow},
        "step": {"S": record.step},
        "actor": {"S": str(record.actor)},
        "action": {"S": record.action},
        "outcome": {"S": record.outcome},
        "reasons": {"S": json.dumps(list(record.reasons), ensure_ascii=False)},
        "data": {"S": json.dumps(dict(record.data), sort_keys=True, ensure_ascii=False, default=str)},
        "timestamp": {"S": record.timestamp},
        "prev_hash": {"S": record.prev_hash},
        "hash": {"S": record.hash},
    }
    for name in ("input_digest", "output_digest", "execution_arn", "mac"):
        value = getattr(record, name)
        if value is not None:
            item[name] = {"S": value}
    return item


def _from_item(item: Mapping[str, Any]) -> AuditRecord:
    kind, _, actor_id = item["actor"]["S"].partition(":")
    return AuditRecord(
        case_id=item["case_id"]["S"],
        seq=int(item["seq"]["N"]),
        workflow=item["workflow"]["S"],
        step=item["step"]["S"],
        actor=Actor.model_validate({"kind": kind, "id": actor_id}),
        action=item["action"]["S"],
        outcome=item["outcome"]["S"],
        reasons=tuple(json.loads(item["reasons"]["S"])),
        data=json.loads(item["data"]["S"]),
        timestamp=item["timestamp"]["S"],
        input_digest=item.get("input_digest", {}).get("S"),
        output_digest=item.get("output_digest", {}).get("S"),
        execution_arn=item.get("execution_arn", {}).get("S"),
        prev_hash=item["prev_hash"]["S"],
        hash=item["hash"]["S"],
        mac=item.get("mac", {}).get("S"),
    )


class RecordSigner:
    """Signs a record's hash with the KMS HMAC key: only a principal allowed ``kms:GenerateMac`` on it can."""

    def __init__(self, key_id: str, *, kms: Any = None) -> None:
        self.key_id = key_id
        self._kms = kms

    def sign(self, record_hash: str) -> str:
        kms = self._kms or aws.client("kms")
        response = kms.generate_mac(
            KeyId=self.key_id, Message=record_hash.encode(), MacAlgorithm=MAC_ALGORITHM
        )
        return base64.b64encode(response["Mac"]).decode()


class MacVerifier:
    """Checks a record's MAC with KMS (``kms:VerifyMac``): True when the signing key made it for that hash."""

    def __init__(self, key_id: str, *, kms: Any = None) -> None:
        self.key_id = key_id
        self._kms = kms

    def valid(self, record_hash: str, mac: str) -> bool:
        kms = self._kms or aws.client("kms")
        try:
            raw = base64.b64decode(mac, validate=True)
        except ValueError:
            return False
        try:
            response = kms.verify_mac(
                KeyId=self.key_id, Message=record_hash.encode(), Mac=raw, MacAlgorithm=MAC_ALGORITHM
            )
        except ClientError as error:
            if error.response["Error"]["Code"] == "KMSInvalidMacException":
                return False
            raise
        return bool(response.get("MacValid"))


class AuditWriteConflict(RuntimeError):
    """Too many writers raced for the same case; the caller's retry policy takes over."""


class CaseTrail(Protocol):
    """What a job needs of the audit trail (``AuditTrail``): a case's records, and append (a fake in tests)."""

    def records(self, case_id: str) -> list[AuditRecord]: ...

    def append(
        self,
        *,
        case_id: str,
        workflow: str,
        step: str,
        actor: Actor,
        action: str,
        outcome: str,
        reasons: Iterable[str] = (),
        input: Any = None,
        output: Any = None,
        data: Mapping[str, Any] | None = None,
        execution_arn: str | None = None,
    ) -> AuditRecord: ...


class AuditTrail:
    """The DynamoDB-backed trail. All handlers write through ``append``; nothing else writes to the table.

    ``signer`` signs each record; without one, the key named by ``AUDIT_SIGNING_KEY_ARN`` does (every function that
    appends has it in its environment), and with neither a record is written unsigned (``verify`` says so).
    """

    def __init__(
        self,
        table_name: str,
        *,
        dynamodb: Any = None,
        clock: Callable[[], str] = _utc_now,
        signer: RecordSigner | None = None,
    ) -> None:
        self.table_name = table_name
        self._dynamodb = dynamodb
        self._clock = clock
        key = os.environ.get(SIGNING_KEY_VARIABLE)
        self._signer = signer or (RecordSigner(key) if key else None)

    @property
    def dynamodb(self) -> Any:
        return self._dynamodb or aws.client("dynamodb")

    def append(
        self,
        *,
        case_id: str,
        workflow: str,
        step: str,
        actor: Actor,
        action: str,
        outcome: str,
        reasons: Iterable[str] = (),
        input: Any = None,
        output: Any = None,
        data: Mapping[str, Any] | None = None,
        execution_arn: str | None = None,
    ) -> AuditRecord:
        """Append one record to the case's chain and return it as stored."""
        for _ in range(_MAX_APPEND_ATTEMPTS):
            head = self.head(case_id)
            fields: dict[str, Any] = {
                "case_id": case_id,
                "seq": (head.seq + 1) if head else 1,
                "workflow": workflow,
                "step": step,
                "actor": actor.model_dump(),
                "action": action,
                "outcome": outcome,
                "reasons": [str(r) for r in reasons],
                "input_digest": digest(input) if input is not None else None,
                "output_digest": digest(output) if output is not None else None,
                "data": json.loads(json.dumps(dict(data or {}), default=str)),
                "timestamp": self._clock(),
                "execution_arn": execution_arn,
                "prev_hash": head.hash if head else GENESIS_HASH,
            }
            record_hash = _sha256(_body(fields))
            mac = self._signer.sign(record_hash) if self._signer else None
            record = AuditRecord(**fields, hash=record_hash, mac=mac)
            try:
                self.dynamodb.put_item(
                    TableName=self.table_name,
                    Item=_to_item(record),
                    ConditionExpression="attribute_not_exists(case_id) AND attribute_not_exists(seq)",
                )
            except ClientError as error:
                if error.response["Error"]["Code"] == "ConditionalCheckFailedException":
                    continue  # another writer took this sequence number: re-read the head and try the next one
                raise
            return record
        raise AuditWriteConflict(f"could not append to the audit trail of case {case_id}")

    def head(self, case_id: str) -> AuditRecord | None:
        response = self.dynamodb.query(
            TableName=self.table_name,
            KeyConditionExpression="case_id = :c",
            ExpressionAttributeValues={":c": {"S": case_id}},
            ScanIndexForward=False,
            Limit=1,
            ConsistentRead=True,
        )
        items = response.get("Items", [])
        return _from_item(items[0]) if items else None

    def records(self, case_id: str) -> list[AuditRecord]:
        """The case's records in sequence order (every page read)."""
        return [_from_item(item) for item in self._query_items(case_id)]

    def records_after(self, case_id: str, seq: int) -> list[AuditRecord]:
        """The case's records after sequence number ``seq``, in sequence order: what a reader that has read the
        trail up to ``seq`` has not seen yet (records are only ever appended, each at the next number)."""
        return [_from_item(item) for item in self._query_items(case_id, after=seq)]

    def _query_items(self, case_id: str, *, after: int | None = None) -> Iterator[Mapping[str, Any]]:
        paginator = self.dynamodb.get_paginator("query")
        condition, values = "case_id = :c", {":c": {"S": case_id}}
        if after is not None:
            condition += " AND seq > :s"
            values[":s"] = {"N": str(after)}
        for page in paginator.paginate(
            TableName=self.table_name,
            KeyConditionExpression=condition,
            ExpressionAttributeValues=values,
            ConsistentRead=True,
        ):
            yield from page.get("Items", [])

    def case_ids(self) -> list[str]:
        """Every case with at least one record, sorted."""
        seen: set[str] = set()
        paginator = self.dynamodb.get_paginator("scan")
        for page in paginator.paginate(TableName=self.table_name, ProjectionExpression="case_id"):
            seen.update(item["case_id"]["S"] for item in page.get("Items", []))
        return sorted(seen)

    def find_start_decisions(self, event_id: str) -> list[AuditRecord]:
        """The start-case records (started, duplicate, rejected) made for one event (a scan: local use only)."""
        paginator = self.dynamodb.get_paginator("scan")
        found: list[AuditRecord] = []
        for page in paginator.paginate(
            TableName=self.table_name,
            FilterExpression="contains(#d, :id) AND #s = :step",
            ExpressionAttributeNames={"#d": "data", "#s": "step"},
            ExpressionAttributeValues={":id": {"S": event_id}, ":step": {"S": "start case"}},
        ):
            found.extend(_from_item(item) for item in page.get("Items", []))
        return sorted(found, key=lambda r: r.timestamp)

    def verify(
        self,
        case_ids: Sequence[str] | None = None,
        *,
        anchors: AnchorStore | None = None,
        macs: MacVerifier | None = None,
        now: datetime | None = None,
        window: timedelta | None = None,
    ) -> VerificationReport:
        """Check every chain (or the named ones) and name each record that was changed, removed or inserted.

        With ``anchors`` each case is also compared with its anchors (truncation, appended records, rewritten
        chains, deleted cases), and every anchored case is checked even when the table has no record of it left.
        With ``macs`` each record's MAC is checked: a record the signing key did not sign is ``unsigned`` or
        ``forged`` (written by someone who could put items but not sign them).
        """
        from backoffice.audit_anchors import DEFAULT_WINDOW, case_ids_of, verify_case

        problems: list[ChainProblem] = []
        pending: list[ChainProblem] = []
        checked = 0
        if case_ids is None:
            case_ids = case_ids_of(self.case_ids(), anchors.case_ids() if anchors else ())
        for case_id in case_ids:
            items = list(self._query_items(case_id))
            checked += len(items)
            found = verify_chain(case_id, items)
            if macs is not None:
                found.extend(verify_macs(case_id, items, macs))
            if anchors is not None:
                seen = {(p.seq, p.kind) for p in found}
                for finding in verify_case(
                    case_id,
                    items,
                    anchors.anchors(case_id),
                    now=now or datetime.now(UTC),
                    window=window or DEFAULT_WINDOW,
                ):
                    problem = ChainProblem(case_id, finding.seq, finding.kind, finding.detail)
                    if finding.kind == "not yet anchored":
                        pending.append(problem)
                    elif (finding.seq, finding.kind) not in seen:
                        found.append(problem)
            problems.extend(sorted(found, key=lambda p: p.seq))
        return VerificationReport(records_checked=checked, problems=tuple(problems), pending=tuple(pending))


# --------------------------------------------------------------------------------------------------------------
# Verification
# --------------------------------------------------------------------------------------------------------------

ProblemKind = Literal[
    "changed",
    "removed",
    "inserted",
    "unreadable",
    # found with the signing key (MacVerifier)
    "unsigned",
    "forged",
    # found against the anchors (backoffice.audit_anchors)
    "truncated",
    "appended",
    "case missing",
    "not yet anchored",
]


@dataclass(frozen=True)
class ChainProblem:
    case_id: str
    seq: int
    kind: ProblemKind
    detail: str

    def __str__(self) -> str:
        return f"{self.case_id} #{self.seq}: {self.kind} ({self.detail})"


@dataclass(frozen=True)
class VerificationReport:
    records_checked: int
    problems: tuple[ChainProblem, ...]
    # Records within the anchoring window that have no anchor yet: not proven either way, so not OK either.
    pending: tuple[ChainProblem, ...] = ()

    @property
    def ok(self) -> bool:
        return not self.problems and not self.pending


def verify_chain(case_id: str, items: Iterable[Mapping[str, Any]]) -> list[ChainProblem]:
    """Walk one case's stored items in sequence order and report where the chain breaks.

    - changed: the record's content no longer matches its own hash;
    - removed: sequence numbers jump, so records between them are gone;
    - inserted: the record is well formed but does not follow its predecessor (its prev_hash points elsewhere).
    """
    problems: list[ChainProblem] = []
    expected_seq = 1
    prev_hash = GENESIS_HASH
    for item in sorted(items, key=lambda i: int(i["seq"]["N"])):
        seq = int(item["seq"]["N"])
        try:
            record = _from_item(item)
        except (KeyError, ValueError) as error:
            problems.append(ChainProblem(case_id, seq, "unreadable", f"{type(error).__name__}: {error}"))
            expected_seq, prev_hash = seq + 1, item.get("hash", {}).get("S", "")
            continue
        if seq > expected_seq:
            missing = f"#{expected_seq}" if seq == expected_seq + 1 else f"#{expected_seq}-#{seq - 1}"
            problems.append(ChainProblem(case_id, expected_seq, "removed", f"records {missing} are missing"))
        if record.computed_hash() != record.hash:
            problems.append(ChainProblem(case_id, seq, "changed", "content does not match its hash"))
        elif record.prev_hash != prev_hash and seq == expected_seq:
            problems.append(ChainProblem(case_id, seq, "inserted", "does not follow the record before it"))
        expected_seq, prev_hash = seq + 1, record.hash
    return problems


def verify_macs(case_id: str, items: Iterable[Mapping[str, Any]], macs: MacVerifier) -> list[ChainProblem]:
    """Name each record whose MAC is missing or was not made by the signing key for the record's stored hash.

    The MAC signs the stored ``hash``; a record whose content no longer matches that hash is ``changed`` (found by
    ``verify_chain``), so content and hash are both covered.
    """
    problems: list[ChainProblem] = []
    for item in sorted(items, key=lambda i: int(i["seq"]["N"])):
        seq = int(item["seq"]["N"])
        record_hash = str(item.get("hash", {}).get("S", ""))
        mac = item.get("mac", {}).get("S")
        if not mac:
            problems.append(ChainProblem(case_id, seq, "unsigned", "no MAC: not written by a signing writer"))
        elif not macs.valid(record_hash, str(mac)):
            problems.append(
                ChainProblem(case_id, seq, "forged", "MAC is not the signing key's for this record")
            )
    return problems
