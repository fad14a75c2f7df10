"""Lambda: records a case's outcome and announces it on the event bus (the last state of every workflow)."""

from __future__ import annotations

import os
from typing import Any

from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.utilities.typing import LambdaContext

from backoffice import aws, metrics
from backoffice.audit import AuditTrail
from backoffice.outcomes import PublishOutcomeInput, publish_outcome
from backoffice.settings import AuditSettings, from_env

logger = Logger()
tracer = Tracer()
settings = from_env(AuditSettings)
INPUT_MODEL = PublishOutcomeInput


@logger.inject_lambda_context(log_event=False)
@tracer.capture_lambda_handler
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    payload = INPUT_MODEL.model_validate(event)
    detail = payload.detail or {}
    result = publish_outcome(
        events=aws.client("events"),
        audit=AuditTrail(settings.audit_table_name),
        bus_name=settings.event_bus_name,
        case_id=payload.case_id,
        workflow=payload.workflow,
        outcome=payload.outcome,
        detail=detail,
        execution_arn=payload.execution_arn,
        sns=aws.client("sns"),
        topic_arn=os.environ.get("NOTIFICATIONS_TOPIC_ARN"),
    )
    metrics.record("CaseOutcomes", workflow=payload.workflow, outcome=result["outcome"])
    error = detail.get("error")
    if error:
        # Exceptions by rule: the named error that stopped the case (a rule's name, a connector's, a rejection).
        metrics.record("CaseExceptions", workflow=payload.workflow, rule=str(error.get("Error", "Unknown")))
    logger.info("outcome published", extra={"case_id": payload.case_id, "outcome": result["outcome"]})
    return result
