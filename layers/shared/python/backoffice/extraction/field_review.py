"""Judging a field's values: the first candidate is the value, checked for its format and read against its
confidence threshold; every problem is recorded on the field and as a reason the document needs review.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from pydantic import SecretStr

from backoffice.extraction.checks import CHECKS, CheckOutcome, check_amount, check_date
from backoffice.extraction.field_sources import Candidate, find_candidates
from backoffice.extraction.model import ExtractedField, NormalizedDocument, Record
from backoffice.extraction.profile_spec import FieldKind, FieldSpec, Profile
from backoffice.extraction.review_policy import DocumentLocale, ExtractionSettings


@dataclass
class Judge:
    """Judges the fields of one document against the review policy, and keeps the reasons a person must look."""

    document_type: str
    settings: ExtractionSettings
    reasons: list[str]
    # None: dates and amounts read as on US forms (month first, decimal point); an invoice sets its vendor's.
    locale: DocumentLocale | None = None

    def check(self, name: str, value: str) -> CheckOutcome:
        if self.locale is not None and name == "date":
            return check_date(value, self.locale.date_order)
        if self.locale is not None and name == "amount":
            return check_amount(value, self.locale.decimal_mark)
        return CHECKS[name](value)

    def field(
        self, spec: FieldSpec, candidates: Sequence[Candidate], *, required: bool | None = None
    ) -> ExtractedField:
        """The field from its candidates: the first is the value, the others are kept as further values."""
        must = self.settings.is_required(self.document_type, spec) if required is None else required
        threshold = self.settings.threshold(self.document_type, spec)
        if not candidates:
            problems = ["missing"] if must else []
            if must:
                self.reasons.append(f"{spec.label}: missing")
            return ExtractedField(
                name=spec.name,
                label=spec.label,
                required=must,
                sensitive=spec.sensitive,
                threshold=threshold,
                problems=problems,
            )
        best = candidates[0]
        value, valid, problems = best.value, None, []
        if spec.check is not None:
            outcome = self.check(spec.check, value)
            valid = outcome.valid
            if outcome.valid and outcome.normalized is not None:
                value = outcome.normalized
            elif outcome.problem:
                problems.append(outcome.problem)
        if best.confidence < threshold:
            # Rounded down, so that 79.997 does not read "80.0, below the threshold of 80".
            shown = math.floor(best.confidence * 10) / 10
            problems.append(f"read with confidence {shown:.1f}, below the threshold of {threshold:g}")
        for problem in problems:
            self.reasons.append(f"{spec.label}: {problem}")
        others = [] if spec.sensitive else _distinct([c.value for c in candidates[1:]], exclude=best.value)
        return ExtractedField(
            name=spec.name,
            label=spec.label,
            value=SecretStr(value) if spec.sensitive else value,
            confidence=round(best.confidence, 2),
            page=best.page,
            source=best.source,
            required=must,
            sensitive=spec.sensitive,
            threshold=threshold,
            valid=valid,
            problems=problems,
            other_values=others,
        )

    def flag(self, field: ExtractedField, problem: str) -> ExtractedField:
        """A cross-field problem (an LLC without its code) recorded on the field and as a reason."""
        self.reasons.append(f"{field.label}: {problem}")
        return field.model_copy(update={"problems": [*field.problems, problem]})


def _distinct(values: Iterable[str], *, exclude: str) -> list[str]:
    seen = {" ".join(exclude.split()).lower()}
    kept = []
    for value in values:
        key = " ".join(value.split()).lower()
        if key not in seen:
            seen.add(key)
            kept.append(value)
    return kept


def adhoc_spec(name: str, label: str, kind: FieldKind, check: str | None = None) -> FieldSpec:
    return FieldSpec(name=name, label=label, kind=kind, check=check)


def read_profile_fields(
    doc: NormalizedDocument, profile: Profile, judge: Judge
) -> tuple[dict[str, ExtractedField], dict[str, list[Record]]]:
    """Every field of the profile, each from its most exact source (a bank letter needs no more)."""
    return {spec.name: judge.field(spec, find_candidates(spec, doc)) for spec in profile.fields}, {}
