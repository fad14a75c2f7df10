"""What approvers see: the e-mail (HTML and plain text) and the pages of the decision endpoint.

Every page is self-contained HTML with no external resources, rendered from ``approvals/templates`` by
``backoffice.html`` (escaped by default), and sent with ``Referrer-Policy: no-referrer`` (the link id is in the URL
and must not leak to another site) and ``Cache-Control: no-store``.
"""

from __future__ import annotations

from typing import Any

from backoffice.approvals.page_model import COMMENT_MAX_CHARACTERS, Page
from backoffice.approvals.resolutions import resolutions_of
from backoffice.approvals.store import RequestRecord
from backoffice.approvals.summary import written_by

SECURITY_HEADERS = {
    "Content-Type": "text/html; charset=utf-8",
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; base-uri 'none'",
}


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


def _summary(request: RequestRecord) -> tuple[str, str] | None:
    """(the summary, who wrote it) when the request has one."""
    summary = request.summary
    if not summary or not summary.get("text"):
        return None
    return str(summary["text"]), written_by(summary)


def _explanations(request: RequestRecord) -> list[tuple[str, str, str]]:
    """(line, plain words, who wrote them) of each flagged line the workflow had explained."""
    found = request.subject.get("explanations") or []
    return [
        (str(e.get("line", "")), str(e.get("text", "")), str(e.get("by", "")))
        for e in found
        if isinstance(e, dict) and e.get("text")
    ]


def approval_email(
    request: RequestRecord, approver: str, url: str, *, reminder: bool
) -> tuple[str, str, str]:
    """(subject, plain text, HTML) of the e-mail to one approver. Buttons only open the confirmation page."""
    title = str(request.subject.get("title") or request.step)
    prefix = "Reminder: " if reminder else ""
    subject = f"{prefix}Approval needed: {title}"
    reasons = [str(r) for r in request.subject.get("reasons", [])]
    behalf = request.on_behalf_of.get(approver)
    summary = _summary(request)
    lines = [f"{'This is a reminder. ' if reminder else ''}Your approval is needed: {title}"]
    if summary:
        lines += ["", f"In short: {summary[0]}", f"({summary[1]}.)", ""]
    lines += [f"{k}: {v}" for k, v in _facts(request)]
    if behalf:
        lines.append(f"You receive this as delegate of {behalf}.")
    if reasons:
        lines += ["", "Why this needs a decision:", *(f"- {r}" for r in reasons)]
    explained = _explanations(request)
    if explained:
        lines += [
            "",
            "The flags in plain words:",
            *(f"- {line}: {text} ({by})" for line, text, by in explained),
        ]
    if request.subject.get("document_url"):
        lines += ["", f"Document: {request.subject['document_url']}"]
    lines += [
        "",
        f"Open the request to approve or reject: {url}",
        "The link is yours alone and works once. Opening it does not decide anything.",
    ]
    text = "\n".join(lines)
    from backoffice.html import render as render_template  # jinja2 only when something is rendered

    html = render_template(
        "approvals/email.html.j2",
        prefix=prefix,
        title=title,
        behalf=behalf,
        summary=summary,
        facts=_facts(request),
        reasons=reasons,
        explanations=explained,
        document_url=request.subject.get("document_url"),
        url=url,
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
    from backoffice.html import render as render_template  # jinja2 only when something is rendered

    return render_template("approvals/message.html.j2", title=title or "Approval", heading=title, text=body)


def _confirm(page: Page, action_hint: str | None) -> str:
    r, link = page.request, page.link
    assert r is not None and link is not None
    from backoffice.html import render as render_template  # jinja2 only when something is rendered

    return render_template(
        "approvals/confirm.html.j2",
        title="Approval request",
        heading=str(r.subject.get("title") or r.step),
        message=page.message,
        summary=_summary(r),
        facts=_facts(r),
        reasons=[str(reason) for reason in r.subject.get("reasons", [])],
        explanations=_explanations(r),
        document_url=r.subject.get("document_url"),
        csrf=page.csrf,
        decision="reject" if action_hint == "reject" else "approve",
        resolutions=resolutions_of(r.subject),
        comment_max=COMMENT_MAX_CHARACTERS,
        approver=link.approver,
        on_behalf_of=link.on_behalf_of,
    )
