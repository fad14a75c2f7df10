"""Onboarding step 2, reading the SOW: its facts from a digital PDF (the embedded extractor) or from what Amazon
Textract read of a scan. Its own module so that only the reading step's handler imports the extraction readers."""

from __future__ import annotations

from typing import NoReturn

from backoffice.extraction import ExtractionResult, NormalizedDocument, read_local_document
from backoffice.extraction.textract_backend import DocumentAnalysis
from backoffice.onboarding.contract_risk import compile_patterns
from backoffice.onboarding.sow_documents import SowFacts, parse_sow_text
from backoffice.onboarding.steps import StatementOfWorkNeedsOcr, StatementOfWorkUnreadable

# Reading a SOW's text splits its sentences and reads its payment terms: those expressions are compiled at the
# handler's init (importing this module); the contract rules' others are not, the reading step runs none.
compile_patterns("sow_reading")


def read_statement_of_work(pdf: bytes) -> SowFacts:
    """The SOW's facts from a digital PDF, read by the embedded extractor (no AWS call). A scan has no text layer:
    it needs OCR (Textract), so it goes to a person; a corrupt, encrypted or non-PDF file says why."""
    read = read_local_document(pdf)
    if isinstance(read, ExtractionResult):
        _unreadable(read)
    return _facts_of(read)


def read_statement_of_work_from_analysis(analysis: DocumentAnalysis) -> SowFacts:
    """The SOW's facts from what Amazon Textract read of a scan, taken as from a local read: its lines."""
    if analysis.document is None:
        _unreadable(analysis.result)
    return _facts_of(analysis.document)


def _facts_of(document: NormalizedDocument) -> SowFacts:
    return parse_sow_text("\n".join(line.text for page in document.pages for line in page.lines))


def _unreadable(result: ExtractionResult) -> NoReturn:
    why = result.error.message if result.error else "; ".join(result.reasons)
    error = StatementOfWorkNeedsOcr if result.status == "needs_ocr" else StatementOfWorkUnreadable
    raise error(f"the SOW cannot be read ({result.status}): {why}")
