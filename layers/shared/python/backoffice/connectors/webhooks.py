"""Inbound webhooks: verify the sender, map its payload to a canonical event, and say what to put on the bus.

Two signature styles cover most senders:

- ``timestamped``: HMAC-SHA256 with the shared secret over ``timestamp + "." + body`` (the signed text is a
  template, ``"{timestamp}.{body}"`` by default, so ``"v0:{timestamp}:{body}"`` works too), the timestamp in its own
  header and checked against a tolerance (300 s by default) so a captured request cannot be replayed later;
- ``hub``: ``X-Hub-Signature-256: sha256=<hex>`` over the body alone (GitHub and the many senders that copied it).

Signatures are hex or base64 as configured; a header may carry several (a sender rotating its secret) and the secret
may hold several (``{"secrets": [...]}``, while we rotate ours): any match passes. Digests are compared in constant
time. A refusal carries a reason and an HTTP status, never the body, the secret or the signature.

The payload is mapped with the same declarative ``FieldMapping`` as the generic REST adapter, and the detail is
validated against the canonical model of its detail-type when the product registers one, so a sender learns at once
that its payload does not fit rather than a case failing later.

Senders retry, often several copies at once. ``DeliveryClaims`` makes "put this event on the bus" happen once per
sender event id: the id is claimed with a conditional put before the event goes on the bus, so of N concurrent copies
exactly one puts it and the others are answered as duplicates; a claim whose put failed is given back, so the
sender's retry can deliver.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import re
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, Literal

from botocore.exceptions import ClientError
from pydantic import ConfigDict, Field, ValidationError, model_validator

from backoffice.connectors.mapping import FieldMapping, MappingError, read_path
from backoffice.models import EVENT_DETAIL_MODELS, readable_errors, to_json_text
from backoffice.models.envelope import Model

MAX_DETAIL_BYTES = 200 * 1024  # PutEvents caps a whole entry at 256 KiB


class SignatureScheme(Model):
    model_config = ConfigDict(extra="forbid", frozen=True)

    style: Literal["timestamped", "hub"] = "timestamped"
    header: str = "X-Signature"  # default for hub: X-Hub-Signature-256
    timestamp_header: str | None = "X-Timestamp"  # hub senders send none
    signed_payload: str = "{timestamp}.{body}"
    encoding: Literal["hex", "base64"] = "hex"
    prefix: str = ""  # default for hub: "sha256="
    tolerance_seconds: int = Field(default=300, ge=1, le=3600)

    @model_validator(mode="before")
    @classmethod
    def _style_defaults(cls, raw: Any) -> Any:
        if not isinstance(raw, Mapping):
            return raw
        hub = raw.get("style") == "hub"
        filled = dict(raw)
        filled.setdefault("header", "X-Hub-Signature-256" if hub else "X-Signature")
        if hub:
            filled.setdefault("timestamp_header", None)
            filled.setdefault("signed_payload", "{body}")
        filled.setdefault("prefix", "sha256=" if hub else "")
        return filled

    @model_validator(mode="after")
    def _payload_template(self) -> SignatureScheme:
        if self.signed_payload.count("{body}") != 1:
            raise ValueError("signed_payload must contain {body} once")
        if "{timestamp}" in self.signed_payload and not self.timestamp_header:
            raise ValueError("signed_payload uses {timestamp} but no timestamp_header is set")
        return self


class WebhookSource(Model):
    """One sender: its secret's name, its signature scheme and how its payload becomes a canonical event."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    secret_name: str = Field(min_length=1)
    signature: SignatureScheme = Field(default_factory=SignatureScheme)
    event_source: str | None = Field(default=None, pattern=r"^[A-Za-z0-9._/-]{1,256}$")  # not "aws.*"
    detail_type: str | None = None  # a fixed detail-type, or:
    detail_type_path: str | None = None  # where the sender says what happened ...
    detail_types: dict[str, str] = Field(default_factory=dict)  # ... and which detail-type each value is
    event_id_path: str = Field(min_length=1)
    detail: FieldMapping

    @model_validator(mode="after")
    def _one_detail_type(self) -> WebhookSource:
        if self.event_source is not None and self.event_source.startswith("aws."):
            raise ValueError("event_source cannot start with aws. (EventBridge keeps those for AWS services)")
        if (self.detail_type is None) == (self.detail_type_path is None):
            raise ValueError("give detail_type, or detail_type_path with detail_types")
        if self.detail_type_path is not None and not self.detail_types:
            raise ValueError("detail_type_path needs a detail_types table")
        return self


class WebhookRefused(Exception):
    """A delivery that is not put on the bus; ``status`` is the HTTP answer, ``reason`` what the audit records."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


@dataclass(frozen=True)
class AcceptedWebhook:
    event_id: str
    detail_type: str
    entry: dict[str, Any]  # one PutEvents entry


# ------------------------------------------------------------------------------------------------------------
# Signature
# ------------------------------------------------------------------------------------------------------------


def secrets_from(secret: str | Mapping[str, Any]) -> list[str]:
    """The shared secrets in a Secrets Manager value: the text itself, or JSON ``{"secret": ...}`` or
    ``{"secrets": [current, previous]}``."""
    value: Any = secret
    if isinstance(secret, str):
        try:
            value = json.loads(secret)
        except ValueError:
            return [secret]
    if isinstance(value, Mapping):
        if isinstance(value.get("secrets"), list):
            return [str(s) for s in value["secrets"] if s]
        if value.get("secret"):
            return [str(value["secret"])]
        raise ValueError("the webhook secret has neither 'secret' nor 'secrets'")
    return [str(value)]


def _header(headers: Mapping[str, str], name: str) -> str | None:
    wanted = name.lower()
    for key, value in headers.items():
        if key.lower() == wanted:
            return value
    return None


def _timestamp(text: str) -> float:
    text = text.strip()
    if re.fullmatch(r"\d{1,16}", text):
        seconds = float(text)
        return seconds / 1000 if seconds > 1e11 else seconds  # milliseconds from some senders
    parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if parsed.tzinfo is None:
        raise ValueError("naive timestamp")
    return parsed.timestamp()


def _decode(candidate: str, encoding: str) -> bytes | None:
    try:
        if encoding == "hex":
            return bytes.fromhex(candidate)
        return base64.b64decode(candidate, validate=True)
    except (ValueError, binascii.Error):
        return None


def verify_signature(
    scheme: SignatureScheme,
    secrets: Sequence[str],
    headers: Mapping[str, str],
    body: bytes,
    *,
    now: float | None = None,
) -> None:
    """Returns when the delivery is authentic and fresh; raises ``WebhookRefused`` (401) saying why not."""
    header_name = scheme.header
    signature_header = _header(headers, header_name)
    if not signature_header:
        raise WebhookRefused(401, f"missing signature header {header_name}")
    timestamp_text = ""
    if scheme.timestamp_header:
        found = _header(headers, scheme.timestamp_header)
        if not found:
            raise WebhookRefused(401, f"missing timestamp header {scheme.timestamp_header}")
        try:
            sent_at = _timestamp(found)
        except ValueError:
            raise WebhookRefused(401, "unreadable timestamp") from None
        current = time.time() if now is None else now
        if abs(current - sent_at) > scheme.tolerance_seconds:
            raise WebhookRefused(
                401,
                f"timestamp outside the {scheme.tolerance_seconds} s tolerance (a replay, or a clock far off)",
            )
        timestamp_text = found.strip()
    before, after = scheme.signed_payload.split("{body}")
    signed = (
        before.replace("{timestamp}", timestamp_text).encode()
        + body
        + after.replace("{timestamp}", timestamp_text).encode()
    )
    prefix = scheme.prefix
    candidates = []
    for part in re.split(r"[,\s]+", signature_header.strip()):
        if prefix and not part.startswith(prefix):
            continue
        decoded = _decode(part[len(prefix) :], scheme.encoding)
        if decoded is not None:
            candidates.append(decoded)
    if not candidates:
        raise WebhookRefused(
            401,
            f"no {scheme.encoding} signature{' with prefix ' + prefix if prefix else ''} in {header_name}",
        )
    matched = False
    for secret in secrets:
        expected = hmac.new(secret.encode(), signed, hashlib.sha256).digest()
        for candidate in candidates:
            # Every comparison runs, so the time taken says nothing about which one matched.
            matched = hmac.compare_digest(expected, candidate) or matched
    if not matched:
        raise WebhookRefused(401, "signature does not match")


# ------------------------------------------------------------------------------------------------------------
# Payload -> canonical event
# ------------------------------------------------------------------------------------------------------------


def event_source_of(name: str, source: WebhookSource) -> str:
    return source.event_source or f"backoffice.webhook.{name}"


def to_event(name: str, source: WebhookSource, body: bytes, *, bus_name: str) -> AcceptedWebhook:
    """The PutEvents entry for a verified delivery; ``WebhookRefused`` (400/413/422) when it cannot become one."""
    try:
        payload = json.loads(body, parse_float=Decimal)
    except ValueError:
        raise WebhookRefused(400, "the body is not JSON") from None
    event_id = read_path(payload, source.event_id_path)
    if event_id in (None, "") or isinstance(event_id, dict | list):
        raise WebhookRefused(422, f"no event id at {source.event_id_path}")
    if source.detail_type is not None:
        detail_type = source.detail_type
    else:
        said = read_path(payload, source.detail_type_path or "")
        found = source.detail_types.get(str(said)) if said is not None else None
        if found is None:
            raise WebhookRefused(
                422, f"the event type at {source.detail_type_path} is not one this source maps"
            )
        detail_type = found
    try:
        detail = source.detail.apply(payload)
    except MappingError as error:
        raise WebhookRefused(422, "the payload does not map: " + "; ".join(error.errors)) from None
    model = EVENT_DETAIL_MODELS.get(detail_type)
    if model is not None:
        try:
            model.model_validate_json(to_json_text(detail))
        except ValidationError as error:
            raise WebhookRefused(
                422,
                f"the payload does not make a valid {detail_type}: "
                + "; ".join(readable_errors(error, "detail")),
            ) from None
    detail_text = to_json_text(detail)
    if len(detail_text.encode()) > MAX_DETAIL_BYTES:
        raise WebhookRefused(413, "the mapped detail is larger than an event may be")
    return AcceptedWebhook(
        event_id=str(event_id),
        detail_type=detail_type,
        entry={
            "Source": event_source_of(name, source),
            "DetailType": detail_type,
            "Detail": detail_text,
            "EventBusName": bus_name,
        },
    )


def receive(
    name: str,
    source: WebhookSource,
    secret: str | Mapping[str, Any],
    headers: Mapping[str, str],
    body: bytes,
    *,
    bus_name: str,
    now: float | None = None,
) -> AcceptedWebhook:
    """Verify, then map: the whole domain decision on one delivery."""
    verify_signature(source.signature, secrets_from(secret), headers, body, now=now)
    return to_event(name, source, body, bus_name=bus_name)


def sign(secret: str, body: bytes, *, timestamp: str = "", scheme: SignatureScheme | None = None) -> str:
    """The signature header value a sender following ``scheme`` computes (for tests and the local CLI)."""
    scheme = scheme or SignatureScheme()
    before, after = scheme.signed_payload.split("{body}")
    signed = (
        before.replace("{timestamp}", timestamp).encode()
        + body
        + after.replace("{timestamp}", timestamp).encode()
    )
    digest = hmac.new(secret.encode(), signed, hashlib.sha256).digest()
    text = digest.hex() if scheme.encoding == "hex" else base64.b64encode(digest).decode()
    return scheme.prefix + text


def body_digest(body: bytes) -> str:
    """What the audit keeps of a delivery: the body's SHA-256, never the body."""
    return hashlib.sha256(body).hexdigest()


# ------------------------------------------------------------------------------------------------------------
# Exactly one put per sender event id
# ------------------------------------------------------------------------------------------------------------

# A claim older than this whose event never reached the bus belongs to a delivery that died mid-way (the function
# timed out between claim and put): the next copy may take it over. Longer than the function's timeout.
CLAIM_LEASE_SECONDS = 120


@dataclass(frozen=True)
class Claim:
    """The outcome of claiming a delivery: ``won`` means this delivery puts the event; otherwise ``holder`` says
    what the first delivery recorded (``bus_event_id`` once its event is on the bus)."""

    won: bool
    holder: Mapping[str, str]


class DeliveryClaims:
    """Claims on sender event ids, kept in the idempotency table (``webhook#<source>#<event id>``).

    The conditional put is the guard: DynamoDB accepts exactly one of concurrent ``attribute_not_exists`` puts of
    one key, so the check and the claim are one step. Checking the audit trail first and putting afterwards (what
    this replaces) let 6 of 10 concurrent copies through.
    """

    def __init__(self, dynamodb: Any, table_name: str, *, lease_seconds: int = CLAIM_LEASE_SECONDS) -> None:
        self._dynamodb = dynamodb
        self._table = table_name
        self._lease = lease_seconds

    @staticmethod
    def key(source: str, event_id: str) -> dict[str, Any]:
        return {"id": {"S": f"webhook#{source}#{event_id}"}}

    def claim(self, source: str, event_id: str, *, now: float | None = None) -> Claim:
        at = time.time() if now is None else now
        try:
            self._dynamodb.put_item(
                TableName=self._table,
                Item={**self.key(source, event_id), "status": {"S": "claimed"}, "claimed_at": {"N": str(at)}},
                ConditionExpression="attribute_not_exists(id)",
            )
            return Claim(True, {})
        except ClientError as error:
            if error.response["Error"]["Code"] != "ConditionalCheckFailedException":
                raise
        item = self._dynamodb.get_item(
            TableName=self._table, Key=self.key(source, event_id), ConsistentRead=True
        ).get("Item", {})
        holder = {k: next(iter(v.values())) for k, v in item.items()}
        stale = holder.get("status") == "claimed" and at - float(holder.get("claimed_at") or 0) > self._lease
        if stale and self._take_over(source, event_id, str(holder.get("claimed_at")), at):
            return Claim(True, {})
        return Claim(False, holder)

    def _take_over(self, source: str, event_id: str, claimed_at: str, at: float) -> bool:
        """Take a stale claim, conditional on it being the same stale claim (two late copies: one wins)."""
        try:
            self._dynamodb.update_item(
                TableName=self._table,
                Key=self.key(source, event_id),
                UpdateExpression="SET claimed_at = :now",
                ConditionExpression="#s = :claimed AND claimed_at = :then",
                ExpressionAttributeNames={"#s": "status"},
                ExpressionAttributeValues={
                    ":now": {"N": str(at)},
                    ":claimed": {"S": "claimed"},
                    ":then": {"N": claimed_at},
                },
            )
            return True
        except ClientError as error:
            if error.response["Error"]["Code"] != "ConditionalCheckFailedException":
                raise
            return False

    def delivered(self, source: str, event_id: str, bus_event_id: str) -> None:
        """The event is on the bus: the claim is final."""
        self._dynamodb.update_item(
            TableName=self._table,
            Key=self.key(source, event_id),
            UpdateExpression="SET #s = :accepted, bus_event_id = :b, accepted_at = :t",
            ExpressionAttributeNames={"#s": "status"},
            ExpressionAttributeValues={
                ":accepted": {"S": "accepted"},
                ":b": {"S": bus_event_id},
                ":t": {"S": datetime.now(UTC).isoformat()},
            },
        )

    def release(self, source: str, event_id: str) -> None:
        """The put failed: give the claim back so that the sender's retry can deliver the event."""
        try:
            self._dynamodb.delete_item(
                TableName=self._table,
                Key=self.key(source, event_id),
                ConditionExpression="#s = :claimed",
                ExpressionAttributeNames={"#s": "status"},
                ExpressionAttributeValues={":claimed": {"S": "claimed"}},
            )
        except ClientError as error:
            # Already accepted by a copy that took the claim over: nothing to give back.
            if error.response["Error"]["Code"] != "ConditionalCheckFailedException":
                raise
