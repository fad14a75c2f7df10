"""Inbound webhooks through the local API gateway: a signed delivery becomes a canonical event and a case; a forged
or replayed one is refused and audited, and starts nothing."""

from __future__ import annotations

import json
import threading
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from botocore.awsrequest import AWSResponse

from backoffice import aws
from backoffice.connectors.webhooks import sign
from backoffice.local.samples import LOCAL_WEBHOOK_SECRET
from tests.integration.conftest import Firm


def deal_won(event_id: str) -> bytes:
    return json.dumps(
        {
            "id": event_id,
            "type": "deal.won",
            "data": {
                "deal": {
                    "id": "006Dn0000000088XYZ",
                    "title": "Coho - Pricing strategy",
                    "value_cents": 18_000_000,
                    "won_at": "2026-11-20T16:20:00Z",
                    "currency": "usd",
                    "practice": "Advisory",
                },
                "account": {"id": "001Dn0000000088", "legal_name": "Coho Winery LLC"},
            },
        }
    ).encode()


def post(firm: Firm, body: bytes, headers: dict[str, str]) -> tuple[int, dict[str, object]]:
    request = urllib.request.Request(
        f"{firm.runtime.api_url}/webhooks/crm",
        data=body,
        method="POST",
        headers={"Content-Type": "application/json", **headers},
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return int(response.status), json.loads(response.read())
    except urllib.error.HTTPError as error:
        return int(error.code), json.loads(error.read())


def signed(body: bytes, *, secret: str = LOCAL_WEBHOOK_SECRET, at: float | None = None) -> dict[str, str]:
    timestamp = str(int(at if at is not None else time.time()))
    return {"X-Timestamp": timestamp, "X-Signature": sign(secret, body, timestamp=timestamp)}


def test_a_signed_webhook_becomes_a_canonical_event_and_starts_one_case(firm: Firm) -> None:
    # Given a CRM posting a won deal, signed with the shared secret
    body = deal_won("evt_1001")
    # When it is delivered twice (the sender retries)
    first, second = post(firm, body, signed(body)), post(firm, body, signed(body))
    # Then the first is accepted and the second recognised as a duplicate
    assert first == (202, {"event_id": "evt_1001", "status": "accepted"})
    assert second[0] == 200 and second[1]["status"] == "duplicate"
    # And one onboarding case started from the canonical event (it stops at the missing SOW, not in the CRM: a
    # business outcome, so the execution succeeds)
    case_id = "onboard-006Dn0000000088XYZ"
    assert firm.finish(case_id).status == "SUCCEEDED"
    assert [e.name for e in firm.runtime.executions()] == [case_id]
    canonical = [e for e in firm.runtime.bus_events if e["detail-type"] == "Opportunity Closed Won"]
    assert len(canonical) == 1 and canonical[0]["source"] == "crm.webhook"
    assert canonical[0]["detail"]["opportunity"]["amount"] == "180000.00"
    trail = firm.actions("webhook-crm-evt_1001")
    assert trail == [("webhook.accepted", "accepted"), ("webhook.duplicate", "ignored")]


def test_a_forged_or_replayed_webhook_is_refused_audited_and_starts_nothing(firm: Firm) -> None:
    body = deal_won("evt_2002")
    # A wrong secret, and a correctly signed delivery captured an hour ago
    forged = post(firm, body, signed(body, secret="guessed"))
    replayed = post(firm, body, signed(body, at=time.time() - 3600))
    assert forged[0] == 401 and replayed[0] == 401
    refusals = [r for r in firm.records("webhook-refusals") if r.action == "webhook.refused"]
    assert len(refusals) == 2 and all(r.data["source"] == "crm" for r in refusals)
    assert firm.runtime.executions() == []


COPIES = 10


def post_all_at_once(firm: Firm, body: bytes) -> list[tuple[int, dict[str, object]]]:
    """``COPIES`` signed copies of one delivery, POSTed from threads released together (a sender retrying hard)."""
    barrier = threading.Barrier(COPIES)

    def one(_: int) -> tuple[int, dict[str, object]]:
        headers = signed(body)
        barrier.wait()
        return post(firm, body, headers)

    with ThreadPoolExecutor(COPIES) as pool:
        return list(pool.map(one, range(COPIES)))


@pytest.mark.parametrize("attempt", range(3))
def test_concurrent_copies_of_one_delivery_put_one_event_on_the_bus(firm: Firm, attempt: int) -> None:
    # Given a won deal the CRM posts 10 times at the same moment
    event_id = f"evt_burst_{attempt}"
    answers = post_all_at_once(firm, deal_won(event_id))
    # Then exactly one copy is accepted and nine are answered as duplicates
    assert sorted((status, body["status"]) for status, body in answers) == [(200, "duplicate")] * (
        COPIES - 1
    ) + [(202, "accepted")]
    # And exactly one event went on the bus, audited once as accepted and nine times as a duplicate
    assert len([e for e in firm.runtime.bus_events if e["source"] == "crm.webhook"]) == 1
    trail = firm.actions(f"webhook-crm-{event_id}")
    assert trail.count(("webhook.accepted", "accepted")) == 1
    assert trail.count(("webhook.duplicate", "ignored")) == COPIES - 1


def test_a_delivery_the_bus_refused_is_delivered_by_the_senders_retry(firm: Firm) -> None:
    # Given the bus failing the first put of the CRM's event
    refused: list[str] = []

    def fail_once(params: dict[str, Any], **_: Any) -> tuple[AWSResponse, dict[str, Any]] | None:
        if refused or b"crm.webhook" not in bytes(params.get("body") or b""):
            return None
        refused.append("once")
        failed = {
            "FailedEntryCount": 1,
            "Entries": [{"ErrorCode": "InternalFailure", "ErrorMessage": "try again"}],
        }
        return AWSResponse("http://local", 200, {}, None), failed  # type: ignore[arg-type]

    # On the handler's client: a client copies its session's hooks when it is made, and this one is made already.
    hooks = aws.client("events").meta.events
    hooks.register("before-call.events.PutEvents", fail_once)
    body = deal_won("evt_3003")
    try:
        # When the CRM posts, is told to retry, and retries
        first = post(firm, body, signed(body))
        second = post(firm, body, signed(body))
    finally:
        hooks.unregister("before-call.events.PutEvents", fail_once)
    # Then the first answer asks for a retry, the retry is accepted and one event is on the bus
    assert refused == ["once"]
    assert first[0] == 503
    assert second == (202, {"event_id": "evt_3003", "status": "accepted"})
    assert len([e for e in firm.runtime.bus_events if e["source"] == "crm.webhook"]) == 1
