"""The catch-all rule: an event from a known business system that no other rule takes is parked, not dropped.

EventBridge drops an event no rule matches without a trace. For the systems the product listens to, the catalog's
``unrouted_business_event`` rule (anything-but on detail-type) takes exactly the events the other rules leave.
"""

from __future__ import annotations

from typing import Any

import pytest

from backoffice.events import matches
from backoffice.models import DetailType
from infra.catalog import BUSINESS_EVENT_SOURCES, CATALOG, ROUTED_DETAIL_TYPES

CATCH_ALL = CATALOG.rule("unrouted_business_event")
OTHER_RULES = [rule for rule in CATALOG.rules if rule.name != CATCH_ALL.name]
# Every detail-type some rule names, every one the product knows, and a few no one does.
DETAIL_TYPES = sorted(
    {str(t) for rule in CATALOG.rules for t in rule.pattern.get("detail-type", []) if isinstance(t, str)}
    | {str(t) for t in DetailType}
    | {"Opportunity Renamed", "opportunity closed won", "Opportunity Closed Won ", ""}
)
SOURCES = [
    *BUSINESS_EVENT_SOURCES,
    "backoffice.workflows",
    "aws.partner/salesforce.com/00D/0oa",
    "someone.else",
]


def an_event(source: str, detail_type: str) -> dict[str, Any]:
    return {
        "version": "0",
        "id": "6a7e8feb-b491-4cf7-a9f1-bf3703467718",
        "detail-type": detail_type,
        "source": source,
        "account": "111122223333",
        "time": "2026-12-06T09:00:00Z",
        "region": "eu-west-1",
        "resources": [],
        "detail": {"opportunity": {"id": "006Dn00000AbCdE"}},
    }


def test_a_renamed_event_type_from_the_crm_is_caught_and_a_routed_one_is_not() -> None:
    # Given the CRM sending an event type no rule takes, and one the onboarding rule takes
    renamed = an_event("crm.salesforce", "Opportunity Renamed")
    won = an_event("crm.salesforce", "Opportunity Closed Won")
    # Then the catch-all takes the first only
    assert matches(CATCH_ALL.pattern, renamed)
    assert not matches(CATCH_ALL.pattern, won)


@pytest.mark.parametrize("source", SOURCES)
def test_the_catch_all_takes_exactly_what_no_other_rule_takes_from_a_known_source(source: str) -> None:
    for detail_type in DETAIL_TYPES:
        # Given an event of this source and detail-type
        event = an_event(source, detail_type)
        # When the rules are matched as EventBridge would
        taken = any(matches(rule.pattern, event) for rule in OTHER_RULES)
        caught = matches(CATCH_ALL.pattern, event)
        # Then a known source's event goes somewhere, exactly once; other sources' events are not the catch-all's
        if source in BUSINESS_EVENT_SOURCES:
            assert caught == (not taken), (source, detail_type)
        else:
            assert not caught, (source, detail_type)


def test_the_routed_detail_types_are_those_the_case_rules_name() -> None:
    named = {t for rule in CATALOG.rules if rule.workflow for t in rule.pattern["detail-type"]}  # type: ignore[attr-defined]
    assert set(ROUTED_DETAIL_TYPES) == named
