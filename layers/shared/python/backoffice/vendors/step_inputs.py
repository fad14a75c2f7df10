"""The payloads the vendor approval state machine passes its step handlers, one model per Task's Payload.

The request event stays a plain dict here: ``request_of`` parses it into ``VendorOnboardingRequested`` and raises
``InvalidEvent`` for one that does not validate, as the steps did before these models existed.
"""

from __future__ import annotations

from typing import Any

from backoffice.steps import StepInput


class ValidateVendorRequestInput(StepInput):
    event: dict[str, Any]


class RequestVendorDocumentsInput(StepInput):
    task_token: str  # a credential of the waiting execution: never logged, never audited
    vendor_legal_name: str
    contact_email: str
    missing: list[str]  # document types (w9, certificate, bank_letter)


class ReadVendorDocumentsInput(StepInput):
    event: dict[str, Any]
    documents: dict[str, Any]  # document type -> its S3 pointer, as the request carried them
    uploaded: dict[str, Any] | None = None  # what the vendor uploaded (``documents``), if the case asked
    extracted: list[dict[str, Any]] | None = None  # the Textract step's outcome per scan


class ApplicationStepInput(StepInput):
    """'Assess vendor' and 'Create vendor in ERP on hold': the application the read step stored."""

    application_key: str


class ReleaseVendorInput(StepInput):
    vendor_id: str
