"""Lambda: revenue recognition step 'Recognize revenue': each project's revenue of the period by its contract's
method, where it stands against its invoices, and the proposed journal, for finance to approve."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from typing import Any

from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.utilities.typing import LambdaContext

from backoffice import aws
from backoffice.audit import Actor
from backoffice.connectors import wiring
from backoffice.finance_close.reconciliation_steps import period_of
from backoffice.finance_close.revenue_steps import PositionStore, RevenueFiles, recognize, revenue_policy
from backoffice.finance_close.step_inputs import RecognizeRevenueInput
from backoffice.models import FinancePeriod, parse_event_as
from backoffice.steps import Step, settings

logger = Logger()
tracer = Tracer()
STEP = Step("revenue_recognition", "recognize revenue", Actor.system("recognize_revenue"))
INPUT_MODEL = RecognizeRevenueInput


@logger.inject_lambda_context(log_event=False)
@tracer.capture_lambda_handler
@STEP.calls_systems
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    payload = INPUT_MODEL.model_validate(event)
    _, request = parse_event_as(payload.event, FinancePeriod)
    period = period_of(request, datetime.now(UTC).date())
    files = RevenueFiles(aws.client("s3"), settings().documents_bucket_name, payload.case_id)
    positions = PositionStore(os.environ["FINANCE_CLOSE_TABLE_NAME"], aws.client("dynamodb"))
    try:
        recognized = recognize(
            period,
            wiring.psa(),
            wiring.revenue_psa(),
            wiring.close_erp(),
            positions,
            files,
            revenue_policy(),
        )
    except Exception as error:
        STEP.failed(event, error, "revenue.recognized")
        raise
    summary = recognized["summary"]
    STEP.record(
        event,
        action="revenue.recognized",
        outcome="journal_proposed" if recognized["has_journal"] else "nothing_to_book",
        reasons=[
            f"{summary['projects']} project(s) of {period['start']} to {period['end']}: "
            + ", ".join(f"{method} {count}" for method, count in summary["counts_by_method"].items()),
            *recognized["subject"]["reasons"],
        ],
        data=summary,
    )
    logger.info("revenue recognized", extra={"case_id": payload.case_id, "projects": summary["projects"]})
    return recognized
