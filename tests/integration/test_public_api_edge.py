"""The local gateway refuses what the deployed edge refuses: the WAF web ACL's body limits and rate limit (read from
``infra/edge.py``, as the web ACL is built), API Gateway's 10 MB body quota, unread, and its 29 s timeout."""

from __future__ import annotations

import dataclasses
import http.client
import json
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest

from backoffice.local.gateway import LocalGateway
from backoffice.local.runtime import LocalRuntime
from infra.catalog import CATALOG
from infra.edge import (
    API_MAX_BODY_BYTES,
    FIREWALL,
    WEBHOOK_MAX_BODY_BYTES,
    RateLimit,
)

KB = 1024


def post(url: str, body: bytes, content_type: str = "application/json") -> tuple[int, dict[str, str], bytes]:
    request = urllib.request.Request(url, data=body, method="POST", headers={"Content-Type": content_type})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return int(response.status), dict(response.headers.items()), response.read()
    except urllib.error.HTTPError as error:
        return int(error.code), dict(error.headers.items()), error.read()


def invoked(runtime: LocalRuntime, function: str) -> int:
    return len([i for i in runtime.lambdas.invocations if i.function == function])


def test_the_local_gateway_applies_the_firewall_the_stack_deploys(runtime: LocalRuntime) -> None:
    # Then the gateway's rules are the one description infra/api.py builds the web ACL from
    assert runtime.gateway is not None and runtime.gateway.firewall is FIREWALL


def test_a_9_kb_post_to_a_route_the_waf_guards_is_refused_with_403_before_the_function_runs(
    runtime: LocalRuntime,
) -> None:
    # When 9 KB is posted to an upload link (the core rule set blocks bodies over 8 KB)
    status, headers, body = post(f"{runtime.api_url}/uploads/some-link-id", b"x" * 9 * KB, "text/plain")
    # Then the answer is API Gateway's to a WAF block, and the function never ran
    assert (status, json.loads(body)) == (403, {"message": "Forbidden"})
    assert headers["x-amzn-ErrorType"] == "ForbiddenException"
    assert headers["x-local-waf-rule"] == "BodyOver8KbOutsideWebhooks"
    assert invoked(runtime, "receive_vendor_document") == 0
    # And 8 KB exactly passes the firewall to the function
    status, headers, _ = post(f"{runtime.api_url}/uploads/some-link-id", b"x" * 8 * KB, "text/plain")
    assert "x-local-waf-rule" not in headers and invoked(runtime, "receive_vendor_document") == 1


def test_approval_decisions_reach_their_function_whatever_their_size_under_api_gateways_quota(
    runtime: LocalRuntime,
) -> None:
    # When 300 KB is posted to an approval link (no comment typed on the page is that long)
    status, headers, _ = post(f"{runtime.api_url}/approvals/some-link-id", b"x" * 300 * KB, "text/plain")
    # Then no firewall rule stops it: the decision function answers (and refuses it, with an audit record)
    assert status < 500 and status != 403
    assert "x-local-waf-rule" not in headers and invoked(runtime, "decide_approval") == 1


def test_webhooks_have_a_limit_of_their_own_of_64_kb(runtime: LocalRuntime) -> None:
    delivery = json.dumps({"padding": "x" * 9 * KB}).encode()
    # When a 9 KB delivery arrives, it reaches the webhook function (which refuses the missing signature)
    status, headers, _ = post(f"{runtime.api_url}/webhooks/crm", delivery)
    assert status == 401 and "x-local-waf-rule" not in headers
    # When a delivery is one byte over the webhook limit
    status, headers, _ = post(f"{runtime.api_url}/webhooks/crm", b"x" * (WEBHOOK_MAX_BODY_BYTES + 1))
    # Then the firewall's webhook rule blocks it
    assert (status, headers["x-local-waf-rule"]) == (403, "WebhookBodyOver64Kb")
    assert invoked(runtime, "receive_webhook") == 1


def test_a_body_over_10_mb_is_413_from_its_content_length_without_being_read(runtime: LocalRuntime) -> None:
    assert runtime.gateway is not None
    connection = http.client.HTTPConnection(runtime.gateway.host, runtime.gateway.port, timeout=30)
    # When a request announces 10 MB + 1 and sends none of it
    connection.putrequest("POST", "/webhooks/crm")
    connection.putheader("Content-Type", "application/json")
    connection.putheader("Content-Length", str(API_MAX_BODY_BYTES + 1))
    connection.endheaders()
    response = connection.getresponse()
    # Then API Gateway's answer comes at once (the gateway did not wait for the body) and the connection closes
    assert (response.status, json.loads(response.read())) == (413, {"message": "Request Too Long"})
    assert response.getheader("Connection") == "close"
    connection.close()
    assert invoked(runtime, "receive_webhook") == 0


@pytest.fixture
def gateway() -> Iterator[tuple[LocalGateway, threading.Event]]:
    """A gateway whose functions wait until released, with a rate limit of 3 and a timeout of a fifth of a second
    (the 300 requests and 29 s of the deployed edge, scaled down)."""
    release = threading.Event()

    def invoke(function: str, event: dict[str, Any]) -> tuple[Any, dict[str, Any] | None]:
        if event["httpMethod"] == "POST":
            release.wait(10)
        return {"statusCode": 200, "headers": {}, "body": "done"}, None

    firewall = dataclasses.replace(FIREWALL, rate_limit=RateLimit("RequestsPerAddress", 3))
    local = LocalGateway(CATALOG, invoke, firewall=firewall, integration_timeout_seconds=0.2)
    local.start()
    try:
        yield local, release
    finally:
        release.set()
        local.stop()


def test_an_integration_slower_than_the_timeout_is_answered_504(
    gateway: tuple[LocalGateway, threading.Event],
) -> None:
    local, _ = gateway
    # When the function does not answer within the integration timeout
    status, _, body = post(f"{local.url}/webhooks/crm", b"{}")
    # Then the gateway answers as API Gateway does
    assert (status, json.loads(body)) == (504, {"message": "Endpoint request timed out"})


def test_an_address_over_the_rate_limit_is_blocked(gateway: tuple[LocalGateway, threading.Event]) -> None:
    local, _ = gateway
    # When one address sends one request more than the rate limit allows in five minutes
    answers = [urllib.request.urlopen(f"{local.url}/approvals/x", timeout=10).status for _ in range(3)]
    status, headers, _ = post(f"{local.url}/approvals/x", b"")
    # Then the ones within the limit pass and the next is blocked by the rate rule
    assert answers == [200, 200, 200]
    assert (status, headers["x-local-waf-rule"]) == (403, "RequestsPerAddress")
