"""Lambda: vendor step 'Read vendor documents': W-9, certificate and bank letter through the embedded extractor.

A scan answers ``needs_ocr`` with the scanned documents instead of an application, and the state machine decides
who reads them: Amazon Textract when the firm has turned it on, else a person. Called again with ``extracted``
(what Textract read of each scan), the step takes those documents' facts from Textract's analyses.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.utilities.typing import LambdaContext

from backoffice import aws, metrics
from backoffice.assist.models import AssistCase
from backoffice.assist.wiring import assistant
from backoffice.audit import Actor, AuditTrail
from backoffice.extraction import ExtractionResult
from backoffice.extraction.textract_steps import load_analysis
from backoffice.steps import Step, settings
from backoffice.vendors.step_inputs import ReadVendorDocumentsInput
from backoffice.vendors.steps import (
    VendorDocumentsNeedOcr,
    VendorDocumentsUnreadable,
    read_application,
    request_of,
    store_application,
)

logger = Logger()
tracer = Tracer()
# Extraction is machine output: recorded as such, checked by rules, decided on by people.
STEP = Step("vendor_approval", "read vendor documents", Actor.system("read_vendor_documents:pypdf"))
WITH_TEXTRACT = Step(
    "vendor_approval", "read vendor documents", Actor.system("read_vendor_documents:pypdf+textract")
)
INPUT_MODEL = ReadVendorDocumentsInput


@logger.inject_lambda_context(log_event=False)
@tracer.capture_lambda_handler
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    payload = INPUT_MODEL.model_validate(event)
    documents = {**payload.documents, **((payload.uploaded or {}).get("documents") or {})}
    s3 = aws.client("s3")
    extracted = _extracted(s3, payload.extracted or [])
    step = WITH_TEXTRACT if extracted else STEP
    # A file that cannot be read as its slot is shown to the assistant, whose guess goes into the reason.
    request = request_of(payload.event)
    # What a file is needs no name: the vendor's (a person's, for a sole proprietor) is "the vendor" in any prompt.
    case = AssistCase(
        case_id=payload.case_id,
        workflow=STEP.workflow,
        step=STEP.name,
        execution_arn=payload.execution_arn,
        known_names={request.vendor_legal_name: "the vendor"},
    )
    documents_assistant = assistant(
        "document_classification", case, trail=AuditTrail(settings().audit_table_name)
    )
    try:
        application = read_application(
            payload.case_id,
            request,
            documents,
            s3,
            extracted,
            classify=documents_assistant.classify_document,
        )
    except VendorDocumentsNeedOcr as scans:
        # Not a failure of the step: the state machine routes the scans to Textract or to a person.
        step.record(
            event,
            action="vendor_documents.read",
            outcome="needs_ocr",
            reasons=[str(scans)],
            data={"documents": sorted(documents), "scans": [s["document_type"] for s in scans.scans]},
        )
        metrics.record("DocumentsNeedingOcr", len(scans.scans), workflow="vendor_approval")
        return {"application_key": None, "needs_ocr": True, "reason": str(scans), "scans": scans.scans}
    except VendorDocumentsUnreadable as error:
        step.failed(event, error, "vendor_documents.read")
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
    step.record(
        event,
        action="vendor_documents.read",
        outcome="read",
        reasons=[f"{doc}: uncertain {', '.join(fields)}" for doc, fields in low.items() if fields]
        + application.document_hints,
        output={"application_key": key},
        data={
            "documents": sorted(documents),
            **({"read_by_textract": sorted(extracted)} if extracted else {}),
        },
    )
    return {"application_key": key, "needs_ocr": False, "reason": None, "scans": []}


def _extracted(s3: Any, outcomes: list[dict[str, Any]]) -> dict[str, ExtractionResult]:
    """What Textract read of each scan, by document type (the outcomes the Textract step resumed with)."""
    return {outcome["document_type"]: load_analysis(s3, outcome["extraction"]).result for outcome in outcomes}
