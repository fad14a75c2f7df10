"""Lambda (weekly schedule): the process report from the audit trail, into the reports bucket, linked by mail.

Builds the same report as ``backoffice report`` (backoffice.reports.process_report), writes its HTML and JSON under
``process-reports/<yyyy-mm-dd>/``, audits what it wrote, and e-mails each process owner a link that works for the
stated number of days (backoffice.reports.links).
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.utilities.typing import LambdaContext

from backoffice.reports.process_report import PublishProcessReportInput
from backoffice.reports.wiring import publisher_from_env

logger = Logger()
tracer = Tracer()
INPUT_MODEL = PublishProcessReportInput


@logger.inject_lambda_context(log_event=False)
@tracer.capture_lambda_handler
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    request = INPUT_MODEL.model_validate(event)
    published = publisher_from_env().publish(request)
    logger.info("process report", extra={"status": published.status, "day": published.day})
    return published.model_dump(mode="json")
