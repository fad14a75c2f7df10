"""The missing-timesheet job built from the environment: its settings, ports, policies and mailer."""

from __future__ import annotations

from backoffice import aws
from backoffice.audit import AuditTrail
from backoffice.connectors import wiring
from backoffice.delivery.policy import DeliveryPolicy
from backoffice.firm_settings import firm_config_section, firm_policy
from backoffice.settings import Settings, from_env
from backoffice.time_expense.reminder_claims import ReminderClaims
from backoffice.time_expense.reminders import ReminderRun
from backoffice.time_expense.reminders_policy import ReminderPolicy


class ReminderSettings(Settings):
    audit_table_name: str
    idempotency_table_name: str
    approvals_sender: str
    mail_configuration_set: str | None = None


def reminder_run_from_env() -> ReminderRun:
    from backoffice.approvals.adapters import SesMailer

    settings = from_env(ReminderSettings)
    recipients = firm_config_section("notification_recipients") or ()
    return ReminderRun(
        hris=wiring.hris(),
        psa=wiring.psa(),
        trail=AuditTrail(settings.audit_table_name),
        claims=ReminderClaims(aws.client("dynamodb"), settings.idempotency_table_name),
        mailer=SesMailer(aws.client("ses"), settings.approvals_sender, settings.mail_configuration_set),
        reminders=firm_policy("timesheet_reminders", ReminderPolicy),
        delivery=firm_policy("delivery_policy", DeliveryPolicy),
        fallback_recipients=tuple(str(r) for r in recipients),
        firm=str(firm_config_section("firm") or "the firm"),
    )


__all__ = ["ReminderSettings", "reminder_run_from_env"]
