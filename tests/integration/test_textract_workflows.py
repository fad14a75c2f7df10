"""Scanned documents end to end on the local runtime: the real ASL's Textract branch, the real handlers.

With the catalog setting ``textract_enabled`` at "true", a scan the embedded extractor cannot read goes to the
``.waitForTaskToken`` task that calls ``start_textract_analysis``; Amazon Textract is faked in this process at the
botocore level (``FakeTextract``: StartDocumentAnalysis, GetDocumentAnalysis in NextToken pages, and the SNS
notice to ``textract_completed``), and the case goes on with what Textract read as if the local read had
produced it. With the setting at "false" (the local default) a scan still goes to a person, as before.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterator
from dataclasses import replace

import pytest

from backoffice.local.runtime import LocalRuntime
from backoffice.local.samples import Deal, new_client, put_deal
from backoffice.local.vendor_samples import blank_w9, put_vendor_request, scenarios
from infra.catalog import CATALOG, Ref
from tests.integration.conftest import Firm, start_first
from tests.integration.textract_fakes import FakeTextract, analysis_pages, lines_of, scanned_pdf

PROCUREMENT = "kofi.mensah@example-firm.com"


@pytest.fixture
def textract_firm() -> Iterator[Firm]:
    """The local runtime with Textract turned on, as a firm's deployment would have it."""
    logging.getLogger("moto").setLevel(logging.CRITICAL)
    catalog = replace(CATALOG, settings={**CATALOG.settings, "textract_enabled": "true"})
    with LocalRuntime(catalog, retry_time_scale=0.001) as runtime:
        yield Firm(runtime)


def scan_the_sow(firm: Firm, deal: Deal) -> tuple[dict[str, object], str, bytes]:
    """The deal's SOW in the CRM replaced by its scan (a PDF without a text layer); returns the event detail,
    the SOW's key and the digital original."""
    runtime = firm.runtime
    s3 = runtime.client("s3")
    detail = put_deal(runtime.sandbox(), s3, runtime.documents_bucket, deal)
    key = f"crm/opportunities/{deal.opportunity_id}/statement-of-work.pdf"
    original: bytes = s3.get_object(Bucket=runtime.documents_bucket, Key=key)["Body"].read()
    scan = scanned_pdf(pages=2)
    version = s3.put_object(
        Bucket=runtime.documents_bucket, Key=key, Body=scan, ContentType="application/pdf"
    )
    attachment = runtime.sandbox().get("crm", "attachment", deal.opportunity_id)
    assert attachment is not None
    runtime.sandbox().put(
        "crm",
        "attachment",
        deal.opportunity_id,
        {**attachment, "version_id": version["VersionId"], "sha256": hashlib.sha256(scan).hexdigest()},
    )
    return detail, key, original


def test_a_scanned_sow_is_read_by_textract_and_the_deal_is_onboarded(textract_firm: Firm) -> None:
    # Given Textract turned on, a won deal whose SOW is a scan, and Textract able to read the scan
    firm, runtime = textract_firm, textract_firm.runtime
    deal = Deal(31, new_client(31))
    detail, key, original = scan_the_sow(firm, deal)
    textract = FakeTextract(runtime, {key: analysis_pages(lines_of(original), responses=3)})
    textract.install()
    # When the CRM closes the deal
    runtime.put_event("Opportunity Closed Won", detail, source="crm.salesforce")
    case_id = f"onboard-{deal.opportunity_id}"
    execution = firm.settle(case_id, timeout=60)
    # Then the case is onboarded from what Textract read
    assert execution.status == "SUCCEEDED", firm.actions(case_id)
    assert firm.outcome_event(case_id)["detail-type"] == "Project Onboarded"
    [project] = [
        p for p in runtime.sandbox().all("psa", "project") if p["opportunity_id"] == deal.opportunity_id
    ]
    assert project["client_id"]
    # And the trail shows the scan, the Textract job and its completion, then the SOW read from Textract's lines
    # (the SOW profile finds fewer fields in plain lines than Textract's forms and queries would give: it says
    # needs_review, and the contract checks and legal review downstream are the same as for a digital SOW)
    actions = start_first(firm.actions(case_id), ("case.started", "started"))
    read_at = actions.index(("sow.read", "needs_ocr"))
    assert actions[read_at + 1 : read_at + 4] == [
        ("textract.started", "started"),
        ("textract.completed", "needs_review"),
        ("sow.read", "read"),
    ]
    assert [r.actor.id for r in firm.records(case_id)][read_at + 3] == "read_statement_of_work:textract"
    assert firm.audit.verify([case_id]).ok
    # And the job was started as the issue asks: SNS notice to the catalog's topic, tagged with the case,
    # idempotent on the scan's S3 version; and its result was read in all three NextToken pages
    [started] = textract.started
    assert started["JobTag"] == case_id
    assert started["NotificationChannel"]["SNSTopicArn"] == runtime.resolve(
        Ref("topic_arn", "textract_completed")
    )
    assert started["DocumentLocation"]["S3Object"]["Name"] == key
    assert started["ClientRequestToken"]
    [(result, failure)] = textract.notices
    assert failure is None and result is not None and result["resumed"] is True


def test_a_failed_textract_job_blocks_the_case_with_the_reason(textract_firm: Firm) -> None:
    # Given Textract turned on, a scanned SOW, and a Textract job that fails
    firm, runtime = textract_firm, textract_firm.runtime
    deal = Deal(32, new_client(32))
    detail, key, _ = scan_the_sow(firm, deal)
    failed = {"JobStatus": "FAILED", "StatusMessage": "Request has unsupported document format"}
    textract = FakeTextract(runtime, {key: [failed]})
    textract.install()
    # When the deal is won
    runtime.put_event("Opportunity Closed Won", detail, source="crm.salesforce")
    case_id = f"onboard-{deal.opportunity_id}"
    # Then the waiting task fails with TextractJobFailed, and the case is blocked with that reason, once; a job
    # that failed is a technical fault (a step that produced nothing), so the execution fails
    assert firm.settle(case_id, timeout=60).status == "FAILED"
    reason = firm.outcome_event(case_id)["detail"]["reasons"][0]
    assert reason.startswith("TextractJobFailed")
    assert firm.fault(case_id) == ("TechnicalFault", reason)
    assert ("textract.completed", "failed") in firm.actions(case_id)
    assert len(textract.started) == 1


def test_with_textract_off_a_scanned_sow_goes_to_a_person_as_before(firm: Firm) -> None:
    # Given the local default (Textract off) and a won deal whose SOW is a scan
    deal = Deal(33, new_client(33))
    detail, _, _ = scan_the_sow(firm, deal)
    # When the deal is won
    firm.runtime.put_event("Opportunity Closed Won", detail, source="crm.salesforce")
    case_id = f"onboard-{deal.opportunity_id}"
    # Then the case is blocked for a person with the reason (a business outcome), and no Textract step ran
    assert firm.settle(case_id).status == "SUCCEEDED"
    reason = firm.outcome_event(case_id)["detail"]["reasons"][0]
    assert reason.startswith("StatementOfWorkUnreadable: the SOW cannot be read (needs_ocr)")
    assert "start_textract_analysis" not in [i.function for i in firm.runtime.lambdas.invocations]


def test_a_scanned_bank_letter_is_read_by_textract_and_the_vendor_goes_to_approval(
    textract_firm: Firm,
) -> None:
    # Given Textract turned on and a clean vendor request whose bank letter is a scan
    firm, runtime = textract_firm, textract_firm.runtime
    s3, bucket = runtime.client("s3"), runtime.documents_bucket
    form = blank_w9()
    assert form is not None
    detail, _ = put_vendor_request(s3, bucket, scenarios()["clean"], form)
    [letter] = [d for d in detail["documents"] if d["document_type"] == "bank_letter"]
    original: bytes = s3.get_object(Bucket=bucket, Key=letter["key"])["Body"].read()
    scan = scanned_pdf(pages=1)
    version = s3.put_object(Bucket=bucket, Key=letter["key"], Body=scan, ContentType="application/pdf")
    letter.update(
        version_id=version["VersionId"], sha256=hashlib.sha256(scan).hexdigest(), size_bytes=len(scan)
    )
    textract = FakeTextract(runtime, {letter["key"]: analysis_pages(lines_of(original), responses=2)})
    textract.install()
    # When procurement asks for the vendor
    event_id = runtime.put_event("Vendor Onboarding Requested", detail, source="procurement.portal")
    [delivery] = [d for d in runtime.router.deliveries if d.event_id == event_id]
    case_id = delivery.case_id
    assert case_id is not None
    # Then the scan is read by Textract, the vendor checks pass on its facts, and the request waits for approval
    execution = firm.settle(case_id, timeout=60)
    assert execution.current_state == "Ask for vendor approval", firm.actions(case_id)
    actions = firm.actions(case_id)
    assert ("vendor_documents.read", "needs_ocr") in actions
    assert ("textract.completed", "complete") in actions
    assert actions.count(("vendor_documents.read", "read")) == 1
    [started] = textract.started
    assert started["DocumentLocation"]["S3Object"]["Name"] == letter["key"]
    # And the account number read by Textract appears on the trail only as its last four digits
    text = " ".join(" ".join(r.reasons) + str(r.data) for r in firm.records(case_id))
    assert "4021198870" not in text
    # And procurement's approval releases the vendor as for a digital bank letter
    from tests.integration.test_vendor_workflow import approve

    approve(firm, case_id, PROCUREMENT)
    assert firm.finish(case_id).status == "SUCCEEDED"
