"""What a document profile is: the document types, the kinds of field and their default confidence thresholds,
and a profile's fields with the places to look for each (AcroForm field, Textract query, printed key,
AnalyzeExpense field, text pattern).

The starting thresholds are the policy of ``docs/EXTRACTION.md``: tax ids and bank numbers 99, amounts 95,
dates 90, names 85.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import ConfigDict

from backoffice.extraction.document_types import DocumentTypeName
from backoffice.models.envelope import Model

FieldKind = Literal[
    "name", "text", "tax_id", "bank_number", "amount", "date", "code", "checkbox", "signature"
]

DEFAULT_THRESHOLDS: dict[FieldKind, float] = {
    "tax_id": 99.0,
    "bank_number": 99.0,
    "amount": 95.0,
    "date": 90.0,
    "name": 85.0,
    "code": 90.0,
    "checkbox": 90.0,
    "text": 80.0,
    "signature": 80.0,
}


class FieldSpec(Model):
    """One business field of a profile and the places to look for it."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str
    label: str
    kind: FieldKind
    required: bool = False
    check: str | None = None  # a key of ``checks.CHECKS``
    sensitive: bool = False
    query: str | None = None  # the Textract query asked for it (QUERIES), answered under alias ``name``
    acroform: tuple[str, ...] = ()  # AcroForm field names of the digital form
    keys: tuple[str, ...] = ()  # patterns for printed keys (lower case, punctuation kept)
    expense_types: tuple[str, ...] = ()  # AnalyzeExpense summary field types
    text: tuple[str, ...] = ()  # patterns over the text, the value in group 1


class Profile(Model):
    model_config = ConfigDict(frozen=True, extra="forbid")

    document_type: DocumentTypeName
    title: str
    textract_api: Literal["document_analysis", "expense_analysis"]
    feature_types: tuple[Literal["FORMS", "TABLES", "QUERIES", "SIGNATURES", "LAYOUT"], ...] = ()
    fields: tuple[FieldSpec, ...]
    records: tuple[str, ...] = ()  # names of the repeated records the profile yields

    def spec(self, name: str) -> FieldSpec:
        for spec in self.fields:
            if spec.name == name:
                return spec
        raise KeyError(name)

    def textract_queries(self) -> list[dict[str, Any]]:
        """The QueriesConfig entries for the fields that matter (Textract answers each under its alias)."""
        return [{"Text": spec.query, "Alias": spec.name.upper()} for spec in self.fields if spec.query]
