"""Lambda: purchase approval step 'Wait for vendor onboarding' (a .waitForTaskToken task): the vendor's onboarding
asked for once per vendor (Vendor Onboarding Requested on the bus), and this purchase's token kept until the
onboarding's outcome resumes it (resume_purchases_for_vendor), or at once when the onboarding had already ended."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.utilities.typing import LambdaContext

from backoffice import aws
from backoffice.audit import Actor
from backoffice.models import PurchaseRequested, parse_event_as
from backoffice.purchasing.onboarding_wait import resume_if_decided, wait_for_onboarding
from backoffice.purchasing.requests import WORKFLOW
from backoffice.purchasing.step_inputs import WaitForVendorInput
from backoffice.purchasing.vendor_waits import VendorWaits
from backoffice.settings import Settings, from_env
from backoffice.steps import Step

logger = Logger()
tracer = Tracer()
STEP = Step(WORKFLOW, "wait for vendor onboarding", Actor.system("wait_for_vendor_onboarding"))
INPUT_MODEL = WaitForVendorInput


class WaitSettings(Settings):
    purchasing_table_name: str
    event_bus_name: str


@logger.inject_lambda_context(log_event=False)  # the payload holds the task token
@tracer.capture_lambda_handler
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    payload = INPUT_MODEL.model_validate(event)
    own = from_env(WaitSettings)
    _, detail = parse_event_as(payload.event, PurchaseRequested)
    # The token is a credential: the audit records take the payload without it.
    audited = payload.model_dump(mode="json", exclude={"task_token"})
    waits = VendorWaits(own.purchasing_table_name, aws.client("dynamodb"))
    try:
        waited = wait_for_onboarding(
            detail,
            key=payload.vendor_key,
            case_id=payload.case_id,
            execution_arn=payload.execution_arn,
            task_token=payload.task_token,
            waits=waits,
            events=aws.client("events"),
            bus_name=own.event_bus_name,
            now=lambda: datetime.now(UTC),
        )
    except Exception as error:
        STEP.failed(audited, error, "vendor_onboarding.requested")
        raise
    vendor = detail.new_vendor.vendor_legal_name if detail.new_vendor else payload.vendor_key
    STEP.record(
        audited,
        action="vendor_onboarding.requested" if waited["asked"] else "vendor_onboarding.awaited",
        outcome="waiting",
        reasons=[
            (
                f"asked for the onboarding of {vendor}"
                if waited["asked"]
                else f"another purchase asked for the onboarding of {vendor}: this one waits for it too"
            )
            + (f" (vendor case {waited['vendor_case_id']})" if waited["vendor_case_id"] else "")
        ],
        data={"vendor_key": payload.vendor_key, **waited},
    )
    # The onboarding may have ended before this purchase's token was kept: then it goes on now, said first.
    decided = resume_if_decided(
        key=payload.vendor_key,
        case_id=payload.case_id,
        execution_arn=payload.execution_arn,
        task_token=payload.task_token,
        waits=waits,
        sfn=aws.client("stepfunctions"),
        now=lambda: datetime.now(UTC),
    )
    if decided is not None:
        STEP.record(
            audited,
            action="vendor_onboarding.decided",
            outcome=str(decided["outcome"]),
            reasons=[
                f"the onboarding had already ended ({decided['vendor_case_id']}): the purchase goes on at once",
                *decided["reasons"],
            ],
            data={
                "vendor_case_id": decided["vendor_case_id"],
                "vendor_id": decided["vendor_id"],
                "resumed": True,
            },
        )
    return {"status": "resumed" if decided is not None else "waiting"}
