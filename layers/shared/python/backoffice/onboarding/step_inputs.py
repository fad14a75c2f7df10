"""The payloads the onboarding state machine passes its step handlers, one model per Task's Payload.

The case's event stays a plain dict here: ``deal_of`` parses it into the domain's models and raises
``InvalidEvent`` for one that does not validate, as the steps did before these models existed.
"""

from __future__ import annotations

from typing import Any

from backoffice.steps import StepInput


class OpportunityStepInput(StepInput):
    """'Validate closed-won opportunity', 'Fetch statement of work' and 'Match customer in ERP': the case's event."""

    event: dict[str, Any]


class ReadStatementOfWorkInput(StepInput):
    """'Read statement of work' (the PDF's text) and 'Read statement of work from Textract' (``extracted``)."""

    document: dict[str, Any]  # the SOW's S3 pointer: bucket, key, version_id
    # The state passes the opportunity for the audit trail's record of the step's input; the step reads the SOW.
    opportunity: dict[str, Any] | None = None
    # The Textract step's outcome, when the SOW was a scan: its ``extraction`` points to the analysis in S3.
    extracted: dict[str, Any] | None = None


class AssessContractRiskInput(StepInput):
    event: dict[str, Any]
    facts_key: str
    sow_key: str


class CreateProjectInput(StepInput):
    event: dict[str, Any]
    customer_id: str
    facts_key: str


class RequestStaffingInput(StepInput):
    project_id: str
    facts_key: str
