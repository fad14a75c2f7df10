"""Lambda: purchase approval step 'Check the purchase request': the request against the purchasing policy and the
project in the PSA, and whether its vendor can be bought from (approved, insurance in force for a work order), is
being onboarded, or must be. An invalid request is parked for procurement and audited."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.utilities.typing import LambdaContext

from backoffice import aws
from backoffice.audit import Actor
from backoffice.connectors import wiring
from backoffice.firm_settings import firm_policy
from backoffice.models import PurchaseRequested, parse_event_as
from backoffice.purchasing.attempts import PurchaseAttempts, attempt_order
from backoffice.purchasing.policy import PurchasingPolicy
from backoffice.purchasing.requests import WORKFLOW, check_request
from backoffice.purchasing.step_inputs import CheckRequestInput
from backoffice.purchasing.vendor_waits import VendorWaits
from backoffice.settings import Settings, from_env
from backoffice.steps import Step

logger = Logger()
tracer = Tracer()
STEP = Step(WORKFLOW, "check the purchase request", Actor.system("check_purchase_request"))
INPUT_MODEL = CheckRequestInput


class CheckRequestSettings(Settings):
    purchasing_table_name: str
    parked_events_queue_url: str


@logger.inject_lambda_context(log_event=False)
@tracer.capture_lambda_handler
@STEP.calls_systems
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    payload = INPUT_MODEL.model_validate(event)
    own = from_env(CheckRequestSettings)
    _, detail = parse_event_as(payload.event, PurchaseRequested)
    # A correction of the request (a later requested_at) supersedes this attempt; once ordered, nothing does.
    stopped = PurchaseAttempts(aws.client("dynamodb"), own.purchasing_table_name).claim(
        detail.request_id, attempt_order(detail.requested_at), payload.execution_arn or payload.case_id
    )
    if stopped is not None:
        STEP.record(event, action="request.superseded", outcome="blocked", reasons=[stopped])
        return {
            "status": "superseded",
            "reasons": [stopped],
            "vendor_id": None,
            "vendor_key": None,
            "wait_seconds": 0,
        }
    try:
        checked = check_request(
            detail,
            erp=wiring.erp(),
            budgets=wiring.project_budget_psa(),
            waits=VendorWaits(own.purchasing_table_name, aws.client("dynamodb")),
            policy=firm_policy("purchasing", PurchasingPolicy),
            today=datetime.now(UTC).date(),
        )
    except Exception as error:
        STEP.failed(event, error, "request.checked")
        raise
    facts = {
        "request_id": detail.request_id,
        "category": detail.category,
        "amount": str(detail.amount),
        "currency": detail.currency,
        "project_id": detail.project_id,
        "requester": str(detail.requester_email),
        "vendor_id": checked.vendor_id,
        "vendor_key": checked.vendor_key,
    }
    if checked.status == "invalid":
        # Procurement fixes and sends it again from the parked copy (the queue is encrypted; the event is whole).
        aws.client("sqs").send_message(
            QueueUrl=own.parked_events_queue_url,
            MessageBody=json.dumps(
                {"case_id": payload.case_id, "reasons": checked.reasons, "event": payload.event}, default=str
            ),
            MessageAttributes={
                "reason": {"DataType": "String", "StringValue": "invalid purchase request"},
                "case_id": {"DataType": "String", "StringValue": payload.case_id},
            },
        )
        STEP.record(
            event,
            action="request.invalid",
            outcome="rejected",
            reasons=[*checked.reasons, "the request is in the parked-events queue for procurement"],
            data=facts,
        )
    else:
        STEP.record(
            event,
            action=f"vendor.{checked.status.removeprefix('vendor_')}",
            outcome={"vendor_approved": "passed", "vendor_onboarding": "waiting"}.get(
                checked.status, "blocked"
            ),
            reasons=checked.reasons,
            data=facts,
        )
    logger.info("purchase request checked", extra={"case_id": payload.case_id, "status": checked.status})
    return checked.result()
