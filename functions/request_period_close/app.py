"""Lambda: the monthly schedule closes last month's books: puts ``Reconciliation Requested`` and ``Revenue
Recognition Requested`` on the bus.

The billing run of the period announces its completion (``Billing Run Completed``), which starts the period's
reconciliation; this schedule's is a case of its own (``rerun: scheduled``), so a billing run still waiting for
approvals on the 6th does not take its post-invoicing reconciliation away, and a period whose billing run never
announced itself is reconciled anyway. A second reconciliation of a period is harmless: the findings it shares
with the first are matched, not doubled, and a finding in review is not asked about twice. Revenue recognition
runs once the month's invoices are posted: this schedule starts it.
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
REQUESTS = (
    ("reconciliation", DetailType.RECONCILIATION_REQUESTED),
    ("revenue_recognition", DetailType.REVENUE_RECOGNITION_REQUESTED),
)


@logger.inject_lambda_context(log_event=False)
@tracer.capture_lambda_handler
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    settings = from_env(AuditSettings)
    today = date.fromisoformat(event["today"]) if event.get("today") else datetime.now(UTC).date()
    start, end = previous_month(today)
    detail = {"period_start": start.isoformat(), "period_end": end.isoformat(), "requested_by": "schedule"}
    events = aws.client("events")
    announced = {}
    for workflow, detail_type in REQUESTS:
        labelled = {**detail, "rerun": "scheduled"} if workflow == "reconciliation" else detail
        event_id = put_event(events, settings.event_bus_name, SCHEDULE_SOURCE, detail_type, labelled)
        announced[workflow] = event_id
        AuditTrail(settings.audit_table_name).append(
            case_id=f"schedule-{workflow.replace('_', '-')}-{start.isoformat()}",
            workflow=workflow,
            step="request period close",
            actor=Actor.system("request_period_close"),
            action=f"{workflow}.requested",
            outcome="announced",
            reasons=[f"monthly schedule: {workflow.replace('_', ' ')} of the period {start} to {end}"],
            input=detail,
            output={"event_id": event_id},
        )
    logger.info("period close requested", extra=detail)
    return {**detail, "event_ids": announced}
