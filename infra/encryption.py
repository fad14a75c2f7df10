"""The customer-managed key that encrypts the product's data at rest."""

from __future__ import annotations

from dataclasses import dataclass

from aws_cdk import ArnFormat, Aws, Duration, RemovalPolicy, Stack, Tags
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from constructs import Construct

from infra.naming import CATALOG_TAG, pascal

# What a service publishing to an SNS topic under this key needs of it, as the SNS Developer Guide lists it for
# AWS services as event sources: GenerateDataKey* for the data key that encrypts the message, and Decrypt.
PUBLISH_TO_ENCRYPTED_TOPIC = ("kms:GenerateDataKey*", "kms:Decrypt")


@dataclass(frozen=True)
class SourcePattern:
    """The ARNs of a kind of resource on whose behalf a service acts, as a pattern over this account and region."""

    service: str
    resource: str
    separator: ArnFormat

    @property
    def principal(self) -> str:
        return f"{self.service}.amazonaws.com"


ALARMS = SourcePattern("cloudwatch", "alarm", ArnFormat.COLON_RESOURCE_NAME)
# A rule on a custom bus is ``rule/<bus>/<rule>``, on the default bus ``rule/<rule>``: one pattern covers both.
RULES = SourcePattern("events", "rule", ArnFormat.SLASH_RESOURCE_NAME)


def source_conditions(stack: Stack, source: SourcePattern) -> dict[str, dict[str, str]]:
    """Conditions that hold only when the service acts for ``source`` resources of this stack's account and region:
    the confused-deputy guard (aws:SourceAccount, aws:SourceArn) AWS recommends for service principals."""
    return {
        "StringEquals": {"aws:SourceAccount": Aws.ACCOUNT_ID},
        "ArnLike": {
            "aws:SourceArn": stack.format_arn(
                service=source.service,
                resource=source.resource,
                resource_name="*",
                arn_format=source.separator,
            )
        },
    }


class DataKey(Construct):
    """One customer-managed KMS key, rotated yearly, for tables, buckets, queues, topics and log groups.

    Why one key and not one per store: the data is one client's engagement records whichever store holds it, so
    rotation, revocation and the CloudTrail record of who decrypted what are one lever. Callers get the key only
    through the store they use (every IAM grant on it carries a ``kms:ViaService`` condition), so sharing the key
    does not widen anyone's access. The key policy adds the service principals that write into encrypted stores
    on their own behalf: CloudWatch Logs (this account's log groups only), EventBridge (dead letters of this
    account's rules, and messages its rules publish to an encrypted topic) and CloudWatch alarms (alarm messages
    to the notifications topic). Without the last two, SNS cannot make the data key for the message, and the
    alarm action fails with only a line in the alarm's history: no page reaches an operator.
    """

    def __init__(self, scope: Construct, construct_id: str) -> None:
        super().__init__(scope, construct_id)
        stack = Stack.of(self)
        self.key = kms.Key(
            self,
            "Key",
            description="Back-office data at rest: audit trail, idempotency records, documents, queues, logs",
            enable_key_rotation=True,
            rotation_period=Duration.days(365),
            # Destroying the key destroys every record it protects, the audit trail included.
            removal_policy=RemovalPolicy.RETAIN,
        )
        self.key.add_to_resource_policy(
            iam.PolicyStatement(
                sid="CloudWatchLogsEncryptsThisAccountsLogGroups",
                principals=[iam.ServicePrincipal(f"logs.{Aws.REGION}.amazonaws.com")],
                actions=[
                    "kms:Encrypt*",
                    "kms:Decrypt*",
                    "kms:ReEncrypt*",
                    "kms:GenerateDataKey*",
                    "kms:Describe*",
                ],
                resources=["*"],
                conditions={
                    "ArnLike": {
                        "kms:EncryptionContext:aws:logs:arn": stack.format_arn(
                            service="logs",
                            resource="log-group",
                            resource_name="*",
                            arn_format=ArnFormat.COLON_RESOURCE_NAME,
                        )
                    }
                },
            )
        )
        self.key.add_to_resource_policy(
            iam.PolicyStatement(
                sid="EventBridgeWritesDeadLettersOfThisAccountsRules",
                principals=[iam.ServicePrincipal("events.amazonaws.com")],
                actions=["kms:Decrypt", "kms:GenerateDataKey"],
                resources=["*"],
                # aws:SourceArn would name the rules, but the rules depend on the queue that depends on this key.
                conditions={"StringEquals": {"aws:SourceAccount": Aws.ACCOUNT_ID}},
            )
        )
        # SNS encrypts a message with a data key it asks KMS for as the publishing service, so the service needs the
        # key (SNS Developer Guide, "Enable compatibility between event sources from AWS services and encrypted
        # topics"). aws:SourceArn names the alarms and rules only by pattern: they depend on the topic, which
        # depends on this key, so their own ARNs would be a dependency cycle. The dead-letter grant above already
        # covers what SNS asks for an EventBridge rule today; the topic grant is stated on its own, as documented,
        # so that narrowing the dead-letter grant cannot silently break a rule that targets a topic.
        for sid, source in (
            ("CloudWatchAlarmsOfThisAccountPublishToEncryptedTopics", ALARMS),
            ("EventBridgeRulesOfThisAccountPublishToEncryptedTopics", RULES),
        ):
            self.key.add_to_resource_policy(
                iam.PolicyStatement(
                    sid=sid,
                    principals=[iam.ServicePrincipal(source.principal)],
                    actions=list(PUBLISH_TO_ENCRYPTED_TOPIC),
                    resources=["*"],
                    conditions=source_conditions(stack, source),
                )
            )


class SigningKeys(Construct):
    """The catalog's KMS HMAC keys (HMAC_256, GENERATE_VERIFY_MAC), one per name: ``audit_signing`` signs every
    audit record.

    Why a KMS key and not a secret: the key material never leaves KMS, so a writer that can sign cannot hand the
    key to anyone, and every ``GenerateMac`` is a CloudTrail event naming the caller. The key policy is KMS's
    default (the account delegates to IAM): only the roles the catalog grants ``audit:append`` hold
    ``kms:GenerateMac`` on it, and no function holds ``kms:VerifyMac`` (the operator's ``audit verify`` uses it).
    HMAC keys cannot be rotated automatically; rotating means a new key, with the old one kept to verify the
    records it signed.
    """

    def __init__(self, scope: Construct, construct_id: str, *, names: tuple[str, ...]) -> None:
        super().__init__(scope, construct_id)
        self.keys: dict[str, kms.IKey] = {}
        for name in names:
            key = kms.Key(
                self,
                pascal(name),
                description=f"Signs records of the back office ({name}): HMAC only, never leaves KMS",
                key_spec=kms.KeySpec.HMAC_256,
                key_usage=kms.KeyUsage.GENERATE_VERIFY_MAC,
                # Destroying the key makes every signature it made unverifiable.
                removal_policy=RemovalPolicy.RETAIN,
            )
            Tags.of(key).add(CATALOG_TAG, name)
            self.keys[name] = key
