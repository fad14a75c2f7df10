"""What approvers see is escaped by default: hostile text in any field of a request shows as text, never as HTML."""

from __future__ import annotations

import pytest
from jinja2 import UndefinedError

from backoffice import html
from backoffice.approvals import pages
from backoffice.approvals.page_model import Page
from backoffice.approvals.store import LinkRecord, RequestRecord
from tests.html_probes import HOSTILE, HOSTILE_URL, Parsed, assert_shown_as_text_only


def hostile_request(**changes: object) -> RequestRecord:
    fields: dict[str, object] = {
        "request_id": HOSTILE,
        "case_id": HOSTILE,
        "workflow": HOSTILE,
        "step": HOSTILE,
        "route": HOSTILE,
        "rule": HOSTILE,
        "level_index": 0,
        "level_count": 1,
        "level_name": HOSTILE,
        "quorum": 2,
        "approvers": [HOSTILE],
        "on_behalf_of": {HOSTILE: HOSTILE},
        "requested_by": HOSTILE,
        "subject": {
            "title": HOSTILE,
            "client": HOSTILE,
            "vendor": HOSTILE,
            "project": HOSTILE,
            "amount": HOSTILE,
            "currency": HOSTILE,
            "risk_level": HOSTILE,
            "anomaly_score": HOSTILE,
            "reasons": [HOSTILE, HOSTILE],
            "document_url": HOSTILE_URL,
            "explanations": [{"line": HOSTILE, "text": HOSTILE, "by": HOSTILE}],
        },
        "payload_hash": "h",
        "task_token": "t",
        "status": "APPROVED",
        "created_at": "2026-12-06T10:00:00+00:00",
        "expires_at": "2026-12-08T10:00:00+00:00",
        "decided_by": [HOSTILE],
        "decided_at": "2026-12-07T10:00:00+00:00",
        # A summary a model wrote: its text and its model id are as untrusted as the subject
        "summary": {"text": HOSTILE, "source": "bedrock", "model_id": HOSTILE},
        **changes,
    }
    return RequestRecord(**fields)  # type: ignore[arg-type]


def hostile_link() -> LinkRecord:
    return LinkRecord(
        link_hash="l",
        request_id="r1",
        approver=HOSTILE,
        status="PENDING",
        created_at="",
        on_behalf_of=HOSTILE,
        decision="approve",
        decided_at="2026-12-07T10:00:00+00:00",
    )


DOCUMENT_TAGS = {"html", "head", "meta", "title", "style", "body"}
PAGE_TAGS = DOCUMENT_TAGS | {"h1", "p", "table", "tr", "td", "ul", "li", "a", "div", "strong", "span"}
FORM_TAGS = {"form", "input", "label", "textarea", "button"}


def test_the_confirmation_page_shows_hostile_values_as_text() -> None:
    # Given a request and a link whose every text field holds markup, quotes and a script URL
    page = Page("confirm", 200, request=hostile_request(), link=hostile_link(), csrf=HOSTILE, message=HOSTILE)

    # When the confirmation page is rendered
    document = pages.render(page, action_hint="reject")

    # Then every value is text, the CSRF token survives the attribute quoting whole, and the document link is inert
    parsed = assert_shown_as_text_only(document, PAGE_TAGS | FORM_TAGS)
    assert ("input", "value", HOSTILE) in parsed.attributes
    assert ("a", "href", html.BLOCKED_URL) in parsed.attributes
    assert parsed.text.count(HOSTILE) >= 12  # title, message, 9 facts, 2 reasons, approver, delegate
    assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &#34;quoted&#34; &amp;" in document


@pytest.mark.parametrize("kind", ["already_decided", "decided", "recorded"])
def test_the_outcome_pages_show_hostile_values_as_text(kind: str) -> None:
    # Given an outcome page about a request whose names and deciders hold markup
    page = Page(kind, 200, request=hostile_request(), link=hostile_link())

    # When it is rendered
    document = pages.render(page)

    # Then the hostile values are text
    assert_shown_as_text_only(document, PAGE_TAGS)


def test_the_email_shows_hostile_values_as_text_and_links_only_to_web_addresses() -> None:
    # Given a request with markup in every field, a delegate, and an approval URL that is a script
    request = hostile_request()

    # When the e-mail is written to the delegate
    _, text, document = pages.approval_email(request, HOSTILE, HOSTILE_URL, reminder=True)

    # Then the HTML shows the values as text and its links lead nowhere rather than to a script
    parsed = assert_shown_as_text_only(document, PAGE_TAGS | {"button"})
    assert {value for tag, name, value in parsed.attributes if name == "href"} == {
        html.BLOCKED_URL,
        f"{html.BLOCKED_URL}?action=approve",
        f"{html.BLOCKED_URL}?action=reject",
    }
    # And the plain text is plain text, as written
    assert HOSTILE in text


def test_the_email_keeps_a_web_address_as_it_is() -> None:
    # Given an ordinary approval URL and document URL, with a query string
    request = hostile_request(
        subject={"title": "Contract", "document_url": "https://docs.example.com/a?b=1&c=2"}
    )

    # When the e-mail is written
    _, _, document = pages.approval_email(
        request, "lena@x.com", "https://approve.example.com/l/abc", reminder=False
    )

    # Then the links are those URLs (the & escaped in the attribute, as HTML wants it)
    parsed = Parsed(document)
    hrefs = [value for _, name, value in parsed.attributes if name == "href"]
    assert hrefs == [
        "https://docs.example.com/a?b=1&c=2",
        "https://approve.example.com/l/abc?action=approve",
        "https://approve.example.com/l/abc?action=reject",
    ]
    assert "href='https://docs.example.com/a?b=1&amp;c=2'" in document


@pytest.mark.parametrize(
    ("url", "kept"),
    [
        ("https://x.example/a", True),
        ("http://x.example/a", True),
        ("/console/cases/1", True),
        ("cases/1?x=y:z", True),
        ("javascript:alert(1)", False),
        (" JavaScript:alert(1)", False),
        ("java\tscript:alert(1)", False),
        ("data:text/html,<script>alert(1)</script>", False),
        ("vbscript:x", False),
        ("//evil.example/", False),
        ("/\\evil.example/", False),
        ("http://[::1", False),
    ],
)
def test_only_web_addresses_and_paths_pass_as_link_targets(url: str, kept: bool) -> None:
    assert html.http_url(url) == (url.strip() if kept else html.BLOCKED_URL)


@pytest.mark.parametrize(
    "template", ["approvals/confirm.html.j2", "approvals/email.html.j2", "approvals/message.html.j2"]
)
def test_a_value_the_caller_forgot_fails_the_render_instead_of_showing_nothing(template: str) -> None:
    # When a template is rendered without the values it names
    # Then it fails, instead of printing an empty string where a name or a warning should be
    with pytest.raises(UndefinedError):
        html.render(template, title="Approval")


def test_a_template_outside_a_templates_folder_cannot_be_named() -> None:
    from jinja2 import TemplateNotFound

    for name in ("../approvals/pages.py", "approvals/../pages.py", "confirm.html.j2", "/etc/passwd"):
        with pytest.raises(TemplateNotFound):
            html.render(name)
