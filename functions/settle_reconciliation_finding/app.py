"""Lambda: reconciliation step 'Record finding decision': what the finding's owner decided (acknowledged, to be
fixed in the PSA or the ERP, written off, rejected, or nobody answered) on the finding; a write-off of aged work
in progress takes those lines out of billing in the PSA."""

from __future__ import annotations

import os
from typing import Any

from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.utilities.typing import LambdaContext

from backoffice import aws
from backoffice.audit import Actor
from backoffice.connectors import wiring
from backoffice.finance_close.findings import FindingStore
from backoffice.finance_close.reconciliation_steps import ReconciliationFiles, reconciliation_policy, settle
from backoffice.finance_close.step_inputs import SettleFindingInput
from backoffice.steps import Step, settings

logger = Logger()
tracer = Tracer()
STEP = Step("reconciliation", "record finding decision", Actor.system("settle_reconciliation_finding"))
INPUT_MODEL = SettleFindingInput


@logger.inject_lambda_context(log_event=False)
@tracer.capture_lambda_handler
@STEP.calls_systems
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    payload = INPUT_MODEL.model_validate(event)
    files = ReconciliationFiles(aws.client("s3"), settings().documents_bucket_name, payload.run_case_id)
    store = FindingStore(os.environ["FINANCE_CLOSE_TABLE_NAME"], aws.client("dynamodb"))
    try:
        settled = settle(
            payload.run_case_id,
            payload.period.model_dump(),
            payload.finding_key,
            payload.decision,
            store,
            files,
            wiring.psa(),
            reconciliation_policy(),
        )
    except Exception as error:
        STEP.failed(event, error, "reconciliation.finding_settled")
        raise
    decided_by = ", ".join(str(d) for d in payload.decision.get("decided_by") or []) or "nobody"
    reasons = [f"{payload.finding_key}: {settled['status']} ({settled['resolution'] or 'no resolution'})"]
    reasons += [f"decided by {decided_by}", *(str(c) for c in payload.decision.get("comments") or [])]
    written = settled["written_off"]
    if written["time_entries"] or written["expenses"]:
        reasons.append(
            f"written off in the PSA: {written['time_entries']} time entr(ies), {written['expenses']} expense(s)"
        )
    STEP.record(
        event,
        action="reconciliation.finding_settled",
        outcome=settled["status"],
        reasons=reasons,
        data=settled,
    )
    return settled
