"""Names from the CRM or a vendor's form that hold line breaks, on the local runtime: the case goes on, the e-mail
has one clean Subject and no injected header, and the audit trail keeps the name as it was given."""

from __future__ import annotations

import email
import time
from dataclasses import dataclass

from backoffice.audit import AuditRecord
from backoffice.local.polling import Pauses
from backoffice.local.samples import Deal, new_client
from backoffice.local.vendor_samples import blank_w9, put_vendor_request, scenarios
from tests.integration.conftest import Firm

INJECTED = "\r\nBcc: x@evil.example"
LEGAL = "lena.hoffmann@example-firm.com"


@dataclass(frozen=True)
class NamedDeal(Deal):
    """A deal whose opportunity name is exactly ``title`` (the sample deals derive theirs from the client)."""

    title: str = ""

    @property
    def name(self) -> str:
        return self.title


def sent_headers(firm: Firm, who: str, case_id: str, timeout: float = 10) -> email.message.Message:
    """The newest e-mail to ``who`` about the case (the handler may still be sending it)."""
    deadline = time.monotonic() + timeout
    pause = Pauses()
    while True:
        mails = [m for m in firm.inbox(who) if case_id in m.text]
        if mails or time.monotonic() > deadline:
            return email.message_from_bytes(mails[-1].path.read_bytes())
        pause()


def requested_record(firm: Firm, case_id: str, timeout: float = 10) -> AuditRecord:
    """The approval request's audit record: appended by the request handler after its e-mail, so it may lag the
    state the execution shows."""
    deadline = time.monotonic() + timeout
    pause = Pauses()
    while True:
        found = [r for r in firm.records(case_id) if r.action == "approval.requested"]
        if found or time.monotonic() > deadline:
            [requested] = found
            return requested
        pause()


def test_a_won_deal_whose_names_hold_a_header_injection_completes_with_a_clean_subject(firm: Firm) -> None:
    # Given a high-risk deal (legal is e-mailed) whose opportunity and account names carry a header injection
    client = new_client(31).model_copy(update={"customer_name": f"Evil Corp{INJECTED}"})
    deal = NamedDeal(31, client, risks=frozenset({"uncapped_liability"}), title=f"Evil deal{INJECTED}")
    # When the CRM closes it
    case_id = firm.win(deal)
    execution = firm.settle(case_id)
    # Then the case reached legal instead of failing at the e-mail step
    assert (execution.status, execution.current_state) == ("RUNNING", "Ask legal to review the contract")
    # And the e-mail has one Subject on one line and no Bcc header
    headers = sent_headers(firm, LEGAL, case_id)
    assert headers.get_all("Bcc") is None
    [subject] = headers.get_all("Subject")
    assert "\r" not in subject and "\n" not in subject and "Bcc: x@evil.example" in subject
    # And the approval request's audit record keeps the title as it was given
    requested = requested_record(firm, case_id)
    assert "\r\nBcc: x@evil.example" in requested.data["title"]
    # And the operators' notification went out (SNS refuses a Subject with a line break)
    assert ("approval.requested", "pending") in firm.actions(case_id)


def test_a_vendor_name_holding_a_header_injection_is_mailed_on_one_line_and_kept_on_the_trail(
    firm: Firm,
) -> None:
    # Given a vendor request missing its W-9 whose vendor name carries a header injection
    runtime = firm.runtime
    form = blank_w9()
    assert form is not None
    detail, _ = put_vendor_request(
        runtime.client("s3"), runtime.documents_bucket, scenarios()["missing-w9"], form
    )
    detail["vendor_legal_name"] = f"Evil Vendor LLC{INJECTED}"
    event_id = runtime.put_event("Vendor Onboarding Requested", detail, source="procurement.portal")
    [delivery] = [d for d in runtime.router.deliveries if d.event_id == event_id]
    case_id = str(delivery.case_id)
    # When the case asks the vendor for the missing W-9
    assert firm.settle(case_id, timeout=15).current_state == "Ask vendor for missing documents"
    # Then the upload e-mail has a one-line Subject and no Bcc header
    headers = sent_headers(firm, detail["contact_email"].lower(), case_id)
    assert headers.get_all("Bcc") is None
    [subject] = headers.get_all("Subject")
    assert subject.startswith("Documents needed: Evil Vendor LLC") and "\n" not in subject
    # And the request's audit record keeps the name as it was given
    [requested] = [r for r in firm.records(case_id) if r.action == "documents.requested"]
    assert requested.data["vendor"] == f"Evil Vendor LLC{INJECTED}"
