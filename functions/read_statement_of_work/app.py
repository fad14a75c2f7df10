"""Lambda: onboarding step 'Read statement of work': the SOW's facts, kept in S3 under the case.

A digital PDF is read by the embedded extractor. A scan answers ``needs_ocr`` instead of facts, and the state
machine decides who reads it: Amazon Textract when the firm has turned it on, else a person. Called again with
``extracted`` (what Textract read), the step takes the facts from that analysis the same way.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.utilities.typing import LambdaContext

from backoffice import aws, metrics
from backoffice.audit import Actor
from backoffice.extraction.textract_steps import load_analysis
from backoffice.onboarding.reading_step import read_statement_of_work, read_statement_of_work_from_analysis
from backoffice.onboarding.sow_documents import sow_problems
from backoffice.onboarding.step_inputs import ReadStatementOfWorkInput
from backoffice.onboarding.steps import (
    StatementOfWorkNeedsOcr,
    StatementOfWorkUnreadable,
    facts_summary,
    store_facts,
)
from backoffice.steps import Step, settings

logger = Logger()
tracer = Tracer()
# Extraction is machine output: recorded as such, checked by rules, and decided on by people where it matters.
STEP = Step("onboarding", "read statement of work", Actor.system("read_statement_of_work:pypdf"))
FROM_TEXTRACT = Step("onboarding", "read statement of work", Actor.system("read_statement_of_work:textract"))
INPUT_MODEL = ReadStatementOfWorkInput


@logger.inject_lambda_context(log_event=False)
@tracer.capture_lambda_handler
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    payload = INPUT_MODEL.model_validate(event)
    s3 = aws.client("s3")
    extracted = payload.extracted
    step = FROM_TEXTRACT if extracted else STEP
    try:
        if extracted:
            facts = read_statement_of_work_from_analysis(load_analysis(s3, extracted["extraction"]))
        else:
            facts = read_statement_of_work(_document_bytes(s3, payload.document))
        problems = sow_problems(facts)
        if problems:
            raise StatementOfWorkUnreadable("the SOW lacks what a project needs: " + "; ".join(problems))
    except StatementOfWorkNeedsOcr as scan:
        # Not a failure of the step: the state machine routes the scan to Textract or to a person.
        step.record(event, action="sow.read", outcome="needs_ocr", reasons=[str(scan)])
        metrics.record("DocumentsNeedingOcr", workflow="onboarding", document_type="sow")
        return {"facts_key": None, "summary": None, "needs_ocr": True, "reason": str(scan)}
    except StatementOfWorkUnreadable as error:
        step.failed(event, error, "sow.read")
        raise
    key = store_facts(s3, settings().documents_bucket_name, payload.case_id, facts)
    summary = facts_summary(facts)
    step.record(event, action="sow.read", outcome="read", output=summary, data=summary)
    return {"facts_key": key, "summary": summary, "needs_ocr": False, "reason": None}


def _document_bytes(s3: Any, document: dict[str, Any]) -> bytes:
    request: dict[str, Any] = {"Bucket": document["bucket"], "Key": document["key"]}
    if document.get("version_id"):
        request["VersionId"] = document["version_id"]
    body: bytes = s3.get_object(**request)["Body"].read()
    return body
