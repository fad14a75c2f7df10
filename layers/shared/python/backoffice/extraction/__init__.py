"""Document extraction: Amazon Textract in AWS, an embedded pypdf extractor locally, one normalized model.

- ``extract_local(path_or_bytes, document_type)``: the local runtime's extractor (no AWS): a digital PDF's
  AcroForm values, text and checkboxes, through the document type's profile; a W-9 printed to PDF (no form
  values) by its printed layout (``w9_layout``). A scan or an image answers
  ``needs_ocr``; a bad file answers ``error``; both route the case to manual review. It never raises for a
  bad document.
- ``normalize_textract_response(response_or_pages)``: a saved or live Textract response (AnalyzeDocument,
  GetDocumentAnalysis pages, AnalyzeExpense, GetExpenseAnalysis) as a ``NormalizedDocument``.
- ``apply_profile(doc, document_type, thresholds=None)``: the profile's fields, records, status and reasons.
- ``backoffice.extraction.textract_backend``: the AWS side (synchronous calls, asynchronous jobs resumed by an
  SNS notice and a Step Functions task token).

Each name below is imported from its module when first used (PEP 562): a caller that needs one name, such as the
command line's list of document types, does not load every reader, pydantic model and pypdf with it.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from backoffice.extraction.document_types import DOCUMENT_TYPES
    from backoffice.extraction.inputs import BadDocument
    from backoffice.extraction.local_reader import extract_local, read_local_document
    from backoffice.extraction.model import (
        ExpenseDocument,
        ExtractedField,
        ExtractionError,
        ExtractionResult,
        FormField,
        NormalizedDocument,
        Table,
        document_json,
        error_result,
        needs_ocr_result,
    )
    from backoffice.extraction.profile_catalog import PROFILES, profile_for
    from backoffice.extraction.profiles import apply_profile
    from backoffice.extraction.review_policy import DocumentLocale, ExtractionSettings
    from backoffice.extraction.textract_parser import (
        TextractJobFailed,
        TextractResponseError,
        TextractResponseIncomplete,
        TextractResponseMalformed,
        normalize_textract_response,
    )

_EXPORTS: dict[str, str] = {
    "BadDocument": "backoffice.extraction.inputs",
    "ExpenseDocument": "backoffice.extraction.model",
    "ExtractedField": "backoffice.extraction.model",
    "ExtractionError": "backoffice.extraction.model",
    "ExtractionResult": "backoffice.extraction.model",
    "FormField": "backoffice.extraction.model",
    "NormalizedDocument": "backoffice.extraction.model",
    "Table": "backoffice.extraction.model",
    "document_json": "backoffice.extraction.model",
    "error_result": "backoffice.extraction.model",
    "needs_ocr_result": "backoffice.extraction.model",
    "PROFILES": "backoffice.extraction.profile_catalog",
    "profile_for": "backoffice.extraction.profile_catalog",
    "DOCUMENT_TYPES": "backoffice.extraction.document_types",
    "apply_profile": "backoffice.extraction.profiles",
    "DocumentLocale": "backoffice.extraction.review_policy",
    "ExtractionSettings": "backoffice.extraction.review_policy",
    "TextractJobFailed": "backoffice.extraction.textract_parser",
    "TextractResponseError": "backoffice.extraction.textract_parser",
    "TextractResponseIncomplete": "backoffice.extraction.textract_parser",
    "TextractResponseMalformed": "backoffice.extraction.textract_parser",
    "normalize_textract_response": "backoffice.extraction.textract_parser",
    "extract_local": "backoffice.extraction.local_reader",
    "read_local_document": "backoffice.extraction.local_reader",
}

__all__ = [
    "DOCUMENT_TYPES",
    "PROFILES",
    "BadDocument",
    "DocumentLocale",
    "ExpenseDocument",
    "ExtractedField",
    "ExtractionError",
    "ExtractionResult",
    "ExtractionSettings",
    "FormField",
    "NormalizedDocument",
    "Table",
    "TextractJobFailed",
    "TextractResponseError",
    "TextractResponseIncomplete",
    "TextractResponseMalformed",
    "apply_profile",
    "document_json",
    "error_result",
    "extract_local",
    "needs_ocr_result",
    "normalize_textract_response",
    "profile_for",
    "read_local_document",
]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # the next lookup is a plain attribute
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_EXPORTS))
