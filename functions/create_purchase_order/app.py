"""Lambda: purchase approval step 'Create the purchase order': the approved purchase as the vendor's purchase order
in the ERP, once per request (the key ``purchase-<request id>``; NetSuite: its externalId)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.utilities.typing import LambdaContext

from backoffice import aws
from backoffice.audit import Actor, AuditTrail
from backoffice.connectors import wiring
from backoffice.models import PurchaseRequested, parse_event_as
from backoffice.purchasing.attempts import BudgetReservations, PurchaseAttempts
from backoffice.purchasing.orders import create_order
from backoffice.purchasing.requests import WORKFLOW, money
from backoffice.purchasing.step_inputs import CreateOrderInput
from backoffice.settings import Settings, from_env
from backoffice.steps import Step, settings

logger = Logger()
tracer = Tracer()
STEP = Step(WORKFLOW, "create the purchase order", Actor.system("create_purchase_order"))
INPUT_MODEL = CreateOrderInput


class CreateOrderSettings(Settings):
    purchasing_table_name: str


@logger.inject_lambda_context(log_event=False)
@tracer.capture_lambda_handler
@STEP.calls_systems
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    payload = INPUT_MODEL.model_validate(event)
    _, detail = parse_event_as(payload.event, PurchaseRequested)
    # Every level's approvers, not only the last level's the state carries: the trail has each decision.
    approvers = [
        record.actor.id
        for record in AuditTrail(settings().audit_table_name).records(payload.case_id)
        if record.action == "approval.decided"
        and record.outcome == "approved"
        and record.execution_arn == payload.execution_arn
    ]
    decided_by = list(dict.fromkeys([*approvers, *payload.decided_by]))
    try:
        order = create_order(
            detail,
            vendor_id=payload.vendor_id,
            decided_by=decided_by,
            erp=wiring.purchasing_erp(),
            vendors=wiring.erp(),
            today=datetime.now(UTC).date(),
        )
    except Exception as error:
        STEP.failed(event, error, "purchase_order.created")
        raise
    # The order is in the ERP (its amount now counts as committed): the budget the recheck held is given back, and a
    # correction arriving later is told the order's number.
    own = from_env(CreateOrderSettings)
    dynamodb = aws.client("dynamodb")
    PurchaseAttempts(dynamodb, own.purchasing_table_name).ordered(detail.request_id, str(order["number"]))
    BudgetReservations(dynamodb, own.purchasing_table_name).release(detail.request_id, datetime.now(UTC))
    STEP.record(
        event,
        action="purchase_order.created",
        outcome="created" if order["created"] else "existing",
        reasons=[
            f"purchase order {order['number']} for {money(detail.amount, detail.currency)} to "
            f"{order['vendor_name']}, approved by {', '.join(decided_by) or 'policy'}"
            + ("" if order["created"] else " (created before under the same key: not created again)")
        ],
        data={
            "order_id": order["order_id"],
            "number": order["number"],
            "vendor_id": payload.vendor_id,
            "project_id": detail.project_id,
            "amount": str(detail.amount),
            "currency": detail.currency,
            "approved_by": decided_by,
        },
    )
    return order
