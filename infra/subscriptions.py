"""Catalog functions subscribed to catalog topics (Textract's completion notices to ``textract_completed``)."""

from __future__ import annotations

from collections.abc import Mapping

from aws_cdk import Duration
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from infra.async_failures import park_failed_invocations
from infra.catalog import Catalog
from infra.naming import pascal

# SNS invokes a subscribed function asynchronously. A failed invocation (a notice for a job whose token is not
# stored yet, a throttled read of the result) is retried by Lambda twice over up to six hours, then parked.
RETRY_ATTEMPTS = 2
MAX_EVENT_AGE = Duration.hours(6)


class TopicSubscriptions(Construct):
    """One SNS subscription per catalog subscription, delivering each message to its function.

    Shaped so because a message such as Textract's completion notice is the only thing that resumes a waiting
    case: a notice the function cannot handle after Lambda's retries goes to the undelivered-events queue (its
    alarm pages the operators) instead of vanishing. The function's own role sends it there, with the KMS use
    SQS makes for it, and nothing more.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        catalog: Catalog,
        topics: Mapping[str, sns.ITopic],
        functions: Mapping[str, lambda_.Function],
        undelivered: sqs.IQueue,
        key: kms.IKey,
    ) -> None:
        super().__init__(scope, construct_id)
        for spec in catalog.subscriptions:
            topics[spec.topic].add_subscription(subscriptions.LambdaSubscription(functions[spec.function]))
        for name in dict.fromkeys(spec.function for spec in catalog.subscriptions):
            park_failed_invocations(
                self,
                f"{pascal(name)}Failures",
                functions[name],
                undelivered=undelivered,
                key=key,
                retry_attempts=RETRY_ATTEMPTS,
                max_event_age=MAX_EVENT_AGE,
            )
