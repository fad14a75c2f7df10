"""What a vendor sees is escaped by default: hostile text in any field shows as text, never as HTML."""

from __future__ import annotations

from typing import Any

import pytest
from jinja2 import UndefinedError

from backoffice import html
from backoffice.vendors import uploads
from backoffice.vendors.uploads import UploadForm, UploadPage, VendorUploads
from tests.html_probes import HOSTILE, HOSTILE_URL, Parsed, assert_shown_as_text_only

DOCUMENT_TAGS = {"html", "head", "meta", "title", "style", "body"}
PAGE_TAGS = DOCUMENT_TAGS | {"h1", "h2", "p", "form", "input", "label", "button"}


def test_the_upload_page_shows_hostile_values_as_text() -> None:
    # Given an upload page whose vendor, message, token, document types, form URL and S3 fields hold markup
    forms = [
        UploadForm(HOSTILE, HOSTILE_URL, {HOSTILE: HOSTILE, "key": HOSTILE}, None),
        UploadForm("w9", "https://bucket.s3.amazonaws.com/", {"key": "cases/1/vendor/w9.pdf"}, 2048),
    ]
    page = UploadPage("form", 200, [HOSTILE], HOSTILE, csrf=HOSTILE, message=HOSTILE, forms=forms)

    # When it is rendered
    document = uploads.render(page)

    # Then every value is text, attribute values come back whole, and the script URL is no form action
    parsed = assert_shown_as_text_only(document, PAGE_TAGS)
    assert ("input", "value", HOSTILE) in parsed.attributes  # the CSRF token and the S3 fields
    assert ("input", "name", HOSTILE) in parsed.attributes
    assert ("form", "data-document", HOSTILE) in parsed.attributes
    assert [value for tag, name, value in parsed.attributes if name == "action"] == [
        html.BLOCKED_URL,
        "https://bucket.s3.amazonaws.com/",
    ]
    # And the ordinary form reads as before
    assert "<h2>IRS Form W-9</h2>" in document and "Received (2 KB)." in document


@pytest.mark.parametrize("kind", ["received", "expired", "used", "unknown", "invalid", "replaced", "other"])
def test_the_other_upload_pages_show_hostile_values_as_text(kind: str) -> None:
    document = uploads.render(UploadPage(kind, 200, [], HOSTILE, message=HOSTILE))
    parsed = Parsed(document)
    assert "<script" not in document and set(parsed.tags) <= PAGE_TAGS
    if kind == "invalid":  # the one page that shows the message
        assert HOSTILE in parsed.text


class Outbox:
    def __init__(self) -> None:
        self.sent: list[dict[str, Any]] = []

    def send(self, *, to: str, subject: str, text: str, html: str, **_: object) -> None:
        self.sent.append({"to": to, "subject": subject, "text": text, "html": html})


def test_the_upload_email_shows_hostile_values_as_text() -> None:
    # Given a request for documents whose vendor, case, deadline and link base hold markup and a script URL
    outbox = Outbox()
    service = VendorUploads(
        store=None,  # type: ignore[arg-type]
        audit=None,  # type: ignore[arg-type]
        mailer=outbox,
        callback=None,  # type: ignore[arg-type]
        s3=None,
        bucket="b",
        base_url=HOSTILE_URL,
    )
    record = {
        "vendor": HOSTILE,
        "missing": ["w9", HOSTILE],
        "expires_at": "2026-12-09T00:00:00" + HOSTILE,
        "case_id": HOSTILE,
        "contact": "vendor@x.com",
    }

    # When the e-mail is sent
    service._send(record, "link", reminder=True)

    # Then its HTML shows the values as text and its link leads nowhere rather than to a script
    document = outbox.sent[0]["html"]
    parsed = assert_shown_as_text_only(document, {"p", "b", "a"})
    assert [value for _, name, value in parsed.attributes if name == "href"] == [html.BLOCKED_URL]
    assert parsed.text.count(HOSTILE) == 3  # vendor, document name, case


@pytest.mark.parametrize("template", ["vendors/upload.html.j2", "vendors/upload_email.html.j2"])
def test_a_value_the_caller_forgot_fails_the_render_instead_of_showing_nothing(template: str) -> None:
    with pytest.raises(UndefinedError):
        html.render(template, title="Upload documents")
