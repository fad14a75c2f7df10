"""Lambda: invoicing step 'Summarize billing run': invoices posted and blocked, exceptions by reason."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.utilities.typing import LambdaContext
from botocore.exceptions import ClientError

from backoffice import aws
from backoffice.audit import Actor
from backoffice.invoicing.step_inputs import MapRunResults, SummarizeBillingRunInput
from backoffice.invoicing.steps import read_project_results, summarize
from backoffice.models import BillingPeriodClosed, DetailType, parse_event_as
from backoffice.schedule import EventRefused, put_event
from backoffice.settings import AuditSettings, from_env
from backoffice.steps import Step

logger = Logger()
tracer = Tracer()
STEP = Step("invoicing", "summarize billing run", Actor.system("summarize_billing_run"))
INPUT_MODEL = SummarizeBillingRunInput
SOURCE = "backoffice.invoicing"


@logger.inject_lambda_context(log_event=False)
@tracer.capture_lambda_handler
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    payload = INPUT_MODEL.model_validate(event)
    results = (
        read_project_results(aws.client("s3"), payload.results.model_dump())
        if isinstance(payload.results, MapRunResults)
        else payload.results or []
    )
    summary = summarize(results, payload.opened or {})
    STEP.record(
        {"case_id": payload.case_id, "execution_arn": payload.execution_arn},
        action="billing_run.completed",
        outcome="completed",
        reasons=[
            f"{summary['invoices_posted']} invoice(s) posted, {summary['invoices_blocked']} blocked, "
            f"{summary['nothing_to_bill']} project(s) with nothing to bill, "
            f"{summary['already_invoiced']} already invoiced",
            *(f"{rule}: {count}" for rule, count in summary["exceptions_by_rule"].items()),
            f"{summary['settled_in_week']['flagged']} exception(s) already settled in the weekly review before the "
            f"close ({summary['settled_in_week']['lines']} line(s) approved in the week, not reviewed again)",
        ],
        output=summary,
        data=summary,
    )
    announced = announce_completion(payload.case_id, payload.event)
    logger.info(
        "billing run summarized", extra={"case_id": payload.case_id, "posted": summary["invoices_posted"]}
    )
    return {**summary, "announced": announced}


def announce_completion(case_id: str, event: dict[str, Any] | None) -> str | None:
    """``Billing Run Completed`` on the bus: the period's reconciliation starts from it. A run started by hand
    with no event announces nothing."""
    if not event:
        return None
    _, closed = parse_event_as(event, BillingPeriodClosed)
    detail = {
        "period_start": closed.period_start.isoformat(),
        "period_end": closed.period_end.isoformat(),
        "billing_case_id": case_id,
        **({"rerun": closed.rerun} if closed.rerun else {}),
    }
    settings = from_env(AuditSettings)
    try:
        return put_event(
            aws.client("events"), settings.event_bus_name, SOURCE, DetailType.BILLING_RUN_COMPLETED, detail
        )
    except (EventRefused, ClientError) as refused:
        # The invoices are posted: the run must not fail for its announcement. The monthly schedule reconciles
        # the period anyway; the trail says why this run did not start it.
        STEP.record(
            {"case_id": case_id},
            action="billing_run.announcement_failed",
            outcome="not_announced",
            reasons=[
                f"Billing Run Completed was not put on the bus: {refused}; the monthly schedule reconciles"
            ],
        )
        logger.warning("billing run completion not announced", extra={"case_id": case_id})
        return None
