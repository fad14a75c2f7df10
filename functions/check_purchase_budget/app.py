"""Lambda: purchase approval step 'Check the project budget': committed (open purchase orders in the ERP) + actual
cost (the PSA) + this request against the project's budget, and the approval subject: the chain reads amount,
category and whether the purchase is over budget; the requester never approves. Run again ('Recheck the project
budget', ``recheck``) just before the order: orders of the project issued since count, so that purchases each within
budget but together over it do not all get ordered unasked."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.utilities.typing import LambdaContext

from backoffice.approvals.policy import ApprovalPolicyMissing, load_policy
from backoffice.audit import Actor
from backoffice.connectors import wiring
from backoffice.firm_settings import firm_policy
from backoffice.models import PurchaseRequested, parse_event_as
from backoffice.purchasing.budget import check_budget
from backoffice.purchasing.policy import PurchasingPolicy
from backoffice.purchasing.requests import WORKFLOW
from backoffice.purchasing.step_inputs import CheckBudgetInput
from backoffice.steps import Step

logger = Logger()
tracer = Tracer()
STEP = Step(WORKFLOW, "check the project budget", Actor.system("check_purchase_budget"))
INPUT_MODEL = CheckBudgetInput


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
    return {k: checked[k] for k in ("over_budget", "subject", "requested_by")}
