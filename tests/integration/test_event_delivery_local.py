"""Events on the local bus: one case per business key under concurrent redelivery, and an event from a known
system that no rule takes parked and audited instead of dropped."""

from __future__ import annotations

import json
import threading
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any, cast

import pytest
from moto.events.models import EventPattern

from backoffice.events import matches
from backoffice.local.runtime import LocalRuntime
from backoffice.local.samples import closed_won_detail
from infra.catalog import BUSINESS_EVENT_SOURCES, CATALOG, ROUTED_DETAIL_TYPES, Ref
from tests.integration.conftest import Firm

COPIES = 8


def an_event(runtime: LocalRuntime, detail_type: str, detail: dict[str, Any], source: str) -> dict[str, Any]:
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": detail_type,
        "source": source,
        "account": "123456789012",
        "time": "2026-12-06T09:00:00Z",
        "region": "us-east-1",
        "resources": [],
        "detail": detail,
    }


def all_at_once(copies: int, deliver: Any) -> list[Any]:
    """``deliver`` called from ``copies`` threads released together, as EventBridge's redeliveries may arrive."""
    barrier = threading.Barrier(copies)

    def one(_: int) -> Any:
        barrier.wait()
        return deliver()

    with ThreadPoolExecutor(copies) as pool:
        return list(pool.map(one, range(copies)))


@pytest.mark.parametrize("attempt", range(3))
def test_one_event_delivered_many_times_at_once_starts_one_case(firm: Firm, attempt: int) -> None:
    # Given one Closed Won event
    detail = closed_won_detail(40 + attempt)
    event = an_event(firm.runtime, "Opportunity Closed Won", detail, "crm.salesforce")
    case_id = f"onboard-{detail['opportunity']['id']}"
    # When EventBridge delivers it to the case starter 8 times at the same moment
    deliveries = all_at_once(COPIES, lambda: firm.runtime.router.route(event))
    # Then exactly one delivery started the case and the others were recorded as duplicates
    statuses = sorted(d.status for (d,) in deliveries)
    assert statuses == ["duplicate"] * (COPIES - 1) + ["started"]
    assert [e.name for e in firm.runtime.executions()] == [case_id]
    actions = firm.actions(case_id)
    assert actions.count(("case.started", "started")) == 1
    assert actions.count(("event.duplicate", "ignored")) == COPIES - 1


def test_events_for_one_business_key_put_at_once_start_one_case(firm: Firm) -> None:
    # Given the CRM sending the same won deal several times at once (each put is a new event id)
    detail = closed_won_detail(50)
    case_id = f"onboard-{detail['opportunity']['id']}"
    # When the copies are put on the bus concurrently
    all_at_once(
        COPIES, lambda: firm.runtime.put_event("Opportunity Closed Won", detail, source="crm.salesforce")
    )
    # Then one execution, one start and the rest duplicates in the case's audit trail
    assert [e.name for e in firm.runtime.executions()] == [case_id]
    actions = firm.actions(case_id)
    assert actions.count(("case.started", "started")) == 1
    assert actions.count(("event.duplicate", "ignored")) == COPIES - 1


def test_an_event_type_no_rule_takes_from_a_known_system_is_parked_and_audited(firm: Firm) -> None:
    # Given the CRM sending an event type the product has no rule for
    event_id = firm.runtime.put_event(
        "Opportunity Renamed", {"opportunity": {"id": "006Dn0000000099XYZ"}}, source="crm.salesforce"
    )
    # Then it is parked with the reason, not dropped
    (parked,) = [m for m in firm.runtime.parked_messages() if m.get("event_id") == event_id]
    assert parked["reason"] == "no rule for detail-type Opportunity Renamed"
    assert parked["event"]["detail"] == {"opportunity": {"id": "006Dn0000000099XYZ"}}
    # And audited: who parked it, what, when and why
    (record,) = firm.records(f"unrouted-{event_id}")
    assert (record.action, record.outcome) == ("event.unrouted", "parked")
    assert str(record.actor) == "system:park_unrouted_event"
    assert record.timestamp
    assert record.reasons[0] == "no rule for detail-type Opportunity Renamed"
    assert record.data["source"] == "crm.salesforce"
    # And nothing started
    assert firm.runtime.executions() == []


def test_routed_events_and_the_products_own_outcomes_are_not_parked(firm: Firm) -> None:
    # Given an outcome the product announces (no rule takes it, and it comes from no business system)
    firm.runtime.put_event("Project Onboarded", {"case_id": "onboard-x"}, source="backoffice.workflows")
    # And an event a case rule takes
    firm.runtime.put_event("Opportunity Closed Won", closed_won_detail(51), source="crm.salesforce")
    # Then neither is parked as unrouted
    assert [m for m in firm.runtime.parked_messages() if m.get("reason", "").startswith("no rule")] == []


@pytest.mark.parametrize("source", [*BUSINESS_EVENT_SOURCES, "backoffice.workflows"])
def test_the_catch_all_pattern_matches_as_moto_does(source: str) -> None:
    # Given the catch-all rule's pattern, and moto's matcher as the reference
    pattern = CATALOG.rule("unrouted_business_event").pattern
    reference = EventPattern.load(json.dumps(pattern))
    for detail_type in [*ROUTED_DETAIL_TYPES, "Opportunity Renamed", "Project Onboarded"]:
        event = an_event(cast(LocalRuntime, None), detail_type, {}, source)
        # Then ours and moto's agree
        assert matches(pattern, event) == bool(reference.matches_event(cast(Any, event))), (
            source,
            detail_type,
        )


def test_a_claim_left_by_a_delivery_that_died_is_taken_over_and_a_fresh_one_is_respected(firm: Firm) -> None:
    runtime = firm.runtime
    dynamodb = runtime.client("dynamodb")
    table = runtime.resolve(Ref("table_name", "idempotency"))
    stale, fresh = closed_won_detail(60), closed_won_detail(61)
    # Given a claim from ten minutes ago with no execution (its delivery died), and one from a moment ago
    for detail, at in ((stale, datetime.now(UTC) - timedelta(minutes=10)), (fresh, datetime.now(UTC))):
        dynamodb.put_item(
            TableName=table,
            Item={
                "id": {"S": f"case#onboard-{detail['opportunity']['id']}"},
                "event_id": {"S": "first-delivery"},
                "claimed_at": {"S": at.isoformat()},
            },
        )
    # When EventBridge redelivers both events
    (taken_over,) = runtime.router.route(an_event(runtime, "Opportunity Closed Won", stale, "crm.salesforce"))
    (in_progress,) = runtime.router.route(
        an_event(runtime, "Opportunity Closed Won", fresh, "crm.salesforce")
    )
    # Then the stale claim's case starts, and the fresh one is left to the delivery holding it
    assert (taken_over.status, in_progress.status) == ("started", "duplicate")
    assert [e.name for e in runtime.executions()] == [f"onboard-{stale['opportunity']['id']}"]
