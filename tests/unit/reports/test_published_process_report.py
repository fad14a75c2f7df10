"""The weekly process report's publication and its links, on in-memory fakes (no AWS)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from backoffice.audit import AuditRecord
from backoffice.firm_config import FirmConfigInvalid, parse_firm_config
from backoffice.intelligence.samples import sample_records
from backoffice.local.samples import sample_approval_policy
from backoffice.reports.links import DOWNLOAD_SECONDS, LinkAnswer, ReportLink, ReportOpener, page
from backoffice.reports.process_report import (
    LATEST_KEY,
    NO_RECORDS,
    REPORT_WORKFLOW,
    PublishProcessReportInput,
    ReportPublisher,
    build_process_report,
)

MONDAY = datetime(2026, 12, 7, 7, 0, tzinfo=UTC)
OWNERS = ("ops@example-firm.com", "coo@example-firm.com")


@dataclass
class InMemoryTrail:
    """What the publisher reads (case ids, a case's records) and what it appends, kept apart."""

    items: list[AuditRecord]
    appended: list[dict[str, Any]] = field(default_factory=list)

    def case_ids(self) -> list[str]:
        return sorted({r.case_id for r in self.items})

    def records(self, case_id: str) -> list[AuditRecord]:
        return sorted((r for r in self.items if r.case_id == case_id), key=lambda r: r.seq)

    def append(self, **fields: Any) -> None:
        self.appended.append(fields)


@dataclass
class InMemoryS3:
    objects: dict[str, tuple[bytes, str, str]] = field(default_factory=dict)
    presigned: list[tuple[dict[str, Any], int]] = field(default_factory=list)

    def put_object(self, *, Bucket: str, Key: str, Body: bytes, ContentType: str) -> dict[str, Any]:
        version = f"v{len(self.objects) + 1}"
        self.objects[Key] = (Body, ContentType, version)
        return {"VersionId": version}

    def generate_presigned_url(self, operation: str, *, Params: dict[str, Any], ExpiresIn: int) -> str:
        self.presigned.append((Params, ExpiresIn))
        return f"https://reports.s3.example/{Params['Key']}?versionId={Params.get('VersionId')}&X-Amz-Expires={ExpiresIn}"


@dataclass
class InMemoryLinks:
    links: dict[str, ReportLink] = field(default_factory=dict)

    def issue(self, link: ReportLink) -> str:
        link_id = f"link{len(self.links) + 1}"
        self.links[link_id] = link
        return link_id

    def find(self, link_id: str) -> ReportLink | None:
        return self.links.get(link_id)

    mailed: set[tuple[str, str]] = field(default_factory=set)

    def already_mailed(self, case_id: str, recipient: str) -> bool:
        return (case_id, recipient) in self.mailed

    def mark_mailed(self, case_id: str, recipient: str, at: str) -> None:
        self.mailed.add((case_id, recipient))


@dataclass
class Outbox:
    sent: list[dict[str, str]] = field(default_factory=list)

    def send(
        self, *, to: str, subject: str, text: str, html: str, tags: Mapping[str, str] | None = None
    ) -> None:
        self.sent.append({"to": to, "subject": subject, "text": text, "html": html, "tags": dict(tags or {})})


def publisher(trail: InMemoryTrail, s3: InMemoryS3, links: InMemoryLinks, outbox: Outbox) -> ReportPublisher:
    return ReportPublisher(
        trail=trail,  # type: ignore[arg-type]
        s3=s3,
        bucket="reports",
        links=links,  # type: ignore[arg-type]
        mailer=outbox,
        recipients=OWNERS,
        base_url="https://api.example/prod/",
        firm="Example Firm LLP",
        link_days=14,
        clock=lambda: MONDAY,
    )


@pytest.fixture
def records() -> list[AuditRecord]:
    return sample_records(cases=12, invoices=2)


def test_the_published_report_is_the_cli_report_in_html_and_json_under_the_day(
    records: list[AuditRecord],
) -> None:
    # Given a trail of twelve cases
    trail, s3, links, outbox = InMemoryTrail(records), InMemoryS3(), InMemoryLinks(), Outbox()

    # When the weekly schedule publishes the report
    published = publisher(trail, s3, links, outbox).publish(
        PublishProcessReportInput(schedule="weekly_process_report")
    )

    # Then the HTML and the JSON are under the day's folder, and the pointer names them with their versions
    assert published.status == "published"
    assert (published.html_key, published.json_key) == (
        "process-reports/2026-12-07/report.html",
        "process-reports/2026-12-07/report.json",
    )
    html, html_type, html_version = s3.objects[published.html_key]
    assert (
        html_type.startswith("text/html")
        and b"<title>Process report: Example Firm LLP, 2026-12-07</title>" in html
    )
    latest = json.loads(s3.objects[LATEST_KEY][0])
    assert (latest["html_key"], latest["html_version"]) == (published.html_key, html_version)
    # And it is the report the CLI builds from the same records, as of the same moment
    expected = build_process_report(records, as_of=MONDAY)
    assert expected is not None
    assert json.loads(s3.objects[published.json_key][0])["cases"] == expected.cases == published.cases


def test_each_owner_gets_a_personal_link_whose_expiry_the_mail_states(records: list[AuditRecord]) -> None:
    # Given a trail and two process owners
    trail, s3, links, outbox = InMemoryTrail(records), InMemoryS3(), InMemoryLinks(), Outbox()

    # When the report is published
    published = publisher(trail, s3, links, outbox).publish(PublishProcessReportInput())

    # Then each owner got one mail with a link to the API, not to S3, and the link's expiry in words
    assert [m["to"] for m in outbox.sent] == list(OWNERS)
    first, second = outbox.sent
    assert "https://api.example/prod/reports/link1" in first["text"]
    assert "https://api.example/prod/reports/link2" in second["text"]
    assert "until 2026-12-21 07:00 UTC (14 days)" in first["text"]
    assert "until 2026-12-21 07:00 UTC (14 days)" in first["html"]
    assert "s3.example" not in first["text"] + first["html"]
    # And each mail is tagged with the publication, so a bounce SES reports lands on its trail
    assert first["tags"] == {"purpose": "process_report", "case": "process-report-2026-12-07"}
    # And each link opens the version that was mailed, until the stated expiry
    assert {link.recipient for link in links.links.values()} == set(OWNERS)
    assert all(
        link.expires_at == published.link_expires_at == "2026-12-21T07:00:00+00:00"
        for link in links.links.values()
    )
    assert all(link.version_id == s3.objects[published.html_key or ""][2] for link in links.links.values())


def test_the_publication_is_audited_with_the_object_keys_and_who_was_mailed(
    records: list[AuditRecord],
) -> None:
    # Given a trail
    trail, s3, links, outbox = InMemoryTrail(records), InMemoryS3(), InMemoryLinks(), Outbox()

    # When the report is published
    publisher(trail, s3, links, outbox).publish(PublishProcessReportInput(schedule="weekly_process_report"))

    # Then the trail says what was written, by whom, when and why, and who got the link until when
    published, mailed = trail.appended
    assert (published["case_id"], published["action"], str(published["actor"])) == (
        "process-report-2026-12-07",
        "process_report.published",
        "system:publish_process_report",
    )
    assert published["data"]["html_key"] == "process-reports/2026-12-07/report.html"
    assert published["data"]["latest_key"] == LATEST_KEY
    assert "schedule weekly_process_report" in published["reasons"][0]
    assert mailed["action"] == "process_report.mailed"
    assert mailed["data"]["recipients"] == list(OWNERS)
    assert mailed["data"]["link_expires_at"] == "2026-12-21T07:00:00+00:00"


def test_an_owner_ses_refuses_is_named_on_the_trail_and_the_others_still_get_their_mail(
    records: list[AuditRecord],
) -> None:
    from botocore.exceptions import ClientError

    # Given SES refuses mail to the first owner (an unverified address while the account is in the SES sandbox)
    class RefusingFirst(Outbox):
        def send(
            self, *, to: str, subject: str, text: str, html: str, tags: Mapping[str, str] | None = None
        ) -> None:
            if to == OWNERS[0]:
                raise ClientError(
                    {"Error": {"Code": "MessageRejected", "Message": "Email address is not verified."}},
                    "SendRawEmail",
                )
            super().send(to=to, subject=subject, text=text, html=html, tags=tags)

    trail, s3, links, outbox = InMemoryTrail(records), InMemoryS3(), InMemoryLinks(), RefusingFirst()

    # When the report is published
    published = publisher(trail, s3, links, outbox).publish(PublishProcessReportInput())

    # Then the report is published, the second owner got the mail, and the refusal is named, not retried
    assert published.status == "published"
    assert [m["to"] for m in outbox.sent] == [OWNERS[1]]
    assert published.not_mailed == {OWNERS[0]: "MessageRejected"}
    mailed = trail.appended[-1]
    assert mailed["outcome"] == "partly_mailed"
    assert f"SES refused the mail to {OWNERS[0]}: MessageRejected" in mailed["reasons"]


def test_a_rerun_as_of_an_earlier_day_reports_that_day_with_links_that_work_from_now(
    records: list[AuditRecord],
) -> None:
    # Given a trail, and an operator re-running last Monday's report today
    trail, s3, links, outbox = InMemoryTrail(records), InMemoryS3(), InMemoryLinks(), Outbox()
    last_monday = MONDAY - timedelta(days=7)

    # When it is published as of then
    published = publisher(trail, s3, links, outbox).publish(PublishProcessReportInput(as_of=last_monday))

    # Then it lands in last Monday's folder, and its links work for 14 days from today, not from then
    assert published.html_key == "process-reports/2026-11-30/report.html"
    assert published.link_expires_at == "2026-12-21T07:00:00+00:00"


def test_an_empty_trail_publishes_nothing_and_says_so() -> None:
    # Given a trail with no records
    trail, s3, links, outbox = InMemoryTrail([]), InMemoryS3(), InMemoryLinks(), Outbox()

    # When the schedule runs
    published = publisher(trail, s3, links, outbox).publish(PublishProcessReportInput())

    # Then nothing is written or mailed, the result says why, and so does the trail
    assert (published.status, published.message) == ("no_records", NO_RECORDS)
    assert s3.objects == {} and outbox.sent == []
    [skipped] = trail.appended
    assert (skipped["action"], skipped["outcome"], skipped["reasons"]) == (
        "process_report.skipped",
        "no_records",
        [NO_RECORDS],
    )


def test_the_reports_own_records_are_not_cases_of_the_report(records: list[AuditRecord]) -> None:
    # Given a trail holding only the report job's own records
    own = [
        r.model_copy(update={"workflow": REPORT_WORKFLOW, "case_id": "process-report-2026-11-30"})
        for r in records[:3]
    ]

    # Then there is nothing to report on; and mixed with cases, they do not count as one
    assert build_process_report(own, as_of=MONDAY) is None
    with_cases = build_process_report([*records, *own], as_of=MONDAY)
    alone = build_process_report(records, as_of=MONDAY)
    assert with_cases is not None and alone is not None and with_cases.cases == alone.cases


# -- links -----------------------------------------------------------------------------------------------------


def opener(links: InMemoryLinks, s3: InMemoryS3, trail: InMemoryTrail, now: datetime) -> ReportOpener:
    return ReportOpener(links=links, s3=s3, bucket="reports", audit=trail, clock=lambda: now)  # type: ignore[arg-type]


def a_link(expires: datetime) -> ReportLink:
    return ReportLink(
        "ops@example-firm.com",
        "2026-12-07",
        "process-report-2026-12-07",
        "process-reports/2026-12-07/report.html",
        "v1",
        MONDAY.isoformat(),
        expires.isoformat(),
    )


def test_a_live_link_redirects_to_a_short_lived_url_of_the_mailed_version_and_is_audited() -> None:
    # Given a link mailed on Monday, valid for 14 days
    links, s3, trail = InMemoryLinks(), InMemoryS3(), InMemoryTrail([])
    link_id = links.issue(a_link(MONDAY + timedelta(days=14)))

    # When the owner follows it on Thursday
    answer = opener(links, s3, trail, MONDAY + timedelta(days=3)).open(
        link_id, method="GET", ip="203.0.113.9", user_agent="Mail"
    )

    # Then the answer is a 303 to a presigned GET of that version, valid for minutes, and the opening is audited
    assert (answer.status, answer.kind) == (303, "report")
    [(params, expires_in)] = s3.presigned
    assert params == {"Bucket": "reports", "Key": "process-reports/2026-12-07/report.html", "VersionId": "v1"}
    assert expires_in == DOWNLOAD_SECONDS <= 900
    [opened] = trail.appended
    assert (opened["action"], opened["data"]["recipient"], opened["data"]["ip"]) == (
        "process_report.opened",
        "ops@example-firm.com",
        "203.0.113.9",
    )


def test_a_mail_scanners_head_redirects_without_an_audit_record() -> None:
    links, s3, trail = InMemoryLinks(), InMemoryS3(), InMemoryTrail([])
    link_id = links.issue(a_link(MONDAY + timedelta(days=14)))
    answer = opener(links, s3, trail, MONDAY).open(link_id, method="HEAD", ip=None, user_agent="Scanner")
    assert answer.status == 303 and trail.appended == []


def test_an_expired_link_and_an_unknown_one_are_refused_with_a_page_that_says_so() -> None:
    # Given a link that expired
    links, s3, trail = InMemoryLinks(), InMemoryS3(), InMemoryTrail([])
    link_id = links.issue(a_link(MONDAY + timedelta(days=14)))
    late = opener(links, s3, trail, MONDAY + timedelta(days=15))

    # When it is followed, and so is a link nobody issued
    expired = late.open(link_id, method="GET", ip=None, user_agent=None)
    unknown = late.open("not-a-link", method="GET", ip=None, user_agent=None)

    # Then neither gets a URL: the expired one says when it expired, the unknown one that it is not ours
    assert (expired.status, expired.kind, expired.location) == (410, "expired", None)
    assert (unknown.status, unknown.kind, unknown.location) == (404, "unknown", None)
    assert s3.presigned == []
    assert "<h1>Link expired</h1>" in page(expired) and "2026-12-21 07:00 UTC" in page(expired)
    assert "<h1>Unknown link</h1>" in page(LinkAnswer(404, "unknown"))


# -- who gets it ---------------------------------------------------------------------------------------------


BASE_CONFIG = {
    "firm": "Example Firm LLP",
    "sender": "approvals@example-firm.com",
    "approval_policy": sample_approval_policy(),
}


def test_the_report_goes_to_the_notification_recipients_unless_it_has_its_own() -> None:
    default = parse_firm_config(
        {**BASE_CONFIG, "notification_recipients": ["ops@example-firm.com"]}, "firm.json"
    )
    own = parse_firm_config(
        {
            **BASE_CONFIG,
            "notification_recipients": ["ops@example-firm.com"],
            "process_report_recipients": ["coo@example-firm.com"],
        },
        "firm.json",
    )
    assert default.report_recipients() == ("ops@example-firm.com",)
    assert own.report_recipients() == ("coo@example-firm.com",)


def test_a_report_recipient_that_is_not_an_address_is_refused_naming_the_field() -> None:
    with pytest.raises(FirmConfigInvalid) as refused:
        parse_firm_config({**BASE_CONFIG, "process_report_recipients": ["the coo"]}, "firm.json")
    assert refused.value.problems == ["process_report_recipients: the coo is not an e-mail address"]


def test_a_run_retried_after_a_failure_mid_mailing_does_not_mail_an_owner_twice(
    records: list[AuditRecord],
) -> None:
    # Given a run that mailed the first owner, then failed on the second (a timeout, not an SES refusal)
    class FailingOnce(Outbox):
        failed = False

        def send(
            self, *, to: str, subject: str, text: str, html: str, tags: Mapping[str, str] | None = None
        ) -> None:
            if to == OWNERS[1] and not self.failed:
                self.failed = True
                raise TimeoutError("SES did not answer")
            super().send(to=to, subject=subject, text=text, html=html, tags=tags)

    trail, s3, links, outbox = InMemoryTrail(records), InMemoryS3(), InMemoryLinks(), FailingOnce()
    with pytest.raises(TimeoutError):
        publisher(trail, s3, links, outbox).publish(PublishProcessReportInput())
    # When Lambda retries the run
    published = publisher(trail, s3, links, outbox).publish(PublishProcessReportInput())
    # Then each owner got exactly one mail, and the retry's record names both as mailed
    assert [m["to"] for m in outbox.sent] == list(OWNERS)
    assert published.recipients == list(OWNERS)
