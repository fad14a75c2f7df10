"""Reading the local outbox: the e-mails SES would have delivered, as a person would read them."""

from __future__ import annotations

import email
import email.policy
import re
import threading
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
    """Every e-mail in the folder, oldest first. A message is parsed once per process (the demo and the tests
    read the whole outbox each time they look for a link: parsing it again was 6% of ``make run``)."""
    return [_read_once(p) for p in sorted(folder.glob("*.eml"))] if folder.exists() else []


_parsed: dict[tuple[Path, int, int], Mail] = {}
_parsed_lock = threading.Lock()
_KEEP = 10_000  # messages kept parsed; a long test session starts over past that


def _read_once(path: Path) -> Mail:
    stat = path.stat()
    key = (path, stat.st_mtime_ns, stat.st_size)  # a file written again is read again
    with _parsed_lock:
        mail = _parsed.get(key)
    if mail is None:
        mail = read_mail(path)
        with _parsed_lock:
            if len(_parsed) >= _KEEP:
                _parsed.clear()
            _parsed[key] = mail
    return mail
