"""Lambda: fed by the audit table's stream, anchors each new record's hash in the Object Lock bucket."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.utilities.typing import LambdaContext

from backoffice import aws, metrics
from backoffice.audit_anchors import AnchorStore, AuditStreamEvent, anchor_stream_records
from backoffice.settings import Settings, from_env


class AnchorAuditSettings(Settings):
    audit_anchors_bucket_name: str


logger = Logger()
tracer = Tracer()
settings = from_env(AnchorAuditSettings)


@logger.inject_lambda_context(log_event=False)  # record images carry case data
@tracer.capture_lambda_handler
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    result = anchor_stream_records(
        AuditStreamEvent.model_validate(event),
        AnchorStore(settings.audit_anchors_bucket_name, s3=aws.client("s3")),
    )
    # An in-place change of the append-only trail is reported, not retried: its anchor already holds the truth.
    # The metric pages the operators (the AuditTampered alarm); the log line names the case and record.
    findings = (*result.conflicts, *result.tampering)
    for finding in findings:
        logger.error("audit trail tampered with", extra={"finding": finding})
    if findings:
        metrics.record("AuditTamperingDetected", len(findings), workflow="audit")
    logger.info("audit records anchored", extra=result.as_dict())
    return result.as_dict()
