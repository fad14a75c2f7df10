"""Alarm messages reach the encrypted notifications topic: the key policy and topic policy, evaluated as AWS would.

An alarm action publishes as ``cloudwatch.amazonaws.com``; SNS then asks KMS for a data key to encrypt the message
with the same identity. Either policy missing the service means the alarm fires and no operator is paged (the
only trace is a line in the alarm's history), which no test of the alarm's own properties would notice.
"""

from __future__ import annotations

from typing import Any

import pytest
from resource_policies import ACCOUNT, OTHER_ACCOUNT, REGION, Principal, ResolvedTemplate, decide, service

from backoffice.local.iam_policy import Decision, Request

pytestmark = pytest.mark.slow

CLOUDWATCH = service("cloudwatch.amazonaws.com")
EVENTBRIDGE = service("events.amazonaws.com")
# What SNS asks KMS for when a service publishes to a topic under a customer-managed key.
ENCRYPT_MESSAGE = ("kms:GenerateDataKey", "kms:Decrypt")


def _alarm_topics(resolved: ResolvedTemplate) -> list[tuple[str, str]]:
    """(alarm, topic) for every alarm action that publishes to a topic of the stack."""
    return [
        (alarm_id, action["Ref"])
        for alarm_id, alarm in resolved.resources.items()
        if alarm["Type"] == "AWS::CloudWatch::Alarm"
        for action in alarm["Properties"].get("AlarmActions", [])
        if isinstance(action, dict)
        and resolved.resources.get(action.get("Ref", ""), {}).get("Type") == "AWS::SNS::Topic"
    ]


def _source(account: str, arn: str) -> dict[str, str]:
    return {"aws:SourceAccount": account, "aws:SourceArn": arn, "aws:SecureTransport": "true"}


def publishing_denials(
    resolved: ResolvedTemplate, principal: Principal, topic_id: str, context: dict[str, str]
) -> list[str]:
    """Why ``principal`` could not publish to the topic with ``context`` (empty: it can)."""
    topic = resolved.resources[topic_id]["Properties"]
    denials = []
    topic_decision = decide(
        resolved.topic_policy(topic_id), principal, Request("sns:Publish", resolved.arn(topic_id), context)
    )
    if topic_decision is not Decision.ALLOWED:
        denials.append(f"topic policy: sns:Publish {topic_decision.value}")
    key = topic.get("KmsMasterKeyId")
    if key is not None:
        key_id = key["Fn::GetAtt"][0]
        for action in ENCRYPT_MESSAGE:
            key_decision = decide(
                resolved.key_policy(key_id), principal, Request(action, resolved.arn(key_id), context)
            )
            if key_decision is not Decision.ALLOWED:
                denials.append(f"key policy: {action} {key_decision.value}")
    return denials


def test_every_alarm_can_publish_its_message_to_its_encrypted_topic(stack_template: dict[str, Any]) -> None:
    # Given the alarms of the stack whose actions publish to a topic (the notifications topic, under the data key)
    resolved = ResolvedTemplate(stack_template)
    alarm_topics = _alarm_topics(resolved)
    assert alarm_topics, "no alarm publishes to a topic: the operators would never be paged"

    # When CloudWatch publishes each alarm's message, acting for that alarm
    denied = {
        f"{alarm} -> {topic}": reasons
        for alarm, topic in alarm_topics
        if (reasons := publishing_denials(resolved, CLOUDWATCH, topic, _source(ACCOUNT, resolved.arn(alarm))))
    }

    # Then the topic policy lets it publish and the key policy lets SNS encrypt the message for it
    assert denied == {}


def test_nothing_else_publishes_to_the_alarm_topic_through_those_grants(
    stack_template: dict[str, Any],
) -> None:
    # Given the topic the alarms publish to
    resolved = ResolvedTemplate(stack_template)
    (_, topic), *_ = _alarm_topics(resolved)
    other_alarm = f"arn:aws:cloudwatch:{REGION}:{OTHER_ACCOUNT}:alarm:theirs"

    # When another account's alarm, an unrelated service, or CloudWatch acting for no alarm tries to publish
    attempts = {
        "another account's alarm": (CLOUDWATCH, _source(OTHER_ACCOUNT, other_alarm)),
        "another account's alarm claiming ours": (CLOUDWATCH, _source(ACCOUNT, other_alarm)),
        "an unrelated service": (
            service("s3.amazonaws.com"),
            _source(ACCOUNT, f"arn:aws:s3:::{ACCOUNT}-bucket"),
        ),
        "CloudWatch for a non-alarm resource": (
            CLOUDWATCH,
            _source(ACCOUNT, f"arn:aws:cloudwatch:{REGION}:{ACCOUNT}:dashboard/ours"),
        ),
        "our alarm over plain HTTP": (
            CLOUDWATCH,
            {**_source(ACCOUNT, resolved.arn(_alarm_topics(resolved)[0][0])), "aws:SecureTransport": "false"},
        ),
    }

    # Then each is refused by the topic policy and, where the topic is encrypted, by the key policy too
    allowed = [
        name
        for name, (who, context) in attempts.items()
        if not publishing_denials(resolved, who, topic, context)
    ]
    assert allowed == []
    assert all(
        any(reason.startswith("key policy") for reason in publishing_denials(resolved, who, topic, context))
        for name, (who, context) in attempts.items()
        if name != "our alarm over plain HTTP"  # refused by the topic policy; the key has no say in transport
    )


def test_eventbridge_rules_of_this_account_can_encrypt_for_an_encrypted_topic(
    stack_template: dict[str, Any],
) -> None:
    # Given the data key (the one every topic is encrypted with)
    resolved = ResolvedTemplate(stack_template)
    (key_id,) = [
        i
        for i, r in resolved.resources.items()
        if r["Type"] == "AWS::KMS::Key" and r["Properties"].get("KeyUsage") != "GENERATE_VERIFY_MAC"
    ]
    key_arn = resolved.arn(key_id)
    ours = f"arn:aws:events:{REGION}:{ACCOUNT}:rule/backoffice/notify-operators"
    theirs = f"arn:aws:events:{REGION}:{OTHER_ACCOUNT}:rule/default/theirs"

    def decision(action: str, context: dict[str, str]) -> Decision:
        return decide(resolved.key_policy(key_id), EVENTBRIDGE, Request(action, key_arn, context))

    # When EventBridge asks for the message's data key, acting for a rule of this account or of another one
    # Then only this account's rules get it
    for action in ENCRYPT_MESSAGE:
        assert decision(action, _source(ACCOUNT, ours)) is Decision.ALLOWED
        assert decision(action, _source(OTHER_ACCOUNT, theirs)) is not Decision.ALLOWED


def test_rules_that_target_a_topic_may_publish_to_it(stack_template: dict[str, Any]) -> None:
    # Given every rule target that is a topic of the stack (none today: the guard is for the first one)
    resolved = ResolvedTemplate(stack_template)
    rule_topics = [
        (rule_id, target["Arn"]["Ref"])
        for rule_id, rule in resolved.resources.items()
        if rule["Type"] == "AWS::Events::Rule"
        for target in rule["Properties"].get("Targets", [])
        if isinstance(target["Arn"], dict)
        and resolved.resources.get(target["Arn"].get("Ref", ""), {}).get("Type") == "AWS::SNS::Topic"
    ]

    # When EventBridge publishes for the rule, Then both policies let it
    denied = {
        f"{rule} -> {topic}": reasons
        for rule, topic in rule_topics
        if (reasons := publishing_denials(resolved, EVENTBRIDGE, topic, _source(ACCOUNT, resolved.arn(rule))))
    }
    assert denied == {}
