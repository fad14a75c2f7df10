"""Lambda (SNS): SES reported a bounce, complaint or delivery delay of a product mail (``mail_events`` topic).

An approval mail that cannot reach its approver is audited on the case and escalates the level now instead of at
its timeout (when the policy names an escalation); an upload request to a vendor is audited on its case; a mail
that names neither is logged and counted. A failure is raised: Lambda retries the event, then parks it in the
undelivered-events queue, and a redelivered event changes nothing twice (``backoffice.undelivered_mail``).
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.utilities.typing import LambdaContext

from backoffice import aws, metrics
from backoffice.approvals.adapters import SnsNotifier
from backoffice.approvals.store import ApprovalStore
from backoffice.approvals.wiring import ApprovalSettings, approvals_from_env
from backoffice.audit import AuditTrail
from backoffice.mail_events import SnsDelivery
from backoffice.settings import from_env
from backoffice.undelivered_mail import UndeliveredMail

logger = Logger()
tracer = Tracer()
settings = from_env(ApprovalSettings)
INPUT_MODEL = SnsDelivery


@logger.inject_lambda_context(log_event=False)  # the event names people's addresses
@tracer.capture_lambda_handler
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    delivery = INPUT_MODEL.model_validate(event)
    service = UndeliveredMail(
        approvals=approvals_from_env(),
        store=ApprovalStore(settings.approvals_table_name, aws.client("dynamodb")),
        audit=AuditTrail(settings.audit_table_name),
        notifier=SnsNotifier(aws.client("sns"), settings.notifications_topic_arn),
    )
    results = []
    for sns_message_id, mail_event in delivery.mail_events():
        for result in service.handle(mail_event):
            metrics.record("MailEvents", event=mail_event.event_type, outcome=str(result["outcome"]))
            if result["outcome"] == "untraced":
                logger.warning(
                    "mail event names no case",
                    extra={"sns_message_id": sns_message_id, "event": mail_event.event_type},
                )
            results.append(result)
    logger.info("mail events handled", extra={"outcomes": [r["outcome"] for r in results]})
    return {"results": results}
