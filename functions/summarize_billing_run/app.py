"""Lambda: invoicing step 'Summarize billing run': invoices posted and blocked, exceptions by reason."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.utilities.typing import LambdaContext

from backoffice import aws
from backoffice.audit import Actor
from backoffice.invoicing.step_inputs import MapRunResults, SummarizeBillingRunInput
from backoffice.invoicing.steps import read_project_results, summarize
from backoffice.steps import Step

logger = Logger()
tracer = Tracer()
STEP = Step("invoicing", "summarize billing run", Actor.system("summarize_billing_run"))
INPUT_MODEL = SummarizeBillingRunInput


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
        ],
        output=summary,
        data=summary,
    )
    logger.info(
        "billing run summarized", extra={"case_id": payload.case_id, "posted": summary["invoices_posted"]}
    )
    return summary
