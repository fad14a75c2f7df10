"""Where an asynchronous invocation that keeps failing goes: the undelivered-events queue, not nowhere.

EventBridge rules, SNS subscriptions and EventBridge Scheduler invoke their Lambda targets asynchronously: Lambda
retries a failed invocation and then drops it, unless the function names an on-failure destination. Each such
function of the product parks its last failure (input, error) in the undelivered-events queue, whose alarm pages
the operators; its own role sends it there, with the KMS use SQS makes for it, and nothing more.
"""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from infra.permissions import send_to_queue


def park_failed_invocations(
    scope: Construct,
    construct_id: str,
    function: lambda_.IFunction,
    *,
    undelivered: sqs.IQueue,
    key: kms.IKey,
    retry_attempts: int,
    max_event_age: Duration,
) -> lambda_.CfnEventInvokeConfig:
    """The function's asynchronous-invocation settings: ``retry_attempts`` within ``max_event_age``, then parked."""
    config = lambda_.CfnEventInvokeConfig(
        scope,
        construct_id,
        function_name=function.function_name,
        qualifier="$LATEST",
        maximum_retry_attempts=retry_attempts,
        maximum_event_age_in_seconds=int(max_event_age.to_seconds()),
        destination_config=lambda_.CfnEventInvokeConfig.DestinationConfigProperty(
            on_failure=lambda_.CfnEventInvokeConfig.OnFailureProperty(destination=undelivered.queue_arn)
        ),
    )
    if function.role is None:
        raise ValueError(f"{construct_id}: the function has no role to park its failed invocations with")
    for statement in send_to_queue(undelivered, key):
        function.role.add_to_principal_policy(statement)
    return config
