"""Lambda: onboarding step 'Create project in PSA' from the template of its service line and billing model."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.utilities.typing import LambdaContext

from backoffice import aws
from backoffice.audit import Actor
from backoffice.connectors import wiring
from backoffice.idempotency import idempotent_on
from backoffice.onboarding.project_step import create_project
from backoffice.onboarding.step_inputs import CreateProjectInput
from backoffice.onboarding.steps import ProjectCannotBeSetUp, deal_of, load_facts
from backoffice.steps import Step, settings

logger = Logger()
tracer = Tracer()
STEP = Step("onboarding", "create project in PSA", Actor.system("create_project"))
INPUT_MODEL = CreateProjectInput


@logger.inject_lambda_context(log_event=False)
@tracer.capture_lambda_handler
@idempotent_on("event.detail.opportunity.id")
@STEP.calls_systems
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    payload = INPUT_MODEL.model_validate(event)
    facts = load_facts(aws.client("s3"), settings().documents_bucket_name, payload.facts_key)
    psa = wiring.psa()
    try:
        outcome = create_project(
            deal_of(payload.event), payload.customer_id, facts, psa, psa.project_templates()
        )
    except ProjectCannotBeSetUp as error:
        STEP.failed(event, error, "project.created")
        raise
    result = {
        "project_id": outcome.project_id,
        "project_code": outcome.project_code,
        "project_name": outcome.project_name,
    }
    STEP.record(
        event,
        action="project.created" if outcome.created else "project.found",
        outcome="created" if outcome.created else "existing",
        reasons=outcome.warnings,
        output=result,
        data=result,
    )
    return result
