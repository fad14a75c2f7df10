"""Lambda: invoicing step 'Post invoice in ERP': post the approved draft and link every line it bills to it."""

from __future__ import annotations

import os
from typing import Any

from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.utilities.typing import LambdaContext

from backoffice import aws, metrics
from backoffice.audit import Actor
from backoffice.connectors import wiring
from backoffice.invoicing.receivables import ReceivablesLedger
from backoffice.invoicing.step_inputs import PostInvoiceInput
from backoffice.invoicing.steps import BillingFiles, post
from backoffice.steps import Step, settings

logger = Logger()
tracer = Tracer()
STEP = Step("invoicing", "post invoice in ERP", Actor.system("post_invoice"))
INPUT_MODEL = PostInvoiceInput


@logger.inject_lambda_context(log_event=False)
@tracer.capture_lambda_handler
@STEP.calls_systems
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    payload = INPUT_MODEL.model_validate(event)
    try:
        posted = post(
            payload.project_id,
            payload.invoice_id,
            wiring.psa(),
            wiring.erp(),
            files=BillingFiles(aws.client("s3"), settings().documents_bucket_name, payload.run_case_id),
            # Registered as a receivable of this case: its payments are recorded here (record_invoice_payment).
            ledger=ReceivablesLedger(os.environ["FINANCE_CLOSE_TABLE_NAME"], aws.client("dynamodb")),
            case_id=payload.case_id,
        )
    except Exception as error:
        STEP.failed(event, error, "invoice.posted")
        raise
    STEP.record(
        event,
        action="invoice.posted",
        outcome="posted",
        reasons=[
            f"invoice {posted['invoice_number']} for {posted['currency']} {posted['amount']}; "
            f"{posted['lines_billed']} line(s) linked to it in the PSA"
        ],
        output=posted,
        data=posted,
    )
    metrics.record("InvoicesPosted", workflow="invoicing")
    return posted
