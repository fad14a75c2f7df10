"""Lambda: reconciliation step 'Summarize reconciliation': findings by rule, amounts at stake, what the run
closed and what its reviews decided."""

from __future__ import annotations

import os
from typing import Any

from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.utilities.typing import LambdaContext

from backoffice import aws
from backoffice.audit import Actor
from backoffice.finance_close.findings import FindingStore
from backoffice.finance_close.reconciliation_steps import changes_reasons, summarize
from backoffice.finance_close.step_inputs import SummarizeReconciliationInput
from backoffice.steps import Step

logger = Logger()
tracer = Tracer()
STEP = Step("reconciliation", "summarize reconciliation", Actor.system("summarize_reconciliation"))
INPUT_MODEL = SummarizeReconciliationInput


@logger.inject_lambda_context(log_event=False)
@tracer.capture_lambda_handler
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    payload = INPUT_MODEL.model_validate(event)
    store = FindingStore(os.environ["FINANCE_CLOSE_TABLE_NAME"], aws.client("dynamodb"))
    why = "the run failed" if payload.failed else "the run ended without a decision on it"
    summary = summarize(
        payload.case_id, payload.period.model_dump(), payload.compared, payload.reviews, store, why
    )
    released = (
        [f"{summary['released']} finding(s) still in review opened again: {why}"]
        if summary["released"]
        else []
    )
    STEP.record(
        event,
        action="reconciliation.failed" if payload.failed else "reconciliation.completed",
        outcome="failed" if payload.failed else "findings" if summary["findings"] else "agree",
        reasons=[
            f"period {payload.period.start} to {payload.period.end}: {summary['findings']} finding(s)",
            changes_reasons(summary["changes"]),
            *(f"reviews: {label} {count}" for label, count in summary["reviews"].items()),
            *released,
        ],
        output=summary,
        data=summary,
    )
    logger.info(
        "reconciliation summarized", extra={"case_id": payload.case_id, "findings": summary["findings"]}
    )
    return summary
