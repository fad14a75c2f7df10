"""Builds the approval service from the environment, once per Lambda container (shared by the handlers)."""

from __future__ import annotations

from backoffice import aws
from backoffice.approvals.adapters import SesMailer, SnsNotifier, StepFunctionsCallback
from backoffice.approvals.policy import load_policy
from backoffice.approvals.service import Approvals
from backoffice.approvals.store import ApprovalStore
from backoffice.approvals.summary import assistant_summarizer
from backoffice.audit import AuditTrail
from backoffice.settings import Settings, from_env


class ApprovalSettings(Settings):
    audit_table_name: str
    approvals_table_name: str
    notifications_topic_arn: str
    approvals_sender: str
    approvals_base_url: str
    # The SES configuration set whose events reach handle_mail_event (None: mails are not tracked).
    mail_configuration_set: str | None = None


def approvals_from_env() -> Approvals:
    settings = from_env(ApprovalSettings)
    audit = AuditTrail(settings.audit_table_name)
    return Approvals(
        store=ApprovalStore(settings.approvals_table_name, aws.client("dynamodb")),
        audit=audit,
        mailer=SesMailer(aws.client("ses"), settings.approvals_sender, settings.mail_configuration_set),
        notifier=SnsNotifier(aws.client("sns"), settings.notifications_topic_arn),
        callback=StepFunctionsCallback(aws.client("stepfunctions")),
        policy=load_policy(),
        base_url=settings.approvals_base_url,
        summarizer=assistant_summarizer(audit),
    )
