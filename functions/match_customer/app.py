"""Lambda: onboarding step 'Match customer in ERP': an existing customer, a new one, or a person decides."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.utilities.typing import LambdaContext

from backoffice import aws
from backoffice.audit import Actor
from backoffice.connectors import wiring
from backoffice.idempotency import creation_claim, idempotent_on
from backoffice.onboarding.customer_step import client_of_record, match_or_create_customer
from backoffice.onboarding.customers import creation_claim_key
from backoffice.onboarding.step_inputs import OpportunityStepInput
from backoffice.onboarding.steps import CustomerNeedsReview, deal_of
from backoffice.steps import Step

logger = Logger()
tracer = Tracer()
STEP = Step("onboarding", "match customer in ERP", Actor.system("match_customer"))
INPUT_MODEL = OpportunityStepInput


@logger.inject_lambda_context(log_event=False)
@tracer.capture_lambda_handler
@idempotent_on("event.detail.client.id")
@STEP.calls_systems
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    deal = deal_of(INPUT_MODEL.model_validate(event).event)
    try:
        client = client_of_record(deal.client, wiring.crm())
        # Another case creating the same customer under another CRM account holds the claim: this step retries.
        with creation_claim(aws.client("dynamodb"), creation_claim_key(client)):
            outcome, decision = match_or_create_customer(client, wiring.erp())
    except CustomerNeedsReview as error:
        STEP.failed(event, error, "customer.matched")
        raise
    STEP.record(
        event,
        action="customer.matched" if outcome.decision == "existing" else "customer.created",
        outcome=outcome.decision,
        reasons=outcome.reasons,
        output={"customer_id": outcome.customer_id},
        data={"customer_id": outcome.customer_id, "score": decision.score},
    )
    return {"customer_id": outcome.customer_id, "decision": outcome.decision}
