"""Lambda: onboarding step 'Fetch statement of work' (from the event, else the CRM's attachment)."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.utilities.typing import LambdaContext

from backoffice.audit import Actor
from backoffice.connectors import wiring
from backoffice.onboarding.step_inputs import OpportunityStepInput
from backoffice.onboarding.steps import StatementOfWorkMissing, deal_of, fetch_statement_of_work
from backoffice.steps import Step

logger = Logger()
tracer = Tracer()
STEP = Step("onboarding", "fetch statement of work", Actor.system("fetch_statement_of_work"))
INPUT_MODEL = OpportunityStepInput


@logger.inject_lambda_context(log_event=False)
@tracer.capture_lambda_handler
@STEP.calls_systems
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    deal = deal_of(INPUT_MODEL.model_validate(event).event)
    try:
        document = fetch_statement_of_work(deal, wiring.crm())
    except StatementOfWorkMissing as error:
        STEP.failed(event, error, "sow.fetched")
        raise
    pointer = {"bucket": document.bucket, "key": document.key, "version_id": document.version_id}
    STEP.record(event, action="sow.fetched", outcome="found", output=pointer, data={"key": document.key})
    return {"document": pointer}
