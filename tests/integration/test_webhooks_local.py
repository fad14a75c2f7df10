"""Inbound webhooks through the local API gateway: a signed delivery becomes a canonical event and a case; a forged
or replayed one is refused and audited, and starts nothing."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request

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
