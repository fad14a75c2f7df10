"""Lambda: resource onboarding step 'Set up the PSA resource': the worker created as a resource (or, on a rehire,
the worker's resource updated) with role, practice, cost and bill rate, availability, manager and skills."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.utilities.typing import LambdaContext

from backoffice import aws
from backoffice.audit import Actor
from backoffice.connectors import wiring
from backoffice.resource_onboarding.attempts import LatestAttempts
from backoffice.resource_onboarding.rules import plain
from backoffice.resource_onboarding.step_inputs import SetUpResourceInput
from backoffice.resource_onboarding.steps import (
    WORKFLOW,
    resource_of,
    set_up_resource,
    vendor_no_longer_in_standing,
)
from backoffice.settings import Settings, from_env
from backoffice.steps import Step


class SetUpSettings(Settings):
    idempotency_table_name: str  # the worker's latest attempt (resource_onboarding.attempts)


logger = Logger()
tracer = Tracer()
STEP = Step(WORKFLOW, "set up the PSA resource", Actor.system("set_up_psa_resource"))
INPUT_MODEL = SetUpResourceInput


@logger.inject_lambda_context(log_event=False)
@tracer.capture_lambda_handler
@STEP.calls_systems
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    payload = INPUT_MODEL.model_validate(event)
    resource = resource_of(payload.resource)
    try:
        own = from_env(SetUpSettings)
        order = str((payload.attempt or {}).get("order") or "")
        superseded = (
            LatestAttempts(aws.client("dynamodb"), own.idempotency_table_name).confirm(
                resource.worker_id, order, payload.execution_arn or payload.case_id
            )
            if order
            else None
        )
        lapsed = (
            []
            if superseded
            else vendor_no_longer_in_standing(resource, wiring.erp(), datetime.now(UTC).date())
        )
        if superseded or lapsed:
            status = "superseded" if superseded else "blocked"
            reasons = [superseded] if superseded else lapsed
            STEP.record(
                event,
                action="resource.not_saved",
                outcome=status,
                reasons=reasons,
                data={"worker_id": resource.worker_id, "vendor_id": resource.vendor_id},
            )
            return {"status": status, "reasons": reasons, "resource_id": None, "created": False}
        result = set_up_resource(resource, wiring.resource_psa())
    except Exception as error:
        STEP.failed(event, error, "resource.saved")
        raise
    rate = f"bill rate {resource.bill_rate} {resource.currency}" + (
        f" approved by {', '.join(payload.rate_decided_by)}" if payload.rate_decided_by else " in band"
    )
    STEP.record(
        event,
        action="resource.saved",
        outcome="created" if result["created"] else "updated",
        reasons=[
            f"PSA resource {result['resource_id']} "
            + (
                "created"
                if result["created"]
                else "updated (the worker's resource exists: a rehire or a retry)"
            ),
            f"{resource.role} in {resource.practice or 'no practice'}, cost {resource.cost_rate}, {rate}",
            f"available {plain(resource.weekly_hours)} h a week from {resource.start_date.isoformat()}",
            f"manager {resource.manager_worker_id}"
            + ("" if result["manager_resource_id"] else " (no resource in the PSA yet: not linked)"),
            *(f"skill {skill} is not in the PSA's catalogue: left off" for skill in result["unknown_skills"]),
            *(
                [
                    f"practice {result['unknown_practice']} is not in the PSA: the resource's practice is not set"
                ]
                if result.get("unknown_practice")
                else []
            ),
        ],
        data={**result, "worker_id": resource.worker_id, "rate_decided_by": payload.rate_decided_by},
    )
    logger.info("resource saved", extra={"case_id": payload.case_id, "resource_created": result["created"]})
    return result
