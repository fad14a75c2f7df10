"""Lambda: onboarding step 'Request staffing': resource requests per SOW role, with candidates and conflicts."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.utilities.typing import LambdaContext

from backoffice import aws
from backoffice.audit import Actor
from backoffice.connectors import wiring
from backoffice.idempotency import idempotent_on
from backoffice.onboarding.staffing_step import request_staffing
from backoffice.onboarding.step_inputs import RequestStaffingInput
from backoffice.onboarding.steps import load_facts
from backoffice.steps import Step, settings

logger = Logger()
tracer = Tracer()
STEP = Step("onboarding", "request staffing", Actor.system("request_staffing"))
INPUT_MODEL = RequestStaffingInput


@logger.inject_lambda_context(log_event=False)
@tracer.capture_lambda_handler
@idempotent_on("project_id")
@STEP.calls_systems
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    payload = INPUT_MODEL.model_validate(event)
    facts = load_facts(aws.client("s3"), settings().documents_bucket_name, payload.facts_key)
    result = request_staffing(payload.project_id, facts, wiring.psa(), wiring.hris())
    STEP.record(
        event,
        action="staffing.requested",
        outcome="conflicts" if result["conflicts"] else "requested",
        reasons=result["conflicts"],
        output=result,
        data={"requests": len(result["requests"])},
    )
    return result
