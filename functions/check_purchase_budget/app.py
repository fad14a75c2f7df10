"""Lambda: purchase approval step 'Check the project budget': committed (open purchase orders in the ERP) + actual
cost (the PSA) + this request against the project's budget, and the approval subject: the chain reads amount,
category and whether the purchase is over budget; the requester never approves. Run again ('Recheck the project
budget', ``recheck``) just before the order: orders of the project issued since count, so that purchases each within
budget but together over it do not all get ordered unasked."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.utilities.typing import LambdaContext

from backoffice import aws
from backoffice.approvals.policy import ApprovalPolicyMissing, load_policy
from backoffice.audit import Actor
from backoffice.connectors import wiring
from backoffice.firm_settings import firm_policy
from backoffice.models import PurchaseRequested, parse_event_as
from backoffice.purchasing.attempts import BudgetReservations, PurchaseAttempts, attempt_order
from backoffice.purchasing.budget import OVER_BUDGET, check_budget
from backoffice.purchasing.policy import PurchasingPolicy
from backoffice.purchasing.requests import WORKFLOW
from backoffice.purchasing.step_inputs import CheckBudgetInput
from backoffice.settings import Settings, from_env
from backoffice.steps import Step

logger = Logger()
tracer = Tracer()
STEP = Step(WORKFLOW, "check the project budget", Actor.system("check_purchase_budget"))
INPUT_MODEL = CheckBudgetInput


class CheckBudgetSettings(Settings):
    purchasing_table_name: str


@logger.inject_lambda_context(log_event=False)
@tracer.capture_lambda_handler
@STEP.calls_systems
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    payload = INPUT_MODEL.model_validate(event)
    _, detail = parse_event_as(payload.event, PurchaseRequested)
    try:
        approval_policy = load_policy()
    except ApprovalPolicyMissing:
        approval_policy = None  # the project owner the PSA names still decides; no finance, no fallback
    try:
        vendor = wiring.erp().get_vendor(payload.vendor_id)
        checked = check_budget(
            detail,
            vendor_name=vendor.doing_business_as or vendor.supplier_name,
            budgets=wiring.project_budget_psa(),
            erp=wiring.purchasing_erp(),
            hris=wiring.hris(),
            policy=firm_policy("purchasing", PurchasingPolicy),
            approval_policy=approval_policy,
        )
    except Exception as error:
        STEP.failed(event, error, "budget.checked")
        raise
    stopped = _hold_for_the_order(event, payload, detail, checked) if payload.recheck else None
    STEP.record(
        event,
        action="budget.rechecked" if payload.recheck else "budget.checked",
        outcome="over_budget" if checked["over_budget"] else "within_budget",
        reasons=(
            [
                *checked["reasons"],
                "read again just before the order, counting the orders issued since the check",
            ]
            if payload.recheck
            else checked["reasons"]
        ),
        data={**checked["figures"], "project_id": detail.project_id, "over_budget": checked["over_budget"]},
    )
    return {**{k: checked[k] for k in ("over_budget", "subject", "requested_by")}, "stopped": stopped}


def _hold_for_the_order(
    event: dict[str, Any], payload: CheckBudgetInput, detail: PurchaseRequested, checked: dict[str, Any]
) -> list[str] | None:
    """Just before the order: hold the amount in the project's budget (a conditional ADD against what the other
    purchases about to be ordered hold), then take the order as the request's latest attempt. Over budget with the
    others' reservations: ``checked`` turns over budget (the project owner and finance decide). Superseded or
    already ordered: why, and the reservation is given back."""
    own = from_env(CheckBudgetSettings)
    dynamodb = aws.client("dynamodb")
    reservations = BudgetReservations(dynamodb, own.purchasing_table_name)
    if checked["over_budget"] and not payload.approved_over_budget:
        return None  # back to the project owner and finance: nothing held
    figures = checked["figures"]
    room = None if payload.approved_over_budget else Decimal(figures["budget"]) - Decimal(figures["total"])
    if not reservations.reserve(detail.project_id, detail.request_id, detail.amount, room):
        held = reservations.reserved(detail.project_id)
        reason = (
            f"purchases of project {detail.project_id} about to be ordered hold {held:,.2f} {figures['currency']} "
            f"of its budget: with them this purchase is over the budget of {Decimal(figures['budget']):,.2f} "
            f"{figures['currency']}"
        )
        checked["over_budget"] = True
        checked["subject"] = {
            **checked["subject"],
            "owner": OVER_BUDGET,
            "reasons": [*checked["subject"]["reasons"], reason],
        }
        STEP.record(
            event,
            action="budget.reservation_refused",
            outcome="over_budget",
            reasons=[reason],
            data={"project_id": detail.project_id, "reserved": str(held), "requested": str(detail.amount)},
        )
        return None
    stopped = PurchaseAttempts(dynamodb, own.purchasing_table_name).confirm(
        detail.request_id, attempt_order(detail.requested_at), payload.execution_arn or payload.case_id
    )
    if stopped is not None:
        reservations.release(detail.request_id, datetime.now(UTC))
        STEP.record(event, action="request.superseded", outcome="blocked", reasons=[stopped])
        return [stopped]
    return None
