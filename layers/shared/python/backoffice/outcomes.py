"""Announcing a case's outcome on the event bus, so the next system (or workflow) can act on it."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from backoffice.audit import Actor, AuditTrail
from backoffice.mail_headers import sns_subject
from backoffice.steps import StepInput

ACTOR = Actor.system("publish_outcome")
OUTCOME_SOURCE = "backoffice.workflows"


class PublishOutcomeInput(StepInput):
    """What every workflow's 'Announce ...' states pass: the outcome's name and its detail for the event."""

    workflow: str
    outcome: str  # the event's detail-type, e.g. Project Onboarded
    # Free-form: each outcome carries its own facts; ``error`` (a Catch result) and ``reasons`` are read here.
    detail: dict[str, Any] | None = None


class EventBusUnavailable(Exception):
    """The bus refused the outcome event; the state machine retries this error by name."""


def reasons_from_error(error: Mapping[str, Any] | None) -> list[str]:
    """Readable reasons from a Step Functions Catch result ``{"Error": ..., "Cause": ...}``."""
    if not error:
        return []
    name = str(error.get("Error", "Error"))
    cause = error.get("Cause")
    message = cause
    if isinstance(cause, str):
        try:
            parsed = json.loads(cause)
        except ValueError:
            parsed = None
        if isinstance(parsed, dict):
            message = parsed.get("errorMessage", cause)
    return [f"{name}: {message}" if message else name]


def publish_outcome(
    *,
    events: Any,
    audit: AuditTrail,
    bus_name: str,
    case_id: str,
    workflow: str,
    outcome: str,
    detail: Mapping[str, Any],
    execution_arn: str | None,
    sns: Any = None,
    topic_arn: str | None = None,
) -> dict[str, Any]:
    """Publish the outcome event (and the SNS notice) and audit it. Returns the event id, the outcome and its
    reasons: the state machine ends a case stopped by a business decision with them as the execution's output."""
    # Why a case stopped: the named error of a Catch, and any reasons the workflow states itself.
    reasons = reasons_from_error(detail.get("error")) + [str(r) for r in detail.get("reasons") or []]
    data = {k: v for k, v in detail.items() if k not in ("error", "reasons")}
    body = {"case_id": case_id, "workflow": workflow, "outcome": outcome, "reasons": reasons, "data": data}
    response = events.put_events(
        Entries=[
            {
                "EventBusName": bus_name,
                "Source": OUTCOME_SOURCE,
                "DetailType": outcome,
                "Detail": json.dumps(body, default=str),
                "Resources": [execution_arn] if execution_arn else [],
            }
        ]
    )
    entry = response["Entries"][0]
    if response.get("FailedEntryCount") or "EventId" not in entry:
        raise EventBusUnavailable(f"{entry.get('ErrorCode')}: {entry.get('ErrorMessage')}")
    audit.append(
        case_id=case_id,
        workflow=workflow,
        step="publish outcome",
        actor=ACTOR,
        action="outcome.published",
        outcome=outcome,
        reasons=reasons,
        input=detail,
        output={"event_id": entry["EventId"]},
        data={"event_id": entry["EventId"]},
        execution_arn=execution_arn,
    )
    if sns is not None and topic_arn:
        # Operators and chat/SMS subscribers hear of every outcome; reasons say what to do about a blocked case.
        sns.publish(
            TopicArn=topic_arn,
            Subject=sns_subject(f"{outcome}: {case_id}"),
            Message="\n".join([f"{outcome} ({workflow}) for case {case_id}.", *reasons]),
            MessageAttributes={"kind": {"DataType": "String", "StringValue": "case.outcome"}},
        )
    return {"event_id": entry["EventId"], "outcome": outcome, "reasons": reasons}
