"""Inbound webhooks: signatures, replay protection, mapping to canonical events, and the receiving Lambda."""

from __future__ import annotations

import base64
import importlib
import json
import logging
import time
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import boto3
import pytest
from moto import mock_aws

from backoffice import aws
from backoffice.audit import AuditTrail
from backoffice.connectors.webhooks import (
    DeliveryClaims,
    SignatureScheme,
    WebhookRefused,
    WebhookSource,
    receive,
    secrets_from,
    sign,
    verify_signature,
)
from backoffice.local.lambdas import LocalLambdaContext
from backoffice.local.samples import LOCAL_CONNECTORS, closed_won_detail
from backoffice.models import OpportunityClosedWon

SECRET = "whsec_meridian_test_0001"
NOW = 1_780_000_000.0

# A CRM that posts won deals as {"id", "type", "data": {"deal": {...}, "account": {...}}}.
CRM_SOURCE: dict[str, Any] = {
    key: value for key, value in LOCAL_CONNECTORS["webhooks"]["crm"].items() if key != "event_source"
}


def crm_payload(event_id: str = "evt_001", value_cents: int = 24_000_000) -> bytes:
    return json.dumps(
        {
            "id": event_id,
            "type": "deal.won",
            "data": {
                "deal": {
                    "id": "006Dn0000000001XYZ",
                    "title": "Blue Yonder - ERP implementation",
                    "value_cents": value_cents,
                    "won_at": "2026-11-03T16:20:00Z",
                    "currency": "usd",
                    "practice": "Technology",
                },
                "account": {"id": "001Dn0000000001", "legal_name": "Blue Yonder Airlines Inc."},
            },
        }
    ).encode()


def signed_headers(body: bytes, *, timestamp: float = NOW, secret: str = SECRET) -> dict[str, str]:
    ts = str(int(timestamp))
    return {"X-Timestamp": ts, "X-Signature": sign(secret, body, timestamp=ts)}


SOURCE = WebhookSource.model_validate(CRM_SOURCE)


# ------------------------------------------------------------------------------------------------------------
# Signatures
# ------------------------------------------------------------------------------------------------------------


def test_a_signed_fresh_delivery_becomes_a_closed_won_event() -> None:
    # Given a delivery signed over timestamp.body with the shared secret
    body = crm_payload()

    # When received
    accepted = receive("crm", SOURCE, SECRET, signed_headers(body), body, bus_name="backoffice", now=NOW + 5)

    # Then the PutEvents entry carries a canonical Opportunity Closed Won detail
    assert accepted.event_id == "evt_001" and accepted.detail_type == "Opportunity Closed Won"
    entry = accepted.entry
    assert (entry["Source"], entry["DetailType"], entry["EventBusName"]) == (
        "backoffice.webhook.crm",
        "Opportunity Closed Won",
        "backoffice",
    )
    detail = OpportunityClosedWon.model_validate_json(entry["Detail"])
    assert str(detail.opportunity.amount) == "240000.00" and detail.opportunity.currency == "USD"
    assert detail.client.customer_name == "Blue Yonder Airlines Inc." and detail.service_line == "technology"


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"X-Signature": "0" * 64}, "signature does not match"),
        ({"X-Signature": None}, "missing signature header X-Signature"),
        ({"X-Timestamp": None}, "missing timestamp header X-Timestamp"),
        ({"X-Timestamp": "yesterday"}, "unreadable timestamp"),
        ({"X-Signature": "not-hex"}, "no hex signature"),
    ],
)
def test_a_delivery_without_a_valid_signature_is_refused_with_a_reason(
    change: dict[str, str | None], reason: str
) -> None:
    # Given a signed delivery, then one header tampered with or removed
    body = crm_payload()
    headers = signed_headers(body)
    for name, value in change.items():
        if value is None:
            headers.pop(name)
        else:
            headers[name] = value

    # When received / Then refused as unauthenticated, saying why
    with pytest.raises(WebhookRefused) as raised:
        receive("crm", SOURCE, SECRET, headers, body, bus_name="b", now=NOW)
    assert raised.value.status == 401 and reason in raised.value.reason


def test_a_tampered_body_is_refused() -> None:
    # Given a signature over one amount, and a body with another
    headers = signed_headers(crm_payload(value_cents=100))
    with pytest.raises(WebhookRefused, match="signature does not match"):
        receive("crm", SOURCE, SECRET, headers, crm_payload(value_cents=999_999_999), bus_name="b", now=NOW)


@pytest.mark.parametrize("age", [-301, 301, 86_400])
def test_a_replayed_or_future_delivery_is_refused_by_the_tolerance(age: int) -> None:
    # Given a correctly signed delivery sent more than 300 s from now, either way
    body = crm_payload()
    headers = signed_headers(body, timestamp=NOW - age)
    # Then refused: its signature is right, but it may be a captured request replayed
    with pytest.raises(WebhookRefused, match="tolerance"):
        receive("crm", SOURCE, SECRET, headers, body, bus_name="b", now=NOW)


def test_hub_style_signatures_over_the_body_are_accepted() -> None:
    # Given a sender in the X-Hub-Signature-256: sha256=<hex> style (no timestamp)
    scheme = SignatureScheme(style="hub")
    body = b'{"action": "opened"}'
    header = sign(SECRET, body, scheme=scheme)
    assert header.startswith("sha256=")

    # Then it verifies, and a bare hex without the prefix does not
    verify_signature(scheme, [SECRET], {"x-hub-signature-256": header}, body)
    with pytest.raises(WebhookRefused):
        verify_signature(scheme, [SECRET], {"X-Hub-Signature-256": header.removeprefix("sha256=")}, body)


def test_base64_signatures_and_a_custom_signed_payload() -> None:
    # Given a sender signing "v0:<ts>:<body>" in base64, with its timestamp in milliseconds
    scheme = SignatureScheme(
        header="X-Request-Signature",
        timestamp_header="X-Request-Timestamp",
        signed_payload="v0:{timestamp}:{body}",
        encoding="base64",
        prefix="v0=",
    )
    body = b"{}"
    ts = str(int(NOW * 1000))
    headers = {
        "X-Request-Timestamp": ts,
        "X-Request-Signature": sign(SECRET, body, timestamp=ts, scheme=scheme),
    }
    # Then it verifies
    verify_signature(scheme, [SECRET], headers, body, now=NOW)


def test_during_a_secret_rotation_either_secret_verifies() -> None:
    # Given the secret stored as the new and the previous one
    stored = json.dumps({"secrets": ["whsec_new", SECRET]})
    body = crm_payload()
    # Then a sender still on the previous secret is accepted
    receive("crm", SOURCE, stored, signed_headers(body), body, bus_name="b", now=NOW)
    assert secrets_from(stored) == ["whsec_new", SECRET] and secrets_from("plain") == ["plain"]


# ------------------------------------------------------------------------------------------------------------
# Payload
# ------------------------------------------------------------------------------------------------------------


def test_a_payload_that_does_not_make_a_valid_event_is_refused_with_its_errors() -> None:
    # Given a signed delivery whose deal has no account
    payload = json.loads(crm_payload())
    del payload["data"]["account"]
    body = json.dumps(payload).encode()
    # Then it is refused as unprocessable, naming what is missing
    with pytest.raises(WebhookRefused) as raised:
        receive("crm", SOURCE, SECRET, signed_headers(body), body, bus_name="b", now=NOW)
    assert raised.value.status == 422 and "detail.opportunity.account_id" in raised.value.reason


def test_an_event_type_the_source_does_not_map_is_refused() -> None:
    payload = json.loads(crm_payload())
    payload["type"] = "deal.lost"
    body = json.dumps(payload).encode()
    with pytest.raises(WebhookRefused, match="not one this source maps"):
        receive("crm", SOURCE, SECRET, signed_headers(body), body, bus_name="b", now=NOW)


def test_a_body_that_is_not_json_is_a_bad_request() -> None:
    body = b"deal=won"
    with pytest.raises(WebhookRefused) as raised:
        receive("crm", SOURCE, SECRET, signed_headers(body), body, bus_name="b", now=NOW)
    assert raised.value.status == 400


def test_a_source_document_needs_one_way_to_tell_the_detail_type() -> None:
    document = {**CRM_SOURCE, "detail_type": "Opportunity Closed Won"}
    with pytest.raises(ValueError, match="detail_type"):
        WebhookSource.model_validate(document)


# ------------------------------------------------------------------------------------------------------------
# The Lambda behind POST /webhooks/{source}
# ------------------------------------------------------------------------------------------------------------


class Webhooks:
    """The handler on moto: Secrets Manager, the bus (with a queue to see what was put) and the audit table."""

    def __init__(self, module: ModuleType, queue_url: str) -> None:
        self.module = module
        self.queue_url = queue_url

    def post(
        self, source: str, body: bytes, headers: dict[str, str], *, binary: bool = False
    ) -> dict[str, Any]:
        event = {
            "resource": "/webhooks/{source}",
            "path": f"/webhooks/{source}",
            "httpMethod": "POST",
            "headers": headers,
            "multiValueHeaders": {k: [v] for k, v in headers.items()},
            "queryStringParameters": None,
            "multiValueQueryStringParameters": None,
            "pathParameters": {"source": source},
            "stageVariables": None,
            "body": base64.b64encode(body).decode() if binary else body.decode(),
            "isBase64Encoded": binary,
            "requestContext": {
                "resourcePath": "/webhooks/{source}",
                "httpMethod": "POST",
                "path": f"/prod/webhooks/{source}",
                "stage": "prod",
                "requestId": "req-1",
                "identity": {"sourceIp": "203.0.113.9"},
            },
        }
        context = LocalLambdaContext(
            "receive_webhook", 256, "arn:aws:lambda:us-east-1:123456789012:function:x", 30
        )
        result: dict[str, Any] = self.module.handler(event, context)
        return result

    def events_on_the_bus(self) -> list[dict[str, Any]]:
        messages = (
            aws.client("sqs")
            .receive_message(QueueUrl=self.queue_url, MaxNumberOfMessages=10)
            .get("Messages", [])
        )
        return [json.loads(m["Body"]) for m in messages]

    def audit(self, case_id: str) -> list[Any]:
        return AuditTrail("audit").records(case_id)


@pytest.fixture
def webhooks(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Webhooks]:
    config = tmp_path / "connectors.json"
    config.write_text(json.dumps({"webhooks": {"crm": CRM_SOURCE}}))
    for key, value in {
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AUDIT_TABLE_NAME": "audit",
        "IDEMPOTENCY_TABLE_NAME": "idempotency",
        "EVENT_BUS_NAME": "backoffice",
        "CONNECTORS_CONFIG_FILE": str(config),
        "POWERTOOLS_TRACE_DISABLED": "true",
        "POWERTOOLS_SERVICE_NAME": "backoffice",
    }.items():
        monkeypatch.setenv(key, value)
    from aws_lambda_powertools.utilities import parameters
    from aws_lambda_powertools.utilities.parameters import base

    with mock_aws():
        aws.reset_clients()
        parameters.clear_caches()
        base.DEFAULT_PROVIDERS.clear()
        boto3.client("dynamodb").create_table(
            TableName="audit",
            KeySchema=[
                {"AttributeName": "case_id", "KeyType": "HASH"},
                {"AttributeName": "seq", "KeyType": "RANGE"},
            ],
            AttributeDefinitions=[
                {"AttributeName": "case_id", "AttributeType": "S"},
                {"AttributeName": "seq", "AttributeType": "N"},
            ],
            BillingMode="PAY_PER_REQUEST",
        )
        boto3.client("dynamodb").create_table(
            TableName="idempotency",
            KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
        boto3.client("secretsmanager").create_secret(Name="backoffice/webhooks/crm", SecretString=SECRET)
        events = boto3.client("events")
        events.create_event_bus(Name="backoffice")
        sqs = boto3.client("sqs")
        queue_url = sqs.create_queue(QueueName="seen")["QueueUrl"]
        queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"][
            "QueueArn"
        ]
        events.put_rule(
            Name="all", EventBusName="backoffice", EventPattern=json.dumps({"source": [{"prefix": ""}]})
        )
        events.put_targets(Rule="all", EventBusName="backoffice", Targets=[{"Id": "q", "Arn": queue_arn}])
        module = importlib.reload(importlib.import_module("functions.receive_webhook.app"))
        yield Webhooks(module, queue_url)
        parameters.clear_caches()
        base.DEFAULT_PROVIDERS.clear()
        aws.reset_clients()


def test_an_authentic_delivery_goes_on_the_bus_and_into_the_audit(webhooks: Webhooks) -> None:
    # Given a won deal signed by the CRM
    body = crm_payload("evt_123")

    # When it is posted to /webhooks/crm
    response = webhooks.post("crm", body, signed_headers(body, timestamp=time.time()))

    # Then 202, the canonical event is on the bus, and the case webhook-crm-evt_123 records it with the body's digest
    assert response["statusCode"] == 202 and json.loads(response["body"])["event_id"] == "evt_123"
    [event] = webhooks.events_on_the_bus()
    assert event["detail-type"] == "Opportunity Closed Won" and event["source"] == "backoffice.webhook.crm"
    assert event["detail"]["opportunity"]["id"] == "006Dn0000000001XYZ"
    [record] = webhooks.audit("webhook-crm-evt_123")
    assert (record.action, record.outcome, record.actor.id) == (
        "webhook.accepted",
        "accepted",
        "receive_webhook",
    )
    assert len(record.data["body_sha256"]) == 64


def test_the_same_event_delivered_twice_is_put_once(webhooks: Webhooks) -> None:
    # Given a delivery the CRM retries
    body = crm_payload("evt_dup")
    headers = signed_headers(body, timestamp=time.time())

    # When posted twice
    first = webhooks.post("crm", body, headers)
    second = webhooks.post("crm", body, headers)

    # Then one event on the bus, and the trail shows the duplicate
    assert (first["statusCode"], second["statusCode"]) == (202, 200)
    assert len(webhooks.events_on_the_bus()) == 1
    assert [r.action for r in webhooks.audit("webhook-crm-evt_dup")] == [
        "webhook.accepted",
        "webhook.duplicate",
    ]


def test_a_forged_delivery_is_refused_audited_and_never_logged(
    webhooks: Webhooks, caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given a delivery signed with the wrong secret, and our loggers at their most talkative (botocore's own debug
    # log, off in Lambda, prints every AWS response and is left out)
    caplog.set_level(logging.DEBUG, logger="backoffice")
    caplog.set_level(logging.DEBUG, logger="aws_lambda_powertools")
    webhooks.module.logger.setLevel(logging.DEBUG)
    body = crm_payload("evt_forged")
    headers = signed_headers(body, timestamp=time.time(), secret="guessed")

    # When posted
    response = webhooks.post("crm", body, headers)

    # Then 401 with the reason, nothing on the bus, and the refusal in the webhook-refusals case
    assert response["statusCode"] == 401 and "signature does not match" in response["body"]
    assert webhooks.events_on_the_bus() == []
    [record] = webhooks.audit("webhook-refusals")
    assert (record.action, record.reasons, record.data["source"]) == (
        "webhook.refused",
        ("signature does not match",),
        "crm",
    )
    # And neither the body, the signature nor the secret reached the logs
    logged = caplog.text + capsys.readouterr().out
    assert "webhook refused" in logged
    assert "Blue Yonder" not in logged
    assert headers["X-Signature"] not in logged
    assert SECRET not in logged


def test_an_unknown_source_is_not_found(webhooks: Webhooks) -> None:
    body = crm_payload()
    response = webhooks.post("erp", body, signed_headers(body, timestamp=time.time()))
    assert response["statusCode"] == 404
    assert webhooks.audit("webhook-refusals")[0].data["source"] == "erp"


def test_a_base64_encoded_body_is_verified_on_its_bytes(webhooks: Webhooks) -> None:
    # Given API Gateway passing the body base64-encoded (a binary media type)
    body = crm_payload("evt_b64")
    response = webhooks.post("crm", body, signed_headers(body, timestamp=time.time()), binary=True)
    assert response["statusCode"] == 202


def test_the_closed_won_detail_of_the_sample_pipeline_maps_one_to_one() -> None:
    # Given a sender already posting the canonical detail, mapped field for field
    detail = closed_won_detail(4)
    source = WebhookSource.model_validate(
        {
            "secret_name": "s",
            "event_id_path": "/opportunity/id",
            "detail_type": "Opportunity Closed Won",
            "detail": {
                "fields": {
                    "opportunity": "/opportunity",
                    "client": "/client",
                    "service_line": "/service_line",
                }
            },
        }
    )
    body = json.dumps(detail).encode()
    # Then the event's detail is the detail
    accepted = receive("sample", source, SECRET, signed_headers(body), body, bus_name="b", now=NOW)
    assert json.loads(accepted.entry["Detail"]) == detail


def test_a_claim_is_won_once_given_back_after_a_failed_put_and_taken_over_when_stale(
    webhooks: Webhooks,
) -> None:
    # Given the delivery claims in the idempotency table
    claims = DeliveryClaims(aws.client("dynamodb"), "idempotency", lease_seconds=60)
    # When two copies claim one event id, the first wins and the second sees it in progress
    assert claims.claim("crm", "evt_9", now=NOW).won
    second = claims.claim("crm", "evt_9", now=NOW + 1)
    assert not second.won and second.holder["status"] == "claimed"
    # And a claim whose put failed is given back: the sender's retry wins it
    claims.release("crm", "evt_9")
    assert claims.claim("crm", "evt_9", now=NOW + 2).won
    # And a claim whose delivery died before putting is taken over after the lease, by one copy only
    assert claims.claim("crm", "evt_9", now=NOW + 100).won
    assert not claims.claim("crm", "evt_9", now=NOW + 101).won
    # And once the event is on the bus the claim is final, however late a copy comes
    claims.delivered("crm", "evt_9", "bus-1")
    late = claims.claim("crm", "evt_9", now=NOW + 10_000)
    assert not late.won and late.holder["bus_event_id"] == "bus-1"
