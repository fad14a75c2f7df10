"""Reading a local document with no AWS: the embedded extractor behind ``extract_local`` and ``read_local_document``
(exported by ``backoffice.extraction``)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from backoffice.extraction.inputs import BadDocument, classify, read_document_bytes
from backoffice.extraction.model import (
    ExtractionResult,
    NormalizedDocument,
    error_result,
    needs_ocr_result,
)
from backoffice.extraction.profile_catalog import profile_for
from backoffice.extraction.profiles import apply_profile
from backoffice.extraction.review_policy import ExtractionSettings
from backoffice.extraction.w9_layout import W9_FORM_PAGE

# Profiles that read a flattened form (printed to PDF, no form values) by its printed layout: the pattern of the
# form's page, whose word positions the extractor keeps for them.
_READ_BY_LAYOUT = {"w9": W9_FORM_PAGE}


def read_local_document(
    path_or_bytes: str | Path | bytes, *, keep_words_on: str | None = None
) -> NormalizedDocument | ExtractionResult:
    """The normalized document of a local file, or the result that says why it cannot be read here
    (``error`` for a bad file, ``needs_ocr`` for an image or a scan). ``keep_words_on``: see ``read_pdf``."""
    # pypdf (a fifth of a cold start) is imported only by the code paths that read a PDF.
    from backoffice.extraction.local_pdf import read_pdf

    try:
        data = read_document_bytes(path_or_bytes)
        kind = classify(data)
        if kind != "pdf":
            return needs_ocr_result(
                None, f"a {kind.upper()} image has no text to read without OCR (Textract); a person reads it"
            )
        document = read_pdf(data, keep_words_on=keep_words_on)
    except BadDocument as bad:
        return error_result(bad.error, None, source="local_pdf")
    if not document.has_text_layer:
        return needs_ocr_result(
            None,
            f"the PDF has no text layer on any of its {document.page_count} page(s) (a scan, or blank pages):"
            " reading it needs OCR (Textract), so a person reads it",
            page_count=document.page_count,
        )
    return document


def extract_local(
    path_or_bytes: str | Path | bytes,
    document_type: str,
    thresholds: ExtractionSettings | Mapping[str, Any] | None = None,
) -> ExtractionResult:
    """A local document through its profile; never calls AWS, never raises for a bad document.

    Raises ``ValueError`` only for an unknown ``document_type`` (a caller's mistake, not the document's).
    """
    profile_for(document_type)
    read = read_local_document(path_or_bytes, keep_words_on=_READ_BY_LAYOUT.get(document_type))
    if isinstance(read, ExtractionResult):
        return read.model_copy(update={"document_type": document_type})
    return apply_profile(read, document_type, thresholds)
