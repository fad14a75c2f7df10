"""Reading the local outbox: the e-mails SES would have delivered, as a person would read them."""

from __future__ import annotations

import email
import email.policy
import re
from dataclasses import dataclass
from pathlib import Path

_APPROVAL_LINK = re.compile(r"https?://[^\s\"'<>]+/approvals/([A-Za-z0-9_-]{16,})")


@dataclass(frozen=True)
class Mail:
    path: Path
    to: str
    subject: str
    text: str

    @property
    def approval_links(self) -> list[str]:
        """The approval URLs in the message, without the ``?action=`` hint."""
        seen: dict[str, None] = {}
        for match in _APPROVAL_LINK.finditer(self.text):
            seen[match.group(0).split("?", 1)[0]] = None
        return list(seen)


def read_mail(path: Path) -> Mail:
    message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
    body = message.get_body(preferencelist=("plain", "html"))
    text = body.get_content() if body is not None else ""
    return Mail(path=path, to=str(message["To"]), subject=str(message["Subject"]), text=text)


def read_outbox(folder: Path) -> list[Mail]:
    return [read_mail(p) for p in sorted(folder.glob("*.eml"))] if folder.exists() else []
