"""Finding a field's values in a normalized document: the candidates from its most exact source (AcroForm
field, Textract query answer, printed key-value pair, AnalyzeExpense field, text pattern), before any judging.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from backoffice.extraction.model import FieldSource, FormField, NormalizedDocument
from backoffice.extraction.profile_spec import FieldSpec


@dataclass(frozen=True)
class Candidate:
    value: str
    confidence: float
    page: int | None
    source: FieldSource


def normalized_key(key: str) -> str:
    """A printed key as the patterns see it: lower case, arrows and colons gone, single spaces."""
    return " ".join(re.sub(r"[▶►:]", " ", key).lower().split())


def _from_acroform(spec: FieldSpec, doc: NormalizedDocument) -> list[Candidate]:
    return [
        Candidate(field.value, field.confidence, field.page, "acroform")
        for name in spec.acroform
        for field in doc.fields
        if field.name == name and field.value
    ]


def from_query(spec: FieldSpec, doc: NormalizedDocument) -> list[Candidate]:
    alias = spec.name.upper()
    return [
        Candidate(query.answer, query.confidence, query.page, "query")
        for query in doc.queries
        if (query.alias or "").upper() == alias and query.answer.strip()
    ]


def _key_matches(field: FormField, patterns: Iterable[str]) -> bool:
    key = normalized_key(field.key)
    return bool(key) and any(re.search(pattern, key) for pattern in patterns)


def from_form(spec: FieldSpec, doc: NormalizedDocument) -> list[Candidate]:
    if not spec.keys:
        return []
    return [
        Candidate(field.value, field.confidence, field.page, "form_field")
        for field in doc.fields
        if field.name is None and field.value.strip() and _key_matches(field, spec.keys)
    ]


def _from_expense(spec: FieldSpec, doc: NormalizedDocument) -> list[Candidate]:
    if not doc.expense_documents:
        return []
    invoice = doc.expense_documents[0]
    return [
        Candidate(" ".join(field.value.split()), field.confidence, field.page, "expense")
        for field_type in spec.expense_types
        for field in invoice.fields_of(field_type)
        if field.value.strip()
    ]


def _from_text(spec: FieldSpec, doc: NormalizedDocument) -> list[Candidate]:
    found: list[Candidate] = []
    for pattern in spec.text:
        regex = re.compile(pattern, re.IGNORECASE | re.MULTILINE)
        for line in doc.lines:
            match = regex.search(line.text)
            if match and match.group(1).strip():
                found.append(Candidate(match.group(1).strip(), line.confidence, line.page, "text"))
        if found:
            return found
    return found


_SOURCES: tuple[Callable[[FieldSpec, NormalizedDocument], list[Candidate]], ...] = (
    _from_acroform,
    from_query,
    from_form,
    _from_expense,
    _from_text,
)


def find_candidates(spec: FieldSpec, doc: NormalizedDocument) -> list[Candidate]:
    """The values found for a field in its most exact source (the first that has any)."""
    for source in _SOURCES:
        found = source(spec, doc)
        if found:
            return found
    return []
