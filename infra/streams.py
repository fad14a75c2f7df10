"""Catalog functions fed a catalog table's DynamoDB stream (the audit trail's stream to its anchor function)."""

from __future__ import annotations

from collections.abc import Mapping

from aws_cdk import Aws
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from infra.catalog import Catalog
from infra.naming import pascal
from infra.permissions import send_to_queue

# A batch the function keeps failing is halved until the bad record is alone, retried, then its description goes to
# the undelivered-events queue (whose alarm pages the operators): a stream keeps records 24 hours, and a record
# that never gets its anchor is reported by ``backoffice audit verify`` as appended outside the stream.
RETRY_ATTEMPTS = 10
BATCH_SIZE = 100


class TableStreams(Construct):
    """One event source mapping per catalog stream subscription, with the role statements it needs.

    Shaped so because the stream is how anchoring stays outside the writers' hands: the writers only put records;
    Lambda reads the stream with the subscriber's role. The statements are spelled out instead of CDK's
    ``DynamoEventSource`` (whose grants bring ``kms:ReEncrypt*`` for the failure queue): stream reads on this
    table's stream only, ``kms:Decrypt`` through DynamoDB for its encrypted records, and SendMessage on the
    undelivered-events queue for the description of a batch that could not be anchored.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        catalog: Catalog,
        tables: Mapping[str, dynamodb.Table],
        functions: Mapping[str, lambda_.Function],
        undelivered: sqs.IQueue,
        key: kms.IKey,
    ) -> None:
        super().__init__(scope, construct_id)
        for spec in catalog.stream_subscriptions:
            table, function = tables[spec.table], functions[spec.function]
            stream_arn = table.table_stream_arn
            if stream_arn is None or function.role is None:
                raise ValueError(f"{spec.table} has no stream or {spec.function} no role")
            role = function.role
            role.add_to_principal_policy(
                iam.PolicyStatement(
                    actions=[
                        "dynamodb:DescribeStream",
                        "dynamodb:GetRecords",
                        "dynamodb:GetShardIterator",
                        "dynamodb:ListStreams",
                    ],
                    resources=[stream_arn],
                )
            )
            role.add_to_principal_policy(
                iam.PolicyStatement(
                    actions=["kms:Decrypt"],
                    resources=[key.key_arn],
                    conditions={"StringEquals": {"kms:ViaService": f"dynamodb.{Aws.REGION}.amazonaws.com"}},
                )
            )
            for statement in send_to_queue(undelivered, key):
                role.add_to_principal_policy(statement)
            mapping = lambda_.CfnEventSourceMapping(
                self,
                f"{pascal(spec.table)}To{pascal(spec.function)}",
                function_name=function.function_name,
                event_source_arn=stream_arn,
                starting_position="TRIM_HORIZON",
                batch_size=BATCH_SIZE,
                bisect_batch_on_function_error=True,
                maximum_retry_attempts=RETRY_ATTEMPTS,
                destination_config=lambda_.CfnEventSourceMapping.DestinationConfigProperty(
                    on_failure=lambda_.CfnEventSourceMapping.OnFailureProperty(
                        destination=undelivered.queue_arn
                    )
                ),
            )
            # Lambda checks the role's stream permissions when the mapping is created.
            mapping.node.add_dependency(role)
