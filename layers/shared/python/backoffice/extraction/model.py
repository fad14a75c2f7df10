"""The normalized document model: one shape for Amazon Textract output and for the embedded local extractor.

Workflows and document profiles read only this model, so a W-9 read by Textract in AWS and the same W-9 read
from its AcroForm on a laptop go through the same profile code. Conventions:

- Page numbers start at 1. Geometry is a box in fractions of the page (0..1, origin top left), as Textract
  gives it; the local extractor converts PDF points to the same frame.
- Confidence is a percentage (0..100). A form field's confidence is the lowest of its key, value and word
  confidences: one badly read digit in a tax id is enough to distrust the whole value.
- Content is raw text and may hold tax ids or bank numbers. ``repr`` of every model here masks anything that
  looks like one, so logging a model never leaks it; ``document_json`` is the one way to dump a document, and
  it masks them too unless told otherwise.

The result of a document profile (``ExtractionResult``) lives here as well: it is what a handler audits and
what the command line prints.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from typing import Annotated, Any, Literal

from pydantic import (
    ConfigDict,
    Field,
    SecretStr,
    SerializationInfo,
    SerializerFunctionWrapHandler,
    WrapSerializer,
    computed_field,
)

from backoffice.masking import last_four, mask_sensitive_text
from backoffice.models import REVEAL_SECRETS, last4
from backoffice.models.envelope import Model

DocumentSource = Literal["analyze_document", "analyze_expense", "local_pdf"]

# Shorter account numbers than ``mask_sensitive_text`` finds are only masked where their key says what they are
# (``FormField.sensitive``).
_SENSITIVE_KEY = re.compile(
    r"social security (?:number|no)|\bssn\b|employer identification|\bein\b|\btin\b|taxpayer identification|"
    r"routing|\baba\b|account (?:number|no)|acct|ssn\[|employerid\[|f1_10\[",
    re.IGNORECASE,
)


def is_sensitive_key(key: str) -> bool:
    """Whether a form key (printed label or AcroForm name) announces a tax id or a bank number."""
    return bool(_SENSITIVE_KEY.search(key))


class _Content(Model):
    """Base of the document parts: frozen, no unknown fields, and a repr that never shows a tax id."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    def __repr_args__(self) -> Iterator[tuple[str | None, Any]]:
        for name, value in super().__repr_args__():
            yield name, _mask_strings(value, skip=set())


class Box(_Content):
    """A rectangle in fractions of the page, origin top left (Textract's BoundingBox)."""

    left: float
    top: float
    width: float
    height: float

    @property
    def bottom(self) -> float:
        return self.top + self.height

    @property
    def right(self) -> float:
        return self.left + self.width


class Line(_Content):
    page: int = Field(ge=1)
    text: str
    confidence: float
    geometry: Box | None = None


class LayoutElement(_Content):
    """A part of a page's layout as Textract's LAYOUT feature sees it: a title, a paragraph, a list, where a
    table or a figure stands...

    ``type`` is the block type without its prefix, in lower case (``LAYOUT_SECTION_HEADER`` is
    ``section_header``). ``order`` is the element's place in the page's reading order (from 1), which is the
    order Textract returns the blocks in. ``text`` is the element's lines joined by newlines ("" for a figure
    without text). A list's items are elements of their own whose ``parent`` is the list's ``order``.
    """

    page: int = Field(ge=1)
    order: int = Field(ge=1)
    type: str
    text: str = ""
    confidence: float
    geometry: Box | None = None
    parent: int | None = None


class Word(_Content):
    """A word of a PDF's text layer and its box, as drawn (glyph positions, not a line's)."""

    text: str
    confidence: float
    geometry: Box


class PageWords(_Content):
    """Where each word and each drawn mark of a page stands: what reads a flattened form by its printed layout
    (a W-9 printed to PDF, whose values are page text next to the form's labels) needs.

    ``marks`` are shapes drawn on the page that are neither rules nor box outlines: a tick drawn as a path, a
    dingbat (✔, ✘), an ink signature, an image. ``width`` and ``height`` are the page's in PDF points, so that
    a reader can measure distances in points whatever the page's proportions.
    """

    width: float
    height: float
    words: list[Word] = Field(default_factory=list)
    marks: list[Box] = Field(default_factory=list)


class Page(_Content):
    number: int = Field(ge=1)
    lines: list[Line] = Field(default_factory=list)
    # False for a page that holds images but no text (a scan): the local extractor cannot read it.
    has_text_layer: bool = True
    # Kept by the local extractor only where a reader asked for them (a flattened form's page). Not serialized:
    # they repeat the lines' text word by word, and a tax id drawn in separate boxes would escape the masking of
    # a dumped document.
    words: PageWords | None = Field(default=None, exclude=True)
    # In reading order; empty unless the document was analysed with Textract's LAYOUT feature.
    layout: list[LayoutElement] = Field(default_factory=list)

    @property
    def text(self) -> str:
        return "\n".join(line.text for line in self.lines)


class SelectionElement(_Content):
    """A checkbox or radio button and whether it is ticked."""

    page: int = Field(ge=1)
    selected: bool
    confidence: float
    geometry: Box | None = None
    name: str | None = None  # the AcroForm field name, for a digital form


class FormField(_Content):
    """A key-value pair. ``value`` is "" when the form has a key with nothing written next to it.

    ``selected`` is set when the value is a checkbox. ``name`` is the AcroForm field name of a digital form
    (the key is then that name too, a digital form having no printed key to read).
    """

    page: int = Field(ge=1)
    key: str
    value: str = ""
    selected: bool | None = None
    confidence: float
    key_confidence: float | None = None
    value_confidence: float | None = None
    key_geometry: Box | None = None
    value_geometry: Box | None = None
    name: str | None = None
    sensitive: bool = False

    def __repr_args__(self) -> Iterator[tuple[str | None, Any]]:
        for name, value in super().__repr_args__():
            if name == "value" and self.sensitive:
                yield name, last_four(self.value) if self.value else ""
            else:
                yield name, value


class TableCell(_Content):
    """A cell at its 1-based row and column. A merged cell spans rows or columns; its text is the whole text."""

    row: int = Field(ge=1)
    column: int = Field(ge=1)
    row_span: int = Field(default=1, ge=1)
    column_span: int = Field(default=1, ge=1)
    text: str
    confidence: float
    header: bool = False
    page: int = Field(ge=1)


class Table(_Content):
    """A table rebuilt from cell indices, never from the order of the cells in the response.

    ``rows`` is rectangular (``row_count`` rows of ``column_count`` strings); a merged cell's text stands in
    every slot it covers, so looking a column up by its header works under a merged header too. A table that
    runs on over a page break is one table, with every page it covers in ``pages``.
    """

    pages: list[int]
    row_count: int = Field(ge=0)
    column_count: int = Field(ge=0)
    cells: list[TableCell]
    rows: list[list[str]]
    confidence: float
    geometry: Box | None = None
    title: str | None = None

    @property
    def header_row_count(self) -> int:
        headers = {cell.row for cell in self.cells if cell.header}
        count = 0
        while count + 1 in headers:
            count += 1
        return count


class QueryAnswer(_Content):
    """A Textract query ("What is the routing number?") and its best answer ("" when none was found)."""

    alias: str | None
    question: str
    answer: str = ""
    confidence: float = 0.0
    page: int | None = None
    geometry: Box | None = None


class Signature(_Content):
    """A signature found on a page: handwriting (Textract SIGNATURE), an ink or stamp annotation, or a
    digital signature field."""

    page: int = Field(ge=1)
    confidence: float
    geometry: Box | None = None
    kind: Literal["handwritten", "ink_annotation", "stamp_annotation", "digital"] = "handwritten"


class ExpenseField(_Content):
    """One AnalyzeExpense field: its type (``VENDOR_NAME``, ``TOTAL``...), printed label and value."""

    type: str
    label: str | None = None
    value: str
    confidence: float  # the lowest of the label and value confidences
    type_confidence: float | None = None
    page: int | None = None
    currency: str | None = None
    group_types: list[str] = Field(default_factory=list)  # VENDOR, RECEIVER...
    geometry: Box | None = None


class ExpenseLineItem(_Content):
    page: int | None = None
    fields: list[ExpenseField]

    def value(self, field_type: str) -> str | None:
        for field in self.fields:
            if field.type == field_type:
                return field.value
        return None


class ExpenseDocument(_Content):
    """One invoice or receipt. Textract may return one invoice as several ExpenseDocuments (one per page);
    they are merged into one, whose ``expense_indexes`` name them all."""

    expense_indexes: list[int]
    pages: list[int]
    summary_fields: list[ExpenseField]
    line_items: list[ExpenseLineItem]

    def values(self, field_type: str) -> list[str]:
        """Every value of a summary field type, in order (a receipt may name two vendors)."""
        return [field.value for field in self.summary_fields if field.type == field_type]

    def fields_of(self, field_type: str) -> list[ExpenseField]:
        return [field for field in self.summary_fields if field.type == field_type]


class NormalizedDocument(_Content):
    """Everything read from one document, whichever extractor read it."""

    source: DocumentSource
    page_count: int = Field(ge=0)
    pages: list[Page]
    fields: list[FormField] = Field(default_factory=list)
    selection_elements: list[SelectionElement] = Field(default_factory=list)
    tables: list[Table] = Field(default_factory=list)
    queries: list[QueryAnswer] = Field(default_factory=list)
    signatures: list[Signature] = Field(default_factory=list)
    expense_documents: list[ExpenseDocument] = Field(default_factory=list)
    warnings: list[str] = Field(default_factory=list)

    def __repr_args__(self) -> Iterator[tuple[str | None, Any]]:
        # Counts only: a document's content is the customer's, and logs are not the place for it.
        yield "source", self.source
        yield "page_count", self.page_count
        yield "lines", sum(len(page.lines) for page in self.pages)
        yield "fields", len(self.fields)
        yield "tables", len(self.tables)
        yield "queries", len(self.queries)
        yield "signatures", len(self.signatures)
        yield "expense_documents", len(self.expense_documents)
        yield "layout", len(self.layout)

    @property
    def lines(self) -> list[Line]:
        return [line for page in self.pages for line in page.lines]

    @property
    def layout(self) -> list[LayoutElement]:
        """The layout elements of every page, page by page, each page's in reading order."""
        return [element for page in self.pages for element in page.layout]

    @property
    def text(self) -> str:
        return "\n".join(page.text for page in self.pages)

    @property
    def has_text_layer(self) -> bool:
        return any(page.has_text_layer and page.lines for page in self.pages) or any(
            field.value or field.selected for field in self.fields
        )


def document_json(document: NormalizedDocument, *, reveal: bool = False) -> dict[str, Any]:
    """The document as JSON-shaped data; tax-id-like text and sensitive form values masked unless ``reveal``.

    Masking is best effort on raw text (it cannot know that a short digit run is an account number unless the
    key says so); the document profiles know their fields and mask exactly.
    """
    data = document.model_dump(mode="json")
    if reveal:
        return data
    for field in data["fields"]:
        if field["sensitive"] and field["value"]:
            field["value"] = last_four(field["value"])
    return _mask_strings(data, skip={"source", "type", "key", "name", "kind"})


def _mask_strings(value: Any, skip: set[str]) -> Any:
    if isinstance(value, dict):
        return {k: v if k in skip else _mask_strings(v, skip) for k, v in value.items()}
    if isinstance(value, list):
        return [_mask_strings(item, skip) for item in value]
    if isinstance(value, str):
        return mask_sensitive_text(value)
    return value  # numbers, and nested models (whose own repr masks)


# --------------------------------------------------------------------------------------------------------------
# The result of a document profile
# --------------------------------------------------------------------------------------------------------------


def _last4_unless_revealed(
    value: SecretStr, handler: SerializerFunctionWrapHandler, info: SerializationInfo
) -> Any:
    if isinstance(info.context, dict) and info.context.get(REVEAL_SECRETS) is True:
        return value.get_secret_value()
    return last4(value)


# A tax id or bank number read from a document: masked in repr and str, dumped as its last four digits unless
# the dump is made with ``reveal_secrets`` in its context.
SensitiveValue = Annotated[SecretStr, WrapSerializer(_last4_unless_revealed)]

ResultStatus = Literal["complete", "needs_review", "needs_ocr", "error"]
ErrorKind = Literal[
    "unreadable",
    "unsupported_format",
    "encrypted",
    "empty_document",
    "too_large",
    "too_many_pages",
    "truncated",
    "corrupt",
    "textract_rejected_document",
    "textract_job_failed",
    "textract_response_incomplete",
    "textract_response_malformed",
]
FieldSource = Literal[
    "acroform", "form_field", "query", "expense", "text", "table", "checkbox", "signature", "derived"
]


class ExtractionError(Model):
    """Why a document could not be read at all: what a handler audits before routing the case to a person."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: ErrorKind
    message: str
    reasons: list[str] = Field(default_factory=list)


class ExtractionFailure(Exception):
    """An exception that carries the ``ExtractionError`` a handler audits; a subclass names its ``kind``."""

    kind: ErrorKind = "corrupt"

    def __init__(self, message: str, *reasons: str) -> None:
        super().__init__(message)
        self.error = ExtractionError(kind=self.kind, message=message, reasons=list(reasons))


class ExtractedField(Model):
    """One business field of a profile, with where it came from and what is wrong with it (``problems``)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str
    label: str
    # ``str`` first, left to right: pydantic would otherwise turn every plain value into a secret.
    value: str | SensitiveValue | None = Field(default=None, union_mode="left_to_right")
    confidence: float | None = None
    page: int | None = None
    source: FieldSource | None = None
    required: bool = False
    sensitive: bool = False
    threshold: float | None = None
    valid: bool | None = None  # None: no format check applies, or no value to check
    problems: list[str] = Field(default_factory=list)
    other_values: list[str] = Field(default_factory=list)  # further values of a multi-valued field

    @property
    def text(self) -> str | None:
        """The value in clear (for code that checks or stores it; never for logs)."""
        if isinstance(self.value, SecretStr):
            return self.value.get_secret_value()
        return self.value


Record = dict[str, ExtractedField]


class ExtractionResult(Model):
    """What a document profile made of a document: fields, repeated records (policies, line items, rates,
    clauses), a status and the reasons for it."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    document_type: str | None
    status: ResultStatus
    source: DocumentSource | None = None
    page_count: int | None = None
    fields: dict[str, ExtractedField] = Field(default_factory=dict)
    records: dict[str, list[Record]] = Field(default_factory=dict)
    reasons: list[str] = Field(default_factory=list)
    error: ExtractionError | None = None

    @computed_field  # type: ignore[prop-decorator]
    @property
    def manual_review(self) -> bool:
        """True when a person must look at the document before the workflow goes on."""
        return self.status != "complete"

    def value(self, name: str) -> str | None:
        field = self.fields.get(name)
        return field.text if field else None

    def to_json_dict(self, *, reveal_secrets: bool = False) -> dict[str, Any]:
        """JSON-shaped data; tax ids and bank numbers as their last four digits unless ``reveal_secrets``."""
        return self.model_dump(mode="json", context={REVEAL_SECRETS: reveal_secrets})


def error_result(
    error: ExtractionError, document_type: str | None, *, source: DocumentSource | None = None
) -> ExtractionResult:
    """The result for a document that could not be read: status ``error``, routed to manual review."""
    return ExtractionResult(
        document_type=document_type,
        status="error",
        source=source,
        reasons=[error.message, *error.reasons],
        error=error,
    )


def needs_ocr_result(
    document_type: str | None, reason: str, *, page_count: int | None = None
) -> ExtractionResult:
    """The result for a scan read locally: only OCR (Textract) can read it, so a person handles it here."""
    return ExtractionResult(
        document_type=document_type, status="needs_ocr", page_count=page_count, reasons=[reason]
    )


def min_confidence(values: Iterable[float | None]) -> float:
    """The lowest of the confidences given (None ignored); 0.0 when there is none."""
    present = [value for value in values if value is not None]
    return min(present) if present else 0.0
