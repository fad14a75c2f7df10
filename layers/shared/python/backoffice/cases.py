"""Starting cases from business events: one case per business key, bad input parked, every decision audited.

EventBridge delivers at least once and cannot name Step Functions executions, so every rule targets the
``start_case`` function, which gives the execution a name born from the event's business key. A second delivery of
the same event (or a re-sent event for the same opportunity, billing period or vendor request) finds the case that
exists and is recorded as a duplicate instead of starting another one.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from botocore.exceptions import ClientError
from pydantic import ConfigDict

from backoffice.audit import Actor, AuditTrail
from backoffice.models import InvalidEvent, JsonModel, UnknownEventType, parse_event
from backoffice.models.envelope import Model

ACTOR = Actor.system("start_case")
# A case claim with no execution after this long belongs to a delivery that died (the function times out at 30 s).
CLAIM_LEASE = timedelta(seconds=120)
_EXECUTION_NAME_MAX = 80  # Step Functions' limit
_UNSAFE = re.compile(r"[^A-Za-z0-9_-]+")


class StartCaseRequest(Model):
    """What an EventBridge rule target (or the local router) hands to ``start_case``."""

    model_config = ConfigDict(extra="forbid")

    rule: str
    workflow: str
    state_machine_arn: str
    case_key: str = "id"
    execution_prefix: str
    event: dict[str, Any]
    # What tells a new attempt of the same case from a second delivery (EventRule.attempt_key); "": none.
    attempt_key: str = ""


class StartCaseResult(Model):
    status: Literal["started", "duplicate", "rejected", "parked"]
    case_id: str
    execution_arn: str | None = None
    reasons: list[str] = []


def case_id_for(prefix: str, event: Mapping[str, Any], case_key: str) -> str:
    """The case id (and execution name): the workflow's prefix and the event's business key, console-readable.

    ``case_key`` is a dotted path, or several joined by ``+`` (for example ``detail.vendor_legal_name+id``: a
    readable name made unique by the event id). When the name must be cut to the 80 characters Step Functions
    allows, the first parts give way and the last one (the identifying part) is kept whole.
    """
    parts = [_lookup(event, path) for path in case_key.split("+")]
    parts = [str(p) for p in parts if p not in (None, "")] or [str(event.get("id") or "unidentified")]
    cleaned = [_UNSAFE.sub("-", p).strip("-") for p in parts]
    room = _EXECUTION_NAME_MAX - len(prefix) - 1 - sum(len(c) + 1 for c in cleaned[1:])
    first = cleaned[0][: max(room, 0)].strip("-") if len(cleaned) > 1 else cleaned[0]
    return "-".join([prefix, *([first] if first else []), *cleaned[1:]])[:_EXECUTION_NAME_MAX]


def attempt_of(event: Mapping[str, Any], attempt_key: str) -> str | None:
    """The event's attempt of its case: the first of the ``|``-separated dotted paths that has a value, or, with
    ``+``, every one of the paths that has a value, joined (``detail.submission_id+detail.submitted_at``: a PSA
    that keeps a sheet's id when the corrected sheet is submitted again still makes a new attempt of it); None
    without an attempt key."""
    if not attempt_key:
        return None
    if "+" in attempt_key:
        values = [str(v) for path in attempt_key.split("+") if (v := _lookup(event, path)) not in (None, "")]
        return "#".join(values) if values else str(event.get("id") or "unidentified")
    for path in attempt_key.split("|"):
        value = _lookup(event, path)
        if value not in (None, ""):
            return str(value)
    return str(event.get("id") or "unidentified")


def execution_name_for(case_id: str, attempt: str) -> str:
    """The execution of a later attempt of a case: the case id and a short hash of the attempt (the case id stays
    the audit trail's key, so every attempt's records are on one chain)."""
    digest = hashlib.sha256(attempt.encode()).hexdigest()[:8]
    return f"{case_id[: _EXECUTION_NAME_MAX - 10]}-s{digest}"


def _lookup(event: Mapping[str, Any], dotted: str) -> Any:
    value: Any = event
    for part in dotted.split("."):
        if not isinstance(value, Mapping):
            return None
        value = value.get(part)
    return value


@dataclass
class CaseStarter:
    """Starts executions through injected clients: ``sfn`` (Step Functions), ``dynamodb`` and ``sqs``."""

    audit: AuditTrail
    sfn: Any
    dynamodb: Any
    sqs: Any
    idempotency_table: str
    parked_queue_url: str

    def start(self, request: StartCaseRequest) -> StartCaseResult:
        event = request.event
        event_id = str(event.get("id", "unknown"))
        try:
            _, detail = parse_event(event)
        except (InvalidEvent, UnknownEventType) as error:
            return self._reject(request, event_id, _reasons(error))
        # The execution carries the event without its secrets (a client's tax id): execution state is shown in
        # the console and the execution logs. The step that needs the value reads it from the system of record.
        state_event = {**event, "detail": detail.to_state_dict()} if isinstance(detail, JsonModel) else event

        case_id = case_id_for(request.execution_prefix, event, request.case_key)
        # A case whose business key comes back with a new attempt (a timesheet resubmitted after lines were sent
        # back) runs again under the same case id; the same attempt delivered twice is a duplicate.
        # The first attempt is the case's execution of its own name; a later one is named after its attempt.
        attempt = attempt_of(event, request.attempt_key)
        name = claim = case_id
        claimed, existing = self._claim(claim, event_id, attempt)
        if not claimed and attempt is not None and existing.get("attempt", attempt) != attempt:
            name = claim = execution_name_for(case_id, attempt)
            claimed, existing = self._claim(claim, event_id, attempt)
        if not claimed:
            return self._duplicate(request, case_id, event_id, existing)
        # Claimed (or taken over from a delivery that died before it started the execution): start it now. The
        # execution name is the last guard; Step Functions never runs two executions of one name.
        try:
            response = self.sfn.start_execution(
                stateMachineArn=request.state_machine_arn,
                name=name,
                input=json.dumps({"case_id": case_id, "workflow": request.workflow, "event": state_event}),
            )
        except ClientError as error:
            if error.response["Error"]["Code"] != "ExecutionAlreadyExists":
                # Give the claim back so that the redelivery (EventBridge and Lambda retry) can start the case.
                self._release(claim)
                raise
            # A taken-over claim whose first delivery did start the execution before it died.
            arn = f"{request.state_machine_arn.replace(':stateMachine:', ':execution:')}:{name}"
            self._record_execution(claim, arn)
            return self._duplicate(request, case_id, event_id, {**existing, "execution_arn": arn})
        execution_arn = response["executionArn"]
        self._record_execution(claim, execution_arn)
        self.audit.append(
            case_id=case_id,
            workflow=request.workflow,
            step="start case",
            actor=ACTOR,
            action="case.started",
            outcome="started",
            reasons=[
                f"event {event.get('detail-type')!s} from {event.get('source')!s} matched rule {request.rule}"
            ],
            input=event,
            data={
                "event_id": event_id,
                "rule": request.rule,
                **({"attempt": attempt, "execution": name} if attempt is not None else {}),
            },
            execution_arn=execution_arn,
        )
        return StartCaseResult(status="started", case_id=case_id, execution_arn=execution_arn)

    def _duplicate(
        self, request: StartCaseRequest, case_id: str, event_id: str, existing: Mapping[str, str]
    ) -> StartCaseResult:
        self.audit.append(
            case_id=case_id,
            workflow=request.workflow,
            step="start case",
            actor=ACTOR,
            action="event.duplicate",
            outcome="ignored",
            reasons=[
                f"the case already exists (first started by event {existing.get('event_id', '?')})"
                if existing.get("execution_arn")
                else f"the case is being started by event {existing.get('event_id', '?')}"
            ],
            input=request.event,
            data={"event_id": event_id, "rule": request.rule},
            execution_arn=existing.get("execution_arn"),
        )
        return StartCaseResult(
            status="duplicate", case_id=case_id, execution_arn=existing.get("execution_arn")
        )

    def _claim(self, case_id: str, event_id: str, attempt: str | None = None) -> tuple[bool, dict[str, str]]:
        """Claim the case for this delivery: a conditional put, so of concurrent deliveries exactly one wins.

        A loser is a duplicate, also while the winner is still starting the execution (answering it "start
        anyway" would, on AWS, start nothing new, since StartExecution with an existing name and the same input
        answers success, but would audit a second "started"). Only a claim older than ``CLAIM_LEASE`` with no
        execution (its delivery died in between; EventBridge redelivers) is taken over, by one delivery.
        """
        now = datetime.now(UTC)
        key = {"id": {"S": f"case#{case_id}"}}
        try:
            self.dynamodb.put_item(
                TableName=self.idempotency_table,
                Item={
                    **key,
                    "event_id": {"S": event_id},
                    "claimed_at": {"S": now.isoformat()},
                    **({"attempt": {"S": attempt}} if attempt is not None else {}),
                },
                ConditionExpression="attribute_not_exists(id)",
            )
            return True, {}
        except ClientError as error:
            if error.response["Error"]["Code"] != "ConditionalCheckFailedException":
                raise
        item = self.dynamodb.get_item(TableName=self.idempotency_table, Key=key, ConsistentRead=True).get(
            "Item", {}
        )
        existing = {k: v["S"] for k, v in item.items() if "S" in v}
        claimed_at = existing.get("claimed_at", "")
        if existing.get("execution_arn") or not claimed_at or now - _instant(claimed_at) < CLAIM_LEASE:
            return False, existing
        try:
            self.dynamodb.update_item(
                TableName=self.idempotency_table,
                Key=key,
                UpdateExpression="SET event_id = :e, claimed_at = :now",
                ConditionExpression="claimed_at = :then AND attribute_not_exists(execution_arn)",
                ExpressionAttributeValues={
                    ":e": {"S": event_id},
                    ":now": {"S": now.isoformat()},
                    ":then": {"S": claimed_at},
                },
            )
            return True, {}
        except ClientError as error:
            if error.response["Error"]["Code"] != "ConditionalCheckFailedException":
                raise
            return False, existing

    def _release(self, case_id: str) -> None:
        self.dynamodb.delete_item(TableName=self.idempotency_table, Key={"id": {"S": f"case#{case_id}"}})

    def _record_execution(self, case_id: str, execution_arn: str) -> None:
        self.dynamodb.update_item(
            TableName=self.idempotency_table,
            Key={"id": {"S": f"case#{case_id}"}},
            UpdateExpression="SET execution_arn = :a",
            ExpressionAttributeValues={":a": {"S": execution_arn}},
        )

    def _reject(self, request: StartCaseRequest, event_id: str, reasons: list[str]) -> StartCaseResult:
        case_id = f"rejected-{_UNSAFE.sub('-', event_id)}"[:_EXECUTION_NAME_MAX]
        park(
            request.event,
            audit=self.audit,
            sqs=self.sqs,
            parked_queue_url=self.parked_queue_url,
            case_id=case_id,
            workflow=request.workflow,
            actor=ACTOR,
            action="event.rejected",
            outcome="rejected",
            reasons=reasons,
            data={
                "event_id": event_id,
                "rule": request.rule,
                "detail_type": str(request.event.get("detail-type")),
                "source": str(request.event.get("source")),
            },
            message={"rule": request.rule, "reasons": reasons},
            reason_attribute="invalid event",
        )
        return StartCaseResult(status="rejected", case_id=case_id, reasons=reasons)


def park(
    event: Mapping[str, Any],
    *,
    audit: AuditTrail,
    sqs: Any,
    parked_queue_url: str,
    case_id: str,
    workflow: str,
    actor: Actor,
    action: str,
    outcome: str,
    reasons: list[str],
    data: Mapping[str, Any],
    message: Mapping[str, Any],
    reason_attribute: str,
) -> None:
    """Audit an event that starts no case, and park it for an operator: the parked message carries the event
    itself (the queue is encrypted) so that it can be fixed and sent again."""
    audit.append(
        case_id=case_id,
        workflow=workflow,
        step="start case",
        actor=actor,
        action=action,
        outcome=outcome,
        reasons=reasons,
        input=dict(event),
        data=dict(data),
    )
    sqs.send_message(
        QueueUrl=parked_queue_url,
        MessageBody=json.dumps({"case_id": case_id, **message, "event": event}, default=str),
        MessageAttributes={
            "reason": {"DataType": "String", "StringValue": reason_attribute},
            "case_id": {"DataType": "String", "StringValue": case_id},
        },
    )


def park_unrouted_event(
    event: Mapping[str, Any], *, audit: AuditTrail, sqs: Any, parked_queue_url: str, actor: Actor
) -> StartCaseResult:
    """An event from a known business system that no rule takes: parked for an operator and audited, not dropped.

    EventBridge drops an event no rule matches without a trace; for a system the product listens to, that hides a
    renamed event type or a drifted mapping until someone misses a case. The catch-all rule sends such events here.
    """
    event_id = str(event.get("id", "unknown"))
    detail_type = str(event.get("detail-type"))
    source = str(event.get("source"))
    case_id = f"unrouted-{_UNSAFE.sub('-', event_id)}"[:_EXECUTION_NAME_MAX]
    reasons = [f"no rule for detail-type {detail_type}"]
    facts = {"event_id": event_id, "detail_type": detail_type, "source": source}
    park(
        event,
        audit=audit,
        sqs=sqs,
        parked_queue_url=parked_queue_url,
        case_id=case_id,
        workflow="events",
        actor=actor,
        action="event.unrouted",
        outcome="parked",
        reasons=[*reasons, f"from {source}; the event is in the parked-events queue"],
        data=facts,
        message={
            "reason": reasons[0],
            "reasons": [f"sent by {source}; no catalog rule takes this detail-type"],
            **facts,
        },
        reason_attribute="no rule",
    )
    return StartCaseResult(status="parked", case_id=case_id, reasons=reasons)


def _instant(text: str) -> datetime:
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return datetime.min.replace(tzinfo=UTC)  # unreadable: treat the claim as stale
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _reasons(error: InvalidEvent | UnknownEventType) -> list[str]:
    errors = getattr(error, "errors", None)
    if isinstance(errors, list) and errors:
        return [str(e) for e in errors]
    return [str(error)]


class CaseCannotResume(RuntimeError):
    """The case is still running, already done, or unknown."""


def resume_case(
    *,
    sfn: Any,
    audit: AuditTrail,
    state_machine_arn: str,
    workflow: str,
    case_id: str,
    actor: Actor,
    reason: str,
) -> str:
    """Run a blocked case again from the start with its original input, as a new execution of the same case.

    Blocked means: stopped by a business decision (the attempt SUCCEEDED with a blocked or rejected outcome) or by
    a technical fault (the attempt FAILED); a case that completed is not run again.

    Every step is idempotent by business key (customer, project, staffing requests, invoices), so a resumed case
    picks up what exists and creates only what is missing. The new execution is named ``<case>-r<n>``, so the
    console shows the attempts side by side, and its audit records join the same case's chain.
    """
    if not reason.strip():
        raise CaseCannotResume("say why the case is resumed (what was fixed)")
    paginator = sfn.get_paginator("list_executions")
    attempts = [
        e
        for page in paginator.paginate(stateMachineArn=state_machine_arn)
        for e in page["executions"]
        if e["name"] == case_id or e["name"].startswith(f"{case_id[: _EXECUTION_NAME_MAX - 5]}-r")
    ]
    if not attempts:
        raise CaseCannotResume(f"no execution of case {case_id} in {workflow}")
    latest = max(attempts, key=lambda e: e["startDate"])
    if latest["status"] == "RUNNING":
        raise CaseCannotResume(f"case {case_id} is still running ({latest['name']})")
    described = sfn.describe_execution(executionArn=latest["executionArn"])
    stopped_by = _business_stop(described) if latest["status"] == "SUCCEEDED" else None
    if latest["status"] == "SUCCEEDED" and stopped_by is None:
        raise CaseCannotResume(f"case {case_id} already completed ({latest['name']})")
    original = described["input"]
    name = f"{case_id[: _EXECUTION_NAME_MAX - 5]}-r{len(attempts)}"
    started = sfn.start_execution(stateMachineArn=state_machine_arn, name=name, input=original)
    audit.append(
        case_id=case_id,
        workflow=workflow,
        step="resume case",
        actor=actor,
        action="case.resumed",
        outcome="started",
        reasons=[
            reason.strip(),
            f"attempt {len(attempts) + 1}; previous {latest['name']} ended {latest['status']}"
            + (f" ({stopped_by})" if stopped_by else ""),
        ],
        data={"execution": name},
        execution_arn=started["executionArn"],
    )
    return str(started["executionArn"])


def _business_stop(described: dict[str, Any]) -> str | None:
    """The outcome of an attempt a business decision stopped (blocked, rejected), else None. Such an attempt
    SUCCEEDS with ``{outcome, reasons, resumable: true}`` as its output (FAILED is for technical faults); it can be
    resumed once its cause is fixed, unlike a case that completed."""
    try:
        output = json.loads(described.get("output") or "null")
    except ValueError:
        return None
    if isinstance(output, dict) and output.get("resumable") is True:
        return str(output.get("outcome") or "stopped")
    return None
