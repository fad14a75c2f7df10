"""Applying a document profile: a normalized document read through its type's profile (``profile_catalog``)
by that type's reader, judged against the review policy (``review_policy``), with ``needs_review`` and the
reasons when a person must look.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from backoffice.extraction.coi_reader import read_coi
from backoffice.extraction.document_types import DocumentTypeName
from backoffice.extraction.field_review import Judge, read_profile_fields
from backoffice.extraction.invoice_reader import read_invoice
from backoffice.extraction.model import ExtractedField, ExtractionResult, NormalizedDocument, Record
from backoffice.extraction.profile_catalog import profile_for
from backoffice.extraction.profile_spec import Profile
from backoffice.extraction.review_policy import ExtractionSettings, settings_from
from backoffice.extraction.sow_reader import read_sow
from backoffice.extraction.w9_reader import read_w9

ProfileReader = Callable[
    [NormalizedDocument, Profile, Judge], tuple[dict[str, ExtractedField], dict[str, list[Record]]]
]

# The reader of each document type: a bank letter needs no more than its profile's fields.
_READERS: dict[DocumentTypeName, ProfileReader] = {
    "w9": read_w9,
    "coi": read_coi,
    "bank_letter": read_profile_fields,
    "sow": read_sow,
    "invoice": read_invoice,
}


def apply_profile(
    doc: NormalizedDocument,
    document_type: str,
    thresholds: ExtractionSettings | Mapping[str, Any] | None = None,
) -> ExtractionResult:
    """The profile's fields and records from a normalized document, with ``needs_review`` and the reasons when
    a person must look. ``thresholds`` is an ``ExtractionSettings`` or its JSON-shaped configuration."""
    profile = profile_for(document_type)
    settings = settings_from(thresholds)
    judge = Judge(document_type, settings, [])
    fields, records = _READERS[profile.document_type](doc, profile, judge)
    reasons = [*judge.reasons, *(f"extraction warning: {warning}" for warning in doc.warnings)]
    return ExtractionResult(
        document_type=document_type,
        status="needs_review" if reasons else "complete",
        source=doc.source,
        page_count=doc.page_count,
        fields=fields,
        records=records,
        reasons=reasons,
    )
