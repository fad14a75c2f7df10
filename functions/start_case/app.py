"""Lambda: the target of every EventBridge rule. Starts one case per business key; parks invalid events."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.utilities.typing import LambdaContext

from backoffice import aws, metrics
from backoffice.audit import AuditTrail
from backoffice.cases import CaseStarter, StartCaseRequest
from backoffice.settings import Settings, from_env


class StartCaseSettings(Settings):
    audit_table_name: str
    idempotency_table_name: str
    parked_events_queue_url: str


logger = Logger()
tracer = Tracer()
settings = from_env(StartCaseSettings)


@logger.inject_lambda_context(log_event=False)
@tracer.capture_lambda_handler
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    request = StartCaseRequest.model_validate(event)
    starter = CaseStarter(
        audit=AuditTrail(settings.audit_table_name),
        sfn=aws.client("stepfunctions"),
        dynamodb=aws.client("dynamodb"),
        sqs=aws.client("sqs"),
        idempotency_table=settings.idempotency_table_name,
        parked_queue_url=settings.parked_events_queue_url,
    )
    result = starter.start(request)
    names = {"started": "CasesStarted", "duplicate": "DuplicateEvents", "rejected": "RejectedEvents"}
    metrics.record(names[result.status], workflow=request.workflow)
    logger.info(
        "case start decided",
        extra={"status": result.status, "case_id": result.case_id, "rule": request.rule},
    )
    return result.model_dump(mode="json")
