"""Recurring work from the catalog, run by EventBridge Scheduler."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping

from aws_cdk import Aws, Duration
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_scheduler as scheduler
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from infra.async_failures import park_failed_invocations
from infra.catalog import Catalog, Schedule
from infra.naming import pascal
from infra.permissions import send_to_queue

RETRY_ATTEMPTS = 3
MAX_EVENT_AGE = Duration.hours(1)
# Scheduler invokes a Lambda target asynchronously: Lambda retries a run that failed (twice, its default) and then
# the run goes to the undelivered-events queue instead of being dropped unseen.
FUNCTION_RETRY_ATTEMPTS = 2
# What EventBridge Scheduler takes for a recurring schedule: checked at synth, so a mistyped setting fails there.
_EXPRESSION = re.compile(r"^(rate\(\d+ (minute|minutes|hour|hours|day|days)\)|cron\(\S+( \S+){5}\))$")


def schedule_expression(scope: Construct, catalog: Catalog, spec: Schedule) -> str:
    """The schedule's expression as deployed: a setting's value from the CDK context if given, else the catalog's."""
    override = {}
    if not isinstance(spec.expression, str):
        override[spec.expression.name] = scope.node.try_get_context(spec.expression.name)
    expression = catalog.schedule_expression(spec, override)
    if not _EXPRESSION.match(expression):
        raise ValueError(
            f"schedule {spec.name}: {expression!r} is not a rate(...) or cron(...) expression of EventBridge Scheduler"
        )
    return expression


class Schedules(Construct):
    """One EventBridge Scheduler schedule per catalog schedule, invoking its function.

    Shaped so because the scheduled jobs (reminders, the billing close, the weekly report, the sanctions list
    refresh) are idempotent sweeps: a missed run is caught up by the next, so a run that cannot be delivered after
    a few retries within the hour is parked in the undelivered-events queue for an operator rather than retried
    into the next run. One role, which may invoke exactly the scheduled functions (no ``:*`` versions) and send to
    that queue. A run delivered but failing is retried by Lambda (asynchronous invocation) and then parked in the
    same queue by the function's own on-failure destination: the jobs are safe to run again (the report skips
    owners already mailed, the refresh writes the manifest under a condition), and none is lost unseen.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        catalog: Catalog,
        functions: Mapping[str, lambda_.IFunction],
        undelivered: sqs.IQueue,
        key: kms.IKey,
    ) -> None:
        super().__init__(scope, construct_id)
        self.schedules: dict[str, scheduler.CfnSchedule] = {}
        if not catalog.schedules:
            return
        role = iam.Role(
            self,
            "Role",
            assumed_by=iam.ServicePrincipal(
                "scheduler.amazonaws.com", conditions={"StringEquals": {"aws:SourceAccount": Aws.ACCOUNT_ID}}
            ),
            description="EventBridge Scheduler: invokes the back office's scheduled functions",
        )
        role.add_to_principal_policy(
            iam.PolicyStatement(
                actions=["lambda:InvokeFunction"],
                resources=list(
                    dict.fromkeys(functions[spec.function].function_arn for spec in catalog.schedules)
                ),
            )
        )
        for statement in send_to_queue(undelivered, key):
            role.add_to_principal_policy(statement)
        for name in dict.fromkeys(spec.function for spec in catalog.schedules):
            park_failed_invocations(
                self,
                f"{pascal(name)}FailedRuns",
                functions[name],
                undelivered=undelivered,
                key=key,
                retry_attempts=FUNCTION_RETRY_ATTEMPTS,
                max_event_age=MAX_EVENT_AGE,
            )
        for spec in catalog.schedules:
            self.schedules[spec.name] = scheduler.CfnSchedule(
                self,
                f"{pascal(spec.name)}Schedule",
                description=spec.description or spec.name,
                schedule_expression=schedule_expression(self, catalog, spec),
                flexible_time_window=scheduler.CfnSchedule.FlexibleTimeWindowProperty(mode="OFF"),
                target=scheduler.CfnSchedule.TargetProperty(
                    arn=functions[spec.function].function_arn,
                    role_arn=role.role_arn,
                    input=json.dumps({"schedule": spec.name}),
                    retry_policy=scheduler.CfnSchedule.RetryPolicyProperty(
                        maximum_retry_attempts=RETRY_ATTEMPTS,
                        maximum_event_age_in_seconds=int(MAX_EVENT_AGE.to_seconds()),
                    ),
                    dead_letter_config=scheduler.CfnSchedule.DeadLetterConfigProperty(
                        arn=undelivered.queue_arn
                    ),
                ),
            )
