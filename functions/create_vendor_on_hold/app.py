"""Lambda: vendor step 'Create vendor in ERP on hold': nothing can be paid until the approvals are done."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.utilities.typing import LambdaContext

from backoffice import aws
from backoffice.audit import Actor
from backoffice.connectors import wiring
from backoffice.idempotency import idempotent_on
from backoffice.steps import Step, settings
from backoffice.vendors.step_inputs import ApplicationStepInput
from backoffice.vendors.steps import create_on_hold, load_application

logger = Logger()
tracer = Tracer()
STEP = Step("vendor_approval", "create vendor in ERP on hold", Actor.system("create_vendor_on_hold"))
INPUT_MODEL = ApplicationStepInput


@logger.inject_lambda_context(log_event=False)
@tracer.capture_lambda_handler
@idempotent_on('"case_id"')
@STEP.calls_systems
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    payload = INPUT_MODEL.model_validate(event)
    application = load_application(
        aws.client("s3"), settings().documents_bucket_name, payload.application_key
    )
    vendor_id = create_on_hold(application, wiring.erp())
    STEP.record(event, action="vendor.created_on_hold", outcome="on_hold", output={"vendor_id": vendor_id})
    return {"vendor_id": vendor_id}
