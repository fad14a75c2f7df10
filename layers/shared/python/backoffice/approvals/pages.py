"""What approvers see: the e-mail (HTML and plain text) and the pages of the decision endpoint.

Every page is self-contained HTML with no external resources, sent with ``Referrer-Policy: no-referrer`` (the link id
is in the URL and must not leak to another site) and ``Cache-Control: no-store``.
"""

from __future__ import annotations

from html import escape
from typing import Any

from backoffice.approvals.page_model import COMMENT_MAX_CHARACTERS, Page
from backoffice.approvals.store import RequestRecord

SECURITY_HEADERS = {
    "Content-Type": "text/html; charset=utf-8",
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; base-uri 'none'",
}

_STYLE = """
body{font-family:-apple-system,Segoe UI,Helvetica,Arial,sans-serif;max-width:44rem;margin:2rem auto;padding:0 1rem;
color:#1f2933;line-height:1.45}h1{font-size:1.35rem}table{border-collapse:collapse;margin:.5rem 0 1rem}
td{padding:.2rem .8rem .2rem 0;vertical-align:top}td:first-child{color:#52606d}.reasons li{margin:.2rem 0}
.box{border:1px solid #cbd2d9;border-radius:6px;padding:1rem;margin:1rem 0}label{display:block;margin:.6rem 0 .2rem}
input[type=email],textarea{width:100%;padding:.4rem;font:inherit}button{font:inherit;padding:.5rem 1.2rem;
margin-right:.5rem;border-radius:4px;border:1px solid #3e4c59;background:#fff;cursor:pointer}
button.approve{background:#0b6e4f;color:#fff;border-color:#0b6e4f}button.reject{background:#a61b1b;color:#fff;
border-color:#a61b1b}.note{color:#52606d;font-size:.9rem}.warn{color:#8a4b08}
"""


def _amount(subject: dict[str, Any]) -> str | None:
    if subject.get("amount") in (None, ""):
        return None
    return f"{subject.get('currency') or ''} {subject['amount']}".strip()


def _facts(request: RequestRecord) -> list[tuple[str, str]]:
    s = request.subject
    rows = [("Case", request.case_id), ("Step", f"{request.level_name} (level {request.level_index + 1})")]
    for label, key in (("Client", "client"), ("Vendor", "vendor"), ("Project", "project")):
        if s.get(key):
            rows.append((label, str(s[key])))
    if _amount(s):
        rows.append(("Amount", str(_amount(s))))
    for label, key in (("Risk", "risk_level"), ("Anomaly score", "anomaly_score")):
        if s.get(key) not in (None, ""):
            rows.append((label, str(s[key])))
    rows.append(("Requested by", request.requested_by or "the workflow"))
    rows.append(("Decide by", request.expires_at[:16].replace("T", " ") + " UTC"))
    return rows


def approval_email(
    request: RequestRecord, approver: str, url: str, *, reminder: bool
) -> tuple[str, str, str]:
    """(subject, plain text, HTML) of the e-mail to one approver. Buttons only open the confirmation page."""
    title = str(request.subject.get("title") or request.step)
    prefix = "Reminder: " if reminder else ""
    subject = f"{prefix}Approval needed: {title}"
    reasons = [str(r) for r in request.subject.get("reasons", [])]
    behalf = request.on_behalf_of.get(approver)
    lines = [
        f"{'This is a reminder. ' if reminder else ''}Your approval is needed: {title}",
        *(f"{k}: {v}" for k, v in _facts(request)),
    ]
    if behalf:
        lines.append(f"You receive this as delegate of {behalf}.")
    if reasons:
        lines += ["", "Why this needs a decision:", *(f"- {r}" for r in reasons)]
    if request.subject.get("document_url"):
        lines += ["", f"Document: {request.subject['document_url']}"]
    lines += [
        "",
        f"Open the request to approve or reject: {url}",
        "The link is yours alone and works once. Opening it does not decide anything.",
    ]
    text = "\n".join(lines)
    rows = "".join(f"<tr><td>{escape(k)}</td><td>{escape(v)}</td></tr>" for k, v in _facts(request))
    reason_html = "".join(f"<li>{escape(r)}</li>" for r in reasons)
    html = (
        f"<!doctype html><html><head><meta charset='utf-8'><style>{_STYLE}</style></head><body>"
        f"<h1>{escape(prefix)}Approval needed: {escape(title)}</h1>"
        + (f"<p>You receive this as delegate of {escape(behalf)}.</p>" if behalf else "")
        + f"<table>{rows}</table>"
        + (f"<p>Why this needs a decision:</p><ul class='reasons'>{reason_html}</ul>" if reasons else "")
        + (
            f"<p><a href='{escape(str(request.subject['document_url']))}'>Open the document</a></p>"
            if request.subject.get("document_url")
            else ""
        )
        + f"<p><a href='{escape(url)}?action=approve'><button class='approve'>Approve…</button></a>"
        f"<a href='{escape(url)}?action=reject'><button class='reject'>Reject…</button></a></p>"
        "<p class='note'>The buttons open a confirmation page; nothing is decided until you confirm there. "
        "The link is yours alone and works once.</p></body></html>"
    )
    return subject, text, html


_MESSAGES = {
    "unknown": (
        "Unknown link",
        "This approval link is not one we issued, or it was mistyped. Nothing was decided.",
    ),
    "expired": (
        "Link expired",
        "The time to decide has passed, so this link no longer works. Nothing was decided.",
    ),
    "replaced": (
        "Link replaced",
        "A newer e-mail for this request replaced this link. Please use the newest one.",
    ),
    "voided": (
        "Request withdrawn",
        "This request was withdrawn or replaced (for example because its details "
        "changed). A new request is sent when a decision is still needed.",
    ),
    "csrf": (
        "Please start again",
        "This form did not come from the approval page of this link. Open the link from your e-mail again.",
    ),
    "not_a_form": (
        "Please start again",
        "Decisions are accepted only from the form on this link's page. Nothing was decided: open the link from "
        "your e-mail again and confirm there.",
    ),
    "wrong_approver": ("Not your link", "This link belongs to another approver. Nothing was decided."),
    "self_approval": (
        "You cannot approve this",
        "Separation of duties: the requester cannot approve their own case.",
    ),
    "second_level": (
        "You cannot approve this level",
        "Separation of duties: one person cannot approve two levels of the same case.",
    ),
}


def render(page: Page, *, action_hint: str | None = None) -> str:
    r = page.request
    title, body = _MESSAGES.get(page.kind, ("", ""))
    if page.kind == "confirm" and r is not None and page.link is not None:
        return _confirm(page, action_hint)
    if page.kind == "already_decided" and r is not None:
        who = ", ".join(r.decided_by) or (page.link.approver if page.link else "someone")
        when = (r.decided_at or (page.link.decided_at if page.link else "") or "")[:16].replace("T", " ")
        status = r.status.lower() if r.status in ("APPROVED", "REJECTED") else "decided"
        title, body = "Already decided", f"This request was already {status} by {who} at {when} UTC."
    elif page.kind in ("decided", "recorded") and r is not None and page.link is not None:
        verb = "approved" if page.link.decision == "approve" else "rejected"
        title = f"You {verb} the request"
        body = f"Recorded: {r.level_name} for case {r.case_id}. " + (
            f"{r.approvals} of {r.quorum} approvals so far; the request waits for the others."
            if page.kind == "recorded"
            else "The workflow continues."
        )
    return html_document(title or "Approval", f"<h1>{escape(title)}</h1><p>{escape(body)}</p>")


def _confirm(page: Page, action_hint: str | None) -> str:
    r, link = page.request, page.link
    assert r is not None and link is not None
    rows = "".join(f"<tr><td>{escape(k)}</td><td>{escape(v)}</td></tr>" for k, v in _facts(r))
    reasons = "".join(f"<li>{escape(str(x))}</li>" for x in r.subject.get("reasons", []))
    approve_checked = "checked" if action_hint != "reject" else ""
    reject_checked = "checked" if action_hint == "reject" else ""
    message = f"<p class='warn'>{escape(page.message)}</p>" if page.message else ""
    document = (
        f"<p><a href='{escape(str(r.subject['document_url']))}' rel='noreferrer'>Open the document</a></p>"
        if r.subject.get("document_url")
        else ""
    )
    form = (
        "<form method='post' class='box'>"
        f"<input type='hidden' name='csrf' value='{escape(page.csrf or '')}'>"
        f"<label><input type='radio' name='decision' value='approve' {approve_checked}> Approve</label>"
        f"<label><input type='radio' name='decision' value='reject' {reject_checked}> Reject</label>"
        "<label for='comment'>Comment (required to reject)</label>"
        f"<textarea id='comment' name='comment' rows='3' maxlength='{COMMENT_MAX_CHARACTERS}' "
        "aria-describedby='comment-limit'></textarea>"
        f"<p class='note' id='comment-limit'>At most {COMMENT_MAX_CHARACTERS:,} characters.</p>"
        "<label for='approver'>Type your e-mail address to confirm it is you</label>"
        "<input type='email' id='approver' name='approver' required autocomplete='email'>"
        "<p><button type='submit' class='approve'>Confirm decision</button></p></form>"
    )
    body = (
        f"<h1>{escape(str(r.subject.get('title') or r.step))}</h1>{message}<table>{rows}</table>"
        + (f"<p>Why this needs a decision:</p><ul class='reasons'>{reasons}</ul>" if reasons else "")
        + document
        + (form if page.csrf else "")
        + f"<p class='note'>This link is for {escape(link.approver)}"
        + (f", delegate of {escape(link.on_behalf_of)}" if link.on_behalf_of else "")
        + ". Opening this page decides nothing.</p>"
    )
    return html_document("Approval request", body)


def html_document(title: str, body: str) -> str:
    """A self-contained page in the approvals' style (no external resources); the vendor upload pages use it too."""
    return (
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>"
        "<meta name='viewport' content='width=device-width,initial-scale=1'><meta name='robots' content='noindex'>"
        f"<title>{escape(title)}</title><style>{_STYLE}</style></head><body>{body}</body></html>"
    )
