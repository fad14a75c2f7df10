"""Lambda: the month's delivery measured (each person's capacity and hours, each project's work in progress) and
put on the trail of case ``delivery-YYYY-MM`` (``backoffice.delivery.steps``).

The schedule runs it early on the 1st for the month before, ahead of the billing close; an operator measures any
month again with ``backoffice delivery measure --month 2026-10 --as EMAIL``. Measuring again appends only what
changed: the same data, nothing.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import field_validator

from backoffice.audit import Actor, AuditTrail
from backoffice.connectors import wiring
from backoffice.delivery.measurement import month_bounds, month_of
from backoffice.delivery.policy import DeliveryPolicy
from backoffice.delivery.steps import ACTOR, measure_delivery
from backoffice.firm_settings import firm_policy
from backoffice.models.envelope import Model
from backoffice.schedule import previous_month
from backoffice.steps import settings

logger = Logger()
tracer = Tracer()


class MeasureRequest(Model):
    """What the scheduler sends (``{"schedule": name}``: last month) or an operator's invoke (a month, who asks)."""

    month: str | None = None
    requested_by: str | None = None
    schedule: str | None = None
    source: str | None = None

    @field_validator("month")
    @classmethod
    def _a_month(cls, value: str | None) -> str | None:
        if value is not None:
            month_bounds(value)
        return value


@logger.inject_lambda_context(log_event=False)
@tracer.capture_lambda_handler
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    request = MeasureRequest.model_validate(event or {})
    month = request.month or month_of(previous_month(datetime.now(UTC).date())[0])
    why = (
        f"requested by {request.requested_by} for {month}"
        if request.requested_by
        else f"monthly schedule: {month}"
    )
    result = measure_delivery(
        month,
        wiring.hris(),
        wiring.psa(),
        AuditTrail(settings().audit_table_name),
        firm_policy("delivery_policy", DeliveryPolicy),
        actor=Actor.user(request.requested_by) if request.requested_by else ACTOR,
        why=why,
    )
    logger.info("delivery measured", extra=result)
    return result
