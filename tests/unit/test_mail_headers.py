"""Header values built from names others typed: one clean line, whatever the name holds."""

from __future__ import annotations

import email
from email.message import EmailMessage
from typing import Any

import pytest

from backoffice.approvals.adapters import SesMailer, SnsNotifier
from backoffice.mail_headers import header_value, sns_subject


@pytest.mark.parametrize(
    ("given", "sent"),
    [
        ("Evil deal\r\nBcc: x@evil.example", "Evil deal Bcc: x@evil.example"),
        ("line\nbreak", "line break"),
        ("carriage\rreturn", "carriage return"),
        ("tab\there", "tab here"),
        ("line\u2028separator", "line separator"),
        ("paragraph\u2029separator", "paragraph separator"),
        ("next\u0085line", "next line"),
        ("nul\x00byte", "nul byte"),
        ("vertical\x0btab\x0cfeed", "vertical tab feed"),
        ("escape\x1b[31mred", "escape [31mred"),
        ("bidi \u202eevil\u202c override", "bidi evil override"),
        ("  spaced   out  ", "spaced out"),
        ("Müller & Söhne GmbH", "Müller & Söhne GmbH"),
    ],
)
def test_a_header_value_is_one_line_with_no_control_characters(given: str, sent: str) -> None:
    assert header_value(given) == sent
    # And Python's e-mail package takes it as a header (it raises ValueError on CR or LF)
    message = EmailMessage()
    message["Subject"] = header_value(given)


def test_an_sns_subject_is_printable_ascii_under_100_characters() -> None:
    subject = sns_subject("Approval pending: Müller\r\nBcc: x " + "x" * 200)
    assert subject.startswith("Approval pending: Muller Bcc: x ")
    assert len(subject) < 100 and all(" " <= c <= "~" for c in subject)
    assert sns_subject("\r\n\u2028") == "Back-office notification"


class RecordingSes:
    def __init__(self) -> None:
        self.sent: list[dict[str, Any]] = []

    def send_raw_email(self, **kwargs: Any) -> None:
        self.sent.append(kwargs)


class RecordingSns:
    def __init__(self) -> None:
        self.published: list[dict[str, Any]] = []

    def publish(self, **kwargs: Any) -> None:
        self.published.append(kwargs)


def test_the_ses_mailer_sends_one_subject_and_no_injected_header() -> None:
    # Given a subject carrying a header injection
    ses = RecordingSes()
    # When the mailer sends it
    SesMailer(ses, "approvals@example-firm.com").send(
        to="lena@example-firm.com", subject="Approval needed: Evil\r\nBcc: x@evil.example", text="t", html="h"
    )
    # Then the raw message has one Subject line and no Bcc
    sent = email.message_from_bytes(ses.sent[0]["RawMessage"]["Data"])
    assert sent.get_all("Subject") == ["Approval needed: Evil Bcc: x@evil.example"]
    assert sent.get_all("Bcc") is None


def test_the_sns_notifier_sends_a_subject_sns_accepts() -> None:
    sns = RecordingSns()
    SnsNotifier(sns, "arn:aws:sns:us-east-1:123456789012:notifications").publish(
        subject="Approval pending: Evil\r\nBcc: x", message="m", kind="approval.pending"
    )
    assert sns.published[0]["Subject"] == "Approval pending: Evil Bcc: x"
