"""The payloads the invoicing state machine passes its step handlers, one model per Task's Payload.

A project's steps run in the Map over the run's projects: ``case_id`` is the project's own case, ``run_case_id``
the billing run whose files in S3 they read.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import ConfigDict

from backoffice.models.envelope import Model
from backoffice.steps import StepInput


class OpenBillingPeriodInput(StepInput):
    # Parsed by ``parse_event_as`` into ``BillingPeriodClosed``; it raises ``InvalidEvent`` as before.
    event: dict[str, Any]


class ScoreBillingLinesInput(StepInput):
    """The run's case alone: the scorer reads the period the open step stored under it."""


class ProjectStepInput(StepInput):
    """'Check project billing' and 'Draft invoice in ERP': one project of the run."""

    run_case_id: str
    project_id: str
    period: dict[str, Any] | None = None  # {start, end}: the audit trail's record of the step's input


class SettleExceptionReviewInput(ProjectStepInput):
    # The review's outcome; a value outside these failed in ``apply_review`` before, as a ValidationError too.
    decision: Literal["approved", "rejected", "none"]
    comments: list[Any] | None = None


class PostInvoiceInput(ProjectStepInput):
    invoice_id: str


class ResultWriterDetails(Model):
    model_config = ConfigDict(extra="forbid", frozen=True)

    Bucket: str
    Key: str  # the map run's manifest.json


class MapRunResults(Model):
    """What a Distributed Map with a ResultWriter outputs: where it wrote its children's results."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    MapRunArn: str
    ResultWriterDetails: ResultWriterDetails


class SummarizeBillingRunInput(StepInput):
    # The case's event (Billing Period Closed): its period and rerun label go out with Billing Run Completed.
    event: dict[str, Any] | None = None
    opened: dict[str, Any] | None = None
    # The scorer's summary; the run summary reads each project's result, not the scores.
    scores: dict[str, Any] | None = None
    # The Map's output: where its ResultWriter put the projects' results in S3 (the state never holds them).
    # A list: results given directly (a run of no project, or a caller outside the workflow).
    results: MapRunResults | list[dict[str, Any]] | None = None
