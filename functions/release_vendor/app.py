"""Lambda: vendor step 'Release vendor in ERP': the approval chain approved, the hold is lifted."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.utilities.typing import LambdaContext

from backoffice.audit import Actor
from backoffice.connectors import wiring
from backoffice.steps import Step

logger = Logger()
tracer = Tracer()
STEP = Step("vendor_approval", "release vendor in ERP", Actor.system("release_vendor"))


@logger.inject_lambda_context(log_event=False)
@tracer.capture_lambda_handler
@STEP.calls_systems
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    wiring.erp().release_vendor(event["vendor_id"])
    STEP.record(event, action="vendor.released", outcome="released", data={"vendor_id": event["vendor_id"]})
    return {"vendor_id": event["vendor_id"]}
