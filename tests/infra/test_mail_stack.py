"""SES for real: the sender's identity, the configuration set whose events reach ``handle_mail_event``, and the
policies AWS checks on the way (topic policy, data key policy, the senders' grants on the configuration set).

A configuration set whose event destination cannot publish fails silently in AWS (SES drops the event): no bounce
would ever reach a case. So the policies are evaluated here as AWS would, not only looked at.
"""

from __future__ import annotations

from typing import Any

import pytest
from resource_policies import ACCOUNT, OTHER_ACCOUNT, REGION, ResolvedTemplate, service
from synthesized_stack import Synthesized
from test_alarm_notifications import publishing_denials

from infra.catalog import CATALOG

pytestmark = pytest.mark.slow

SES = service("ses.amazonaws.com")
CONFIGURATION_SET = CATALOG.settings["mail_configuration_set"]


def _configuration_set_arn(account: str = ACCOUNT, name: str = CONFIGURATION_SET) -> str:
    return f"arn:aws:ses:{REGION}:{account}:configuration-set/{name}"


def _source(account: str, arn: str) -> dict[str, str]:
    return {"aws:SourceAccount": account, "aws:SourceArn": arn, "aws:SecureTransport": "true"}


def _one(template: dict[str, Any], kind: str) -> tuple[str, dict[str, Any]]:
    (found,) = [(i, r) for i, r in template["Resources"].items() if r["Type"] == kind]
    return found


def test_the_sender_identity_and_the_configuration_set_exist(stack_template: dict[str, Any]) -> None:
    # Given the synthesized stack (the sample firm: an address identity)
    _, identity = _one(stack_template, "AWS::SES::EmailIdentity")
    _, configuration_set = _one(stack_template, "AWS::SES::ConfigurationSet")
    # Then SES knows the sender, and the configuration set has the name every function sends with
    assert identity["Properties"]["EmailIdentity"] == CATALOG.settings["approvals_sender"]
    assert configuration_set["Properties"]["Name"] == CONFIGURATION_SET


def test_bounces_complaints_and_delays_go_to_the_mail_events_topic(stack_template: dict[str, Any]) -> None:
    # Given the configuration set's event destination
    resolved = ResolvedTemplate(stack_template)
    _, destination = _one(stack_template, "AWS::SES::ConfigurationSetEventDestination")
    event_destination = destination["Properties"]["EventDestination"]
    topic_id = event_destination["SnsDestination"]["TopicARN"]["Ref"]
    # Then it is enabled for the events the product acts on, to the mail_events topic (not the operators' one)
    assert event_destination["Enabled"] is True
    assert set(event_destination["MatchingEventTypes"]) == {"bounce", "complaint", "deliveryDelay"}
    tags = {t["Key"]: t["Value"] for t in resolved.resources[topic_id]["Properties"].get("Tags", [])}
    assert tags.get("backoffice:catalog-entry") == "mail_events"


def test_ses_can_publish_to_the_encrypted_topic_for_this_configuration_set_only(
    stack_template: dict[str, Any],
) -> None:
    # Given the mail_events topic, encrypted with the data key
    resolved = ResolvedTemplate(stack_template)
    _, destination = _one(stack_template, "AWS::SES::ConfigurationSetEventDestination")
    topic_id = destination["Properties"]["EventDestination"]["SnsDestination"]["TopicARN"]["Ref"]
    assert "KmsMasterKeyId" in resolved.resources[topic_id]["Properties"]

    # When SES publishes an event of the product's configuration set
    # Then the topic policy lets it publish and the key policy lets SNS encrypt the message for it
    assert publishing_denials(resolved, SES, topic_id, _source(ACCOUNT, _configuration_set_arn())) == []

    # And SES acting for another configuration set, or for another account, is refused by both policies
    for account, name in ((ACCOUNT, "someone-elses"), (OTHER_ACCOUNT, CONFIGURATION_SET)):
        denials = publishing_denials(
            resolved, SES, topic_id, _source(account, _configuration_set_arn(account, name))
        )
        assert any(d.startswith("topic policy") for d in denials)
        assert any(d.startswith("key policy") for d in denials)


@pytest.mark.parametrize(
    "spec", [f for f in CATALOG.functions if "mail:send" in f.grants], ids=lambda function: function.name
)
def test_mail_senders_may_send_with_the_configuration_set(synthesized: Synthesized, spec: Any) -> None:
    # Given a function holding mail:send, and the environment it sends with
    _, function = synthesized.catalog_entry("AWS::Lambda::Function", spec.name)
    assert function["Properties"]["Environment"]["Variables"]["MAIL_CONFIGURATION_SET"] == CONFIGURATION_SET
    role_id = function["Properties"]["Role"]["Fn::GetAtt"][0]
    resolved = ResolvedTemplate(synthesized.template)
    statements = [
        resolved.value(s)
        for policy in synthesized.of_type("AWS::IAM::Policy").values()
        if {"Ref": role_id} in policy["Properties"]["Roles"]
        for s in policy["Properties"]["PolicyDocument"]["Statement"]
        if "ses:SendRawEmail" in (s["Action"] if isinstance(s["Action"], list) else [s["Action"]])
    ]
    # Then SendRawEmail is granted on the configuration set's ARN as well as on the sender's identity
    resources = {
        r for s in statements for r in (s["Resource"] if isinstance(s["Resource"], list) else [s["Resource"]])
    }
    assert _configuration_set_arn() in resources
    assert f"arn:aws:ses:{REGION}:{ACCOUNT}:identity/{CATALOG.settings['approvals_sender']}" in resources


def test_the_mail_events_handler_is_subscribed_and_parks_what_it_cannot_handle(
    stack_template: dict[str, Any],
) -> None:
    # Given the subscriptions of the stack
    resolved = ResolvedTemplate(stack_template)
    _, destination = _one(stack_template, "AWS::SES::ConfigurationSetEventDestination")
    topic_id = destination["Properties"]["EventDestination"]["SnsDestination"]["TopicARN"]["Ref"]
    subscriptions = [
        r["Properties"]
        for r in resolved.resources.values()
        if r["Type"] == "AWS::SNS::Subscription" and r["Properties"]["TopicArn"] == {"Ref": topic_id}
    ]
    # Then the topic delivers to one Lambda function: handle_mail_event, with retries and a failure destination
    assert [s["Protocol"] for s in subscriptions] == ["lambda"]
    function_id = subscriptions[0]["Endpoint"]["Fn::GetAtt"][0]
    tags = {t["Key"]: t["Value"] for t in resolved.resources[function_id]["Properties"]["Tags"]}
    assert tags["backoffice:catalog-entry"] == "handle_mail_event"
    configs = [
        r["Properties"]
        for r in resolved.resources.values()
        if r["Type"] == "AWS::Lambda::EventInvokeConfig"
        and r["Properties"]["FunctionName"] == {"Ref": function_id}
    ]
    assert len(configs) == 1 and configs[0]["DestinationConfig"]["OnFailure"]["Destination"]


def _mail_alone(sender_identity: str) -> dict[str, Any]:
    """The Mail construct in a stack of its own (a topic and a key beside it): a variant of the sender's identity
    without synthesizing the whole product again."""
    import aws_cdk as cdk
    from aws_cdk import aws_kms as kms
    from aws_cdk import aws_sns as sns

    from infra.mail import Mail

    app = cdk.App()
    stack = cdk.Stack(app, "MailAlone", env=cdk.Environment(account=ACCOUNT, region=REGION))
    key = kms.Key(stack, "Key")
    Mail(
        stack,
        "Mail",
        sender=CATALOG.settings["approvals_sender"],
        sender_identity=sender_identity,
        configuration_set_name=CONFIGURATION_SET,
        events_topic=sns.Topic(stack, "MailEvents", master_key=key),
        key=key,
    )
    template: dict[str, Any] = app.synth().get_stack_by_name(stack.stack_name).template
    return template


def test_a_domain_identity_signs_with_dkim_and_outputs_its_dns_records() -> None:
    # Given a firm that verifies its whole domain (sender_identity: domain)
    # When the mail resources are synthesized
    template = _mail_alone("domain")
    # Then the identity is the sender's domain, signed with Easy DKIM, and the three CNAME records are outputs
    _, identity = _one(template, "AWS::SES::EmailIdentity")
    assert identity["Properties"]["EmailIdentity"] == CATALOG.settings["approvals_sender"].rsplit("@", 1)[1]
    assert identity["Properties"].get("DkimAttributes", {}).get("SigningEnabled", True) is True
    outputs = set(template["Outputs"])
    assert {f"SenderDkimRecord{n}{part}" for n in (1, 2, 3) for part in ("Name", "Value")} <= outputs


def test_an_identity_the_account_already_has_is_left_alone() -> None:
    # Given a firm whose sender the account verified before this stack (CloudFormation would refuse a second one)
    # When the mail resources are synthesized
    template = _mail_alone("existing")
    # Then there is no identity, and still the configuration set every mail is sent with
    assert not [r for r in template["Resources"].values() if r["Type"] == "AWS::SES::EmailIdentity"]
    _one(template, "AWS::SES::ConfigurationSet")
