"""Lambda: does this subject need an approval on this route, and how long may its first level wait?"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.utilities.typing import LambdaContext

from backoffice.approvals.policy import load_policy
from backoffice.approvals.service import plan
from backoffice.approvals.step_inputs import PlanApprovalInput

logger = Logger()
tracer = Tracer()
INPUT_MODEL = PlanApprovalInput


@logger.inject_lambda_context(log_event=False)
@tracer.capture_lambda_handler
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    payload = INPUT_MODEL.model_validate(event)
    result = plan(load_policy(), payload.route, payload.subject)
    logger.info("approval planned", extra={"route": payload.route, "rule": result["rule"]})
    return result
