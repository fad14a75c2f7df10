"""The customer-managed key that encrypts the product's data at rest."""

from __future__ import annotations

from aws_cdk import ArnFormat, Aws, Duration, RemovalPolicy, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from constructs import Construct


class DataKey(Construct):
    """One customer-managed KMS key, rotated yearly, for tables, buckets, queues, topics and log groups.

    Why one key and not one per store: the data is one client's engagement records whichever store holds it, so
    rotation, revocation and the CloudTrail record of who decrypted what are one lever. Callers get the key only
    through the store they use (every IAM grant on it carries a ``kms:ViaService`` condition), so sharing the key
    does not widen anyone's access. The key policy adds the two service principals that write into encrypted
    stores on their own behalf: CloudWatch Logs (this account's log groups only) and EventBridge (dead letters of
    this account's rules).
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
