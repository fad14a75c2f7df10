"""Lambda: a level timed out. Its links die; it escalates once when the policy names an escalation group."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.utilities.typing import LambdaContext

from backoffice.approvals.wiring import approvals_from_env

logger = Logger()
tracer = Tracer()


@logger.inject_lambda_context(log_event=False)
@tracer.capture_lambda_handler
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    result = approvals_from_env().expire(event)
    logger.info("approval expired", extra={"case_id": event["case_id"], "escalate": result["escalate"]})
    return result
