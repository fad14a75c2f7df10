"""The review policy as configuration: confidence thresholds by field kind and by field, required flags, and
the locale that settles ambiguous invoice dates and amounts.

A result needs review when a required field is missing, or a value found fails its format check or is read
below its threshold: an optional exemption code read at 40% confidence is as wrong in the vendor master as a
required one. Thresholds and required flags are validated when loaded, against the fields of the profiles.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, Self

from pydantic import ConfigDict, Field, model_validator

from backoffice.extraction.checks import DateOrder, DecimalMark
from backoffice.extraction.profile_catalog import PROFILES
from backoffice.extraction.profile_spec import DEFAULT_THRESHOLDS, FieldKind, FieldSpec
from backoffice.models.envelope import Model


class DocumentLocale(Model):
    """How a vendor's (or an entity's) invoices write dates and numbers: what settles "01/02/2021" (1 February
    or 2 January) and "1,234" (a thousand and more, or one and a bit). A setting left None settles nothing: such
    a value goes to review with both readings, never guessed. Values that read one way only ("13/02/2021",
    "1.234,56") are read that way whatever the locale says."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    date_order: DateOrder | None = None  # DMY: 01/02/2021 is 1 February; MDY: 2 January
    decimal_mark: DecimalMark | None = None  # ",": 1,234 is 1.234; ".": 1,234 is 1234

    def over(self, base: DocumentLocale) -> DocumentLocale:
        """This locale, with ``base``'s settings where this one has none (a vendor's over its entity's)."""
        return DocumentLocale(
            date_order=self.date_order or base.date_order,
            decimal_mark=self.decimal_mark or base.decimal_mark,
        )


def _vendor_key(name: str) -> str:
    """A vendor name as the locale lookup compares it: "ACME GmbH." and "Acme  GmbH" are one vendor."""
    return " ".join(re.findall(r"\w+", name.casefold()))


class ExtractionSettings(Model):
    """Review policy as configuration: confidence thresholds by field kind and by field, required flags, and
    the locale that settles ambiguous invoice dates and amounts.

    Field names are ``<document type>.<field>`` (``w9.tin``); an unknown one is refused at load, so a typo in
    the configuration fails at cold start rather than silently not applying.

    ``locale`` is the entity's; ``vendor_locales`` gives a vendor's own, keyed by its name as its invoices print
    it (case, punctuation and spacing ignored), and wins setting by setting over the entity's. A caller that
    knows the vendor from its master data passes ``settings.with_locale(...)`` instead. The locale applies to
    invoices: W-9s and certificates are US forms, which write the month first.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    thresholds: dict[FieldKind, float] = Field(default_factory=lambda: dict(DEFAULT_THRESHOLDS))
    field_thresholds: dict[str, float] = Field(default_factory=dict)
    required: dict[str, bool] = Field(default_factory=dict)
    locale: DocumentLocale = Field(default_factory=DocumentLocale)
    vendor_locales: dict[str, DocumentLocale] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _known_and_in_range(self) -> Self:
        for value in [*self.thresholds.values(), *self.field_thresholds.values()]:
            if not 0 <= value <= 100:
                raise ValueError("a confidence threshold is a percentage from 0 to 100")
        known = {f"{p.document_type}.{s.name}" for p in PROFILES.values() for s in p.fields}
        unknown = sorted((set(self.field_thresholds) | set(self.required)) - known)
        if unknown:
            raise ValueError(f"unknown profile fields: {', '.join(unknown)}")
        vendor_keys = [_vendor_key(name) for name in self.vendor_locales]
        if not all(vendor_keys) or len(set(vendor_keys)) != len(vendor_keys):
            raise ValueError("vendor_locales names each vendor once, by a name with letters or digits")
        return self

    def locale_for(self, *vendor_names: str) -> DocumentLocale:
        """The locale of the first of ``vendor_names`` (as read on an invoice) that has one, over the entity's;
        the entity's when none has."""
        by_key = {_vendor_key(name): locale for name, locale in self.vendor_locales.items()}
        for name in vendor_names:
            found = by_key.get(_vendor_key(name))
            if found is not None:
                return found.over(self.locale)
        return self.locale

    def with_locale(self, locale: DocumentLocale | Mapping[str, Any]) -> ExtractionSettings:
        """These settings for a document whose vendor is known (from master data, or told on the command
        line): its ``locale`` over the entity's, and no lookup by the name printed on the invoice."""
        given = locale if isinstance(locale, DocumentLocale) else DocumentLocale.model_validate(locale)
        return self.model_copy(update={"locale": given.over(self.locale), "vendor_locales": {}})

    def threshold(self, document_type: str, spec: FieldSpec) -> float:
        specific = self.field_thresholds.get(f"{document_type}.{spec.name}")
        if specific is not None:
            return specific
        return self.thresholds.get(spec.kind, DEFAULT_THRESHOLDS[spec.kind])

    def is_required(self, document_type: str, spec: FieldSpec) -> bool:
        return self.required.get(f"{document_type}.{spec.name}", spec.required)


def settings_from(thresholds: ExtractionSettings | Mapping[str, Any] | None) -> ExtractionSettings:
    """The settings, from themselves, their JSON-shaped configuration, or None (the defaults)."""
    if thresholds is None:
        return ExtractionSettings()
    if isinstance(thresholds, ExtractionSettings):
        return thresholds
    data = dict(thresholds)
    # A partial ``thresholds`` map overrides the defaults it names and keeps the others.
    if "thresholds" in data:
        data["thresholds"] = {**DEFAULT_THRESHOLDS, **data["thresholds"]}
    return ExtractionSettings.model_validate(data)
