"""Lambda behind API Gateway: ``POST /webhooks/{source}``, a SaaS system telling the product that something happened.

The source's settings (secret name, signature scheme, payload mapping) come from the connector configuration
document; its secret from Secrets Manager (Powertools Parameters, cached). A delivery that verifies and maps goes on
the bus as a canonical event (202) and is audited under ``webhook-<source>-<event id>``; a second delivery of the
same event (even one arriving at the same moment) is audited as a duplicate and not put again (200): the event id is
claimed in the idempotency table before the put, and given back when the put fails. A refusal is audited under ``webhook-refusals`` with
its reason (401 signature, 404 unknown source, 400/413/422 payload). The body, headers and secret are never logged
or stored: the audit keeps the body's SHA-256 only.

The event is parsed per call and passed along, not read back from Powertools' ``APIGatewayRestResolver``: the
resolver keeps the current event in a class attribute shared by every resolver in the process, and the local runtime
runs concurrent deliveries as threads of one process, so one delivery could be verified and put with another's body.
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Mapping
from typing import Any

from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.utilities.data_classes import APIGatewayProxyEvent
from aws_lambda_powertools.utilities.typing import LambdaContext

from backoffice import aws
from backoffice.audit import Actor, AuditTrail
from backoffice.connectors import config, webhooks
from backoffice.connectors.webhooks import DeliveryClaims, WebhookRefused
from backoffice.settings import Settings, from_env


class ReceiveWebhookSettings(Settings):
    audit_table_name: str
    event_bus_name: str
    idempotency_table_name: str


logger = Logger()
tracer = Tracer()
settings = from_env(ReceiveWebhookSettings)
ACTOR = Actor.system("receive_webhook")
WORKFLOW, STEP = "webhooks", "receive webhook"
REFUSALS_CASE = "webhook-refusals"
_SOURCE_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,39}$")
_UNSAFE = re.compile(r"[^A-Za-z0-9_-]+")


def _json(status: int, body: dict[str, Any]) -> dict[str, Any]:
    return {
        "statusCode": status,
        "headers": {"Content-Type": "application/json"},
        "body": json.dumps(body),
        "isBase64Encoded": False,
    }


def _body(event: APIGatewayProxyEvent) -> bytes:
    raw = event.body or ""
    return base64.b64decode(raw) if event.is_base64_encoded else raw.encode("utf-8")


def _refuse(source: str, refusal: WebhookRefused, body: bytes) -> dict[str, Any]:
    AuditTrail(settings.audit_table_name).append(
        case_id=REFUSALS_CASE,
        workflow=WORKFLOW,
        step=STEP,
        actor=ACTOR,
        action="webhook.refused",
        outcome="refused",
        reasons=[refusal.reason],
        data={"source": source, "status": refusal.status, "body_sha256": webhooks.body_digest(body)},
    )
    logger.warning(
        "webhook refused", extra={"source": source, "status": refusal.status, "reason": refusal.reason}
    )
    return _json(refusal.status, {"message": refusal.reason})


def receive_webhook(event: APIGatewayProxyEvent, source: str) -> dict[str, Any]:
    body = _body(event)
    known = config.load_config().webhooks
    if not _SOURCE_NAME.match(source) or source not in known:
        shown = source if _SOURCE_NAME.match(source) else "(not a source name)"
        return _refuse(shown, WebhookRefused(404, "no webhook source of this name is configured"), body)
    sender = known[source]
    try:
        secret = config.secret_text(sender.secret_name)
    except Exception as error:  # the sender retries a 503; the reason is ours, not theirs
        logger.error("webhook secret unavailable", extra={"source": source, "error": type(error).__name__})
        return _json(503, {"message": "the webhook cannot be verified right now; retry later"})
    try:
        accepted = webhooks.receive(
            source, sender, secret, event.headers or {}, body, bus_name=settings.event_bus_name
        )
    except WebhookRefused as refusal:
        return _refuse(source, refusal, body)

    trail = AuditTrail(settings.audit_table_name)
    case_id = f"webhook-{source}-{_UNSAFE.sub('-', accepted.event_id).strip('-')}"[:200]
    facts = {"source": source, "event_id": accepted.event_id, "detail_type": accepted.detail_type}
    digest = {"body_sha256": webhooks.body_digest(body)}
    # Claimed before the put, atomically: of concurrent copies of one delivery exactly one goes on the bus.
    claim = _claims().claim(source, accepted.event_id)
    if not claim.won:
        trail.append(
            case_id=case_id,
            workflow=WORKFLOW,
            step=STEP,
            actor=ACTOR,
            action="webhook.duplicate",
            outcome="ignored",
            reasons=[_first_delivery(claim.holder)],
            data={**facts, **digest},
        )
        logger.info("webhook duplicate ignored", extra=facts)
        return _json(200, {"event_id": accepted.event_id, "status": "duplicate"})

    try:
        result = aws.client("events").put_events(Entries=[accepted.entry])
    except Exception:
        _claims().release(source, accepted.event_id)
        raise
    if result.get("FailedEntryCount"):
        _claims().release(source, accepted.event_id)  # the sender's retry may deliver it
        failure = (result.get("Entries") or [{}])[0].get("ErrorCode", "unknown")
        logger.error("webhook event not put on the bus", extra={**facts, "error": failure})
        return _json(503, {"message": "the event could not be accepted; retry later"})
    bus_event_id = str((result.get("Entries") or [{}])[0].get("EventId"))
    _claims().delivered(source, accepted.event_id, bus_event_id)
    trail.append(
        case_id=case_id,
        workflow=WORKFLOW,
        step=STEP,
        actor=ACTOR,
        action="webhook.accepted",
        outcome="accepted",
        data={**facts, **digest, "bus_event_id": bus_event_id},
    )
    logger.info("webhook accepted", extra=facts)
    return _json(202, {"event_id": accepted.event_id, "status": "accepted"})


def _claims() -> DeliveryClaims:
    return DeliveryClaims(aws.client("dynamodb"), settings.idempotency_table_name)


def _first_delivery(holder: Mapping[str, str]) -> str:
    if holder.get("status") == "accepted":
        return f"already put on the bus as event {holder.get('bus_event_id', '?')}"
    return "another copy of this delivery is being put on the bus"


@logger.inject_lambda_context(log_event=False)  # the event holds the body and the signature: never log it
@tracer.capture_lambda_handler
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    request = APIGatewayProxyEvent(event)
    source = (request.path_parameters or {}).get("source")
    if request.http_method.upper() != "POST" or source is None:
        # The resolver's answer to a route it did not have (API Gateway sends only POST /webhooks/{source} here)
        return _json(404, {"statusCode": 404, "message": "Not found"})
    return receive_webhook(request, source)
