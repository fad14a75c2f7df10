"""Lambda: onboarding step 'Assess contract risk': rule findings with the sentence and section each matched."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.utilities.typing import LambdaContext

from backoffice import aws
from backoffice.assist.models import AssistCase
from backoffice.assist.wiring import assistant
from backoffice.audit import Actor, AuditTrail
from backoffice.onboarding.clause_rules import clause_rules
from backoffice.onboarding.contract_review_step import (
    clause_suggestions,
    contract_risk,
    contract_risk_policy,
    legal_review_subject,
)
from backoffice.onboarding.step_inputs import AssessContractRiskInput
from backoffice.onboarding.steps import deal_of, load_facts
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
    policy = contract_risk_policy()
    risk = contract_risk(facts, policy)
    # The assistant reads every sentence beside the rules; what it flags that they did not, legal sees as a suggestion.
    case = AssistCase(
        case_id=payload.case_id, workflow=STEP.workflow, step=STEP.name, execution_arn=payload.execution_arn
    )
    clauses = assistant(
        "clause_detection",
        case,
        trail=AuditTrail(settings().audit_table_name),
        clause_rules=clause_rules(policy, facts.figures()),
    )
    suggestions = clause_suggestions(facts, risk, clauses.classify_clauses)
    subject = legal_review_subject(
        deal, facts, risk, document=f"s3://{bucket}/{payload.sow_key}", suggestions=suggestions
    )
    STEP.record(
        event,
        action="contract.risk_assessed",
        outcome=risk.level,
        reasons=subject["reasons"],
        output={"level": risk.level, "score": risk.score},
        data={
            "score": risk.score,
            "requires_legal_review": risk.requires_legal_review,
            "model_suggestions": len(suggestions),
        },
    )
    return {"level": risk.level, "score": risk.score, "approval_subject": subject}
