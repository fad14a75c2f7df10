"""Lambda: vendor step 'Read vendor documents': W-9, certificate and bank letter through the embedded extractor."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.utilities.typing import LambdaContext

from backoffice import aws, metrics
from backoffice.audit import Actor
from backoffice.steps import Step, settings
from backoffice.vendors.steps import (
    VendorDocumentsUnreadable,
    read_application,
    request_of,
    store_application,
)

logger = Logger()
tracer = Tracer()
# Extraction is machine output: recorded as such, checked by rules, decided on by people.
STEP = Step("vendor_approval", "read vendor documents", Actor.system("read_vendor_documents:pypdf"))


@logger.inject_lambda_context(log_event=False)
@tracer.capture_lambda_handler
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    documents = {**event["documents"], **((event.get("uploaded") or {}).get("documents") or {})}
    s3 = aws.client("s3")
    try:
        application = read_application(event["case_id"], request_of(event["event"]), documents, s3)
    except VendorDocumentsUnreadable as error:
        STEP.failed(event, error, "vendor_documents.read")
        raise
    key = store_application(s3, settings().documents_bucket_name, application)
    low = {
        "w9": application.w9.low_confidence_fields if application.w9 else [],
        "certificate": application.certificate.low_confidence_fields if application.certificate else [],
        "bank_letter": application.bank_letter.low_confidence_fields if application.bank_letter else [],
    }
    uncertain = sum(1 for fields in low.values() if fields)
    metrics.record("DocumentsRead", len(documents), workflow="vendor_approval")
    metrics.record("DocumentsNeedingReview", uncertain, workflow="vendor_approval")
    STEP.record(
        event,
        action="vendor_documents.read",
        outcome="read",
        reasons=[f"{doc}: uncertain {', '.join(fields)}" for doc, fields in low.items() if fields],
        output={"application_key": key},
        data={"documents": sorted(documents)},
    )
    return {"application_key": key}
