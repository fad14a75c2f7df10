"""The first real path: an event on the local bus -> rule -> start_case -> onboarding state machine -> handlers ->
audit records -> an outcome event back on the bus. Real ASL on moto's engine, real handlers."""

from __future__ import annotations

from typing import Any

import pytest

from backoffice.audit import AuditTrail
from backoffice.local.runtime import LocalRuntime
from backoffice.local.samples import closed_won_detail
from infra.catalog import Ref

pytestmark = pytest.mark.usefixtures("runtime")


def audit_of(rt: LocalRuntime) -> AuditTrail:
    return AuditTrail(rt.resolve(Ref("table_name", "audit")))


def outcome_events(rt: LocalRuntime) -> list[dict[str, Any]]:
    return [e for e in rt.bus_events if e["source"] == "backoffice.workflows"]


def test_a_closed_won_deal_starts_onboarding_and_announces_it(runtime: LocalRuntime) -> None:
    # Given a closed-won opportunity from the CRM
    deal = closed_won_detail(1)
    # When it is put on the bus
    runtime.put_event("Opportunity Closed Won", deal, source="crm.salesforce")
    runtime.wait_until_idle()
    # Then one execution, named from the opportunity id, succeeded
    [execution] = runtime.executions()
    assert execution.name == "onboard-006Dn00000000001XYZ"
    assert execution.status == "SUCCEEDED"
    # And the audit trail shows each step, by whom, with an intact chain
    records = audit_of(runtime).records(execution.name)
    assert [(r.step, r.action, r.outcome) for r in records] == [
        ("start case", "case.started", "started"),
        ("validate closed-won opportunity", "opportunity.validated", "passed"),
        ("publish outcome", "outcome.published", "Onboarding Started"),
    ]
    assert [str(r.actor) for r in records] == [
        "system:start_case",
        "system:validate_opportunity",
        "system:publish_outcome",
    ]
    assert all(r.execution_arn == execution.arn for r in records)
    assert all(r.input_digest and r.input_digest.startswith("sha256:") for r in records)
    assert audit_of(runtime).verify().ok
    # And the outcome event is back on the bus for the next system
    [outcome] = outcome_events(runtime)
    assert outcome["detail-type"] == "Onboarding Started"
    assert outcome["detail"]["case_id"] == execution.name
    assert outcome["detail"]["data"]["opportunity"]["amount"] == deal["opportunity"]["amount"]
    assert outcome["resources"] == [execution.arn]


def test_the_same_event_delivered_twice_starts_one_case(runtime: LocalRuntime) -> None:
    # Given a deal already delivered once
    deal = closed_won_detail(2)
    runtime.put_event("Opportunity Closed Won", deal)
    # When the CRM delivers it again (at-least-once delivery, a new event id)
    runtime.put_event("Opportunity Closed Won", deal)
    runtime.wait_until_idle()
    # Then there is one execution, and the second delivery is recorded as an ignored duplicate
    assert [e.name for e in runtime.executions()] == ["onboard-006Dn00000000002XYZ"]
    assert [d.status for d in runtime.router.deliveries] == ["started", "duplicate"]
    actions = [r.action for r in audit_of(runtime).records("onboard-006Dn00000000002XYZ")]
    assert actions.count("case.started") == 1
    assert actions.count("event.duplicate") == 1


def test_an_invalid_event_is_rejected_audited_and_parked_and_the_next_one_still_runs(
    runtime: LocalRuntime,
) -> None:
    # Given an event whose currency and amount are invalid
    broken = closed_won_detail(3)
    broken["opportunity"]["currency"] = "usd"
    broken["opportunity"]["amount"] = "-5"
    # When it is put on the bus, followed by a good one
    bad_id = runtime.put_event("Opportunity Closed Won", broken)
    runtime.put_event("Opportunity Closed Won", closed_won_detail(4))
    runtime.wait_until_idle()
    # Then the bad one is rejected with readable reasons in the audit trail
    [record] = audit_of(runtime).records(f"rejected-{bad_id}")
    assert (record.action, record.outcome) == ("event.rejected", "rejected")
    assert any(r.startswith("detail.opportunity.currency:") for r in record.reasons)
    assert any(r.startswith("detail.opportunity.amount:") for r in record.reasons)
    # And parked in the dead-letter queue with the event, so an operator can fix and re-send it
    [parked] = runtime.parked_messages()
    assert parked["event"]["id"] == bad_id
    assert parked["reasons"] == list(record.reasons)
    # And the good event that came after it still became a case
    assert [(e.name, e.status) for e in runtime.executions()] == [
        ("onboard-006Dn00000000004XYZ", "SUCCEEDED")
    ]


def test_an_event_of_an_unknown_shape_for_a_rule_is_rejected_not_crashed_on(runtime: LocalRuntime) -> None:
    # Given an event that matches the rule but whose detail is not an opportunity at all
    event_id = runtime.put_event("Opportunity Closed Won", {"hello": "world"})
    runtime.wait_until_idle()
    # Then no execution starts, the rejection is audited and the event parked
    assert runtime.executions() == []
    [record] = audit_of(runtime).records(f"rejected-{event_id}")
    assert record.outcome == "rejected"
    assert len(runtime.parked_messages()) == 1


def test_an_event_no_rule_matches_starts_nothing(runtime: LocalRuntime) -> None:
    # Given an event type no workflow listens to
    runtime.put_event("Opportunity Updated", {"opportunity": {"id": "006X"}})
    # Then nothing is started and nothing is parked
    assert runtime.router.deliveries == []
    assert runtime.executions() == []
    assert runtime.parked_messages() == []


def test_a_lost_deal_is_blocked_with_its_reason(runtime: LocalRuntime) -> None:
    # Given an opportunity that is closed but not won
    runtime.put_event("Opportunity Closed Won", closed_won_detail(5, won=False))
    runtime.wait_until_idle()
    # Then the case ends blocked (the execution fails with a named error)
    [execution] = runtime.executions()
    assert (execution.status, execution.error) == ("FAILED", "OnboardingBlocked")
    # And the blocking reason is in the audit trail and on the Onboarding Blocked event
    records = audit_of(runtime).records(execution.name)
    assert [(r.action, r.outcome) for r in records][-2:] == [
        ("opportunity.validated", "blocked"),
        ("outcome.published", "Onboarding Blocked"),
    ]
    [outcome] = outcome_events(runtime)
    assert outcome["detail-type"] == "Onboarding Blocked"
    assert "is not closed-won" in outcome["detail"]["reasons"][0]
    assert outcome["detail"]["reasons"][0].startswith("OpportunityNotOnboardable:")


def test_editing_an_audit_record_by_hand_is_detected(runtime: LocalRuntime) -> None:
    # Given a finished case
    runtime.put_event("Opportunity Closed Won", closed_won_detail(6))
    runtime.wait_until_idle()
    case_id = runtime.executions()[0].name
    # When someone with table access changes the outcome of record 2
    runtime.client("dynamodb").update_item(
        TableName=runtime.resolve(Ref("table_name", "audit")),
        Key={"case_id": {"S": case_id}, "seq": {"N": "2"}},
        UpdateExpression="SET outcome = :o",
        ExpressionAttributeValues={":o": {"S": "blocked"}},
    )
    # Then verification names that record
    report = audit_of(runtime).verify()
    assert [(p.case_id, p.seq, p.kind) for p in report.problems] == [(case_id, 2, "changed")]
