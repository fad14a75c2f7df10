"""Lambda: purchase approval step 'Notify the vendor': the vendor is mailed its purchase order (what, how much, by
when, the order's number); no bank or tax data."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.utilities.typing import LambdaContext

from backoffice import aws
from backoffice.approvals.adapters import SesMailer
from backoffice.audit import Actor
from backoffice.firm_settings import firm_config_section
from backoffice.models import PurchaseRequested, parse_event_as
from backoffice.purchasing.orders import OrderMails, notify_vendor_once
from backoffice.purchasing.requests import WORKFLOW
from backoffice.purchasing.step_inputs import NotifyVendorInput
from backoffice.settings import Settings, from_env
from backoffice.steps import Step

logger = Logger()
tracer = Tracer()
STEP = Step(WORKFLOW, "notify the vendor", Actor.system("notify_vendor_of_purchase_order"))
INPUT_MODEL = NotifyVendorInput


class NotifySettings(Settings):
    approvals_sender: str
    purchasing_table_name: str
    mail_configuration_set: str | None = None


@logger.inject_lambda_context(log_event=False)
@tracer.capture_lambda_handler
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    payload = INPUT_MODEL.model_validate(event)
    own = from_env(NotifySettings)
    _, detail = parse_event_as(payload.event, PurchaseRequested)
    firm = firm_config_section("firm") or "The firm"
    try:
        # Once per request: a retried step after SES took the mail does not send it again.
        notified = notify_vendor_once(
            detail,
            payload.order,
            firm=str(firm),
            mailer=SesMailer(aws.client("ses"), own.approvals_sender, own.mail_configuration_set),
            mails=OrderMails(own.purchasing_table_name, aws.client("dynamodb")),
            now=lambda: datetime.now(UTC),
        )
    except Exception as error:
        STEP.failed(event, error, "vendor.notified")
        raise
    STEP.record(
        event,
        action="vendor.notified",
        outcome="mailed" if notified["mailed"] else "not_mailed",
        reasons=notified["reasons"],
        data={"number": payload.order.get("number"), "mailed": notified["mailed"]},
    )
    return notified
