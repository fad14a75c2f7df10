"""Lambda: resource onboarding step 'Check the new worker': the HRIS's record validated, a subcontractor's vendor
(approved, insurance in force) and the worker's own documents checked, the bill rate held to the firm's band."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.utilities.typing import LambdaContext

from backoffice import aws
from backoffice.approvals.policy import ApprovalPolicyMissing, load_policy
from backoffice.audit import Actor
from backoffice.connectors import wiring
from backoffice.firm_settings import firm_policy
from backoffice.models import parse_event_as
from backoffice.models.events import WorkerHired
from backoffice.resource_onboarding.attempts import LatestAttempts, attempt_order
from backoffice.resource_onboarding.policy import ResourceOnboardingPolicy
from backoffice.resource_onboarding.step_inputs import CheckNewWorkerInput
from backoffice.resource_onboarding.steps import WORKFLOW, check_new_worker
from backoffice.settings import Settings, from_env
from backoffice.steps import Step


class CheckSettings(Settings):
    idempotency_table_name: str  # the worker's latest attempt (resource_onboarding.attempts)


logger = Logger()
tracer = Tracer()
STEP = Step(WORKFLOW, "check the new worker", Actor.system("check_new_worker"))
INPUT_MODEL = CheckNewWorkerInput
_OUTCOMES = {
    "superseded": "superseded",
    "invalid": "invalid",
    "blocked": "blocked",
    "rate_review": "needs_approval",
    "ready": "passed",
}


@logger.inject_lambda_context(log_event=False)
@tracer.capture_lambda_handler
@STEP.calls_systems
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    payload = INPUT_MODEL.model_validate(event)
    _, detail = parse_event_as(payload.event, WorkerHired)
    try:
        approval_policy = load_policy()
    except ApprovalPolicyMissing:
        approval_policy = None  # the practice leads the HRIS names still decide; no fallback group
    try:
        result = check_new_worker(
            detail,
            hris=wiring.hris(),
            erp=wiring.erp(),
            psa=wiring.resource_psa(),
            policy=firm_policy("resource_onboarding", ResourceOnboardingPolicy),
            approval_policy=approval_policy,
            today=datetime.now(UTC).date(),
        )
        own = from_env(CheckSettings)
        superseded = LatestAttempts(aws.client("dynamodb"), own.idempotency_table_name).claim(
            detail.worker_id, attempt_order(detail), payload.execution_arn or payload.case_id
        )
    except Exception as error:
        STEP.failed(event, error, "worker.checked")
        raise
    result["attempt"] = {"order": attempt_order(detail)}
    if superseded:  # an older record of the hire arrived after a newer one: it changes nothing
        result.update(status="superseded", reasons=[superseded], resumable=False)
    STEP.record(
        event,
        action="worker.checked",
        outcome=_OUTCOMES[result["status"]],
        reasons=result["reasons"]
        or [f"{detail.employment} {detail.worker_id} as {detail.role}: record, documents and rate in order"],
        data={
            "worker_id": detail.worker_id,
            "employment": detail.employment,
            "role": detail.role,
            "practice": detail.practice,
            "start_date": detail.start_date.isoformat(),
            "rate": result["rate"],
            "vendor": result["vendor"],
            "documents": result["documents"],
        },
    )
    logger.info("worker checked", extra={"case_id": payload.case_id, "status": result["status"]})
    return result
