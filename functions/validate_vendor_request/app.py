"""Lambda: vendor step 'Validate vendor request': which of W-9, certificate of insurance and bank letter are here."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.utilities.typing import LambdaContext

from backoffice.audit import Actor
from backoffice.steps import Step
from backoffice.vendors.step_inputs import ValidateVendorRequestInput
from backoffice.vendors.steps import documents_on_request, missing_documents, request_of
from backoffice.vendors.uploads import DOCUMENT_NAMES

logger = Logger()
tracer = Tracer()
STEP = Step("vendor_approval", "validate vendor request", Actor.system("validate_vendor_request"))
INPUT_MODEL = ValidateVendorRequestInput


@logger.inject_lambda_context(log_event=False)
@tracer.capture_lambda_handler
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    request = request_of(INPUT_MODEL.model_validate(event).event)
    missing = missing_documents(request)
    result = {
        "vendor_legal_name": request.vendor_legal_name,
        "contact_email": request.contact_email,
        "requested_by": request.requester_email,
        "documents": documents_on_request(request),
        "missing": missing,
        "complete": not missing,
    }
    STEP.record(
        event,
        action="vendor_request.validated",
        outcome="complete" if not missing else "documents_missing",
        reasons=[f"missing: {DOCUMENT_NAMES[d]}" for d in missing],
        output={k: v for k, v in result.items() if k != "documents"},
        data={"category": request.category, "expected_annual_spend": str(request.expected_annual_spend)},
    )
    return result
