"""Lambda (scheduled): remind approvers of requests still pending after the policy's reminder interval."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.utilities.typing import LambdaContext

from backoffice import metrics
from backoffice.approvals.wiring import approvals_from_env
from backoffice.vendors.uploads import uploads_from_env

logger = Logger()
tracer = Tracer()


@logger.inject_lambda_context(log_event=False)
@tracer.capture_lambda_handler
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    approvals = approvals_from_env()
    reminded = approvals.remind()
    # Vendors asked for documents get their reminders on the same schedule and interval.
    uploads = uploads_from_env().remind(after_seconds=approvals.policy.reminder_after_seconds)
    # Approvals still waiting after a reminder: the "approvals overdue" alarm reads this.
    metrics.record("ApprovalsOverdue", len(reminded), workflow="all")
    logger.info("reminders sent", extra={"requests": len(reminded), "uploads": len(uploads)})
    return {"reminded": reminded, "uploads_reminded": uploads}
