"""Lambda: does this subject need an approval on this route, and how long may its first level wait?"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.utilities.typing import LambdaContext

from backoffice.approvals.policy import load_policy
from backoffice.approvals.service import plan

logger = Logger()
tracer = Tracer()


@logger.inject_lambda_context(log_event=False)
@tracer.capture_lambda_handler
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    result = plan(load_policy(), event["route"], event["subject"])
    logger.info("approval planned", extra={"route": event["route"], "rule": result["rule"]})
    return result
