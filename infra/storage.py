"""Where the product keeps state: tables, buckets, queues and topics from the catalog."""

from __future__ import annotations

from aws_cdk import Duration, RemovalPolicy, Stack, Tags
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from infra.catalog import Catalog, Table
from infra.compliance import acknowledge
from infra.encryption import ALARMS, source_conditions
from infra.naming import CATALOG_TAG, pascal

# The longest SQS keeps a message: a dead letter waits up to two weeks for someone to look at it.
_DEAD_LETTER_RETENTION = Duration.days(14)
_ACCESS_LOG_RETENTION = Duration.days(365)

# Queues that are themselves the end of the line for failed work, so a dead-letter queue behind them would only
# move the same messages one hop further. Any other queue gets a dead-letter queue (cdk-nag SQS3 insists).
_TERMINAL_QUEUES = {
    "parked_events": (
        "The parked-events queue is where the case starter parks rejected input and dead letters for an "
        "operator; it is the dead-letter destination, not a work queue, so nothing redrives out of it."
    ),
    "undelivered_events": (
        "The undelivered-events queue is the dead-letter queue of every rule target and the on-failure "
        "destination of the case starter; cdk-nag only recognises dead-letter use through SQS redrive and "
        "Lambda DLQ settings, so it cannot see either."
    ),
}


def _retention_days(scope: Construct, catalog: Catalog, bucket: str) -> int | None:
    """The Object Lock retention of a bucket the catalog locks (CDK context overrides the setting), else None."""
    setting = catalog.object_lock.get(bucket)
    if setting is None:
        return None
    return int(scope.node.try_get_context(setting) or catalog.settings[setting])


class Storage(Construct):
    """DynamoDB tables, S3 buckets, SQS queues and SNS topics, one per catalog entry, all under the data key.

    Shaped so because the audit trail is the product's evidence: every table has point-in-time recovery, and a
    table the catalog marks ``retain`` (the audit trail) also has deletion protection and survives the stack.
    Tables bill on demand (case volume follows the sales calendar, not a steady rate). Buckets are versioned (an
    overwritten document stays recoverable) and write server access logs to a separate bucket, which must use
    S3-managed keys because S3 log delivery cannot write SSE-KMS objects. Every queue and topic refuses plain
    HTTP. Besides the catalog's queues there is one more: ``undelivered_events``, where EventBridge and Lambda park
    a business event they could not hand to the case starter, so no won deal is dropped silently. CloudWatch alarms
    of this account may publish to the notifications topic (its policy replaces SNS's default one, which would
    have let them). A bucket the catalog puts under Object Lock (the audit anchors) is locked in compliance mode
    for the retention its setting gives, and a table with a stream (the audit trail) feeds it to its subscriber.
    """

    UNDELIVERED_EVENTS = "undelivered_events"
    # The topic operators' alarms page through (infra/monitoring.py).
    ALARM_TOPIC = "notifications"

    def __init__(self, scope: Construct, construct_id: str, *, catalog: Catalog, key: kms.IKey) -> None:
        super().__init__(scope, construct_id)
        self.tables: dict[str, dynamodb.Table] = {
            spec.name: self._table(spec, key) for spec in catalog.tables
        }
        self.access_logs = self._access_logs_bucket()
        self.buckets: dict[str, s3.Bucket] = {
            name: self._bucket(name, key, retention_days=_retention_days(self, catalog, name))
            for name in catalog.buckets
        }
        self.queues: dict[str, sqs.Queue] = {name: self._queue(name, key) for name in catalog.queues}
        self.undelivered_events = self._queue(self.UNDELIVERED_EVENTS, key, catalog_entry=False)
        self.topics: dict[str, sns.Topic] = {name: self._topic(name, key) for name in catalog.topics}
        if self.ALARM_TOPIC in self.topics:
            self._let_alarms_publish(self.topics[self.ALARM_TOPIC])

    def _table(self, spec: Table, key: kms.IKey) -> dynamodb.Table:
        attribute_type = {"S": dynamodb.AttributeType.STRING, "N": dynamodb.AttributeType.NUMBER}
        table = dynamodb.Table(
            self,
            f"{pascal(spec.name)}Table",
            partition_key=dynamodb.Attribute(name=spec.partition_key, type=dynamodb.AttributeType.STRING),
            sort_key=(
                dynamodb.Attribute(name=spec.sort_key, type=attribute_type[spec.sort_key_type])
                if spec.sort_key
                else None
            ),
            billing_mode=dynamodb.BillingMode.PAY_PER_REQUEST,
            encryption=dynamodb.TableEncryption.CUSTOMER_MANAGED,
            encryption_key=key,
            point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(
                point_in_time_recovery_enabled=True
            ),
            time_to_live_attribute=spec.ttl_attribute,
            stream={"NEW_IMAGE": dynamodb.StreamViewType.NEW_IMAGE}.get(spec.stream_view or ""),
            deletion_protection=spec.retain,
            removal_policy=RemovalPolicy.RETAIN if spec.retain else RemovalPolicy.DESTROY,
        )
        Tags.of(table).add(CATALOG_TAG, spec.name)
        return table

    def _access_logs_bucket(self) -> s3.Bucket:
        return s3.Bucket(
            self,
            "AccessLogsBucket",
            encryption=s3.BucketEncryption.S3_MANAGED,
            enforce_ssl=True,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
            versioned=True,
            lifecycle_rules=[
                s3.LifecycleRule(
                    expiration=_ACCESS_LOG_RETENTION,
                    noncurrent_version_expiration=Duration.days(30),
                )
            ],
            removal_policy=RemovalPolicy.RETAIN,
        )

    def _bucket(self, name: str, key: kms.IKey, *, retention_days: int | None = None) -> s3.Bucket:
        bucket = s3.Bucket(
            self,
            f"{pascal(name)}Bucket",
            encryption=s3.BucketEncryption.KMS,
            encryption_key=key,
            # One data key per bucket and hour instead of one KMS call per object.
            bucket_key_enabled=True,
            enforce_ssl=True,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
            versioned=True,
            server_access_logs_bucket=self.access_logs,
            server_access_logs_prefix=f"{name}/",
            removal_policy=RemovalPolicy.RETAIN,
            # Compliance mode: no principal, the root user included, can delete a locked version or shorten its
            # retention (the audit anchors: evidence must outlive whoever would like it gone).
            object_lock_enabled=retention_days is not None,
            object_lock_default_retention=(
                s3.ObjectLockRetention.compliance(Duration.days(retention_days))
                if retention_days is not None
                else None
            ),
        )
        Tags.of(bucket).add(CATALOG_TAG, name)
        return bucket

    def _queue(self, name: str, key: kms.IKey, *, catalog_entry: bool = True) -> sqs.Queue:
        queue = sqs.Queue(
            self,
            f"{pascal(name)}Queue",
            encryption=sqs.QueueEncryption.KMS,
            encryption_master_key=key,
            data_key_reuse=Duration.hours(1),
            enforce_ssl=True,
            retention_period=_DEAD_LETTER_RETENTION,
        )
        if name in _TERMINAL_QUEUES:
            acknowledge(queue, "AwsSolutions-SQS3", _TERMINAL_QUEUES[name])
        if catalog_entry:
            Tags.of(queue).add(CATALOG_TAG, name)
        return queue

    def _topic(self, name: str, key: kms.IKey) -> sns.Topic:
        topic = sns.Topic(
            self,
            f"{pascal(name)}Topic",
            master_key=key,
            enforce_ssl=True,
        )
        Tags.of(topic).add(CATALOG_TAG, name)
        return topic

    def _let_alarms_publish(self, topic: sns.Topic) -> None:
        # An alarm action publishes as cloudwatch.amazonaws.com, not as a role of the account: only the topic
        # policy can let it in. Scoped to this account's alarms (the confused-deputy guard), by pattern because the
        # alarms are built after the topics and change with the monitoring; the key policy lets the same alarms
        # encrypt the message (infra/encryption.py).
        topic.add_to_resource_policy(
            iam.PolicyStatement(
                sid="CloudWatchAlarmsOfThisAccountPublish",
                principals=[iam.ServicePrincipal(ALARMS.principal)],
                actions=["sns:Publish"],
                resources=[topic.topic_arn],
                conditions=source_conditions(Stack.of(self), ALARMS),
            )
        )
