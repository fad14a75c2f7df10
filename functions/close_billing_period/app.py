"""Lambda: the monthly schedule closes last month's billing period: puts ``Billing Period Closed`` on the bus.

The PSA may announce the same period itself; both events carry the same business key (the period), so the
invoicing case starts once either way.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.utilities.typing import LambdaContext

from backoffice import aws
from backoffice.audit import Actor, AuditTrail
from backoffice.models import DetailType
from backoffice.schedule import SCHEDULE_SOURCE, previous_month, put_event
from backoffice.settings import AuditSettings, from_env

logger = Logger()
tracer = Tracer()


@logger.inject_lambda_context(log_event=False)
@tracer.capture_lambda_handler
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    settings = from_env(AuditSettings)
    today = date.fromisoformat(event["today"]) if event.get("today") else datetime.now(UTC).date()
    start, end = previous_month(today)
    detail = {"period_start": start.isoformat(), "period_end": end.isoformat()}
    event_id = put_event(
        aws.client("events"),
        settings.event_bus_name,
        SCHEDULE_SOURCE,
        DetailType.BILLING_PERIOD_CLOSED,
        detail,
    )
    AuditTrail(settings.audit_table_name).append(
        case_id=f"schedule-billing-{start.isoformat()}",
        workflow="invoicing",
        step="close billing period",
        actor=Actor.system("close_billing_period"),
        action="billing_period.closed",
        outcome="announced",
        reasons=[f"monthly schedule: period {start} to {end} closed for billing"],
        input=detail,
        output={"event_id": event_id},
    )
    logger.info("billing period closed", extra=detail)
    return {**detail, "event_id": event_id}
