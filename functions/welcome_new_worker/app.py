"""Lambda: resource onboarding step 'Assign and welcome': the first project assignment when a staffing request waits
for the role, the welcome mail to the worker and the notice to the manager (each once per attempt)."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.utilities.typing import LambdaContext

from backoffice import aws
from backoffice.approvals.adapters import SesMailer
from backoffice.audit import Actor
from backoffice.connectors import wiring
from backoffice.resource_onboarding.assignment_holds import AssignmentHolds
from backoffice.resource_onboarding.attempts import LatestAttempts
from backoffice.resource_onboarding.mail_claims import MailClaims
from backoffice.resource_onboarding.step_inputs import WelcomeWorkerInput
from backoffice.resource_onboarding.steps import WORKFLOW, resource_of, welcome
from backoffice.settings import Settings, from_env
from backoffice.steps import Step

logger = Logger()
tracer = Tracer()
STEP = Step(WORKFLOW, "assign and welcome", Actor.system("welcome_new_worker"))
INPUT_MODEL = WelcomeWorkerInput


class WelcomeSettings(Settings):
    idempotency_table_name: str
    approvals_sender: str
    mail_configuration_set: str | None = None


@logger.inject_lambda_context(log_event=False)
@tracer.capture_lambda_handler
@STEP.calls_systems
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    payload = INPUT_MODEL.model_validate(event)
    own = from_env(WelcomeSettings)
    resource = resource_of(payload.resource)
    attempt = (payload.execution_arn or "first").rsplit(":", 1)[-1]
    order = str((payload.attempt or {}).get("order") or "")
    try:
        superseded = (
            LatestAttempts(aws.client("dynamodb"), own.idempotency_table_name).still_latest(
                resource.worker_id, order
            )
            if order
            else None
        )
        if superseded:  # a later record of the hire was checked since the set-up: it assigns and mails
            STEP.record(
                event,
                action="worker.not_welcomed",
                outcome="superseded",
                reasons=[superseded],
                data={"resource_id": payload.resource_id},
            )
            return {"status": "superseded", "reasons": [superseded], "assigned": False, "assignment": None,
                    "mailed": []}  # fmt: skip
        result = welcome(
            resource,
            payload.resource_id,
            manager=payload.manager,
            case_id=payload.case_id,
            attempt=attempt,
            psa=wiring.resource_psa(),
            mailer=SesMailer(aws.client("ses"), own.approvals_sender, own.mail_configuration_set),
            claims=MailClaims(aws.client("dynamodb"), own.idempotency_table_name),
            holds=AssignmentHolds(aws.client("dynamodb"), own.idempotency_table_name),
        )
    except Exception as error:
        STEP.failed(event, error, "resource.assigned")
        raise
    assignment = result["assignment"]
    STEP.record(
        event,
        action="resource.assigned" if assignment else "resource.not_assigned",
        outcome="assigned" if assignment else "none_waiting",
        reasons=[
            f"staffing request {assignment['request_id']} of project {assignment['project_id']} assigned "
            f"({assignment['start']} to {assignment['end']})"
            if assignment
            else f"no open staffing request waits for {resource.role}",
            *result["passed_over"],
        ],
        data={"resource_id": payload.resource_id, "assignment": assignment},
    )
    STEP.record(
        event,
        action="worker.welcomed",
        outcome="mailed" if result["mailed"] else "not_mailed",
        reasons=[
            "welcome mail sent to the worker"
            if result["worker_mailed"]
            else "the worker was not mailed (no e-mail, refused, or mailed by an earlier try)",
            "the manager was told"
            if result["manager_mailed"]
            else "the manager was not mailed (no e-mail, refused, or mailed by an earlier try)",
            *(f"not mailed: {why}" for why in result["not_mailed"]),
        ],
        data={"mailed": result["mailed"], "not_mailed": result["not_mailed"]},
    )
    return {
        "status": "welcomed",
        "reasons": [],
        **{k: result[k] for k in ("assigned", "assignment", "mailed")},
    }
