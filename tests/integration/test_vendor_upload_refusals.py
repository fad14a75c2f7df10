"""Every refusal of a vendor's upload is on the case's audit trail with channel, address, user agent and reason,
including what S3 refused on the presigned POST (no function sees that: the confirmation finds the document
missing and says so), and a confirmation in another content type than the page's form."""

from __future__ import annotations

import urllib.error
import urllib.request

from backoffice.audit import AuditRecord
from backoffice.local.vendor_samples import page_forms, post_file
from backoffice.vendors import uploads
from tests.integration import test_vendor_document_uploads as upload_tests
from tests.integration.conftest import Firm, csrf_of, http
from tests.integration.test_vendor_document_uploads import w9_form

waiting = upload_tests.waiting  # the fixture: a vendor case waiting for its W-9

BROWSER = "Mozilla/5.0 (vendor's browser)"


def confirm(link: str, body: bytes, content_type: str) -> tuple[int, str]:
    request = urllib.request.Request(
        link, data=body, method="POST", headers={"Content-Type": content_type, "User-Agent": BROWSER}
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return int(response.status), response.read().decode()
    except urllib.error.HTTPError as error:
        return int(error.code), error.read().decode()


def refusals(firm: Firm, case_id: str) -> list[AuditRecord]:
    return [r for r in firm.records(case_id) if r.action == "documents.refused"]


def test_a_file_s3_refused_and_a_file_that_is_not_a_pdf_are_each_refused_and_audited(
    waiting: tuple[Firm, str, str, bytes],
) -> None:
    firm, case_id, link, _ = waiting
    form = w9_form(link)
    # Given the vendor's W-9 one byte over the size the policy allows: S3 refuses it, no function sees that
    status, _, _ = post_file(
        form["action"], form["fields"], form["file"], b"%PDF" + b"0" * (uploads.MAX_UPLOAD_BYTES - 3)
    )
    assert status == 400
    # When the vendor confirms from the page
    _, page = http(link)
    status, page = confirm(link, f"csrf={csrf_of(page)}".encode(), "application/x-www-form-urlencoded")
    # Then the page says the W-9 is missing and the refusal is on the case's trail with who sent it
    assert status == 400 and "IRS Form W-9 has not been uploaded yet" in page
    [missing] = refusals(firm, case_id)
    assert missing.outcome == "missing_document" and "S3 refused it" in missing.reasons[0]
    assert missing.data["documents"] == {"w9": "missing"}
    assert (missing.data["channel"], missing.data["ip"], missing.data["user_agent"]) == (
        "upload link",
        "127.0.0.1",
        BROWSER,
    )
    assert missing.data["reason"] == missing.reasons[0]
    # When a file that is not a PDF gets through S3 (its content type is the browser's word) and is confirmed
    form = next(f for f in page_forms(page) if f.get("data-document") == "w9")
    status, _, page = post_file(form["action"], form["fields"], form["file"], b"<html>no</html>")
    assert status == 200
    status, _ = confirm(link, f"csrf={csrf_of(page)}".encode(), "application/x-www-form-urlencoded")
    # Then it is refused and audited as not a PDF, and the case still waits
    assert status == 400
    not_pdf = refusals(firm, case_id)[-1]
    assert (not_pdf.outcome, not_pdf.data["documents"]) == ("invalid_document", {"w9": "not_pdf"})
    assert firm.settle(case_id).current_state == "Ask vendor for missing documents"


def test_a_confirmation_in_another_content_type_or_with_a_forged_token_is_refused_and_audited(
    waiting: tuple[Firm, str, str, bytes],
) -> None:
    firm, case_id, link, w9 = waiting
    _, page = http(link)
    csrf = csrf_of(page)
    # When the confirmation comes as JSON or plain text (not what the page's form sends)
    for content_type, body in (
        ("application/json", f'{{"csrf": "{csrf}"}}'),
        ("text/plain", f"csrf={csrf}"),
    ):
        status, _ = confirm(link, body.encode(), content_type)
        # Then it is refused with 415 and audited with the content type
        assert status == 415, content_type
    refused = refusals(firm, case_id)
    assert [r.outcome for r in refused] == ["unsupported_content_type"] * 2
    assert "application/json" in refused[0].reasons[0] and refused[0].data["user_agent"] == BROWSER
    # When the form comes with a token its page never issued
    status, _ = confirm(link, b"csrf=forged", "application/x-www-form-urlencoded")
    # Then it is refused and audited as tampered
    assert status == 403 and refusals(firm, case_id)[-1].outcome == "missing_csrf"
    # And the page's form sent multipart, after the W-9 is uploaded, is taken and resumes the case
    form = w9_form(link)
    status, _, page = post_file(form["action"], form["fields"], form["file"], w9)
    assert status == 200
    boundary = "confirmation"
    body = f'--{boundary}\r\nContent-Disposition: form-data; name="csrf"\r\n\r\n{csrf_of(page)}\r\n--{boundary}--\r\n'
    status, page = confirm(link, body.encode(), f"multipart/form-data; boundary={boundary}")
    assert status == 200 and "Thank you" in page
    assert firm.settle(case_id).current_state == "Ask for vendor approval"
