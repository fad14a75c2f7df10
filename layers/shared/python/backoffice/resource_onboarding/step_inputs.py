"""The payloads resource onboarding's state machine passes its step handlers (``tests/contract/
test_asl_handler_inputs.py`` holds them to the ASL)."""

from __future__ import annotations

from typing import Any

from backoffice.steps import StepInput


class CheckNewWorkerInput(StepInput):
    event: dict[str, Any]  # the Worker Hired event, as start_case passed it


class SetUpResourceInput(StepInput):
    resource: dict[str, Any]  # the resource the check planned (steps.resource_json)
    rate_decided_by: list[str] = []  # who approved an out-of-band rate; empty: in band
    attempt: dict[str, Any] | None = None  # the attempt's order among the worker's records (attempts.py)


class WelcomeWorkerInput(StepInput):
    resource: dict[str, Any]
    resource_id: str
    manager: dict[str, Any] | None = None
    attempt: dict[str, Any] | None = None  # the attempt's order among the worker's records (attempts.py)
