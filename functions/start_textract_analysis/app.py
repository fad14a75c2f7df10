"""Lambda (.waitForTaskToken): read a scanned document with Amazon Textract for the waiting execution.

A PDF starts an asynchronous job whose SNS completion notice resumes the execution (``textract_completed``); a
single-page image is analysed in the call, and a document Textract cannot take is answered with an error
result, both resuming the execution at once. ``TextractThrottled``, ``TextractLimitExceeded`` and
``TextractServiceError`` are raised under their own names for the task's Retry.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.utilities.typing import LambdaContext

from backoffice import aws, metrics
from backoffice.audit import AuditTrail
from backoffice.extraction.textract_backend import DynamoDbTaskTokenStore, TextractSettings
from backoffice.extraction.textract_steps import AnalysisRequest, start_document_analysis
from backoffice.settings import AuditSettings, from_env

logger = Logger()
tracer = Tracer()
settings = from_env(TextractSettings)
audit_settings = from_env(AuditSettings)
# Validated by ``AnalysisRequest.from_event``: the document may be a whole Document, of which the S3 pointer counts.
INPUT_MODEL = AnalysisRequest


@logger.inject_lambda_context(log_event=False)  # the event holds the task token: never log it
@tracer.capture_lambda_handler
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    request = AnalysisRequest.from_event(event)
    result = start_document_analysis(
        request,
        textract=aws.client("textract"),
        s3=aws.client("s3"),
        sfn=aws.client("stepfunctions"),
        tokens=DynamoDbTaskTokenStore(aws.client("dynamodb"), settings.textract_job_table_name),
        audit=AuditTrail(audit_settings.audit_table_name),
        settings=settings,
    )
    metrics.record("TextractAnalysesStarted", workflow=request.workflow, document_type=request.document_type)
    logger.info(
        "textract analysis started",
        extra={"case_id": request.case_id, "document_type": request.document_type, **result},
    )
    return result
