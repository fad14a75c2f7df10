"""The payloads the state machines pass the approval step handlers (plan, request, expire), the same in every
workflow. ``Approvals.request`` and ``Approvals.expire`` take the model's dump: their defaults are the models'."""

from __future__ import annotations

from typing import Any

from pydantic import ConfigDict

from backoffice.models.envelope import Model
from backoffice.steps import StepInput


class PlanApprovalInput(Model):
    model_config = ConfigDict(frozen=True, extra="forbid", hide_input_in_errors=True)

    route: str
    subject: dict[str, Any]
    # The plan reads only the route and the subject; the case names the log line.
    case_id: str | None = None


class ApprovalLevelInput(StepInput):
    """One level of an approval step: which workflow and step, the route and subject that select the rule."""

    workflow: str
    step: str
    route: str
    subject: dict[str, Any]
    index: int = 0  # the level of the rule's chain, from 0
    escalated: bool = False


class ExpireApprovalInput(ApprovalLevelInput):
    """The level's time ran out: its links die, and it escalates if the rule says so."""


class RequestApprovalInput(ApprovalLevelInput):
    task_token: str  # a credential of the waiting execution: never logged, never audited
    requested_by: str | None = None  # the requester, who may not approve their own request
