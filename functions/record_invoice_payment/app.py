"""Lambda (rule ``invoice_paid``): the ERP's ``Invoice Paid``: a payment or credit memo applied to a posted invoice.

Applied to the receivables ledger once and recorded on the invoice's case (``invoice.paid`` / ``invoice.credited``);
a redelivered event records nothing. A payment of an invoice the ledger does not know, or an event that is not a
payment, is audited on a case of its own and parked; it returns normally, since a retry would fare no better.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import ValidationError

from backoffice import aws, metrics
from backoffice.audit import AuditTrail
from backoffice.invoicing.receivables import (
    InvoicePaidEvent,
    ParkedPayments,
    PaymentRecorder,
    ReceivablesLedger,
)
from backoffice.models import readable_errors
from backoffice.settings import Settings, from_env


class RecordInvoicePaymentSettings(Settings):
    audit_table_name: str
    finance_close_table_name: str
    parked_events_queue_url: str


logger = Logger()
tracer = Tracer()
settings = from_env(RecordInvoicePaymentSettings)
INPUT_MODEL = InvoicePaidEvent


def recorder() -> PaymentRecorder:
    return PaymentRecorder(
        ledger=ReceivablesLedger(settings.finance_close_table_name, aws.client("dynamodb")),
        audit=AuditTrail(settings.audit_table_name),
        parked=ParkedPayments(aws.client("sqs"), settings.parked_events_queue_url),
    )


@logger.inject_lambda_context(log_event=False)
@tracer.capture_lambda_handler
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    try:
        paid = INPUT_MODEL.from_event(event)
    except ValidationError as error:
        result = recorder().unreadable(event, readable_errors(error, prefix="detail"))
    else:
        result = recorder().record(paid.detail, via="event", event=event)
    metrics.record("InvoicePayments", workflow="invoicing", outcome=str(result["outcome"]))
    logger.info("invoice payment", extra={k: result.get(k) for k in ("outcome", "case_id", "payment_id")})
    return result
