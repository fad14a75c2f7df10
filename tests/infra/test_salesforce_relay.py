"""Salesforce Event Relay: a partner event bus forwarding to the business bus, only when the app is told its source.

The relay's construct is synthesized in a small stack of its own (with cdk-nag, a few seconds) rather than in a
second copy of the whole app (half a minute); the whole app is only built, not synthesized, to show the context
flag reaches it.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from aws_cdk import App, Duration, Stack, Validations
from aws_cdk import aws_events as events
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sqs as sqs
from aws_cdk.assertions import Template
from cdk_nag import AwsSolutionsChecks
from cfn_lint_findings import cfn_lint

from infra.compliance import acknowledge
from infra.salesforce_relay import (
    PARTNER_EVENT_SOURCE_CONTEXT,
    SalesforceEventRelay,
    salesforce_partner_event_source,
)

pytestmark = pytest.mark.slow

SOURCE = "aws.partner/salesforce.com/00Dxx0000001gPL/0YLxx0000004CfV"


def _relay_stack(outdir: Path, context: dict[str, Any]) -> tuple[Stack, SalesforceEventRelay | None, str]:
    """A stack with the business bus and the undelivered-events queue as the back-office stack builds them, and the
    relay the context asks for, checked by cdk-nag as ``make synth`` checks the app."""
    app = App(outdir=str(outdir), context=context)
    stack = Stack(app, "RelayStack")
    bus = events.EventBus(stack, "Bus", event_bus_name="backoffice")
    key = kms.Key(stack, "Key", enable_key_rotation=True)
    undelivered = sqs.Queue(
        stack,
        "Undelivered",
        encryption=sqs.QueueEncryption.KMS,
        encryption_master_key=key,
        enforce_ssl=True,
        retention_period=Duration.days(14),
    )
    acknowledge(
        undelivered, "AwsSolutions-SQS3", "Stands in for the stack's undelivered-events queue, a DLQ itself"
    )
    source = salesforce_partner_event_source(stack)
    relay = (
        SalesforceEventRelay(stack, "Relay", event_source_name=source, bus=bus, undelivered=undelivered)
        if source
        else None
    )
    Validations.of(app).add_plugins(AwsSolutionsChecks(app, verbose=True))
    app.synth()  # fails on any unacknowledged cdk-nag error
    return stack, relay, stack.resolve(bus.event_bus_arn)


def test_with_the_context_flag_a_partner_bus_forwards_every_relay_event_to_the_business_bus(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given the partner event source Salesforce created, passed as cdk synth -c would
    stack, relay, business_bus_arn = _relay_stack(
        tmp_path / "cdk.out", {PARTNER_EVENT_SOURCE_CONTEXT: SOURCE}
    )
    assert relay is not None
    template = Template.from_stack(stack).to_json()
    resources = template["Resources"]

    # Then the partner bus is associated with that source (its name must be the source's)
    (partner_id,) = [
        i
        for i, r in resources.items()
        if r["Type"] == "AWS::Events::EventBus" and "EventSourceName" in r["Properties"]
    ]
    assert resources[partner_id]["Properties"]["EventSourceName"] == SOURCE
    assert resources[partner_id]["Properties"]["Name"] == SOURCE

    # And one rule on it forwards every event of the relay to the business bus, through a role, parking failures
    (rule,) = [r["Properties"] for r in resources.values() if r["Type"] == "AWS::Events::Rule"]
    assert rule["EventBusName"] == {"Ref": partner_id}
    assert rule["EventPattern"] == {"source": [SOURCE]}
    (target,) = rule["Targets"]
    assert target["Arn"] == business_bus_arn
    role_id = target["RoleArn"]["Fn::GetAtt"][0]
    queue_id = next(i for i, r in resources.items() if r["Type"] == "AWS::SQS::Queue")
    assert target["DeadLetterConfig"]["Arn"] == {"Fn::GetAtt": [queue_id, "Arn"]}

    # And the role may put events on the business bus and nothing else, assumed by EventBridge for this bus's rules
    statements = [
        s
        for r in resources.values()
        if r["Type"] == "AWS::IAM::Policy" and {"Ref": role_id} in r["Properties"]["Roles"]
        for s in r["Properties"]["PolicyDocument"]["Statement"]
    ]
    assert statements == [{"Action": "events:PutEvents", "Effect": "Allow", "Resource": business_bus_arn}]
    (trust,) = resources[role_id]["Properties"]["AssumeRolePolicyDocument"]["Statement"]
    assert trust["Principal"] == {"Service": "events.amazonaws.com"}
    assert trust["Condition"]["StringEquals"] == {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}
    assert json.dumps(trust["Condition"]["ArnLike"]["aws:SourceArn"]).endswith(f':rule/{SOURCE}/*"]]}}')

    # And the undelivered-events queue accepts the forwarding rule's dead letters
    queue_policy = next(r for r in resources.values() if r["Type"] == "AWS::SQS::QueuePolicy")
    rule_id = next(i for i, r in resources.items() if r["Type"] == "AWS::Events::Rule")
    assert any(
        s.get("Principal") == {"Service": "events.amazonaws.com"}
        and s["Condition"]["ArnEquals"]["aws:SourceArn"] == {"Fn::GetAtt": [rule_id, "Arn"]}
        for s in queue_policy["Properties"]["PolicyDocument"]["Statement"]
    )

    # And cfn-lint finds nothing CloudFormation would refuse in it
    errors, _ = cfn_lint(template, tmp_path, monkeypatch)
    assert errors == []


def test_without_the_context_flag_no_relay_is_built(tmp_path: Path) -> None:
    _, relay, _ = _relay_stack(tmp_path, {})
    assert relay is None


def test_the_stack_without_the_flag_has_no_partner_bus(stack_template: dict[str, Any]) -> None:
    # Given the stack as make synth builds it from cdk.json, which names no partner event source
    resources = stack_template["Resources"]
    # Then there is one bus, the business bus, and nothing of the relay
    buses = [r["Properties"] for r in resources.values() if r["Type"] == "AWS::Events::EventBus"]
    assert len(buses) == 1
    assert "EventSourceName" not in buses[0]
    assert not [i for i in resources if "SalesforceEventRelay" in i]


def test_the_flag_reaches_the_whole_app(tmp_path: Path) -> None:
    from infra.cdk_app import build_app

    # Given the app built with the context `cdk synth -c salesforce_partner_event_source=...` gives it
    # (synthesizing it whole, with cdk-nag, is make synth's job: `make synth CONTEXT=...` passes with the flag)
    _, stack = build_app(outdir=tmp_path, context={PARTNER_EVENT_SOURCE_CONTEXT: SOURCE})
    # Then the business events construct set up the relay for that source
    relay = stack.events.salesforce_relay
    assert relay is not None
    partner_bus = relay.partner_bus.node.default_child
    assert isinstance(partner_bus, events.CfnEventBus)
    assert partner_bus.event_source_name == SOURCE


@pytest.mark.parametrize(
    "value",
    [
        "salesforce",
        "aws.partner/salesforce.com/00Dxx0000001gPL",
        "aws.partner/other.com/00D/0YL",
        "arn:aws:events",
    ],
)
def test_a_source_that_is_not_a_salesforce_partner_event_source_is_refused(value: str) -> None:
    app = App(context={PARTNER_EVENT_SOURCE_CONTEXT: value})
    with pytest.raises(ValueError, match=re.escape("aws.partner/salesforce.com/<org id>/<relay id>")):
        salesforce_partner_event_source(Stack(app, "S"))
