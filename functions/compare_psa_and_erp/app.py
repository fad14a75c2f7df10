"""Lambda: reconciliation step 'Compare PSA and ERP': the rules (RC1-RC11) over the records read, the findings'
life across runs, and the findings a person decides."""

from __future__ import annotations

import os
from typing import Any

from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.utilities.typing import LambdaContext

from backoffice import aws
from backoffice.audit import Actor
from backoffice.finance_close.findings import FindingStore
from backoffice.finance_close.reconciliation_steps import (
    ReconciliationFiles,
    changes_reasons,
    compare,
    reconciliation_policy,
)
from backoffice.finance_close.step_inputs import CompareInput
from backoffice.steps import Step, settings

logger = Logger()
tracer = Tracer()
STEP = Step("reconciliation", "compare PSA and ERP", Actor.system("compare_psa_and_erp"))
INPUT_MODEL = CompareInput


@logger.inject_lambda_context(log_event=False)
@tracer.capture_lambda_handler
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    payload = INPUT_MODEL.model_validate(event)
    files = ReconciliationFiles(aws.client("s3"), settings().documents_bucket_name, payload.case_id)
    store = FindingStore(os.environ["FINANCE_CLOSE_TABLE_NAME"], aws.client("dynamodb"))
    try:
        compared = compare(
            payload.case_id, payload.period.model_dump(), files, store, reconciliation_policy()
        )
    except Exception as error:
        STEP.failed(event, error, "reconciliation.compared")
        raise
    summary = compared["summary"]
    STEP.record(
        event,
        action="reconciliation.compared",
        outcome="findings" if summary["findings"] else "agree",
        reasons=[
            f"{summary['findings']} finding(s): {summary['to_review']} above the review threshold, "
            f"{summary['listed']} listed; {summary['sent_for_review']} sent for review now",
            changes_reasons(summary["changes"]),
            *(f"{rule}: {count}" for rule, count in summary["counts_by_rule"].items() if count),
        ],
        data={**summary, "reviews": [item["key"] for item in compared["to_review"]]},
    )
    logger.info(
        "psa and erp compared",
        extra={"case_id": payload.case_id, "findings": summary["findings"], "period": payload.period.start},
    )
    return compared
