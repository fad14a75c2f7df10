"""The report publisher and the report link endpoint, built from the environment once per Lambda container."""

from __future__ import annotations

import json

from backoffice import aws
from backoffice.approvals.store import ApprovalStore
from backoffice.audit import AuditTrail
from backoffice.reports.links import ReportLinks, ReportOpener
from backoffice.reports.process_report import DEFAULT_LINK_DAYS, ReportPublisher
from backoffice.settings import Settings, from_env


class ReportLinkSettings(Settings):
    audit_table_name: str
    approvals_table_name: str
    reports_bucket_name: str


class PublisherSettings(ReportLinkSettings):
    approvals_sender: str
    approvals_base_url: str
    mail_configuration_set: str | None = None
    firm_config_parameter: str | None = None
    process_report_link_days: int = DEFAULT_LINK_DAYS


def report_owners(parameter: str | None) -> tuple[str, tuple[str, ...]]:
    """(the firm's name, who gets the report) from the firm's configuration in SSM; without one, nobody."""
    if not parameter:
        return "the firm", ()
    from aws_lambda_powertools.utilities import parameters

    from backoffice.firm_config import parse_firm_config

    config = parse_firm_config(json.loads(str(parameters.get_parameter(parameter, max_age=300))), parameter)
    return config.firm, config.report_recipients()


def publisher_from_env() -> ReportPublisher:
    from backoffice.approvals.adapters import SesMailer

    settings = from_env(PublisherSettings)
    firm, recipients = report_owners(settings.firm_config_parameter)
    return ReportPublisher(
        trail=AuditTrail(settings.audit_table_name),
        s3=aws.client("s3"),
        bucket=settings.reports_bucket_name,
        links=ReportLinks(ApprovalStore(settings.approvals_table_name, aws.client("dynamodb"))),
        mailer=SesMailer(aws.client("ses"), settings.approvals_sender, settings.mail_configuration_set),
        recipients=recipients,
        base_url=settings.approvals_base_url,
        firm=firm,
        link_days=settings.process_report_link_days,
    )


def opener_from_env() -> ReportOpener:
    settings = from_env(ReportLinkSettings)
    return ReportOpener(
        links=ReportLinks(ApprovalStore(settings.approvals_table_name, aws.client("dynamodb"))),
        # Signature Version 4: the only one S3 accepts for a KMS-encrypted object.
        s3=aws.client("s3", signature_version="s3v4"),
        bucket=settings.reports_bucket_name,
        audit=AuditTrail(settings.audit_table_name),
    )
