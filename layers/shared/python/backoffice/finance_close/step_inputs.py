"""The payloads the finance close's state machines pass their step handlers, one model per Task's Payload.

A finding's review runs in the reconciliation's Map: ``case_id`` is the review's own case (its approval's
trail), ``run_case_id`` the reconciliation run whose files and findings it settles.
"""

from __future__ import annotations

from typing import Any

from pydantic import ConfigDict

from backoffice.models.envelope import Model
from backoffice.steps import StepInput


class Period(Model):
    model_config = ConfigDict(extra="forbid", frozen=True)

    start: str
    end: str
    as_of: str
    read_at: str | None = None  # when the run read the systems (the findings store orders runs by it)


class ReadReconciliationSourcesInput(StepInput):
    # Parsed by ``parse_event_as`` into ``FinancePeriod``.
    event: dict[str, Any]


class CompareInput(StepInput):
    period: Period
    sources_key: str


class SettleFindingInput(StepInput):
    run_case_id: str
    period: Period
    finding_key: str
    # The approval step's output (outcome, resolution, decided_by, comments...), or the workflow's own
    # {"outcome": "none"} when nobody was asked or nobody answered.
    decision: dict[str, Any]


class SummarizeReconciliationInput(StepInput):
    period: Period
    compared: dict[str, Any]
    reviews: list[dict[str, Any]]
    # The run failed after its compare: the summary only opens again the findings it held in review.
    failed: bool = False


class RecognizeRevenueInput(StepInput):
    # Parsed by ``parse_event_as`` into ``FinancePeriod``.
    event: dict[str, Any]


class PostRevenueJournalInput(StepInput):
    period: Period
