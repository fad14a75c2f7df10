"""The audit trail as a process-mining event log: one event per audit record, with a readable activity name.

Activity names are ``"<stage>: <what happened>"``, chosen so that a process map reads like the business process:

- ``stage`` is the step that recorded the event (``"validate closed-won opportunity"``), except for approvals, where it
  is the approval level (``"general counsel sign-off"``) when the trail names one: a two-level approval then shows as
  two stages instead of one stage looping on itself;
- ``what happened`` is the record's outcome (``"passed"``, ``"created"``, ``"blocked"``) for work steps, and a verb for
  the approval protocol, whose outcomes (``pending``, ``viewed``) say too little: ``"approval requested"``,
  ``"link opened"``, ``"reminder sent"``, ``"approved"``, ``"rejected"``, ``"timed out"``, ``"refused (wrong
  approver)"``;
- the case's frame reads as a phrase on its own: ``"case started"``, ``"duplicate event ignored"``, ``"event
  rejected"``, ``"case resumed"``, and the published outcome itself (``"Project Onboarded"``, ``"Onboarding
  Blocked"``).

Pass ``activity=`` to ``event_log`` for another naming (``lambda e: e.step`` gives the coarse, step-only map).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any, Literal

from backoffice.audit import JOB_WORKFLOWS, AuditRecord

ActorKind = Literal["system", "user", "ai"]
Category = Literal["start", "work", "approval", "exception", "success", "intake"]

# The approval protocol: what a person or the approval service did about a request, not a unit of work.
APPROVAL_REQUEST_ACTIONS = frozenset({"approval.requested", "approval.escalated"})
# Records that follow up on work already under way: their repeats are nudges or re-reads, not rework.
FOLLOW_UP_ACTIONS = frozenset(
    {"approval.link_viewed", "approval.reminded", "approval.refused", "event.duplicate"}
)
# Records an outside party interjects into a case (a redelivery, someone else's attempt at a link): a case does not
# wait for them, so the waiting-time analysis steps over them.
SIDE_ACTIONS = frozenset({"event.duplicate", "approval.refused"})
# Records that land on a case after its outcome, about what became of it (an invoice's payments and credit memos,
# issue #20's R2 and R3): not work of the case, not a reopening, and no time the case waited. The receivables
# metrics read them; the case metrics step over them.
AFTER_OUTCOME_ACTIONS = frozenset({"invoice.paid", "invoice.credited"})
# Scheduled jobs whose records are measurements the management numbers read (issue #20's R4 and R5: a month's
# delivery and work in progress), not cases of the firm: the report keeps their records, the case metrics leave
# them out, like every workflow in ``backoffice.audit.JOB_WORKFLOWS``.
# The missing-timesheet reminders are read the same way (the late rate); they land on worker-week cases that only
# a submission (workflow time_expense_review) makes a case of the firm.
MEASUREMENT_WORKFLOWS = frozenset({"delivery", "timesheet_reminders"})
NOT_CASES = JOB_WORKFLOWS | MEASUREMENT_WORKFLOWS

_FRAME_LABELS = {
    "case.started": "case started",
    "event.duplicate": "duplicate event ignored",
    "event.rejected": "event rejected",
    "case.resumed": "case resumed",
}
_APPROVAL_LABELS = {
    "approval.requested": "approval requested",
    "approval.escalated": "approval escalated",
    "approval.reminded": "reminder sent",
    "approval.link_viewed": "link opened",
}
_EXPIRY_LABELS = {"timed_out": "timed out", "escalating": "expired, escalating"}
_LEVEL_IN_REASON = re.compile(r"^(?P<level>.+?) \(level \d+ of \d+")
_ERROR_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_.]*")


@dataclass(frozen=True, slots=True)
class Event:
    """One audit record as a process-mining event. ``activity`` is what the process map and the exports show."""

    case_id: str
    workflow: str
    activity: str
    timestamp: datetime
    actor: str
    outcome: str
    actor_kind: ActorKind = "system"
    step: str = ""
    stage: str = ""
    label: str = ""
    action: str = ""
    seq: int = 0
    reasons: tuple[str, ...] = ()
    data: Mapping[str, Any] = field(default_factory=dict)
    lifecycle: str = "complete"

    @property
    def category(self) -> Category:
        """What kind of node this is on a process map (drives its colour)."""
        if self.action == "case.started":
            return "start"
        if self.action == "outcome.published":
            return "exception" if is_failure(self) else "success"
        if self.action in ("event.duplicate", "case.resumed"):
            return "intake"
        if exception_rule(self) is not None or self.outcome in ("blocked", "rejected"):
            return "exception"
        if self.action.startswith("approval."):
            return "approval"
        return "work"


def parse_timestamp(value: str | datetime) -> datetime:
    """An aware UTC datetime from an ISO-8601 string (a naive one is taken as UTC, as the trail writes UTC)."""
    moment = value if isinstance(value, datetime) else datetime.fromisoformat(value)
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def humanize(word: str) -> str:
    return word.replace("_", " ")


def level_in_reasons(reasons: Sequence[str]) -> str | None:
    """The approval level named by an ``approval.requested`` reason: ``"legal review (level 1 of 2, ...)"``."""
    match = _LEVEL_IN_REASON.match(reasons[0]) if reasons else None
    return match.group("level") if match else None


def label_of(action: str, outcome: str, stage: str) -> tuple[str, str]:
    """(stage, label) of a record; the stage is empty for the case's frame, which reads on its own."""
    if action in _FRAME_LABELS:
        return "", _FRAME_LABELS[action]
    if action == "outcome.published":
        return "", outcome
    if action in _APPROVAL_LABELS:
        return stage, _APPROVAL_LABELS[action]
    if action == "approval.expired":
        return stage, _EXPIRY_LABELS.get(outcome, "expired")
    if action == "approval.refused":
        return stage, f"refused ({humanize(outcome)})"
    if action == "contract.risk_assessed":
        return stage, "no risk" if outcome == "none" else f"{humanize(outcome)} risk"
    return stage, humanize(outcome)


def default_activity(event: Event) -> str:
    return f"{event.stage}: {event.label}" if event.stage else event.label


def event_log(
    records: Iterable[AuditRecord], *, activity: Callable[[Event], str] = default_activity
) -> list[Event]:
    """Every record as an ``Event``, ordered by case and then by the chain's sequence number."""
    ordered = sorted(records, key=lambda r: (r.case_id, r.seq))
    levels: dict[tuple[str, str], str] = {}
    events: list[Event] = []
    for record in ordered:
        stage = record.step
        if record.action.startswith("approval."):
            request_id = str(record.data.get("request_id") or "")
            level = record.data.get("level") or level_in_reasons(record.reasons)
            if level and request_id:
                levels[(record.case_id, request_id)] = str(level)
            stage = str(level or levels.get((record.case_id, request_id)) or record.step)
        stage, label = label_of(record.action, record.outcome, stage)
        event = Event(
            case_id=record.case_id,
            workflow=record.workflow,
            activity="",
            timestamp=parse_timestamp(record.timestamp),
            actor=str(record.actor),
            outcome=record.outcome,
            actor_kind=record.actor.kind,
            step=record.step,
            stage=stage,
            label=label,
            action=record.action,
            seq=record.seq,
            reasons=tuple(record.reasons),
            data=dict(record.data),
        )
        events.append(replace(event, activity=activity(event)))
    return events


def as_events(items: Iterable[AuditRecord | Event]) -> list[Event]:
    """Events as given, or the event log of audit records (a mix is accepted)."""
    items = list(items)
    records = [i for i in items if isinstance(i, AuditRecord)]
    events = [i for i in items if isinstance(i, Event)]
    if records:
        events.extend(event_log(records))
        events.sort(key=lambda e: (e.case_id, e.seq))
    return events


def case_work(trail: Sequence[Event]) -> list[Event]:
    """A case's own records: without the follow-ups that land on it after its outcome (payments, credit memos)."""
    return [e for e in trail if e.action not in AFTER_OUTCOME_ACTIONS]


def is_manual_edit(event: Event) -> bool:
    return event.actor_kind == "user" and not event.action.startswith("approval.")


def final_outcome(trail: Sequence[Event]) -> Event | None:
    """The case's last published outcome, unless the case was resumed after it (then it is open again). A payment
    or credit memo recorded after the outcome does not reopen it."""
    published = [e for e in trail if e.action == "outcome.published"]
    final = published[-1] if published else None
    if final is None or any(e.action == "case.resumed" and e.seq > final.seq for e in trail):
        return None
    return final


# -- what counts as an exception -------------------------------------------------------------------------------


def error_name(reasons: Sequence[str]) -> str | None:
    """``"StatementOfWorkMissing"`` from ``"StatementOfWorkMissing: opportunity ... has no SOW"``."""
    if not reasons:
        return None
    head, sep, _ = reasons[0].partition(":")
    return head if sep and _ERROR_NAME.fullmatch(head) else None


def is_failure(event: Event) -> bool:
    """A published outcome that ends the case unsuccessfully: it carries the error's reasons, or says blocked."""
    if event.action != "outcome.published":
        return False
    return bool(event.reasons) or any(word in event.outcome.lower() for word in ("blocked", "failed"))


def exception_rule(event: Event) -> str | None:
    """The rule an exception record falls under, or None. Step-level blocks are handled per case (``case_rules``)."""
    if event.action == "event.rejected":
        return "event rejected"
    if event.action == "approval.refused":
        return f"approval refused: {humanize(event.outcome)}"
    if event.action == "approval.expired":
        return f"approval {_EXPIRY_LABELS.get(event.outcome, 'expired')}"
    if is_failure(event):
        return f"blocked: {error_name(event.reasons) or event.outcome}"
    return None


def case_rules(trail: Sequence[Event]) -> list[tuple[str, Event]]:
    """The exception records of one case with their rule.

    A failed step records ``blocked`` and the case then publishes its failure outcome with the error's name: the
    published outcome is the one counted. A step block is counted on its own only when the case published no
    failure (it is still stuck, or the step passed on a retry or a resume).
    """
    found = [(rule, e) for e in trail if (rule := exception_rule(e)) is not None]
    if not any(is_failure(e) for e in trail):
        for e in trail:
            if e.outcome == "blocked" and e.action != "outcome.published":
                found.append((f"blocked: {error_name(e.reasons) or e.step}", e))
        found.sort(key=lambda pair: pair[1].seq)
    return found
