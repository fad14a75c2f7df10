"""Anchors of the audit trail: each record's sequence number and hash, kept where the trail's writers cannot reach.

The hash chain in the audit table proves that records between two intact ones were not edited, removed or inserted,
but not that the end of a chain was not cut off, that a case was not deleted whole, or that a whole chain was not
rewritten consistently (SHA-256 has no key). So every record is also anchored outside the table:

    audit table --DynamoDB Streams (NEW_IMAGE)--> anchor_audit (its own role) --> anchors bucket (S3 Object Lock)

The anchor function writes one object per record, ``cases/<case id>/<seq>.json``, holding the record's hash, the
hash it links to, its timestamp and when it was anchored. It writes with ``If-None-Match: *``: the first image of a
(case, seq) is the one kept, and a later write to the same key (a record overwritten in the table streams again) can
never replace it. The bucket is in Object Lock compliance mode, so no one, the account's root included, can delete
or shorten the retention of an anchor version. Only the anchor function's role may put objects there; the
functions that write audit records hold no grant on the bucket.

Verification (``verify_case``) compares the table with the anchors and names: records changed since they were
anchored, anchored records removed from the middle or cut off the end (``truncated``), cases whose records are all
gone (``case missing``), and records with no anchor (``appended``), which is what a record written while the stream
was off looks like. A record younger than the anchoring window with no anchor yet is reported as ``not yet
anchored``: pending, never silently OK.

What anchors do not prove: who wrote a record. A record put into the table through DynamoDB's API while the stream
is on is streamed and anchored like any other; anchors then prove when it was written and that it has not changed
since, not that a legitimate step wrote it. What tells a forged append from a real one is a secret only the writers
hold: each record's MAC, made with the KMS HMAC key only they may use (``backoffice.audit.RecordSigner``). Every
MODIFY or REMOVE on the table is tampering by definition (the trail is append-only) and the anchor function logs it
as such.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal, Protocol
from urllib.parse import quote, unquote

from botocore.exceptions import ClientError
from pydantic import ConfigDict, Field

from backoffice.models.envelope import Model

PREFIX = "cases/"
# The catalog's names for the anchors bucket and the anchoring window (seconds) setting.
ANCHORS_BUCKET = "audit_anchors"
WINDOW_SETTING = "audit_anchor_window_seconds"
# How long after its write a record may still be without an anchor: Lambda's stream polling and retries, with room.
DEFAULT_WINDOW = timedelta(minutes=15)
# A record dated this far in the future is not waiting for its anchor: its timestamp is false.
_CLOCK_SKEW = timedelta(minutes=5)


class Anchor(Model):
    """What the anchor store keeps about one audit record, as it was first written."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    case_id: str
    seq: int = Field(ge=1)
    hash: str
    prev_hash: str
    timestamp: str  # the record's own timestamp
    anchored_at: str
    stream_sequence: str | None = None


def anchor_key(case_id: str, seq: int) -> str:
    # Case ids are made from business keys: quoting keeps a slash or a space in one from changing the key's shape.
    return f"{PREFIX}{quote(case_id, safe='')}/{seq:012d}.json"


def _case_prefix(case_id: str) -> str:
    return f"{PREFIX}{quote(case_id, safe='')}/"


# --------------------------------------------------------------------------------------------------------------
# The stream records (Lambda's DynamoDB Streams event)
# --------------------------------------------------------------------------------------------------------------


class StreamChange(Model):
    model_config = ConfigDict(extra="ignore")

    Keys: dict[str, dict[str, Any]]
    NewImage: dict[str, dict[str, Any]] | None = None
    SequenceNumber: str | None = None


class StreamRecord(Model):
    model_config = ConfigDict(extra="ignore")

    eventID: str = ""
    eventName: Literal["INSERT", "MODIFY", "REMOVE"]
    dynamodb: StreamChange


class AuditStreamEvent(Model):
    """The event Lambda's event source mapping hands the anchor function: a batch of the audit table's changes."""

    model_config = ConfigDict(extra="ignore")

    Records: list[StreamRecord]


@dataclass(frozen=True)
class AnchoringResult:
    anchored: int
    already_anchored: int
    conflicts: tuple[str, ...]  # an INSERT whose hash differs from the anchor kept for that (case, seq)
    tampering: tuple[str, ...]  # MODIFY and REMOVE events: the append-only trail was changed in place

    def as_dict(self) -> dict[str, Any]:
        return {
            "anchored": self.anchored,
            "already_anchored": self.already_anchored,
            "conflicts": list(self.conflicts),
            "tampering": list(self.tampering),
        }


# --------------------------------------------------------------------------------------------------------------
# The store
# --------------------------------------------------------------------------------------------------------------


PutOutcome = Literal["anchored", "already anchored", "conflict"]


class AnchorWriter(Protocol):
    """Where anchors go: the first anchor put for a (case, seq) is the one kept."""

    def put(self, anchor: Anchor) -> PutOutcome: ...


class AnchorStore:
    """The anchors bucket. ``put`` never replaces an anchor; ``anchors`` reads each key's oldest version."""

    def __init__(self, bucket: str, *, s3: Any) -> None:
        self.bucket = bucket
        self._s3 = s3

    def put(self, anchor: Anchor) -> PutOutcome:
        body = anchor.model_dump_json().encode()
        key = anchor_key(anchor.case_id, anchor.seq)
        try:
            self._s3.put_object(
                Bucket=self.bucket, Key=key, Body=body, ContentType="application/json", IfNoneMatch="*"
            )
        except ClientError as error:
            if error.response["Error"]["Code"] not in ("PreconditionFailed", "ConditionalRequestConflict"):
                raise
            kept = Anchor.model_validate_json(self._s3.get_object(Bucket=self.bucket, Key=key)["Body"].read())
            # A redelivered batch finds its own anchor; a different hash is a second record for the same place.
            return "already anchored" if kept.hash == anchor.hash else "conflict"
        return "anchored"

    def case_ids(self) -> list[str]:
        found: set[str] = set()
        paginator = self._s3.get_paginator("list_objects_v2")
        for page in paginator.paginate(Bucket=self.bucket, Prefix=PREFIX, Delimiter="/"):
            for common in page.get("CommonPrefixes", []):
                found.add(unquote(common["Prefix"][len(PREFIX) :].rstrip("/")))
        return sorted(found)

    def anchors(self, case_id: str) -> dict[int, Anchor]:
        """The case's anchors by sequence number, each from its key's first version (the one the lock keeps)."""
        oldest: dict[str, str] = {}
        paginator = self._s3.get_paginator("list_object_versions")
        for page in paginator.paginate(Bucket=self.bucket, Prefix=_case_prefix(case_id)):
            # S3 lists a key's versions newest first: the last one seen is the oldest.
            for version in page.get("Versions", []):
                oldest[version["Key"]] = version["VersionId"]
        found: dict[int, Anchor] = {}
        for key, version_id in oldest.items():
            body = self._s3.get_object(Bucket=self.bucket, Key=key, VersionId=version_id)["Body"].read()
            anchor = Anchor.model_validate_json(body)
            found[anchor.seq] = anchor
        return found


def anchor_stream_records(
    event: AuditStreamEvent, store: AnchorWriter, *, now: datetime | None = None
) -> AnchoringResult:
    """Anchor every record an INSERT carries; name every in-place change of the append-only table."""
    anchored_at = (now or datetime.now(UTC)).isoformat(timespec="microseconds")
    anchored, already, conflicts, tampering = 0, 0, [], []
    for record in event.Records:
        change = record.dynamodb
        case_id = str(change.Keys.get("case_id", {}).get("S", ""))
        seq = change.Keys.get("seq", {}).get("N", "?")
        if record.eventName != "INSERT" or change.NewImage is None:
            tampering.append(f"{case_id} #{seq}: {record.eventName} on the append-only audit trail")
            continue
        image = change.NewImage
        anchor = Anchor(
            case_id=case_id,
            seq=int(image["seq"]["N"]),
            hash=str(image.get("hash", {}).get("S", "")),
            prev_hash=str(image.get("prev_hash", {}).get("S", "")),
            timestamp=str(image.get("timestamp", {}).get("S", "")),
            anchored_at=anchored_at,
            stream_sequence=change.SequenceNumber,
        )
        outcome = store.put(anchor)
        if outcome == "anchored":
            anchored += 1
        elif outcome == "already anchored":
            already += 1
        else:
            conflicts.append(f"{case_id} #{seq}: a record was written again over an anchored one")
    return AnchoringResult(anchored, already, tuple(conflicts), tuple(tampering))


# --------------------------------------------------------------------------------------------------------------
# Verification against the anchors
# --------------------------------------------------------------------------------------------------------------

AnchorProblemKind = Literal["changed", "removed", "truncated", "appended", "case missing"]


@dataclass(frozen=True)
class AnchorFinding:
    case_id: str
    seq: int
    kind: AnchorProblemKind | Literal["not yet anchored"]
    detail: str


def verify_case(
    case_id: str,
    items: Sequence[Mapping[str, Any]],
    anchors: Mapping[int, Anchor],
    *,
    now: datetime,
    window: timedelta = DEFAULT_WINDOW,
) -> list[AnchorFinding]:
    """Compare one case's stored items with its anchors (the chain itself is checked by ``audit.verify_chain``)."""
    findings: list[AnchorFinding] = []
    stored = {int(item["seq"]["N"]): item for item in items}
    if anchors and not stored:
        last = max(anchors)
        return [
            AnchorFinding(case_id, 1, "case missing", f"{last} anchored record(s), none left in the trail")
        ]
    for seq, item in sorted(stored.items()):
        anchor = anchors.get(seq)
        stored_hash = str(item.get("hash", {}).get("S", ""))
        if anchor is not None:
            if anchor.hash != stored_hash:
                findings.append(
                    AnchorFinding(case_id, seq, "changed", f"differs from its anchor of {anchor.anchored_at}")
                )
            continue
        written = _parse_time(str(item.get("timestamp", {}).get("S", "")))
        if written is not None and now - window <= written <= now + _CLOCK_SKEW:
            findings.append(
                AnchorFinding(
                    case_id, seq, "not yet anchored", f"written {written.isoformat()}, within the window"
                )
            )
        else:
            findings.append(
                AnchorFinding(
                    case_id, seq, "appended", "no anchor: written outside the stream (or its anchor was lost)"
                )
            )
    last_stored = max(stored) if stored else 0
    for seq in sorted(set(anchors) - set(stored)):
        if seq > last_stored:
            findings.append(
                AnchorFinding(case_id, seq, "truncated", "anchored, missing from the end of the trail")
            )
        else:
            findings.append(AnchorFinding(case_id, seq, "removed", "anchored, missing from the trail"))
    return findings


def _parse_time(value: str) -> datetime | None:
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def anchoring_window(catalog: Any) -> timedelta:
    """The anchoring window a catalog (anything with ``settings``) sets, else the default."""
    value = getattr(catalog, "settings", {}).get(WINDOW_SETTING)
    return timedelta(seconds=int(value)) if value else DEFAULT_WINDOW


def case_ids_of(*sources: Iterable[str]) -> list[str]:
    return sorted({case_id for source in sources for case_id in source})
