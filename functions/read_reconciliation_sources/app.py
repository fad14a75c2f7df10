"""Lambda: reconciliation step 'Read PSA, ERP and CRM': every record the rules compare, read into S3 once."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.utilities.typing import LambdaContext

from backoffice import aws
from backoffice.audit import Actor
from backoffice.connectors import wiring
from backoffice.finance_close.reconciliation_steps import (
    ReconciliationFiles,
    period_of,
    read_now,
    read_sources,
)
from backoffice.finance_close.step_inputs import ReadReconciliationSourcesInput
from backoffice.models import FinancePeriod, parse_event_as
from backoffice.steps import Step, settings

logger = Logger()
tracer = Tracer()
STEP = Step("reconciliation", "read PSA, ERP and CRM", Actor.system("read_reconciliation_sources"))
INPUT_MODEL = ReadReconciliationSourcesInput


@logger.inject_lambda_context(log_event=False)
@tracer.capture_lambda_handler
@STEP.calls_systems
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    payload = INPUT_MODEL.model_validate(event)
    _, request = parse_event_as(payload.event, FinancePeriod)
    period = read_now(period_of(request, datetime.now(UTC).date()))
    files = ReconciliationFiles(aws.client("s3"), settings().documents_bucket_name, payload.case_id)
    try:
        read = read_sources(
            period,
            wiring.close_crm(),
            wiring.psa(),
            wiring.close_psa(),
            wiring.erp(),
            wiring.close_erp(),
            files,
        )
    except Exception as error:
        STEP.failed(event, error, "reconciliation.sources_read")
        raise
    counts = read["counts"]
    STEP.record(
        event,
        action="reconciliation.sources_read",
        outcome="read",
        reasons=[
            f"period {period['start']} to {period['end']}, ages as of {period['as_of']}",
            f"PSA: {counts['time_lines']} time and {counts['expense_lines']} expense lines, "
            f"{counts['psa_projects']} projects, {counts['psa_accounts']} accounts; ERP: {counts['erp_invoices']} "
            f"invoices, {counts['erp_projects']} projects, {counts['erp_customers']} customers; CRM: "
            f"{counts['crm_accounts']} accounts"
            + ("" if counts["crm_read"] else " (not read: the CRM adapter lists no accounts yet)"),
        ],
        data=read,
    )
    logger.info("reconciliation sources read", extra={"case_id": payload.case_id, **counts})
    return read
