"""Lambda: invoicing step 'Open billing period': the period's projects, lines and workers, read once into S3."""

from __future__ import annotations

import os
from typing import Any

from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.utilities.typing import LambdaContext

from backoffice import aws
from backoffice.audit import Actor
from backoffice.connectors import wiring
from backoffice.invoicing.step_inputs import OpenBillingPeriodInput
from backoffice.invoicing.steps import BillingFiles, billing_policy, open_period
from backoffice.models import BillingPeriodClosed, parse_event_as
from backoffice.steps import Step, settings
from backoffice.time_expense.decisions import DecisionStore

logger = Logger()


def weekly_decisions() -> DecisionStore:
    """The weekly time and expense review's decisions (table ``time_expense``, read only here)."""
    return DecisionStore(os.environ["TIME_EXPENSE_TABLE_NAME"], aws.client("dynamodb"))


tracer = Tracer()
STEP = Step("invoicing", "open billing period", Actor.system("open_billing_period"))
INPUT_MODEL = OpenBillingPeriodInput


@logger.inject_lambda_context(log_event=False)
@tracer.capture_lambda_handler
@STEP.calls_systems
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    payload = INPUT_MODEL.model_validate(event)
    _, request = parse_event_as(payload.event, BillingPeriodClosed)
    files = BillingFiles(aws.client("s3"), settings().documents_bucket_name, payload.case_id)
    try:
        opened = open_period(
            request, wiring.psa(), wiring.hris(), files, billing_policy(os.environ), weekly_decisions()
        )
    except Exception as error:
        STEP.failed(event, error, "billing_period.opened")
        raise
    STEP.record(
        event,
        action="billing_period.opened",
        outcome="opened",
        reasons=[
            f"{opened['projects']} project(s), {opened['time_lines']} time line(s) and "
            f"{opened['expense_lines']} expense(s) from {request.period_start} to {request.period_end}",
            *opened["exceptions"],
            f"{opened['settled_in_week']['lines']} line(s) approved in the weekly review as they are: billed, "
            "not reviewed again",
        ],
        data=opened,
    )
    logger.info("billing period opened", extra={"case_id": payload.case_id, "projects": opened["projects"]})
    return opened
