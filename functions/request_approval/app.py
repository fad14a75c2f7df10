"""Lambda (.waitForTaskToken): store the task token, create one link per approver, send the e-mails."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.utilities.typing import LambdaContext

from backoffice.approvals.step_inputs import RequestApprovalInput
from backoffice.approvals.wiring import approvals_from_env

logger = Logger()
tracer = Tracer()
INPUT_MODEL = RequestApprovalInput


@logger.inject_lambda_context(log_event=False)  # the event holds the task token: never log it
@tracer.capture_lambda_handler
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    payload = INPUT_MODEL.model_validate(event)
    result = approvals_from_env().request(payload.model_dump())
    logger.info("approval requested", extra={"case_id": payload.case_id, "step": payload.step})
    return {"request_id": result["request_id"], "approvers": result["approvers"]}
