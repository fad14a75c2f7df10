"""Lambda (SNS): a Textract job finished; resume the execution waiting for it.

Every result page is read, the normalized document and the profile's result go to S3, and the execution is
resumed with ``SendTaskSuccess`` (or ``SendTaskFailure`` with ``TextractJobFailed`` for a failed job). A notice
for a job without a pending token (``UnknownTextractJob``) and Textract's transient errors are raised: Lambda
retries the notice, then parks it in the undelivered-events queue.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.utilities.typing import LambdaContext

from backoffice import aws, metrics
from backoffice.audit import AuditTrail
from backoffice.extraction.textract_backend import DynamoDbTaskTokenStore
from backoffice.extraction.textract_steps import TextractResultSettings, finish_textract_job
from backoffice.settings import AuditSettings, from_env

logger = Logger()
tracer = Tracer()
settings = from_env(TextractResultSettings)
audit_settings = from_env(AuditSettings)


@logger.inject_lambda_context(log_event=False)  # the notice names documents; the result holds their content
@tracer.capture_lambda_handler
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    result = finish_textract_job(
        event,
        textract=aws.client("textract"),
        s3=aws.client("s3"),
        sfn=aws.client("stepfunctions"),
        tokens=DynamoDbTaskTokenStore(aws.client("dynamodb"), settings.textract_job_table_name),
        audit=AuditTrail(audit_settings.audit_table_name),
        settings=settings,
    )
    metrics.record("TextractJobsCompleted", outcome=str(result["outcome"]))
    logger.info("textract job completed", extra=result)
    return result
