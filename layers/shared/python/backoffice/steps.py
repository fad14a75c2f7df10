"""What every workflow step handler shares: its settings, its audit record, its failure record.

A step records what it did (passed, created, blocked...) with the digest of its input and output; when its domain
call raises, it records the failure with the reason before re-raising, so the trail shows why a case stopped even
when the state machine then takes a Catch.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

from pydantic import ConfigDict

from backoffice import metrics
from backoffice.audit import Actor, AuditTrail
from backoffice.connectors.http import audit_recorder, call_context
from backoffice.models.envelope import Model
from backoffice.settings import Settings, from_env

R = TypeVar("R")


class StepSettings(Settings):
    audit_table_name: str
    documents_bucket_name: str = ""
    sandbox_table_name: str = ""


class StepInput(Model):
    """What a Task state passes a step handler: the case, the execution, and the step's own fields.

    Each handler invoked by a state machine validates its payload with a subclass (exposed as ``INPUT_MODEL`` in its
    ``app.py``) before any logic. A key no field names is refused: it is drift between the ASL and the handler,
    which ``tests/contract/test_asl_handler_inputs.py`` also catches before deploying. Errors never repeat input
    values (the payload may hold a task token), and a bad payload is a ``ValidationError``: no Catch names it, so
    it stops the case as a technical fault, as a missing key did before.
    """

    model_config = ConfigDict(frozen=True, extra="forbid", hide_input_in_errors=True)

    case_id: str
    execution_arn: str | None = None


@dataclass(frozen=True)
class Step:
    workflow: str
    name: str
    actor: Actor

    def record(
        self,
        event: Mapping[str, Any],
        *,
        action: str,
        outcome: str,
        reasons: Iterable[str] = (),
        output: Any = None,
        data: Mapping[str, Any] | None = None,
    ) -> None:
        AuditTrail(from_env(StepSettings).audit_table_name).append(
            case_id=str(event["case_id"]),
            workflow=self.workflow,
            step=self.name,
            actor=self.actor,
            action=action,
            outcome=outcome,
            reasons=reasons,
            input=dict(event),
            output=output,
            data=data,
            execution_arn=event.get("execution_arn"),
        )

    def calls_systems(
        self, handler: Callable[[dict[str, Any], Any], R]
    ) -> Callable[[dict[str, Any], Any], R]:
        """Decorate a handler whose step calls a firm's systems: every outbound call carries the execution as its
        correlation id and is recorded on the case's audit trail (system, operation, record, outcome, latency)."""

        @functools.wraps(handler)
        def wrapped(event: dict[str, Any], context: Any) -> R:
            recorder = audit_recorder(
                AuditTrail(from_env(StepSettings).audit_table_name),
                case_id=str(event["case_id"]),
                workflow=self.workflow,
                step=self.name,
                actor=self.actor,
            )
            correlation = str(event.get("execution_arn") or event["case_id"])
            with call_context(correlation_id=correlation, recorder=recorder):
                return handler(event, context)

        return wrapped

    def failed(self, event: Mapping[str, Any], error: Exception, action: str) -> None:
        self.record(event, action=action, outcome="blocked", reasons=[f"{type(error).__name__}: {error}"])
        metrics.record("StepsBlocked", workflow=self.workflow, rule=type(error).__name__)


def settings() -> StepSettings:
    return from_env(StepSettings)
