"""The payloads the weekly review's state machine passes its step handlers (``tests/contract/
test_asl_handler_inputs.py`` holds them to the ASL)."""

from __future__ import annotations

from typing import Any, Literal

from backoffice.steps import StepInput


class ScoreSubmissionInput(StepInput):
    event: dict[
        str, Any
    ]  # the Timesheet Submitted or Expense Report Submitted event, as start_case passed it


class DecideLinesInput(StepInput):
    plan_key: str
    which: Literal["clean", "review"]
    decision: Literal["approved", "rejected"]
    decided_by: list[str] = []
    comments: list[str] = []
