"""The SES side of the product's mail: the sender's identity and the configuration set whose events reach it back.

Plain SES sending tells nothing about a mail after the call returns: a bounced approval mail would leave the case
waiting for days for someone who never got the link. So every mail is sent with one configuration set whose event
destination publishes Bounce, Complaint and DeliveryDelay records to the ``mail_events`` topic, to which
``handle_mail_event`` is subscribed (``backoffice.undelivered_mail``).

Why a topic of its own, not ``notifications``: SES publishes raw JSON records (headers, addresses, SMTP replies) for
a program, while ``notifications`` reaches people (e-mail and SMS subscribers, the operators' alarms). The
handler tells the operators on ``notifications`` in one readable line instead ("the mail to X bounced ...;
legal review goes to the general counsel now").

What AWS requires, each stated here: SES publishes to the topic as ``ses.amazonaws.com`` for this configuration set
only (the topic policy CDK's event destination adds, with aws:SourceAccount and aws:SourceArn); the topic is
encrypted with the data key, so the key policy lets SES make the message's data key, for the same configuration
set only (KMS: ``kms:GenerateDataKey*``, ``kms:Decrypt``); and a function sending with the configuration set needs
``ses:SendRawEmail`` on its ARN as well as on the identity's (``infra/permissions.py``, ``mail:send``).

The identity is the sender's address (SES mails it a verification link) or its domain (Easy DKIM: the three CNAME
records in the stack's outputs verify the domain and sign every mail), as the firm configuration's
``sender_identity`` says, or none when it says ``existing`` (an identity the account already has: verified by hand
before, or another stack's, which CloudFormation would refuse to create twice). A new account is in the SES sandbox: it mails verified addresses only, until AWS grants
production access (README, "Operating the deployed system").
"""

from __future__ import annotations

from aws_cdk import CfnOutput, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_ses as ses
from aws_cdk import aws_sns as sns
from constructs import Construct

from infra.encryption import PUBLISH_TO_ENCRYPTED_TOPIC

SES_PRINCIPAL = "ses.amazonaws.com"
# What the product acts on: the rest (Send, Delivery, Open, Click) would only cost SNS deliveries.
MAIL_EVENTS = (
    ses.EmailSendingEvent.BOUNCE,
    ses.EmailSendingEvent.COMPLAINT,
    ses.EmailSendingEvent.DELIVERY_DELAY,
)
# existing: the account already has the identity (verified by hand before this stack managed it, or by another
# stack): CloudFormation would refuse to create it again, so the stack leaves it alone.
SENDER_IDENTITIES = ("address", "domain", "existing")


def configuration_set_arn(stack: Stack, name: str) -> str:
    return stack.format_arn(service="ses", resource="configuration-set", resource_name=name)


class Mail(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        sender: str,
        sender_identity: str,
        configuration_set_name: str,
        events_topic: sns.ITopic,
        key: kms.IKey,
    ) -> None:
        super().__init__(scope, construct_id)
        if sender_identity not in SENDER_IDENTITIES:
            raise ValueError(
                f"sender_identity={sender_identity!r}: use one of {', '.join(SENDER_IDENTITIES)}"
            )
        stack = Stack.of(self)
        domain = sender.rsplit("@", 1)[-1]
        self.identity = (
            None
            if sender_identity == "existing"
            else ses.EmailIdentity(
                self,
                "SenderIdentity",
                identity=ses.Identity.domain(domain)
                if sender_identity == "domain"
                else ses.Identity.email(sender),
            )
        )
        self.configuration_set = ses.ConfigurationSet(
            self, "ConfigurationSet", configuration_set_name=configuration_set_name
        )
        # CDK's event destination adds the topic policy statement letting SES publish for this configuration set.
        self.configuration_set.add_event_destination(
            "MailEvents",
            destination=ses.EventDestination.sns_topic(events_topic),
            events=list(MAIL_EVENTS),
        )
        source = configuration_set_arn(stack, configuration_set_name)
        key.add_to_resource_policy(
            iam.PolicyStatement(
                sid="SesPublishesMailEventsToEncryptedTopic",
                principals=[iam.ServicePrincipal(SES_PRINCIPAL)],
                actions=list(PUBLISH_TO_ENCRYPTED_TOPIC),
                resources=["*"],
                conditions={"StringEquals": {"aws:SourceAccount": stack.account, "aws:SourceArn": source}},
            )
        )
        if sender_identity == "domain" and self.identity is not None:
            # The records the firm publishes in its DNS (docs/deploy.md): SES verifies the domain by them.
            for number, record in enumerate(self.identity.dkim_records, start=1):
                CfnOutput(stack, f"SenderDkimRecord{number}Name", value=record.name)
                CfnOutput(stack, f"SenderDkimRecord{number}Value", value=record.value)
