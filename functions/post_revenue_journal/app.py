"""Lambda: revenue recognition step 'Post journal to ERP': the journal finance approved, posted once per
currency and period, and each project's position kept for the next close."""

from __future__ import annotations

import os
from typing import Any

from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.utilities.typing import LambdaContext

from backoffice import aws
from backoffice.audit import Actor
from backoffice.connectors import wiring
from backoffice.finance_close.revenue_steps import PositionStore, RevenueFiles, post
from backoffice.finance_close.step_inputs import PostRevenueJournalInput
from backoffice.steps import Step, settings

logger = Logger()
tracer = Tracer()
STEP = Step("revenue_recognition", "post journal to ERP", Actor.system("post_revenue_journal"))
INPUT_MODEL = PostRevenueJournalInput


@logger.inject_lambda_context(log_event=False)
@tracer.capture_lambda_handler
@STEP.calls_systems
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    payload = INPUT_MODEL.model_validate(event)
    files = RevenueFiles(aws.client("s3"), settings().documents_bucket_name, payload.case_id)
    positions = PositionStore(os.environ["FINANCE_CLOSE_TABLE_NAME"], aws.client("dynamodb"))
    try:
        posted = post(files, wiring.revenue_erp(), positions, payload.case_id)
    except Exception as error:
        STEP.failed(event, error, "revenue.journal_posted")
        raise
    STEP.record(
        event,
        action="revenue.journal_posted",
        outcome="posted",
        reasons=[
            f"{p['currency']} journal {p['journal_id']}: {p['lines']} line(s), debits {p['debits']}"
            + ("" if p["created"] else " (posted before: the same entry)")
            for p in posted["posted"]
        ]
        + [f"{posted['positions_kept']} of {posted['projects']} project positions kept for the next close"],
        data=posted,
    )
    return posted
