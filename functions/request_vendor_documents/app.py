"""Lambda (.waitForTaskToken): e-mail the vendor contact an upload link for the missing documents."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.utilities.typing import LambdaContext

from backoffice.vendors.step_inputs import RequestVendorDocumentsInput
from backoffice.vendors.uploads import uploads_from_env

logger = Logger()
tracer = Tracer()


uploads = uploads_from_env
INPUT_MODEL = RequestVendorDocumentsInput


@logger.inject_lambda_context(log_event=False)  # the event holds the task token: never log it
@tracer.capture_lambda_handler
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    payload = INPUT_MODEL.model_validate(event)
    result = uploads().request(payload.model_dump())
    logger.info(
        "vendor documents requested", extra={"case_id": payload.case_id, "missing": result["requested"]}
    )
    return result
