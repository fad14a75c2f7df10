"""Lambda: vendor step 'Release vendor in ERP': the approval chain approved, the hold is lifted."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.utilities.typing import LambdaContext

from backoffice.audit import Actor
from backoffice.connectors import wiring
from backoffice.steps import Step
from backoffice.vendors.step_inputs import ReleaseVendorInput

logger = Logger()
tracer = Tracer()
STEP = Step("vendor_approval", "release vendor in ERP", Actor.system("release_vendor"))
INPUT_MODEL = ReleaseVendorInput


@logger.inject_lambda_context(log_event=False)
@tracer.capture_lambda_handler
@STEP.calls_systems
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    vendor_id = INPUT_MODEL.model_validate(event).vendor_id
    wiring.erp().release_vendor(vendor_id)
    STEP.record(event, action="vendor.released", outcome="released", data={"vendor_id": vendor_id})
    return {"vendor_id": vendor_id}
