"""Lambda: invoicing step 'Draft invoice in ERP': one draft per project and period, whatever the retries."""

from __future__ import annotations

import os
from typing import Any

from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.utilities.typing import LambdaContext

from backoffice import aws
from backoffice.audit import Actor
from backoffice.connectors import wiring
from backoffice.invoicing.step_inputs import ProjectStepInput
from backoffice.invoicing.steps import BillingFiles, billing_policy, draft
from backoffice.steps import Step, settings

logger = Logger()
tracer = Tracer()
STEP = Step("invoicing", "draft invoice in ERP", Actor.system("draft_invoice"))
INPUT_MODEL = ProjectStepInput


@logger.inject_lambda_context(log_event=False)
@tracer.capture_lambda_handler
@STEP.calls_systems
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    payload = INPUT_MODEL.model_validate(event)
    files = BillingFiles(aws.client("s3"), settings().documents_bucket_name, payload.run_case_id)
    try:
        drafted = draft(payload.project_id, files, wiring.psa(), wiring.erp(), billing_policy(os.environ))
    except Exception as error:
        STEP.failed(event, error, "invoice.drafted")
        raise
    if drafted["status"] == "nothing_to_bill":
        STEP.record(event, action="invoice.drafted", outcome="nothing_to_bill", reasons=drafted["reasons"])
        return drafted
    STEP.record(
        event,
        action="invoice.drafted" if drafted["created"] else "invoice.found",
        outcome="drafted" if drafted["created"] else "existing",
        reasons=[f"{drafted['lines']} line(s), {drafted['currency']} {drafted['amount']}"],
        output={k: v for k, v in drafted.items() if k != "subject"},
        data={
            "invoice_id": drafted["invoice_id"],
            "amount": drafted["amount"],
            "currency": drafted["currency"],
        },
    )
    return drafted
