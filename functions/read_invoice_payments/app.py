"""Lambda (daily schedule ``daily_invoice_payments``): the ERP's payments and credit memos since the watermark.

Pages ``list_payments`` from the last day read completely (less a week: payments are entered late) to today and
records each exactly as an ``Invoice Paid`` event would (``record_invoice_payment``, one code path): what an event
lost is recorded here, what an event recorded already is not recorded twice. The run is audited on the month's
receivables trail (a job, not a case).
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.utilities.typing import LambdaContext

from backoffice import aws, metrics
from backoffice.audit import AuditTrail
from backoffice.connectors import wiring
from backoffice.invoicing.receivables import (
    JOB_WORKFLOW,
    READ_ACTOR,
    ParkedPayments,
    PaymentRecorder,
    ReceivablesLedger,
    outcomes_text,
    read_payments,
)
from backoffice.models.envelope import Model
from backoffice.settings import Settings, from_env


class ReadInvoicePaymentsSettings(Settings):
    audit_table_name: str
    finance_close_table_name: str
    parked_events_queue_url: str


class ReadInvoicePaymentsRequest(Model):
    """What the scheduler sends (``{"schedule": name}``), or an operator's or a test's invoke (``today``)."""

    schedule: str | None = None
    today: date | None = None


logger = Logger()
tracer = Tracer()
settings = from_env(ReadInvoicePaymentsSettings)
INPUT_MODEL = ReadInvoicePaymentsRequest


@logger.inject_lambda_context(log_event=False)
@tracer.capture_lambda_handler
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    request = INPUT_MODEL.model_validate(event or {})
    today = request.today or datetime.now(UTC).date()
    audit = AuditTrail(settings.audit_table_name)
    recorder = PaymentRecorder(
        ledger=ReceivablesLedger(settings.finance_close_table_name, aws.client("dynamodb")),
        audit=audit,
        parked=ParkedPayments(aws.client("sqs"), settings.parked_events_queue_url),
    )
    result = read_payments(wiring.receivables_erp(), recorder, today)
    outcome = "read" if not result["failures"] else "incomplete"
    audit.append(
        case_id=f"receivables-{today:%Y-%m}",
        workflow=JOB_WORKFLOW,
        step="read invoice payments",
        actor=READ_ACTOR,
        action=f"payments.{outcome}",
        outcome=outcome,
        reasons=[
            f"{(request.schedule and 'schedule ' + request.schedule) or 'on request'}: payments from "
            f"{result['since']} to {result['until']}: {outcomes_text(result['outcomes'].items())}",
            *result["failed"],
        ],
        input=request.model_dump(mode="json"),
        data={k: v for k, v in result.items() if k != "failed"},
    )
    metrics.record("InvoicePaymentReads", workflow="invoicing", outcome=outcome)
    logger.info("invoice payments read", extra={"outcome": outcome, "outcomes": result["outcomes"]})
    return {**result, "outcome": outcome, "watermark": str(result["watermark"] or "")}
