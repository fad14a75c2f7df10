"""Lambda: onboarding step 'Validate closed-won opportunity'."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.utilities.typing import LambdaContext

from backoffice.audit import Actor, AuditTrail
from backoffice.models import OpportunityClosedWon, parse_event
from backoffice.onboarding.intake import OpportunityNotOnboardable, deal_summary, reasons_not_onboardable
from backoffice.onboarding.step_inputs import OpportunityStepInput
from backoffice.settings import AuditSettings, from_env

logger = Logger()
tracer = Tracer()
settings = from_env(AuditSettings)
ACTOR = Actor.system("validate_opportunity")
INPUT_MODEL = OpportunityStepInput


@logger.inject_lambda_context(log_event=False)
@tracer.capture_lambda_handler
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    payload = INPUT_MODEL.model_validate(event)
    _, deal = parse_event(payload.event)
    assert isinstance(deal, OpportunityClosedWon)
    reasons = reasons_not_onboardable(deal)
    summary = deal_summary(deal)
    AuditTrail(settings.audit_table_name).append(
        case_id=payload.case_id,
        workflow="onboarding",
        step="validate closed-won opportunity",
        actor=ACTOR,
        action="opportunity.validated",
        outcome="blocked" if reasons else "passed",
        reasons=reasons,
        input=payload.event,
        output=summary,
        data={"opportunity_id": deal.opportunity.id},
        execution_arn=payload.execution_arn,
    )
    if reasons:
        raise OpportunityNotOnboardable("; ".join(reasons))
    return summary
