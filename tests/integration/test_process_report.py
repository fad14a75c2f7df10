"""The weekly process report on the local runtime: the schedule's function, under its synthesized IAM role, reads
the audit table, writes the report to the reports bucket and mails the process owners a link that the local API
gateway answers as API Gateway would."""

from __future__ import annotations

import json
import re
import urllib.error
import urllib.request
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from backoffice.audit import _to_item
from backoffice.intelligence import build_report
from backoffice.intelligence.samples import sample_records
from backoffice.local.outbox import Mail, read_outbox
from backoffice.local.polling import Pauses
from backoffice.local.runtime import LocalRuntime
from infra.catalog import CATALOG, Ref

SCHEDULE = next(s for s in CATALOG.schedules if s.name == "weekly_process_report")
OWNER = "ops@example-firm.com"  # the sample firm's notification recipient: it names no report recipients
_REPORT_LINK = re.compile(r"https?://\S+/reports/[A-Za-z0-9_-]{16,}")


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


def follow(url: str, method: str = "GET") -> tuple[int, dict[str, str], str]:
    """One request to the local gateway, redirects not followed (a 303's Location is S3's, not the gateway's)."""
    opener = urllib.request.build_opener(_NoRedirect)
    try:
        with opener.open(urllib.request.Request(url, method=method), timeout=30) as response:
            return int(response.status), dict(response.headers.items()), response.read().decode()
    except urllib.error.HTTPError as error:
        return int(error.code), dict(error.headers.items()), error.read().decode()


def given_a_trail(runtime: LocalRuntime, cases: int = 9) -> list[Any]:
    records = sample_records(cases=cases, invoices=2)
    dynamodb, table = runtime.client("dynamodb"), runtime.resolve(Ref("table_name", "audit"))
    for record in records:
        dynamodb.put_item(TableName=table, Item=_to_item(record))
    return records


def run_the_schedule(runtime: LocalRuntime, **extra: Any) -> dict[str, Any]:
    """What EventBridge Scheduler (and ``POST /_local/schedules/<name>`` on ``backoffice serve``) does: invoke the
    schedule's function with the schedule's input."""
    result, error = runtime.lambdas.invoke(
        SCHEDULE.function, {"source": "backoffice.local", "schedule": SCHEDULE.name, **extra}
    )
    assert error is None, error
    assert isinstance(result, dict)
    return result


def report_mail(runtime: LocalRuntime) -> Mail:
    [mail] = [
        m for m in read_outbox(runtime.outbox_dir) if m.to == OWNER and m.subject.startswith("Process report")
    ]
    return mail


def reports_bucket(runtime: LocalRuntime) -> str:
    return runtime.resolve(Ref("bucket_name", "reports"))


def test_the_weekly_report_lands_in_the_bucket_and_the_owners_link_opens_it(runtime: LocalRuntime) -> None:
    # Given an audit trail of nine cases and two invoices
    records = given_a_trail(runtime)
    expected = build_report(records)

    # When the weekly schedule runs its function (under its own IAM role)
    published = run_the_schedule(runtime)

    # Then the HTML and the JSON are in the reports bucket under today's folder
    day = datetime.now(UTC).date().isoformat()
    assert published["status"] == "published"
    assert published["html_key"] == f"process-reports/{day}/report.html"
    s3, bucket = runtime.client("s3"), reports_bucket(runtime)
    html = s3.get_object(Bucket=bucket, Key=published["html_key"])["Body"].read().decode()
    report = json.loads(s3.get_object(Bucket=bucket, Key=published["json_key"])["Body"].read())
    latest = json.loads(s3.get_object(Bucket=bucket, Key="process-reports/latest.json")["Body"].read())
    # And the HTML is the process report: its title, and the trail's number of cases as its first figure
    assert f"<title>Process report: Example Firm LLP, {day}</title>" in html
    assert f'<div class="label">Cases</div><div class="value">{expected.cases}</div>' in html
    assert report["cases"] == expected.cases == published["cases"]
    assert latest["html_key"] == published["html_key"]
    # And nothing it did was refused by IAM
    assert runtime.iam_enforcer is not None and runtime.iam_enforcer.denied == []

    # And the process owner got a mail with a link to the API and the link's expiry
    mail = report_mail(runtime)
    until = (datetime.now(UTC) + timedelta(days=14)).date().isoformat()
    assert f"The link works until {until}" in mail.text and "(14 days)" in mail.text
    [url] = _REPORT_LINK.findall(mail.text)
    assert url.startswith(runtime.api_url)

    # When the owner follows the link
    status, headers, _ = follow(url)

    # Then the API answers 303 to a presigned GET of the published version, valid for five minutes
    assert status == 303
    location = headers["Location"]
    assert f"/{published['html_key']}?versionId={latest['html_version']}" in location
    assert "X-Amz-Expires=300" in location and "X-Amz-Signature=" in location
    # And that URL yields the report (locally S3's presigned GET is served and checked by the gateway)
    assert location.startswith(runtime.api_url)
    assert follow(location)[0::2] == (200, html)
    # And the same URL with its version or lifetime changed is refused as S3 refuses a wrong signature
    for tampered in (
        location.replace("X-Amz-Expires=300", "X-Amz-Expires=86400"),
        location.replace("versionId=", "versionId=x"),
    ):
        refused = follow(tampered)
        assert refused[0] == 403 and "<Code>SignatureDoesNotMatch</Code>" in refused[2]
    # And the trail says what was published, mailed and opened, with the object keys
    actions = [
        (r.action, r.data.get("html_key") or r.data.get("key"))
        for r in runtime_records(runtime, f"process-report-{day}")
    ]
    assert actions == [
        ("process_report.published", published["html_key"]),
        ("process_report.mailed", published["html_key"]),
        ("process_report.opened", published["html_key"]),
    ]


def runtime_records(runtime: LocalRuntime, case_id: str) -> list[Any]:
    from backoffice.audit import AuditTrail

    return AuditTrail(
        runtime.resolve(Ref("table_name", "audit")), dynamodb=runtime.client("dynamodb")
    ).records(case_id)


def test_an_expired_link_and_an_unknown_link_get_a_page_not_the_report(runtime: LocalRuntime) -> None:
    from backoffice.approvals.store import ApprovalStore
    from backoffice.reports.links import ReportLink, ReportLinks

    # Given a published report, and a link to it that expired yesterday (mailed fifteen days ago)
    given_a_trail(runtime, cases=3)
    published = run_the_schedule(runtime)
    [live] = _REPORT_LINK.findall(report_mail(runtime).text)
    mailed = datetime.now(UTC) - timedelta(days=15)
    links = ReportLinks(
        ApprovalStore(runtime.resolve(Ref("table_name", "approvals")), runtime.client("dynamodb"))
    )
    old = links.issue(
        ReportLink(
            OWNER,
            published["day"],
            f"process-report-{published['day']}",
            published["html_key"],
            None,
            mailed.isoformat(),
            (mailed + timedelta(days=14)).isoformat(),
        )
    )
    expired_url = f"{live.rsplit('/', 1)[0]}/{old}"

    # When the owner follows it now, and someone tries a link nobody issued
    expired = follow(expired_url)
    unknown = follow(live.rsplit("/", 1)[0] + "/" + "x" * 32)

    # Then neither redirects: the expired one says it expired, the unknown one that it is not ours
    assert expired[0] == 410 and "<h1>Link expired</h1>" in expired[2] and "Location" not in expired[1]
    assert unknown[0] == 404 and "<h1>Unknown link</h1>" in unknown[2] and "Location" not in unknown[1]
    # While this week's link still opens the report
    assert follow(live)[0] == 303


def test_an_empty_trail_gives_a_clear_no_records_result(runtime: LocalRuntime) -> None:
    # Given no audit records at all
    # When the weekly schedule runs
    published = run_the_schedule(runtime)

    # Then it says there is nothing to report, writes nothing and mails nobody
    assert published["status"] == "no_records"
    assert published["message"] == "the audit trail has no records yet: nothing to report"
    listed = runtime.client("s3").list_objects_v2(Bucket=reports_bucket(runtime))
    assert listed.get("KeyCount", 0) == 0
    assert not [m for m in read_outbox(runtime.outbox_dir) if m.subject.startswith("Process report")]


@pytest.mark.parametrize("method", ["HEAD"])
def test_a_mail_scanner_checking_the_link_gets_the_redirect_but_opens_nothing(
    runtime: LocalRuntime, method: str
) -> None:
    # Given a published report
    given_a_trail(runtime, cases=3)
    published = run_the_schedule(runtime)
    [url] = _REPORT_LINK.findall(report_mail(runtime).text)

    # When a mail scanner checks the link with HEAD
    status, _headers, body = follow(url, method)

    # Then it sees the redirect, and no opening is recorded
    assert status == 303 and body == ""
    actions = [r.action for r in runtime_records(runtime, f"process-report-{published['day']}")]
    assert "process_report.opened" not in actions


def test_a_report_url_signed_by_a_role_without_the_reports_grant_is_refused(runtime: LocalRuntime) -> None:
    from backoffice import aws
    from backoffice.local.iam import acting_as_function

    # Given a published report
    given_a_trail(runtime, cases=3)
    published = run_the_schedule(runtime)

    # When a function whose role may not read reports signs a GET of it (as S3 authorizes the signer's role)
    with acting_as_function("validate_opportunity"):
        url = aws.client("s3", signature_version="s3v4").generate_presigned_url(
            "get_object",
            Params={"Bucket": reports_bucket(runtime), "Key": published["html_key"]},
            ExpiresIn=300,
        )

    # Then following it is refused, and local IAM says which action was missing
    status, _, body = follow(url)
    assert status == 403 and "<Code>AccessDenied</Code>" in body
    assert runtime.iam_enforcer is not None
    assert any("validate_opportunity" in d and "s3:GetObject" in d for d in runtime.iam_enforcer.denied)


def test_a_report_mail_that_bounces_is_put_on_the_publications_trail_and_the_operators_are_told(
    runtime: LocalRuntime, monkeypatch: pytest.MonkeyPatch
) -> None:
    import time

    from moto.sns.models import sns_backends

    from backoffice.local.runtime import ACCOUNT, REGION
    from tests.integration.conftest import deploy_firm_document

    # Given a firm whose process owner's mailbox does not exist (SES's mailbox simulator bounces the mail)
    deploy_firm_document(
        runtime,
        monkeypatch,
        lambda document: document.update(process_report_recipients=["bounce@simulator.amazonses.com"]),
    )
    given_a_trail(runtime, cases=3)
    # When the weekly report is published
    published = run_the_schedule(runtime)
    case_id = f"process-report-{published['day']}"
    # Then SES's bounce comes back through the mail events topic and lands on the publication's trail
    deadline = time.monotonic() + 20
    pause = Pauses()
    while not [r for r in runtime_records(runtime, case_id) if r.action == "process_report.undeliverable"]:
        assert time.monotonic() < deadline, "the bounce was not recorded"
        pause()
    [bounced] = [r for r in runtime_records(runtime, case_id) if r.action == "process_report.undeliverable"]
    assert bounced.outcome == "undeliverable" and bounced.actor.id == "ses"
    assert "fix process_report_recipients" in bounced.reasons[-1]
    # And the operators get one readable notice naming the address (published after the record: waited for)
    arn = runtime.resolve(Ref("topic_arn", "notifications"))
    subject = "Process report mail bounced: bounce@simulator.amazonses.com"

    def notices() -> list[str]:
        sent = sns_backends[ACCOUNT][REGION].topics[arn].sent_notifications
        return [s for _, _, s, *_ in sent if s == subject]

    while not notices():
        assert time.monotonic() < deadline, "the operators were not told"
        pause()
    assert len(notices()) == 1
