"""Lambda: onboarding step 'Assess contract risk': rule findings with the sentence and section each matched."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.utilities.typing import LambdaContext

from backoffice import aws
from backoffice.audit import Actor
from backoffice.onboarding.step_inputs import AssessContractRiskInput
from backoffice.onboarding.steps import contract_risk, deal_of, legal_review_subject, load_facts
from backoffice.steps import Step, settings

logger = Logger()
tracer = Tracer()
STEP = Step("onboarding", "assess contract risk", Actor.system("assess_contract_risk"))
INPUT_MODEL = AssessContractRiskInput


@logger.inject_lambda_context(log_event=False)
@tracer.capture_lambda_handler
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    payload = INPUT_MODEL.model_validate(event)
    bucket = settings().documents_bucket_name
    facts = load_facts(aws.client("s3"), bucket, payload.facts_key)
    deal = deal_of(payload.event)
    risk = contract_risk(facts)
    subject = legal_review_subject(deal, facts, risk, document=f"s3://{bucket}/{payload.sow_key}")
    STEP.record(
        event,
        action="contract.risk_assessed",
        outcome=risk.level,
        reasons=subject["reasons"],
        output={"level": risk.level, "score": risk.score},
        data={"score": risk.score, "requires_legal_review": risk.requires_legal_review},
    )
    return {"level": risk.level, "score": risk.score, "approval_subject": subject}
