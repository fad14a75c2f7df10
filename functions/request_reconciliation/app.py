"""Lambda: the monthly schedule asks for last month's reconciliation: puts ``Reconciliation Requested`` on the bus.

The billing run of the period announces its completion too (``Billing Run Completed``); both carry the period as
the case key, so the reconciliation runs once either way, and also when the billing run never announced itself.
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
    detail = {"period_start": start.isoformat(), "period_end": end.isoformat(), "requested_by": "schedule"}
    event_id = put_event(
        aws.client("events"),
        settings.event_bus_name,
        SCHEDULE_SOURCE,
        DetailType.RECONCILIATION_REQUESTED,
        detail,
    )
    AuditTrail(settings.audit_table_name).append(
        case_id=f"schedule-reconciliation-{start.isoformat()}",
        workflow="reconciliation",
        step="request reconciliation",
        actor=Actor.system("request_reconciliation"),
        action="reconciliation.requested",
        outcome="announced",
        reasons=[f"monthly schedule: reconcile the period {start} to {end}"],
        input=detail,
        output={"event_id": event_id},
    )
    logger.info("reconciliation requested", extra=detail)
    return {**detail, "event_id": event_id}
