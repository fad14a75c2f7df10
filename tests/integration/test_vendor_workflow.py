"""Vendor onboarding end to end on the local runtime: real PDFs read by the embedded extractor, real checks,
the approval chain decided through the confirmation pages, the vendor created on hold and released in the ERP.

Each test runs on the sandbox systems and on the real adapters against the fake NetSuite and HRIS (``[fakes]``),
but for the cases that involve none of the firm's systems."""

from __future__ import annotations

import pytest

from backoffice.local.approver import decide_via_http
from backoffice.local.vendor_samples import blank_w9, page_forms, post_file, put_vendor_request, scenarios
from tests.integration.conftest import ErpVendor, Firm, csrf_of, http, start_first

pytestmark = [
    pytest.mark.adapter_sets,
]
NO_BANK_ON_FILE = (
    "NetSuite keeps a vendor's bank details outside the vendor record and the adapter reads none, so with no "
    "account on file to compare, a request with a known tax id goes to bank-change verification"
)
PROCUREMENT = ("kofi.mensah@example-firm.com", "julia.novak@example-firm.com")
FINANCE = "priya.raman@example-firm.com"
COMPLIANCE = "ruth.adler@example-firm.com"


def request_vendor(firm: Firm, key: str) -> tuple[str, dict[str, bytes]]:
    runtime = firm.runtime
    form = blank_w9()
    assert form is not None
    detail, later = put_vendor_request(runtime.client("s3"), runtime.documents_bucket, scenarios()[key], form)
    event_id = runtime.put_event("Vendor Onboarding Requested", detail, source="procurement.portal")
    [delivery] = [d for d in runtime.router.deliveries if d.event_id == event_id]
    assert delivery.case_id is not None
    return delivery.case_id, later


def approve(firm: Firm, case_id: str, who: str, comment: str = "") -> None:
    status, heading, _ = decide_via_http(firm.link(who, case_id), "approve", who, comment)
    assert (status, heading) == (200, "You approved the request")


def erp_vendor(firm: Firm, name: str) -> ErpVendor:
    [vendor] = [v for v in firm.systems.vendors() if v.name == name]
    return vendor


def test_a_clean_vendor_is_created_on_hold_approved_by_procurement_and_released(firm: Firm) -> None:
    case_id, _ = request_vendor(firm, "clean")
    # Then it waits for procurement, with the vendor already in the ERP on hold
    assert firm.settle(case_id).current_state == "Ask for vendor approval"
    assert erp_vendor(firm, "Harbor & Pine Facilities LLC").on_hold is True
    # And its certificate's cover (every required policy to 30 June 2027) is kept on the vendor
    assert erp_vendor(firm, "Harbor & Pine Facilities LLC").insurance_expires_on == "2027-06-30"
    # And procurement's mail opens with the summary the local rules wrote, audited as the assistant's suggestion
    mail = firm.mail(PROCUREMENT[0], case_id)
    assert mail.text.index("In short: New vendor: Harbor & Pine") < mail.text.index(f"Case: {case_id}")
    [suggested] = [r for r in firm.records(case_id) if r.action == "ai.suggested"]
    assert (str(suggested.actor), suggested.step, suggested.outcome) == (
        "ai:local-rules",
        "vendor approval",
        "summarized",
    )
    # When procurement approves
    approve(firm, case_id, PROCUREMENT[0])
    # Then the vendor is released and announced
    assert firm.finish(case_id).status == "SUCCEEDED"
    assert erp_vendor(firm, "Harbor & Pine Facilities LLC").on_hold is False
    assert firm.outcome_event(case_id)["detail-type"] == "Vendor Approved"
    steps = [r.step for r in firm.records(case_id) if not r.action.startswith(("connector.", "ai."))]
    assert start_first(steps, "start case")[:5] == [
        "start case",
        "validate vendor request",
        "read vendor documents",
        "assess vendor",
        "create vendor in ERP on hold",
    ]


@pytest.mark.parametrize(
    ("key", "reason"),
    [
        ("insurance-expired", "expired"),
        ("invalid-tin", "EIN"),
        ("invalid-routing", "routing"),
        ("duplicate", "duplicate"),
    ],
)
@pytest.mark.sandbox_only(
    "the document checks involve none of the firm's systems; the duplicate is not rejected on NetSuite: "
    + NO_BANK_ON_FILE
)
def test_a_vendor_that_fails_its_checks_is_rejected_with_the_reason(
    firm: Firm, key: str, reason: str
) -> None:
    case_id, _ = request_vendor(firm, key)
    # Then the vendor is rejected: a business outcome, so the execution succeeds with it as the output
    assert firm.finish(case_id).status == "SUCCEEDED"
    event = firm.outcome_event(case_id)
    assert event["detail-type"] == "Vendor Rejected"
    assert reason.lower() in " ".join(event["detail"]["reasons"]).lower()
    output = firm.output(case_id)
    assert (output["outcome"], output["reasons"]) == ("Vendor Rejected", event["detail"]["reasons"])
    # No tax id or account number appears in full on the event or the trail
    text = str(event) + " ".join(" ".join(r.reasons) for r in firm.records(case_id))
    assert "07-1144442" not in text and "4021198870" not in text


@pytest.mark.sandbox_only("screening against the sanctions list involves none of the firm's systems")
def test_a_sanctions_match_goes_to_compliance_who_can_reject(firm: Firm) -> None:
    case_id, _ = request_vendor(firm, "sanctions-hit")
    assert firm.settle(case_id).current_state == "Ask for compliance review"
    mail = firm.mail(COMPLIANCE, case_id)
    assert "possible sanctions match" in mail.text and "SDN entry" in mail.text
    status, heading, _ = decide_via_http(
        mail.approval_links[0], "reject", COMPLIANCE, "Confirmed match with the SDN entry; do not onboard"
    )
    assert (status, heading) == (200, "You rejected the request")
    assert firm.finish(case_id).status == "SUCCEEDED"
    assert firm.outcome_event(case_id)["detail"]["reasons"][0].startswith("RejectedByCompliance:")
    assert firm.output(case_id)["outcome"] == "Vendor Rejected"


def test_an_erp_outage_that_outlasts_the_retries_fails_the_vendor_case_as_a_technical_fault(
    firm: Firm,
) -> None:
    # Given the ERP is down for longer than the retries last
    firm.systems.erp_outage(times=50)
    # When a clean vendor is requested
    case_id, _ = request_vendor(firm, "clean")
    execution = firm.finish(case_id)
    # Then the case is announced blocked with the outage as the reason, and the execution fails: a technical fault
    event = firm.outcome_event(case_id)
    assert event["detail-type"] == "Vendor Onboarding Blocked"
    assert event["detail"]["reasons"][0].startswith("ConnectorUnavailable:")
    assert firm.fault(case_id) == ("TechnicalFault", event["detail"]["reasons"][0])
    assert execution.status == "FAILED"


@pytest.mark.sandbox_only(
    "the upload link involves none of the firm's systems (the ERP steps after it are the clean vendor's)"
)
def test_a_missing_w9_is_requested_by_upload_link_and_the_case_goes_on_when_it_arrives(firm: Firm) -> None:
    case_id, later = request_vendor(firm, "missing-w9")
    # Then the vendor contact got an upload link, and the case waits
    execution = firm.settle(case_id, timeout=15)
    assert execution.current_state == "Ask vendor for missing documents"
    contact = scenarios()["missing-w9"].application.request.contact_email
    mails = [m for m in firm.inbox(contact) if "/uploads/" in m.text]
    assert mails and "IRS Form W-9" in mails[-1].text
    url = next(word for word in mails[-1].text.split() if "/uploads/" in word).rstrip(".")
    # When the vendor opens the link: one form per document, posting straight to S3
    status, page = http(url)
    assert status == 200 and "IRS Form W-9" in page
    [form] = [f for f in page_forms(page) if f.get("data-document") == "w9"]
    assert form["action"].startswith(f"{firm.runtime.api_url}/_local/s3/")
    # And sends the filled IRS W-9 (220 KB: far over the 8 KB the API's firewall lets through) with it
    assert len(later["w9"]) > 8 * 1024
    status, back, page = post_file(form["action"], form["fields"], form["file"], later["w9"])
    # Then S3 stores it and sends the browser back to the page, which shows it received
    assert status == 200 and back.startswith(url) and "Received (" in page
    # When the vendor confirms (a small form post to the API)
    status, page = http(url, {"csrf": csrf_of(page)})
    assert status == 200 and "Thank you" in page
    # Then the documents are read and the request goes to procurement, who approve
    assert firm.settle(case_id).current_state == "Ask for vendor approval"
    approve(firm, case_id, PROCUREMENT[1])
    assert firm.finish(case_id).status == "SUCCEEDED"
    assert ("documents.received", "received") in firm.actions(case_id)
    # And the upload link cannot be used again
    assert http(url)[0] == 409


@pytest.mark.sandbox_only(
    "the approval chain involves none of the firm's systems (the ERP steps are the clean vendor's)"
)
def test_high_spend_needs_two_procurement_approvers_and_finance(firm: Firm) -> None:
    case_id, _ = request_vendor(firm, "high-spend")
    assert firm.settle(case_id).current_state == "Ask for vendor approval"
    approve(firm, case_id, PROCUREMENT[0])
    # One of two is not enough
    assert firm.settle(case_id).current_state == "Ask for vendor approval"
    assert firm.execution(case_id).status == "RUNNING"
    approve(firm, case_id, PROCUREMENT[1])
    # Then finance decides the second level
    assert firm.settle(case_id).current_state == "Ask for vendor approval"
    approve(firm, case_id, FINANCE)
    assert firm.finish(case_id).status == "SUCCEEDED"
    levels = [r.data["level"] for r in firm.records(case_id) if r.action == "approval.decided"]
    assert levels == ["procurement approval", "procurement approval", "finance approval"]


def test_the_same_vendor_request_delivered_twice_creates_one_vendor(firm: Firm) -> None:
    runtime = firm.runtime
    form = blank_w9()
    assert form is not None
    detail, _ = put_vendor_request(runtime.client("s3"), runtime.documents_bucket, scenarios()["clean"], form)
    # The same event delivered twice: EventBridge keeps its id
    entry = {
        "EventBusName": "backoffice",
        "Source": "procurement.portal",
        "DetailType": "Vendor Onboarding Requested",
    }
    import json as _json

    response = runtime.client("events").put_events(Entries=[{**entry, "Detail": _json.dumps(detail)}])
    event_id = response["Entries"][0]["EventId"]
    event = next(e for e in runtime.bus_events if e["id"] == event_id)
    runtime.router.route(event)  # at-least-once: the bus delivers it a second time
    [case_id] = {d.case_id for d in runtime.router.deliveries if d.event_id == event_id}
    assert case_id is not None and case_id.startswith("vendor-Harbor-Pine-Facilities-LLC-")
    firm.settle(case_id)
    assert len([v for v in firm.systems.vendors() if v.name == detail["vendor_legal_name"]]) == 1
    assert ("event.duplicate", "ignored") in firm.actions(case_id)


@pytest.mark.sandbox_only("reminders and upload links involve none of the firm's systems")
def test_a_vendor_who_has_not_uploaded_gets_a_reminder_and_the_old_link_dies(firm: Firm) -> None:
    from datetime import UTC, datetime, timedelta

    from backoffice.vendors.uploads import uploads_from_env

    # Given a vendor asked for the missing W-9 a day ago
    case_id, later = request_vendor(firm, "missing-w9")
    assert firm.settle(case_id, timeout=15).current_state == "Ask vendor for missing documents"
    contact = scenarios()["missing-w9"].application.request.contact_email
    old = next(w for w in firm.inbox(contact)[-1].text.split() if "/uploads/" in w).rstrip(".")
    # When the reminder schedule runs
    reminded = uploads_from_env().remind(after_seconds=3600, now=datetime.now(UTC) + timedelta(hours=25))
    # Then the vendor got a reminder with a fresh link, and the first link says it was replaced
    assert reminded == [case_id]
    reminder = firm.inbox(contact)[-1]
    assert reminder.subject.startswith("Reminder:")
    fresh = next(w for w in reminder.text.split() if "/uploads/" in w).rstrip(".")
    assert fresh != old and http(old)[0] == 410
    assert ("documents.reminded", "pending") in firm.actions(case_id)
    # And the fresh link takes the upload
    from backoffice.local.vendor_samples import upload_documents

    assert upload_documents(fresh, later)[0] == 200
    assert firm.settle(case_id).current_state == "Ask for vendor approval"


@pytest.mark.sandbox_only(NO_BANK_ON_FILE)
def test_a_new_bank_account_for_an_existing_vendor_is_verified_not_silently_applied(firm: Firm) -> None:
    from pydantic import SecretStr

    # Given a request for a vendor the firm already pays (same EIN) with a different bank account
    original = scenarios()["duplicate"]
    letter = original.application.bank_letter
    assert letter is not None
    changed = original.model_copy(
        update={
            "application": original.application.model_copy(
                update={"bank_letter": letter.model_copy(update={"account_number": SecretStr("5550001234")})}
            )
        }
    )
    runtime = firm.runtime
    form = blank_w9()
    assert form is not None
    detail, _ = put_vendor_request(runtime.client("s3"), runtime.documents_bucket, changed, form)
    event_id = runtime.put_event("Vendor Onboarding Requested", detail, source="procurement.portal")
    [case_id] = {d.case_id for d in runtime.router.deliveries if d.event_id == event_id}
    assert case_id is not None
    # Then it is not rejected as a duplicate but waits for finance to verify the change
    assert firm.settle(case_id).current_state == "Ask for bank change verification"
    mail = firm.mail(FINANCE, case_id)
    assert "****1234 instead of ****3311" in mail.text and "calling the vendor back" in mail.text
    assert "5550001234" not in mail.text
    # When finance approves after the call-back
    approve(firm, case_id, FINANCE, "Confirmed by phone with the vendor's controller")
    # Then the verified change is announced, and nothing was created or changed in the ERP by the workflow
    assert firm.finish(case_id).status == "SUCCEEDED"
    event = firm.outcome_event(case_id)
    assert (
        event["detail-type"] == "Vendor Bank Change Verified"
        and event["detail"]["data"]["vendor_id"] == "SUP-1001"
    )
    vendors = [v for v in firm.systems.vendors() if v.tax_id == "94-3217650"]
    assert len(vendors) == 1 and vendors[0].bank_account_number == "4410023311"
