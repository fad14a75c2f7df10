"""Lambda: the target of the catch-all rule. Parks and audits an event from a known system that no rule takes."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.utilities.typing import LambdaContext

from backoffice import aws
from backoffice.audit import Actor, AuditTrail
from backoffice.cases import park_unrouted_event
from backoffice.settings import Settings, from_env


class ParkUnroutedEventSettings(Settings):
    audit_table_name: str
    parked_events_queue_url: str


logger = Logger()
tracer = Tracer()
settings = from_env(ParkUnroutedEventSettings)
ACTOR = Actor.system("park_unrouted_event")


@logger.inject_lambda_context(log_event=False)  # the detail may hold a client's tax id
@tracer.capture_lambda_handler
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    result = park_unrouted_event(
        event,
        audit=AuditTrail(settings.audit_table_name),
        sqs=aws.client("sqs"),
        parked_queue_url=settings.parked_events_queue_url,
        actor=ACTOR,
    )
    logger.warning(
        "event parked: no rule takes it",
        extra={
            "detail_type": event.get("detail-type"),
            "source": event.get("source"),
            "case_id": result.case_id,
        },
    )
    return result.model_dump(mode="json")
