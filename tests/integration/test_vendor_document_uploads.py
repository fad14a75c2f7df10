"""Vendor documents go from the upload page straight to S3 with a presigned POST, refused where S3 (and IAM) would
refuse them; the page's small confirmation resumes the case once, and a file that is not a PDF is refused with an
audit record. The local S3 endpoint checks the policy as S3 does, so what passes here passes in AWS."""

from __future__ import annotations

import base64
import json
import time
from typing import Any

import pytest

from backoffice.local.iam import SynthesizedIam
from backoffice.local.polling import Pauses
from backoffice.local.runtime import LocalRuntime
from backoffice.local.vendor_samples import (
    blank_w9,
    page_forms,
    post_file,
    put_vendor_request,
    scenarios,
    upload_documents,
)
from backoffice.vendors import uploads
from tests.integration.conftest import Firm, csrf_of, http

CONTACT = scenarios()["missing-w9"].application.request.contact_email


@pytest.fixture
def waiting(runtime: LocalRuntime) -> tuple[Firm, str, str, bytes]:
    """A vendor case waiting for its W-9: (firm, case id, the upload link, the filled IRS W-9)."""
    firm = Firm(runtime)
    detail, later = put_vendor_request(
        runtime.client("s3"), runtime.documents_bucket, scenarios()["missing-w9"], blank_w9()
    )
    event_id = runtime.put_event("Vendor Onboarding Requested", detail, source="procurement.portal")
    [case_id] = {d.case_id for d in runtime.router.deliveries if d.event_id == event_id}
    assert case_id is not None
    # The request handler e-mails the link while the case waits in that state (``settle`` waits for approval
    # requests, not for a vendor's upload, so it would run to its timeout here): wait for the e-mail instead.
    deadline = time.monotonic() + 15
    pause = Pauses()
    while not any(case_id in m.text and "/uploads/" in m.text for m in firm.inbox(CONTACT)):
        assert time.monotonic() < deadline, f"{CONTACT} has no upload link for {case_id}"
        pause()
    assert firm.execution(case_id).current_state == "Ask vendor for missing documents"
    link = next(w for w in firm.inbox(CONTACT)[-1].text.split() if "/uploads/" in w).rstrip(".")
    return firm, case_id, link, later["w9"]


def w9_form(link: str) -> dict[str, Any]:
    status, page = http(link)
    assert status == 200
    [form] = [f for f in page_forms(page) if f.get("data-document") == "w9"]
    return form


def without(iam: SynthesizedIam, principal: tuple[str, str], action: str) -> SynthesizedIam:
    """The same roles less one action of one principal."""
    trimmed: list[Any] = []
    for statement in iam.policies[principal]:
        actions = statement.get("Action")
        listed = [actions] if isinstance(actions, str) else list(actions or [])
        kept = [a for a in listed if a != action]
        if kept:
            trimmed.append({**statement, "Action": kept})
    assert trimmed != iam.policies[principal], f"{principal} has no {action} to take away"
    return SynthesizedIam({**iam.policies, principal: trimmed}, iam.encrypted, iam.roles)


def replaced(fields: list[tuple[str, str]], name: str, value: str) -> list[tuple[str, str]]:
    return [(k, value if k == name else v) for k, v in fields]


def test_the_real_w9_goes_to_s3_and_the_confirmation_resumes_the_case(
    waiting: tuple[Firm, str, str, bytes],
) -> None:
    firm, case_id, link, w9 = waiting
    # When the vendor uploads the filled IRS W-9 and confirms
    status, page = upload_documents(link, {"w9": w9})
    # Then the case goes on to procurement with the version S3 holds under the case
    assert status == 200 and "Thank you" in page
    assert firm.settle(case_id).current_state == "Ask for vendor approval"
    s3 = firm.runtime.client("s3")
    stored = s3.get_object(Bucket=firm.runtime.documents_bucket, Key=uploads.document_key(case_id, "w9"))
    assert stored["Body"].read() == w9 and stored["ContentType"] == "application/pdf"
    [received] = [r for r in firm.records(case_id) if r.action == "documents.received"]
    assert received.data["size_bytes"] == {"w9": len(w9)}
    # And the link cannot be used again
    assert http(link)[0] == 409


def test_the_page_lets_its_forms_post_to_s3_and_nowhere_else(waiting: tuple[Firm, str, str, bytes]) -> None:
    firm, _, link, _ = waiting
    # When the vendor's browser loads the page
    import urllib.request

    with urllib.request.urlopen(link, timeout=30) as response:
        policy = response.headers["Content-Security-Policy"]
    # Then the forms may post to the page itself and to the S3 endpoint of the presigned POSTs only
    form_action = next(d.strip() for d in policy.split(";") if d.strip().startswith("form-action"))
    assert form_action == f"form-action 'self' {firm.runtime.api_url}"


def test_a_post_that_breaks_the_presigned_policy_is_refused_as_s3_refuses_it(
    waiting: tuple[Firm, str, str, bytes],
) -> None:
    firm, case_id, link, w9 = waiting
    form = w9_form(link)
    signed: list[tuple[str, str]] = form["fields"]
    policy = json.loads(base64.b64decode(dict(signed)["policy"]))
    policy["conditions"] = [c for c in policy["conditions"] if not isinstance(c, list)]  # no size range
    # Given forms changed by the sender after the upload page signed them
    changes: dict[str, tuple[list[tuple[str, str]], str]] = {
        "a content type other than PDF": (replaced(signed, "Content-Type", "text/html"), "AccessDenied"),
        "another key": (replaced(signed, "key", f"cases/{case_id}/other/w9.pdf"), "AccessDenied"),
        "a policy edited after signing": (
            replaced(signed, "policy", base64.b64encode(json.dumps(policy).encode()).decode()),
            "SignatureDoesNotMatch",
        ),
        "a field the policy does not name": ([*signed, ("acl", "public-read")], "AccessDenied"),
        "no policy": ([(k, v) for k, v in signed if k != "policy"], "AccessDenied"),
    }
    for change, (fields, code) in changes.items():
        # When each is posted
        status, _, body = post_file(form["action"], fields, form["file"], w9)
        # Then S3's answer: 403 with S3's error code
        assert (status, f"<Code>{code}</Code>" in body) == (403, True), change
    # And nothing was stored under the case
    listing = firm.runtime.client("s3").list_objects_v2(
        Bucket=firm.runtime.documents_bucket, Prefix=f"cases/{case_id}/"
    )
    assert listing.get("KeyCount") == 0


def test_an_expired_upload_form_is_refused(
    waiting: tuple[Firm, str, str, bytes], monkeypatch: pytest.MonkeyPatch
) -> None:
    _, _, link, w9 = waiting
    # Given a page whose forms expire the moment they are signed
    monkeypatch.setattr(uploads, "UPLOAD_FORM_SECONDS", 0)
    form = w9_form(link)
    # When the vendor posts the W-9 with it
    status, _, body = post_file(form["action"], form["fields"], form["file"], w9)
    # Then S3 refuses it: the policy has expired
    assert status == 403 and "Policy expired" in body


def test_a_file_over_the_policy_size_is_refused_as_too_large(waiting: tuple[Firm, str, str, bytes]) -> None:
    _, _, link, _ = waiting
    form = w9_form(link)
    # When the vendor posts a file one byte over the 20 MB the policy allows
    status, _, body = post_file(
        form["action"], form["fields"], form["file"], b"%PDF" + b"0" * (uploads.MAX_UPLOAD_BYTES - 3)
    )
    # Then S3 refuses it as too large
    assert status == 400 and "<Code>EntityTooLarge</Code>" in body


def test_a_file_that_is_not_a_pdf_is_refused_at_confirmation_with_an_audit_record(
    waiting: tuple[Firm, str, str, bytes],
) -> None:
    firm, case_id, link, w9 = waiting
    form = w9_form(link)
    # Given a file that says it is a PDF and is not, stored by S3 (the form's content type is the browser's word)
    status, _, page = post_file(form["action"], form["fields"], form["file"], b"<html>not a tax form</html>")
    assert status == 200
    # When the vendor confirms
    status, page = http(link, {"csrf": csrf_of(page)})
    # Then the page says so, the case still waits, and the refusal is on the case's audit trail
    assert status == 400 and "IRS Form W-9 is not a PDF" in page
    assert firm.settle(case_id).current_state == "Ask vendor for missing documents"
    [refused] = [r for r in firm.records(case_id) if r.action == "documents.refused"]
    assert refused.outcome == "invalid_document" and "not a PDF" in refused.reasons[0]
    # And the real W-9 sent again with the page's fresh form is taken
    form = next(f for f in page_forms(page) if f.get("data-document") == "w9")
    status, _, page = post_file(form["action"], form["fields"], form["file"], w9)
    assert status == 200
    assert http(link, {"csrf": csrf_of(page)})[0] == 200
    assert firm.settle(case_id).current_state == "Ask for vendor approval"


def test_a_confirmation_before_any_upload_says_what_is_missing(waiting: tuple[Firm, str, str, bytes]) -> None:
    firm, case_id, link, _ = waiting
    _, page = http(link)
    # When the vendor confirms without uploading
    status, page = http(link, {"csrf": csrf_of(page)})
    # Then nothing resumes and the page says what is missing
    assert status == 400 and "IRS Form W-9 has not been uploaded yet" in page
    assert firm.settle(case_id).current_state == "Ask vendor for missing documents"


def test_a_form_signed_by_a_role_without_put_object_is_refused_by_iam(
    waiting: tuple[Firm, str, str, bytes],
) -> None:
    firm, _, link, w9 = waiting
    enforcer = firm.runtime.iam_enforcer
    assert enforcer is not None
    # Given the upload page's role without s3:PutObject (a presigned POST is authorized when S3 receives it)
    enforcer.iam = without(enforcer.iam, ("function", "receive_vendor_document"), "s3:PutObject")
    form = w9_form(link)
    # When the vendor posts the W-9 with the form it signed
    status, _, body = post_file(form["action"], form["fields"], form["file"], w9)
    # Then S3 answers Access Denied and IAM says why
    assert status == 403 and "<Code>AccessDenied</Code>" in body
    assert any("receive_vendor_document" in m and "s3:PutObject" in m for m in enforcer.denied)
