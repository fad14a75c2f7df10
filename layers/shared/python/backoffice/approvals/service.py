"""The approval step: request, view, decide, escalate, remind. Plain functions over ports; the handlers wire them.

The safety rules come from how link approvals fail elsewhere (shared docs, APPROVALS.md): a GET never decides; a
decision is a POST with a CSRF token from the confirmation page; links are single-use, bound to one approver, carry
an opaque 192-bit id stored only as a hash; a changed subject voids the link; expired, replaced and already-decided
links get their own page; every refusal is audited with channel, IP and user agent, and never changes the case.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Literal, Protocol

from backoffice.approvals.page_model import COMMENT_MAX_CHARACTERS, Page
from backoffice.approvals.pages import approval_email
from backoffice.approvals.policy import ApprovalPolicy, Level, Rule, as_facts
from backoffice.approvals.resolutions import refusal as resolution_refusal
from backoffice.approvals.resolutions import resolutions_of
from backoffice.approvals.routing import NoEligibleApprovers, route_level, select_rule
from backoffice.approvals.store import (
    APPROVED,
    DECIDED,
    ESCALATED,
    EXPIRED,
    PENDING,
    REJECTED,
    REPLACED,
    VOIDED,
    ApprovalStore,
    LinkRecord,
    RequestRecord,
    csrf_hash,
    link_hash,
)
from backoffice.approvals.summary import Summarizer, summarize_request
from backoffice.audit import Actor, AuditTrail
from backoffice.mail_events import APPROVAL_MAIL, REQUEST_TAG, MailTrouble, mail_tags

SYSTEM = Actor.system("approvals")
EMAIL_MAX_CHARACTERS = 254  # the longest address SMTP carries (RFC 5321)
# Past this budget (bytes of JSON) the workflow gets each comment shortened, for a level with many commenting
# approvers; the audit trail keeps every word.
WORKFLOW_COMMENTS_BUDGET = 24 * 1024
REFUSALS_CASE = (
    "approval-refusals"  # the trail of refusals that belong to no known case (unknown or forged links)
)
# Unknown-link refusals are counted per address per hour; the trail records the 1st, 10th, 100th, ... of each
# window with the count so far, so a flood of guesses costs a handful of records, not one each (docs/concurrency.md).
UNKNOWN_LINK_WINDOW = "%Y-%m-%dT%H"
# What a decision POST may be: what a browser sends for the confirmation page's form. A text/plain body is what a
# cross-site form can send without a CORS preflight, and no page of ours sends one.
FORM_MEDIA_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


# The error a waiting approval task is failed with when its approvers cannot be mailed; the workflows' Catch policy
# for people's steps (callback_timeout) takes it like a timeout, so expire_approval escalates the level.
UNDELIVERABLE_ERROR = "ApprovalUndeliverable"


class Mailer(Protocol):
    def send(
        self, *, to: str, subject: str, text: str, html: str, tags: Mapping[str, str] | None = None
    ) -> str | None:
        """Send one mail; returns the transport's message id, if it gives one."""


class Notifier(Protocol):
    def publish(self, *, subject: str, message: str, kind: str) -> None: ...


class TaskCallback(Protocol):
    def succeed(self, task_token: str, output: dict[str, Any]) -> None:
        """Resume the waiting state machine. Raises TokenNoLongerValid when the task timed out or ended."""

    def fail(self, task_token: str, error: str, cause: str) -> None:
        """End the waiting task with ``error`` (caught by the workflow). TokenNoLongerValid as for succeed."""


class TokenNoLongerValid(RuntimeError):
    pass


def plan(policy: ApprovalPolicy, route: str, subject: dict[str, Any]) -> dict[str, Any]:
    """Is an approval needed for this subject on this route, and how long may its first level wait?"""
    rule = select_rule(policy, route, as_facts(subject))
    if rule is None:
        return {"required": False, "index": 0, "escalated": False, "timeout_seconds": 1, "rule": None}
    return {
        "required": True,
        "index": 0,
        "escalated": False,
        "timeout_seconds": rule.levels[0].timeout_seconds,
        "rule": rule.name,
    }


@dataclass
class Approvals:
    """Everything the approval step needs, injected (DynamoDB store, SES mailer, SNS notifier, Step Functions)."""

    store: ApprovalStore
    audit: AuditTrail
    mailer: Mailer
    notifier: Notifier
    callback: TaskCallback
    policy: ApprovalPolicy
    base_url: str
    clock: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))
    # Writes the approval context summary of each new request (approvals.summary); None: mails without one.
    summarizer: Summarizer | None = None

    # -- requesting ----------------------------------------------------------------------------------------------

    def request(self, payload: dict[str, Any]) -> dict[str, Any]:
        """Create one link per approver for the level, store the task token, send the e-mails."""
        now = self.clock()
        case_id, step, route = payload["case_id"], payload["step"], payload["route"]
        subject: dict[str, Any] = payload["subject"]
        index, escalated = int(payload.get("index", 0)), bool(payload.get("escalated", False))
        rule = select_rule(self.policy, route, as_facts(subject))
        if rule is None:
            raise NoEligibleApprovers(f"route {route} needs no approval for this subject; nothing to ask")
        state = self.store.case_step(case_id, step)
        decided_earlier = frozenset(
            email for email, level in state.get("deciders", {}).items() if int(level) != index
        )
        routed = route_level(
            self.policy,
            rule,
            index,
            requested_by=payload.get("requested_by"),
            decided_earlier=decided_earlier,
            today=now.date(),
            escalated=escalated,
            subject_groups=subject.get("approvers") or {},
        )
        # A new request for the same step replaces the old one: its links die (changed subject, escalation).
        if state.get("current_request_id"):
            self._retire(state["current_request_id"], VOIDED, "replaced by a new request for this step")
        request = RequestRecord(
            request_id=uuid.uuid4().hex,
            case_id=case_id,
            workflow=payload["workflow"],
            step=step,
            route=route,
            rule=rule.name,
            level_index=index,
            level_count=routed.count,
            level_name=routed.level.name,
            quorum=routed.quorum,
            reject_quorum=routed.level.reject_quorum,
            approvers=[a.email for a in routed.approvers],
            on_behalf_of={a.email: a.on_behalf_of for a in routed.approvers if a.on_behalf_of},
            requested_by=(payload.get("requested_by") or "").lower(),
            subject=subject,
            payload_hash=subject_hash(subject),
            task_token=payload["task_token"],
            status=PENDING,
            created_at=now.isoformat(),
            expires_at=(now + timedelta(seconds=routed.level.timeout_seconds)).isoformat(),
            escalated=escalated,
            execution_arn=payload.get("execution_arn"),
            last_sent_at=now.isoformat(),
            summary=summarize_request(
                self.summarizer,
                route=route,
                workflow=payload["workflow"],
                step=step,
                case_id=case_id,
                subject=subject,
                execution_arn=payload.get("execution_arn"),
            ),
        )
        links = self._issue_links(request, now)
        self.store.put_request(request)
        self.store.update_case_step(
            case_id, step, lambda fresh: fresh.update(current_request_id=request.request_id)
        )
        for approver, link_id in links:
            self._mail(request, approver, link_id, reminder=False)
        self.audit.append(
            case_id=case_id,
            workflow=request.workflow,
            step=step,
            actor=SYSTEM,
            action="approval.escalated" if escalated else "approval.requested",
            outcome="pending",
            reasons=[
                f"{routed.level.name} (level {index + 1} of {routed.count}, rule: {rule.name}): "
                f"{routed.quorum} of {len(routed.approvers)} must approve",
                *routed.notes,
            ],
            input=subject,
            data={
                "request_id": request.request_id,
                "approvers": request.approvers,
                "quorum": request.quorum,
                "expires_at": request.expires_at,
                "channel": "email",
                # As the request named it: the e-mail's subject carries it on one clean line (mail_headers).
                "title": str(subject.get("title") or step),
            },
            execution_arn=request.execution_arn,
        )
        self.notifier.publish(
            subject=f"Approval pending: {subject.get('title', step)}",
            message=f"{routed.level.name} for case {case_id} waits for {', '.join(request.approvers)} "
            f"(until {request.expires_at}).",
            kind="approval.pending",
        )
        return {
            "request_id": request.request_id,
            "approvers": request.approvers,
            "expires_at": request.expires_at,
        }

    def _issue_links(self, request: RequestRecord, now: datetime) -> list[tuple[str, str]]:
        issued = []
        for approver in request.approvers:
            link_id = secrets.token_urlsafe(24)  # 192 bits, URL-safe, never stored
            record = LinkRecord(
                link_hash=link_hash(link_id),
                request_id=request.request_id,
                approver=approver,
                status=PENDING,
                created_at=now.isoformat(),
                on_behalf_of=request.on_behalf_of.get(approver),
            )
            self.store.put_link(record)
            request.link_hashes.append(record.link_hash)
            issued.append((approver, link_id))
        return issued

    def _mail(self, request: RequestRecord, approver: str, link_id: str, *, reminder: bool) -> None:
        url = f"{self.base_url.rstrip('/')}/approvals/{link_id}"
        subject, text, html = approval_email(request, approver, url, reminder=reminder)
        # Tagged with the request, so that SES's bounce or complaint event finds it (mail_events).
        tags = mail_tags(APPROVAL_MAIL, **{REQUEST_TAG: request.request_id})
        message_id = self.mailer.send(to=approver, subject=subject, text=text, html=html, tags=tags)
        if message_id:

            def keep_id(link: LinkRecord) -> bool:
                link.message_id = message_id
                return True

            self.store.update_link(link_hash(link_id), keep_id)

    # -- viewing -------------------------------------------------------------------------------------------------

    def view(self, link_id: str, *, client: ClientInfo) -> Page:
        """GET and HEAD: render the confirmation page. Never decides anything."""
        link, request = self._lookup(link_id)
        if link is None or request is None:
            self._refuse_unknown(link_id, client)
            return Page("unknown", 404)
        problem = self._dead_link(link, request)
        if problem:
            return problem
        if client.method == "HEAD":
            return Page("confirm", 200, request=request, link=link)
        csrf = secrets.token_urlsafe(24)

        def add_token(fresh: LinkRecord) -> bool:
            # Two tabs opening the link at once both get a working form: each token is added to what is stored.
            if fresh.status != PENDING:
                return False
            fresh.csrf_hashes = [*fresh.csrf_hashes[-4:], csrf_hash(csrf)]
            return True

        stored, added = self.store.update_link(link.link_hash, add_token)
        if stored is None or not added:
            link, request = self._lookup(link_id)
            assert link is not None and request is not None
            return self._dead_link(link, request) or Page("unknown", 404)
        link = stored
        self.audit.append(
            case_id=request.case_id,
            workflow=request.workflow,
            step=request.step,
            actor=Actor.user(link.approver),
            action="approval.link_viewed",
            outcome="viewed",
            data={"request_id": request.request_id, **client.audit_fields()},
            execution_arn=request.execution_arn,
        )
        return Page("confirm", 200, request=request, link=link, csrf=csrf)

    # -- deciding ------------------------------------------------------------------------------------------------

    def refuse_form(self, link_id: str, *, media_type: str, client: ClientInfo) -> Page:
        """A decision POST whose body is not a form (``FORM_MEDIA_TYPES``): refused, audited, nothing decided."""
        link, request = self._lookup(link_id)
        if link is None or request is None:
            self._refuse_unknown(link_id, client)
            return Page("unknown", 404)
        shown = media_type[:100] or "no content type"
        self._refuse(request, link, "not_a_form", f"the decision was sent as {shown}, not as a form", client)
        return Page("not_a_form", 415, request=request, link=link)

    def decide(
        self,
        link_id: str,
        *,
        decision: str,
        approver: str,
        csrf: str | None,
        comment: str,
        client: ClientInfo,
        resolution: str = "",
    ) -> Page:
        """POST from the confirmation page: the only way a decision is made. ``resolution``: what the approver
        chose to be done, when the request offers choices (``approvals.resolutions``)."""
        link, request = self._lookup(link_id)
        if link is None or request is None:
            self._refuse_unknown(link_id, client)
            return Page("unknown", 404)
        if not csrf or csrf_hash(csrf) not in link.csrf_hashes:
            self._refuse(request, link, "missing_csrf", "the form did not come from this link's page", client)
            return Page("csrf", 403, request=request, link=link)
        dead = self._dead_link(link, request, client=client)
        if dead:
            return dead
        refused = self._refuse_approver(approver, request, link, client)
        if refused:
            return refused
        if subject_hash(request.subject) != request.payload_hash:
            self._retire(request.request_id, VOIDED, "the subject changed after the request was sent")
            self._refuse(request, link, "changed", "the subject changed after the e-mail went out", client)
            return Page("voided", 409, request=request, link=link)
        if decision not in ("approve", "reject"):
            return Page("confirm", 400, request=request, link=link, message="Choose approve or reject.")
        comment = comment.replace("\r\n", "\n")  # a form submits line breaks as CRLF; the textarea counts one
        length = comment_length(comment)
        if length > COMMENT_MAX_CHARACTERS:
            self._refuse(
                request,
                link,
                "comment_too_long",
                f"the comment has {length:,} characters; at most {COMMENT_MAX_CHARACTERS:,} are accepted",
                client,
            )
            return Page(
                "confirm",
                400,
                request=request,
                link=link,
                csrf=csrf,
                message=f"Your comment has {length:,} characters; at most {COMMENT_MAX_CHARACTERS:,} are "
                "accepted. Nothing was decided: shorten it and confirm again.",
            )
        if decision == "reject" and self.policy.comment_required_on_reject and not comment.strip():
            return Page("confirm", 400, request=request, link=link, message="Please say why you reject.")
        unresolved = resolution_refusal(request.subject, decision, resolution, comment, request.resolution)
        if unresolved:
            return Page("confirm", 400, request=request, link=link, csrf=csrf, message=unresolved)
        chosen = resolution if decision == "approve" and resolutions_of(request.subject) else None

        now = self.clock()

        def claim(fresh: LinkRecord) -> bool:
            # Only the first of any number of POSTs of this link gets past here.
            if fresh.status != PENDING:
                return False
            fresh.status, fresh.decision, fresh.decided_at, fresh.comment = (
                DECIDED,
                decision,
                now.isoformat(),
                comment,
            )
            return True

        claimed, won = self.store.update_link(link.link_hash, claim)
        if claimed is None or not won:
            current, fresh_request = self._lookup(link_id)
            if current is not None and fresh_request is not None and current.status != DECIDED:
                dead = self._dead_link(current, fresh_request, client=client)  # voided or replaced meanwhile
                if dead:
                    return dead
            self._refuse(request, link, "replayed", "the link was already used", client)
            return Page("already_decided", 409, request=fresh_request or request, link=current or link)
        return self._count(request.request_id, claimed, decision, comment, client, now, chosen)

    def _refuse_approver(
        self, approver: str, request: RequestRecord, link: LinkRecord, client: ClientInfo
    ) -> Page | None:
        """The refusal page when ``approver`` may not decide on this link, else None."""
        who = approver.strip().lower()[:EMAIL_MAX_CHARACTERS]  # no address is longer; the audit stays small
        if who != link.approver:
            self._refuse(
                request, link, "wrong_approver", f"{who or 'someone'} used {link.approver}'s link", client
            )
            return Page("wrong_approver", 403, request=request, link=link)
        if who == request.requested_by:
            self._refuse(
                request, link, "self_approval", "the requester cannot approve their own case", client
            )
            return Page("self_approval", 403, request=request, link=link)
        deciders = self.store.case_step(request.case_id, request.step).get("deciders", {})
        if who in deciders and int(deciders[who]) != request.level_index:
            self._refuse(
                request, link, "second_level", "one person cannot approve two levels of a case", client
            )
            return Page("second_level", 403, request=request, link=link)
        return None

    def _count(
        self,
        request_id: str,
        link: LinkRecord,
        decision: str,
        comment: str,
        client: ClientInfo,
        now: datetime,
        resolution: str | None = None,
    ) -> Page:
        def vote(request: RequestRecord) -> bool:
            # Applied to the request as stored, on its version: a vote that loses a race is re-applied to the
            # fresh record, so N approvers at once give N votes; decided_by is the voter set (one vote each).
            if request.status != PENDING or link.approver in request.decided_by:
                return False
            if decision == "approve" and resolution and request.resolution not in (None, resolution):
                return False  # another approver chose otherwise meanwhile: this vote does not count for it
            if decision == "approve":
                request.approvals += 1
                # The first approval names what is to be done; the others of the level agreed to the same.
                request.resolution = request.resolution or resolution
            else:
                request.rejections += 1
            request.decided_by.append(link.approver)
            if comment.strip():
                request.comments.append(f"{link.approver}: {comment.strip()}")
            possible = len(request.approvers) - request.rejections
            if request.approvals >= request.quorum:
                request.status, request.decided_at = APPROVED, now.isoformat()
            elif possible < request.quorum or request.rejections >= request.reject_quorum:
                request.status, request.decided_at = REJECTED, now.isoformat()
            return True

        counted, voted = self.store.update_request(request_id, vote)
        assert counted is not None
        if not voted:
            return self._too_late(counted, link, client)
        request = counted

        level = request.level_index

        def add_decider(state: dict[str, Any]) -> None:
            state.setdefault("deciders", {})[link.approver] = level

        self.store.update_case_step(request.case_id, request.step, add_decider)
        self.audit.append(
            case_id=request.case_id,
            workflow=request.workflow,
            step=request.step,
            actor=Actor.user(link.approver),
            action="approval.decided",
            outcome="approved" if decision == "approve" else "rejected",
            reasons=[comment.strip()] if comment.strip() else [],
            data={
                "request_id": request.request_id,
                "level": request.level_name,
                "on_behalf_of": link.on_behalf_of,
                "approvals": request.approvals,
                "rejections": request.rejections,
                "quorum": request.quorum,
                **({"resolution": resolution} if resolution else {}),
                **client.audit_fields(),
            },
            execution_arn=request.execution_arn,
        )
        if request.status == PENDING:
            return Page("recorded", 200, request=request, link=link)
        return self._finish(request, link)

    def _too_late(self, request: RequestRecord, link: LinkRecord, client: ClientInfo) -> Page:
        """The link was claimed, but the request was decided (or expired, or withdrawn) before its vote counted:
        the link dies without a decision, and the approver sees why."""

        def void(fresh: LinkRecord) -> bool:
            if fresh.status != DECIDED:
                return False
            fresh.status, fresh.decision, fresh.decided_at, fresh.comment = VOIDED, None, None, None
            return True

        voided, _ = self.store.update_link(link.link_hash, void)
        current = voided or link
        page = self._dead_link(current, request, client=client)
        if page is not None:
            return page
        # Pending, yet the vote did not count: this approver already voted through another link.
        self._refuse(request, current, "replayed", "this approver already decided this request", client)
        return Page("already_decided", 409, request=request, link=current)

    def _finish(self, request: RequestRecord, link: LinkRecord) -> Page:
        approved = request.status == APPROVED
        last = request.level_index + 1 >= request.level_count
        next_index = None if (not approved or last) else request.level_index + 1
        next_timeout = None
        if next_index is not None:
            rule = select_rule(self.policy, request.route, as_facts(request.subject))
            next_timeout = rule.levels[next_index].timeout_seconds if rule else None
        verb = "Approved" if approved else "Rejected"
        comments = comments_for_workflow(request.comments)
        said = "; ".join(comments) or "no comment"
        output = {
            "outcome": "approved" if approved else "rejected",
            "summary": f"{verb} ({request.level_name}) by {', '.join(request.decided_by)}. {said}",
            "level": request.level_name,
            "index": request.level_index,
            "decided_by": request.decided_by,
            "comments": comments,
            "next_index": next_index,
            "next_timeout_seconds": next_timeout,
            "resolution": request.resolution if approved else None,
        }
        self._void_pending_links(request)
        try:
            self.callback.succeed(request.task_token, output)
        except TokenNoLongerValid:
            final = request.status

            def expire(fresh: RequestRecord) -> bool:
                if fresh.status != final:
                    return False
                fresh.status = EXPIRED
                return True

            expired, _ = self.store.update_request(request.request_id, expire)
            return Page("expired", 410, request=expired or request, link=link)
        self.notifier.publish(
            subject=f"Approval {output['outcome']}: {request.subject.get('title', request.step)}",
            message=f"{request.level_name} for case {request.case_id} was {output['outcome']} by "
            f"{', '.join(request.decided_by)}.",
            kind=f"approval.{output['outcome']}",
        )
        return Page("decided", 200, request=request, link=link)

    # -- timeouts and reminders ---------------------------------------------------------------------------------

    def escalation(
        self, route: str, subject: dict[str, Any], index: int, escalated: bool
    ) -> tuple[Rule | None, Level | None, bool]:
        """The rule and level a request is on, and whether ending it early or late escalates it: once, and only
        when the policy names an escalation group. The timeout and the undeliverable mail decide with this."""
        rule = select_rule(self.policy, route, as_facts(subject))
        level = rule.levels[index] if rule else None
        return rule, level, bool(level and level.escalate_to and not escalated)

    def expire(self, payload: dict[str, Any]) -> dict[str, Any]:
        """The level timed out, or its approvers could not be mailed (``mail_undeliverable`` failed the task):
        its links die; escalate once if the policy says so, else give up."""
        case_id, step = payload["case_id"], payload["step"]
        index, escalated = int(payload.get("index", 0)), bool(payload.get("escalated", False))
        state = self.store.case_step(case_id, step)
        current = state.get("current_request_id")
        if current:
            self._retire(current, EXPIRED, "nobody decided before the deadline")
        rule, level, escalate = self.escalation(payload["route"], payload["subject"], index, escalated)
        retired = self.store.get_request(current) if current else None
        # Ended early because its mail bounced: that record (approval.undeliverable) is on the trail already and
        # the operators were told; here the level only escalates.
        undeliverable = retired is not None and retired.status == ESCALATED and bool(retired.unreachable)
        if not undeliverable:
            self.audit.append(
                case_id=case_id,
                workflow=payload["workflow"],
                step=step,
                actor=SYSTEM,
                action="approval.expired",
                outcome="escalating" if escalate else "timed_out",
                reasons=[
                    f"{level.name if level else step}: nobody decided in time"
                    + (f"; escalating to {level.escalate_to}" if escalate and level else "")
                ],
                data={"request_id": current},
                execution_arn=payload.get("execution_arn"),
            )
        if escalate and level and not undeliverable:
            self.notifier.publish(
                subject=f"Approval escalated: {payload['subject'].get('title', step)}",
                message=f"{level.name} for case {case_id} timed out and goes to {level.escalate_to}.",
                kind="approval.escalated",
            )
        return {
            "escalate": escalate,
            "required": True,
            "index": index,
            "escalated": escalate or escalated,
            "timeout_seconds": level.timeout_seconds if level else 1,
            "rule": rule.name if rule else None,
        }

    # -- mail that did not arrive --------------------------------------------------------------------------------

    def mail_undeliverable(self, request_id: str, trouble: MailTrouble) -> dict[str, Any]:
        """SES reported that an approval mail bounced, was marked as spam, or is delayed.

        A permanent bounce or a complaint makes the approver unreachable. When the approvers left can no longer
        reach the level's quorum, the level escalates now instead of at its timeout, through the same path as a
        timeout (the waiting task is failed with ``ApprovalUndeliverable``, the workflow calls ``expire``), once,
        if the policy names an escalation group; else the operators are told and the case keeps waiting. A
        transient bounce or a delay is recorded only. SNS may deliver an event twice, at once: the request's
        versioned write lets one delivery record the approver as unreachable and escalate; a second finds it
        recorded and does nothing (docs/concurrency.md)."""
        request = self.store.get_request(request_id)
        if request is None:
            return {"outcome": "unknown_request", "request_id": request_id}
        base = {"request_id": request_id, "case_id": request.case_id, "recipient": trouble.recipient}
        if not trouble.permanent:
            with self.store.claimed(mail_event_key(trouble), self.clock().isoformat()) as won:
                if not won:
                    return {**base, "outcome": "duplicate"}
                self._audit_undeliverable(
                    request,
                    trouble,
                    "recorded",
                    [f"{request.level_name}: {trouble.summary()}", "SES may still deliver it"],
                )
            return {**base, "outcome": "recorded"}
        _, _, can_escalate = self.escalation(
            request.route, request.subject, request.level_index, request.escalated
        )

        def mark(fresh: RequestRecord) -> bool:
            if trouble.recipient in fresh.unreachable:
                return False  # this delivery's twin got here first
            fresh.unreachable.append(trouble.recipient)
            if fresh.status == PENDING and can_escalate and not _quorum_reachable(fresh):
                fresh.status = ESCALATED
            return True

        stored, first = self.store.update_request(request_id, mark)
        assert stored is not None
        if stored.status == ESCALATED and stored.unreachable and not stored.escalation_signalled:
            # The level ended early: the waiting task is failed so the workflow escalates it. A delivery whose
            # first attempt stopped before this point (a throttled callback) gets here again on Lambda's retry.
            if first:
                self._void_pending_links(stored)
            outcome = self._signal_escalation(stored, trouble)
            if outcome is None:
                return {**base, "outcome": "duplicate"}
        elif not first:
            return {**base, "outcome": "duplicate"}
        else:
            try:
                outcome = self._unreachable_outcome(stored, trouble)
            except Exception:
                # Not recorded or not told: the approver is unmarked again, so that the event's redelivery (or
                # Lambda's retry) records it instead of finding it marked and doing nothing.
                def unmark(fresh: RequestRecord) -> bool:
                    if trouble.recipient not in fresh.unreachable:
                        return False
                    fresh.unreachable.remove(trouble.recipient)
                    return True

                self.store.update_request(request_id, unmark)
                raise
        return {**base, "outcome": outcome}

    def _signal_escalation(self, request: RequestRecord, trouble: MailTrouble) -> str | None:
        """Fail the waiting task so the workflow escalates; the one delivery that records it audits and notifies
        (None for the others)."""
        level_name = request.level_name
        cause = f"{level_name}: {trouble.summary()}"

        # Claimed first, then signalled: of deliveries at once only the claimant fails the task, so the one that
        # records what happened is the one that did it (a twin that signalled second would see the task gone and
        # record "too late" for an escalation that did happen).
        def signalled(fresh: RequestRecord) -> bool:
            if fresh.escalation_signalled:
                return False
            fresh.escalation_signalled = True
            return True

        _, won = self.store.update_request(request.request_id, signalled)
        if not won:
            return None
        try:
            self.callback.fail(request.task_token, UNDELIVERABLE_ERROR, cause)
            late = False
        except TokenNoLongerValid:
            late = True  # the level timed out (or the case ended) meanwhile: that path decided
        except Exception:
            # Not signalled (throttled, an outage): the claim is given back for Lambda's retry to signal.
            def unsignalled(fresh: RequestRecord) -> bool:
                fresh.escalation_signalled = False
                return True

            self.store.update_request(request.request_id, unsignalled)
            raise
        _, level, _ = self.escalation(request.route, request.subject, request.level_index, request.escalated)
        group = level.escalate_to if level else None
        outcome = "too_late" if late else "escalating"
        reasons = [f"{level_name}: {trouble.summary()}"]
        reasons.append(
            "the level had ended meanwhile; nothing changed"
            if late
            else f"no approver left can reach the quorum of {request.quorum}; escalating to {group} now"
        )
        self._audit_undeliverable(request, trouble, outcome, reasons)
        self.notifier.publish(
            subject=f"Approval mail bounced: {request.subject.get('title', request.step)}",
            message=f"For case {request.case_id}, {trouble.summary()}. "
            + (
                f"{level_name} goes to {group} now instead of waiting for its timeout. "
                if not late
                else f"{level_name} had already ended. "
            )
            + f"Please correct {trouble.recipient} in the firm configuration's approval policy.",
            kind="approval.undeliverable",
        )
        return outcome

    def _unreachable_outcome(self, request: RequestRecord, trouble: MailTrouble) -> str:
        """Audit and tell the operators what an unreachable approver means when the level does not escalate."""
        waiting = [
            a for a in request.approvers if a not in request.unreachable and a not in request.decided_by
        ]
        if request.status != PENDING:
            outcome, why = "not_pending", f"the request is already {request.status.lower()}"
        elif _quorum_reachable(request):
            outcome, why = "still_reachable", f"{', '.join(waiting)} can still decide"
        else:
            outcome = "waiting"
            why = (
                f"{request.level_name} was already escalated and escalates only once"
                if request.escalated
                else f"the policy names no escalation for {request.level_name}"
            ) + f"; the case waits until {request.expires_at} unless an operator acts"
        self._audit_undeliverable(
            request, trouble, outcome, [f"{request.level_name}: {trouble.summary()}", why]
        )
        if request.status == PENDING:
            self.notifier.publish(
                subject=f"Approval mail bounced: {request.subject.get('title', request.step)}",
                message=f"For case {request.case_id}, {trouble.summary()}. {why[0].upper()}{why[1:]}. "
                f"Please correct {trouble.recipient} in the firm configuration's approval policy.",
                kind="approval.undeliverable",
            )
        return outcome

    def _audit_undeliverable(
        self, request: RequestRecord, trouble: MailTrouble, outcome: str, reasons: list[str]
    ) -> None:
        self.audit.append(
            case_id=request.case_id,
            workflow=request.workflow,
            step=request.step,
            actor=Actor.system("ses"),
            action="approval.undeliverable",
            outcome=outcome,
            reasons=reasons,
            data={
                "request_id": request.request_id,
                "level": request.level_name,
                "level_index": request.level_index,
                "escalated": request.escalated,
                **trouble.audit_fields(),
            },
            execution_arn=request.execution_arn,
        )

    def remind(self) -> list[str]:
        """Re-send pending requests older than the reminder interval, with fresh links (the old ones die)."""
        now = self.clock()
        reminded = []
        for request in self.store.pending_requests():
            last = datetime.fromisoformat(request.last_sent_at or request.created_at)
            if (now - last).total_seconds() < self.policy.reminder_after_seconds:
                continue
            if now >= datetime.fromisoformat(request.expires_at):
                continue  # the timeout path owns expired requests
            # An approver SES could not deliver to gets no reminder: it would bounce again (mail_undeliverable).
            waiting = {
                link.approver: link
                for link in self.store.links_of(request)
                if link.status == PENDING and link.approver not in request.unreachable
            }
            if not waiting:
                continue
            # Only links still unused when replaced get a successor (one used at this moment decides instead).
            replaced = [
                approver
                for approver, link in waiting.items()
                if self.store.update_link(link.link_hash, _replace_if_pending)[1]
            ]
            if not replaced:
                continue
            fresh = RequestRecord(**{**request.__dict__, "approvers": replaced, "link_hashes": []})
            links = self._issue_links(fresh, now)

            def attach(stored: RequestRecord, fresh: RequestRecord = fresh) -> bool:
                if stored.status != PENDING:
                    return False  # decided meanwhile: the new links stay unattached and are never sent
                stored.link_hashes += fresh.link_hashes
                stored.last_sent_at = now.isoformat()
                return True

            stored, attached = self.store.update_request(request.request_id, attach)
            if stored is None or not attached:
                continue
            request = stored
            waiting = {approver: waiting[approver] for approver in replaced}
            for approver, link_id in links:
                self._mail(request, approver, link_id, reminder=True)
            self.audit.append(
                case_id=request.case_id,
                workflow=request.workflow,
                step=request.step,
                actor=SYSTEM,
                action="approval.reminded",
                outcome="pending",
                reasons=[f"still waiting for {', '.join(waiting)}; earlier links replaced"],
                data={"request_id": request.request_id, "channel": "email"},
                execution_arn=request.execution_arn,
            )
            reminded.append(request.request_id)
        return reminded

    # -- helpers -------------------------------------------------------------------------------------------------

    def _lookup(self, link_id: str) -> tuple[LinkRecord | None, RequestRecord | None]:
        if not link_id or len(link_id) > 128:
            return None, None
        link = self.store.get_link(link_hash(link_id))
        request = self.store.get_request(link.request_id) if link else None
        return link, request

    def _dead_link(
        self, link: LinkRecord, request: RequestRecord, client: ClientInfo | None = None
    ) -> Page | None:
        """The page for a link that can no longer decide, or None when it still can."""
        reason: tuple[str, str, int] | None = None
        if link.status == DECIDED:
            reason = ("already_decided", "the link was already used", 409)
        elif link.status == REPLACED:
            reason = ("replaced", "a newer e-mail replaced this link", 410)
        elif request.status in (APPROVED, REJECTED):
            reason = ("already_decided", "the request was already decided", 409)
        elif request.status in (EXPIRED, ESCALATED) or self.clock() >= datetime.fromisoformat(
            request.expires_at
        ):
            reason = ("expired", "the link expired", 410)
        elif request.status == VOIDED or link.status == VOIDED:
            reason = ("voided", "the request was withdrawn or replaced", 410)
        if reason is None:
            return None
        if client is not None and client.method == "POST":
            self._refuse(request, link, reason[0], reason[1], client)
        return Page(reason[0], reason[2], request=request, link=link)

    def _retire(self, request_id: str, status: str, why: str) -> None:
        def retire(request: RequestRecord) -> bool:
            if request.status != PENDING:
                return False  # decided (or retired) first: that outcome stands
            request.status = status
            return True

        request, retired = self.store.update_request(request_id, retire)
        if request is not None and retired:
            self._void_pending_links(request)

    def _void_pending_links(self, request: RequestRecord) -> None:
        """Links not yet used die with their request (a decision elsewhere, expiry, escalation, replacement)."""
        for link in self.store.links_of(request):
            if link.status == PENDING:
                # A link used at this very moment is claimed first or voided first; its decision path then finds
                # the request decided and voids it itself (_too_late).
                self.store.update_link(link.link_hash, _void_if_pending)

    def _refuse_unknown(self, link_id: str, client: ClientInfo) -> None:
        """Count a request for a link this system never issued in its address's hourly window; put the window's
        1st, 10th, 100th, ... on the refusals trail (the counter's atomic ADD gives each of those numbers to
        exactly one request, however many arrive at once)."""
        now = self.clock()
        hour = now.strftime(UNKNOWN_LINK_WINDOW)
        window = f"refusals#unknown#{hour}#{client.ip or 'unknown'}"
        count = self.store.count_refusal(window, now.isoformat())
        if not _power_of_ten(count):
            return
        reasons = ["the link is not one this system issued"]
        if count > 1:
            reasons.append(f"{count:,} requests for unknown links from this address since {hour}:00 UTC")
        self.audit.append(
            case_id=REFUSALS_CASE,
            workflow="approvals",
            step="decision endpoint",
            actor=Actor.user(client.claimed_approver[:EMAIL_MAX_CHARACTERS])
            if client.claimed_approver
            else Actor.system("anonymous"),
            action="approval.refused",
            outcome="unknown",
            reasons=reasons,
            # A few characters of the id tell a mistyped link from a guess; they cannot open anything.
            data={"window": hour, "count": count, "link_prefix": link_id[:4], **client.audit_fields()},
        )

    def _refuse(
        self,
        request: RequestRecord | None,
        link: LinkRecord | None,
        kind: str,
        why: str,
        client: ClientInfo,
    ) -> None:
        self.audit.append(
            case_id=request.case_id if request else REFUSALS_CASE,
            workflow=request.workflow if request else "approvals",
            step=request.step if request else "decision endpoint",
            actor=Actor.user(client.claimed_approver[:EMAIL_MAX_CHARACTERS])
            if client.claimed_approver
            else Actor.system("anonymous"),
            action="approval.refused",
            outcome=kind,
            reasons=[why],
            data={
                "request_id": request.request_id if request else None,
                "link_owner": link.approver if link else None,
                **client.audit_fields(),
            },
            execution_arn=request.execution_arn if request else None,
        )


def mail_event_key(trouble: MailTrouble) -> str:
    """The key a mail event is claimed under: SES's feedback id (one per bounce or complaint) and the recipient."""
    event = trouble.feedback_id or f"{trouble.message_id}#{trouble.at}"
    return f"mailevent#{trouble.kind}#{event}#{trouble.recipient}"


def _quorum_reachable(request: RequestRecord) -> bool:
    """Whether the approvals so far and the approvers still reachable and undecided can make the quorum."""
    open_ = [a for a in request.approvers if a not in request.unreachable and a not in request.decided_by]
    return request.approvals + len(open_) >= request.quorum


def _power_of_ten(n: int) -> bool:
    while n >= 10 and n % 10 == 0:
        n //= 10
    return n == 1


def _void_if_pending(link: LinkRecord) -> bool:
    if link.status != PENDING:
        return False
    link.status = VOIDED
    return True


def _replace_if_pending(link: LinkRecord) -> bool:
    if link.status != PENDING:
        return False
    link.status = REPLACED
    return True


@dataclass(frozen=True)
class ClientInfo:
    """Who is at the other end of the HTTP request, for the audit trail."""

    method: str
    ip: str | None
    user_agent: str | None
    channel: Literal["email", "cli", "console"] = "email"
    claimed_approver: str | None = None

    def audit_fields(self) -> dict[str, Any]:
        return {"channel": self.channel, "ip": self.ip, "user_agent": (self.user_agent or "")[:256]}


def comment_length(text: str) -> int:
    """Characters as a browser's maxlength counts them: UTF-16 code units (an emoji counts two)."""
    return len(text.encode("utf-16-le")) // 2


def comments_for_workflow(comments: list[str]) -> list[str]:
    """The comments as the workflow receives them: all of them, each shortened alike if together they pass the
    budget (only a level with many long comments does)."""

    def size(items: list[str]) -> int:
        return len(json.dumps(items).encode())

    longest = max((len(c) for c in comments), default=0)
    shortened = comments
    while size(shortened) > WORKFLOW_COMMENTS_BUDGET and longest > 1:
        longest = longest * 3 // 4
        shortened = [c if len(c) <= longest else c[:longest] + " […]" for c in comments]
    return shortened


def subject_hash(subject: dict[str, Any]) -> str:
    canonical = json.dumps(subject, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()
