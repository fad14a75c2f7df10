"""Lambda: a level timed out. Its links die; it escalates once when the policy names an escalation group."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.utilities.typing import LambdaContext

from backoffice.approvals.step_inputs import ExpireApprovalInput
from backoffice.approvals.wiring import approvals_from_env

logger = Logger()
tracer = Tracer()
INPUT_MODEL = ExpireApprovalInput


@logger.inject_lambda_context(log_event=False)
@tracer.capture_lambda_handler
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    payload = INPUT_MODEL.model_validate(event)
    result = approvals_from_env().expire(payload.model_dump())
    logger.info("approval expired", extra={"case_id": payload.case_id, "escalate": result["escalate"]})
    return result
