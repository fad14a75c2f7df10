"""The weekly process report: built from the audit trail, written to the reports bucket, mailed to its owners.

One code path with ``backoffice report``: both read the trail with ``intelligence.load_records`` and build with
``build_process_report`` (the intelligence package's ``build_report``, without this job's own records, which are
bookkeeping and not cases of the firm), then ``render_html`` and ``to_json``.

A publication writes ``process-reports/<yyyy-mm-dd>/report.html`` and ``report.json`` and the pointer
``process-reports/latest.json`` (which day, which keys and versions), audits what it wrote (case
``process-report-<yyyy-mm-dd>``), and e-mails each process owner a personal link (``reports.links``) that works
until the stated date. An empty trail publishes nothing and says so, on the trail and in the result.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, Literal

from botocore.exceptions import ClientError
from pydantic import AwareDatetime, ConfigDict

from backoffice.audit import JOB_WORKFLOWS, Actor, AuditRecord, AuditTrail
from backoffice.mail_events import CASE_TAG, PROCESS_REPORT_MAIL, mail_tags
from backoffice.models.envelope import JsonModel, Model
from backoffice.reports.links import ReportLink, ReportLinks

if TYPE_CHECKING:
    from backoffice.approvals.service import Mailer
    from backoffice.intelligence import Report

REPORT_WORKFLOW = "process_report"
REPORTS_PREFIX = "process-reports"
LATEST_KEY = f"{REPORTS_PREFIX}/latest.json"
DEFAULT_LINK_DAYS = 14
PUBLISHER = Actor.system("publish_process_report")
NO_RECORDS = "the audit trail has no records yet: nothing to report"


class PublishProcessReportInput(JsonModel):
    """What EventBridge Scheduler sends (``{"schedule": name}``; the local runtime adds ``source``)."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    schedule: str = "weekly_process_report"
    # The moment to report as of (open cases' ages, waits; the day folder); default now. A re-run names one. The
    # links always work for ``link_days`` from when they are mailed.
    as_of: AwareDatetime | None = None


class PublishedProcessReport(Model):
    status: Literal["published", "no_records"]
    day: str
    message: str
    html_key: str | None = None
    json_key: str | None = None
    latest_key: str | None = None
    cases: int = 0
    events: int = 0
    recipients: list[str] = []
    # Owners SES refused to mail (address: reason); the others got theirs, and the trail names both.
    not_mailed: dict[str, str] = {}
    link_expires_at: str | None = None


def report_records(records: Iterable[AuditRecord]) -> list[AuditRecord]:
    """The records the report is about: every case's, not the scheduled jobs' own (this job's publications and
    link openings, the sanctions list refreshes); a measurement job's (a month's delivery and WIP) are kept, as
    the management numbers read them (the report leaves them out of the case metrics)."""
    from backoffice.intelligence.events import MEASUREMENT_WORKFLOWS

    return [
        record
        for record in records
        if record.workflow not in JOB_WORKFLOWS or record.workflow in MEASUREMENT_WORKFLOWS
    ]


# The operational management numbers the weekly report puts on the dashboard: (metric, where in the numbers, as a
# percentage). Sent with the dimension ``workflow=process_report``; a number the trail has nothing for is not sent.
MANAGEMENT_METRICS: tuple[tuple[str, tuple[str, ...], bool], ...] = (
    ("DaysSalesOutstanding", ("dso", "count_back"), False),
    ("UtilizationPercent", ("utilization", "utilization"), True),
    ("RealizationPercent", ("realization", "realization"), True),
    ("BillingAccuracyPercent", ("billing_accuracy", "accuracy"), True),
    ("WorkInProgressBase", ("wip", "wip_base"), False),
    ("OrchestratedSharePercent", ("orchestrated_share", "share"), True),
)


def emit_management_metrics(report: Report) -> dict[str, float]:
    """Send the operational management numbers to CloudWatch (embedded metric format); returns what was sent."""
    from aws_lambda_powertools.metrics import MetricUnit

    from backoffice import metrics

    sent: dict[str, float] = {}
    for name, (section, field_name), percent in MANAGEMENT_METRICS:
        number = getattr(report.management, section)
        value = getattr(number, field_name)
        if not number.available or value is None:
            continue
        figure = float(value) * 100 if percent else float(value)
        unit = MetricUnit.Percent if percent else MetricUnit.Count
        metrics.record(name, figure, unit=unit, workflow=REPORT_WORKFLOW)
        sent[name] = figure
    return sent


def build_process_report(records: Iterable[AuditRecord], *, as_of: datetime | None) -> Report | None:
    """The process report of the trail as of ``as_of``, or None when there is nothing to report on."""
    from backoffice.intelligence import build_report  # the builders load when a report is made

    relevant = report_records(records)
    return build_report(relevant, as_of=as_of) if relevant else None


def report_keys(day: str) -> tuple[str, str]:
    return f"{REPORTS_PREFIX}/{day}/report.html", f"{REPORTS_PREFIX}/{day}/report.json"


@dataclass
class ReportPublisher:
    trail: AuditTrail
    s3: Any
    bucket: str
    links: ReportLinks
    mailer: Mailer
    recipients: Sequence[str]
    base_url: str
    firm: str
    link_days: int = DEFAULT_LINK_DAYS
    clock: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))

    def publish(self, request: PublishProcessReportInput) -> PublishedProcessReport:
        from backoffice.intelligence import load_records, render_html, to_json

        mailed_at = self.clock()
        now = request.as_of or mailed_at
        day = now.astimezone(UTC).date().isoformat()
        case_id = f"process-report-{day}"
        report = build_process_report(load_records(self.trail), as_of=now)
        if report is None:
            self._record(
                case_id, "process_report.skipped", "no_records", [NO_RECORDS], {"schedule": request.schedule}
            )
            return PublishedProcessReport(status="no_records", day=day, message=NO_RECORDS)

        emit_management_metrics(report)
        html_key, json_key = report_keys(day)
        title = f"Process report: {self.firm}, {day}"
        html_version = self._put(html_key, render_html(report, title=title), "text/html; charset=utf-8")
        json_version = self._put(json_key, to_json(report) + "\n", "application/json")
        latest = {
            "day": day,
            "as_of": now.isoformat(),
            "html_key": html_key,
            "html_version": html_version,
            "json_key": json_key,
            "json_version": json_version,
            "cases": report.cases,
            "events": report.events,
        }
        self._put(LATEST_KEY, json.dumps(latest, indent=2) + "\n", "application/json")
        summary = f"{report.cases} cases, {report.events} events as of {now.isoformat(timespec='minutes')}"
        self._record(
            case_id,
            "process_report.published",
            "published",
            [f"schedule {request.schedule}: {summary}"],
            {**latest, "bucket": self.bucket, "latest_key": LATEST_KEY, "schedule": request.schedule},
        )

        expires = mailed_at + timedelta(days=self.link_days)
        expires_at = expires.isoformat(timespec="seconds")
        not_mailed: dict[str, str] = {}
        for recipient in self.recipients:
            # Lambda retries a failed asynchronous (scheduled) run: an owner whose mail SES already accepted for
            # this publication is not mailed a second time.
            if self.links.already_mailed(case_id, recipient):
                continue
            link = ReportLink(
                recipient, day, case_id, html_key, html_version, mailed_at.isoformat(), expires_at
            )
            url = self._url(self.links.issue(link))
            try:
                self._mail(recipient, url, day, summary, expires, case_id)
            except ClientError as error:
                # One address SES refuses (the sandbox, a suppressed address) must not keep the others from their
                # mail: named on the trail instead.
                not_mailed[recipient] = str(error.response.get("Error", {}).get("Code", "refused"))
                continue
            self.links.mark_mailed(case_id, recipient, mailed_at.isoformat())
        mailed = [r for r in self.recipients if r not in not_mailed]
        why = [f"mailed {len(mailed)} process owners a link valid until {expires_at}"] if mailed else []
        why += [f"SES refused the mail to {address}: {code}" for address, code in not_mailed.items()]
        if not self.recipients:
            why = [
                "no process owners configured (process_report_recipients, notification_recipients): not mailed"
            ]
        outcome = "mailed" if mailed and not not_mailed else "partly_mailed" if mailed else "not_mailed"
        self._record(
            case_id,
            "process_report.mailed",
            outcome,
            why,
            {
                "recipients": mailed,
                "not_mailed": not_mailed,
                "link_expires_at": expires_at,
                "key": html_key,
            },
        )
        return PublishedProcessReport(
            status="published",
            day=day,
            message=f"published {html_key}: {summary}; {'; '.join(why)}",
            html_key=html_key,
            json_key=json_key,
            latest_key=LATEST_KEY,
            cases=report.cases,
            events=report.events,
            recipients=mailed,
            not_mailed=not_mailed,
            link_expires_at=expires_at,
        )

    def _put(self, key: str, body: str, content_type: str) -> str | None:
        stored = self.s3.put_object(Bucket=self.bucket, Key=key, Body=body.encode(), ContentType=content_type)
        version = stored.get("VersionId")
        return str(version) if version else None

    def _url(self, link_id: str) -> str:
        return f"{self.base_url.rstrip('/')}/reports/{link_id}"

    def _mail(
        self, recipient: str, url: str, day: str, summary: str, expires: datetime, case_id: str
    ) -> None:
        from backoffice.html import render  # jinja2 only when something is rendered

        until = expires.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")
        subject = f"Process report {day}: {self.firm}"
        text = "\n".join(
            [
                f"The weekly process report of {self.firm} for {day} is ready ({summary}).",
                "",
                f"Open it: {url}",
                f"The link works until {until} ({self.link_days} days). It is yours: it opens this week's report.",
            ]
        )
        html = render(
            "reports/email.html.j2",
            firm=self.firm,
            day=day,
            summary=summary,
            url=url,
            until=until,
            days=self.link_days,
        )
        # Tagged, so a bounce SES reports is put on this publication's trail (backoffice.undelivered_mail).
        tags = mail_tags(PROCESS_REPORT_MAIL, **{CASE_TAG: case_id})
        self.mailer.send(to=recipient, subject=subject, text=text, html=html, tags=tags)

    def _record(
        self, case_id: str, action: str, outcome: str, reasons: list[str], data: dict[str, Any]
    ) -> None:
        self.trail.append(
            case_id=case_id,
            workflow=REPORT_WORKFLOW,
            step="publish process report",
            actor=PUBLISHER,
            action=action,
            outcome=outcome,
            reasons=reasons,
            data=data,
        )
