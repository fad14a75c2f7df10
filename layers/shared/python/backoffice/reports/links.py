"""Report links: what a process owner's e-mail points at, and what following one answers.

A presigned S3 URL in the e-mail would not be true to its stated expiry: S3 checks it against the credentials that
signed it, and a Lambda role's credentials end within hours, whatever ``X-Amz-Expires`` says. So the e-mail carries
a link to the product's API (``GET /reports/{link_id}``) that lasts ``link_days`` (14 by default) and is stored as
the approval links are: a 192-bit random id of which only the SHA-256 is kept, in the approvals table
(``report#<hash>``), one link per recipient and report. Following it answers 303 to a presigned GET of the exact
report version that was mailed, signed then and valid for ``DOWNLOAD_SECONDS``: well inside the life of the
credentials that sign it. An unknown link answers 404 and an expired one 410, each with a page that says so.

GET and HEAD both only redirect: following a link changes nothing, so a mail scanner opening it does no harm (it
sees a URL that dies in minutes). A GET that is redirected is audited (who the link was mailed to, address, user
agent); a refused one is not, so probing for links cannot fill the trail.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from backoffice.approvals.store import ApprovalStore, link_hash
from backoffice.audit import Actor, AuditTrail

# How long the S3 URL a followed link answers with stays valid: long enough to load the page, short enough that a
# copied URL is soon useless, and far inside the life of the signing credentials.
DOWNLOAD_SECONDS = 300
# An expired link's item is kept this long after it expired (DynamoDB TTL), so it says "expired", not "unknown".
EXPIRED_LINK_KEPT = timedelta(days=30)
_LINK_PREFIX = "report#"
_KIND = "report_link"
# The longest id a link may have (ours are 32 characters); a longer one is unknown without a read.
_MAX_LINK_ID = 128
OPENER = Actor.system("open_process_report")


@dataclass(frozen=True)
class ReportLink:
    """One recipient's link to one published report (``key`` at ``version_id`` in the reports bucket)."""

    recipient: str
    day: str
    case_id: str
    key: str
    version_id: str | None
    created_at: str
    expires_at: str


class ReportLinks:
    """Report links in the approvals table, beside the approval and upload links, keyed by the id's hash."""

    def __init__(self, store: ApprovalStore) -> None:
        self.store = store

    def issue(self, link: ReportLink) -> str:
        """Store a new link and return its id (the only time the id exists outside the recipient's e-mail)."""
        link_id = secrets.token_urlsafe(24)
        kept_until = datetime.fromisoformat(link.expires_at) + EXPIRED_LINK_KEPT
        self.store.db.put_item(
            TableName=self.store.table,
            Item={
                "pk": {"S": f"{_LINK_PREFIX}{link_hash(link_id)}"},
                "kind": {"S": _KIND},
                "status": {"S": "ACTIVE"},
                "body": {"S": json.dumps(link.__dict__, sort_keys=True)},
                "expires_at": {"N": str(int(kept_until.timestamp()))},
            },
            ConditionExpression="attribute_not_exists(pk)",
        )
        return link_id

    def already_mailed(self, case_id: str, recipient: str) -> bool:
        """Whether this publication's mail already reached SES for ``recipient`` (a retried run skips them)."""
        return self.store.get_item(_mailed_key(case_id, recipient)) is not None

    def mark_mailed(self, case_id: str, recipient: str, at: str) -> None:
        """Noted after SES accepted the mail: a Lambda retry of the publication does not mail the owner again."""
        self.store.claim_once(_mailed_key(case_id, recipient), at)

    def find(self, link_id: str) -> ReportLink | None:
        if not link_id or len(link_id) > _MAX_LINK_ID:
            return None
        item = self.store.get_item(f"{_LINK_PREFIX}{link_hash(link_id)}")
        if item is None or item.get("kind", {}).get("S") != _KIND:
            return None
        return ReportLink(**json.loads(item["body"]["S"]))


def _mailed_key(case_id: str, recipient: str) -> str:
    # The address hashed: the key is not a place to keep people's addresses.
    return f"report-mailed#{case_id}#{hashlib.sha256(recipient.lower().encode()).hexdigest()[:32]}"


@dataclass(frozen=True)
class LinkAnswer:
    """What the API answers: 303 to ``location``, or a page (``kind`` unknown or expired) with ``status``."""

    status: int
    kind: str  # report | unknown | expired
    location: str | None = None
    link: ReportLink | None = None


@dataclass
class ReportOpener:
    links: ReportLinks
    s3: Any
    bucket: str
    audit: AuditTrail
    clock: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))

    def open(self, link_id: str, *, method: str, ip: str | None, user_agent: str | None) -> LinkAnswer:
        link = self.links.find(link_id)
        if link is None:
            return LinkAnswer(404, "unknown")
        if self.clock() >= datetime.fromisoformat(link.expires_at):
            return LinkAnswer(410, "expired", link=link)
        params = {"Bucket": self.bucket, "Key": link.key}
        if link.version_id:
            params["VersionId"] = link.version_id
        location = self.s3.generate_presigned_url("get_object", Params=params, ExpiresIn=DOWNLOAD_SECONDS)
        if method == "GET":
            self.audit.append(
                case_id=link.case_id,
                workflow="process_report",
                step="open process report",
                actor=OPENER,
                action="process_report.opened",
                outcome="redirected",
                reasons=[f"the link mailed to {link.recipient} was followed"],
                data={
                    "recipient": link.recipient,
                    "key": link.key,
                    "version_id": link.version_id,
                    "ip": ip,
                    "user_agent": (user_agent or "")[:256],
                },
            )
        return LinkAnswer(303, "report", location=str(location), link=link)


_PAGES = {
    "unknown": (
        "Unknown link",
        "This report link is not one we issued, or it was mistyped. The weekly e-mail has the current link.",
    ),
    "expired": (
        "Link expired",
        "This report link has expired. The weekly e-mail has a link to the newest report; an operator can also "
        "produce one with 'backoffice report'.",
    ),
}


def page(answer: LinkAnswer) -> str:
    """The page of a refused link, in the approval pages' layout (escaped templates, no external resources)."""
    from backoffice.html import render  # jinja2 only when something is rendered

    title, text = _PAGES[answer.kind]
    if answer.kind == "expired" and answer.link is not None:
        text = f"{text} (It expired {answer.link.expires_at[:16].replace('T', ' ')} UTC.)"
    return render("approvals/message.html.j2", title=title, heading=title, text=text)
