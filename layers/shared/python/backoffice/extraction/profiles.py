"""Document profiles: which business fields a W-9, a certificate of insurance, a bank letter, a SOW and a
subcontractor invoice must yield, where to find each in a normalized document, and when a person must look.

A field is looked for in the places a document can hold it, most exact first: the AcroForm field of a digital
form, the answer to the Textract query asked for it, a printed key-value pair, an AnalyzeExpense field, and
last a pattern in the text. Every field has a required flag, a format check where one exists and a confidence
threshold. The result needs review when a required field is missing, or a value found fails its format check
or is read below its threshold: an optional exemption code read at 40% confidence is as wrong in the vendor
master as a required one.

Thresholds and required flags are configuration data (``ExtractionSettings``), validated when loaded; the
starting values are the policy of ``docs/EXTRACTION.md``: tax ids and bank numbers 99, amounts 95, dates 90,
names 85.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, SecretStr, model_validator

from backoffice.extraction.checks import (
    CHECKS,
    CheckOutcome,
    DateOrder,
    DecimalMark,
    amount_currency,
    check_amount,
    check_date,
    parse_amount,
    parse_date,
)
from backoffice.extraction.model import (
    Box,
    ExpenseDocument,
    ExtractedField,
    ExtractionResult,
    FieldSource,
    FormField,
    Line,
    NormalizedDocument,
    Record,
    Table,
    TableCell,
    min_confidence,
)
from backoffice.extraction.w9_layout import FlattenedW9, read_flattened_w9

DocumentTypeName = Literal["w9", "coi", "bank_letter", "sow", "invoice"]
DOCUMENT_TYPES: tuple[DocumentTypeName, ...] = ("w9", "coi", "bank_letter", "sow", "invoice")
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


class FieldSpec(BaseModel):
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


class Profile(BaseModel):
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


class DocumentLocale(BaseModel):
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


class ExtractionSettings(BaseModel):
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


# --------------------------------------------------------------------------------------------------------------
# The profiles
# --------------------------------------------------------------------------------------------------------------

_W9 = "topmostSubform[0].Page1[0]."
_DATE = r"(\d{1,2}/\d{1,2}/\d{2,4}|\d{4}-\d{2}-\d{2}|[A-Z][a-z]+\.? \d{1,2}(?:st|nd|rd|th)?,? \d{4}|\d{1,2} [A-Z][a-z]+ \d{4})"
_MONEY = r"(\$\s?\d[\d,]*(?:\.\d{2})?)"
# Invoices from anywhere: "01-Jan-2021", "01.02.2021", "2021-01-01", "Jan 1, 2021"; amounts in either convention
# with a symbol or an ISO code before or after ("€ 1.234,56", "1 234,56 EUR", "CHF 1'234.50", "(12.50)").
_INVOICE_DATE = (
    r"(\d{1,2}[/.-]\d{1,2}[/.-]\d{2,4}|\d{4}[/.-]\d{1,2}[/.-]\d{1,2}|\d{1,2}[ -][A-Z][a-z]{2,8}\.?[ -]\d{2,4}"
    r"|[A-Z][a-z]+\.? \d{1,2}(?:st|nd|rd|th)?,? \d{4})"
)
_INVOICE_MONEY = (
    r"((?:(?-i:[A-Z]{3})\s?|(?-i:[A-Z]{0,2})\$\s?|[€£₹¥]\s?)?\(?-?"
    r"(?:\d{1,3}(?:[ '\u2019]\d{3})+(?:[.,]\d+)?|\d(?:[\d.,]*\d)?)"
    r"\)?(?:\s?(?-i:[A-Z]{3})\b|\s?[€£$])?)"
)

W9_PROFILE = Profile(
    document_type="w9",
    title="Form W-9, Request for Taxpayer Identification Number and Certification",
    textract_api="document_analysis",
    feature_types=("FORMS", "QUERIES", "SIGNATURES"),
    fields=(
        FieldSpec(
            name="name",
            label="Line 1: name (as shown on the income tax return)",
            kind="name",
            required=True,
            query="What is the name on line 1, as shown on the income tax return?",
            acroform=(_W9 + "f1_1[0]",),
            keys=(r"name \(as shown on your income tax return\)", r"^1?\s*name\b"),
        ),
        FieldSpec(
            name="business_name",
            label="Line 2: business name / disregarded entity name",
            kind="name",
            acroform=(_W9 + "f1_2[0]",),
            keys=(r"business name", r"disregarded entity name"),
        ),
        FieldSpec(
            name="tax_classification",
            label="Line 3: federal tax classification",
            kind="checkbox",
            required=True,
            check="tax_classification",
        ),
        FieldSpec(
            name="llc_tax_classification",
            label="Line 3: LLC tax classification (C, S or P)",
            kind="code",
            check="llc_tax_code",
            acroform=(_W9 + "FederalClassification[0].f1_3[0]",),
            keys=(r"enter the tax classification \(c=c corporation",),
        ),
        FieldSpec(
            name="other_classification",
            label="Line 3: other classification",
            kind="text",
            acroform=(_W9 + "FederalClassification[0].f1_4[0]",),
        ),
        FieldSpec(
            name="exempt_payee_code",
            label="Line 4: exempt payee code",
            kind="code",
            check="exempt_payee_code",
            acroform=(_W9 + "Exemptions[0].f1_5[0]",),
            keys=(r"exempt payee code",),
        ),
        FieldSpec(
            name="fatca_exemption_code",
            label="Line 4: exemption from FATCA reporting code",
            kind="code",
            check="fatca_code",
            acroform=(_W9 + "Exemptions[0].f1_6[0]",),
            keys=(r"fatca reporting", r"^code \(if any\)"),
        ),
        FieldSpec(
            name="address",
            label="Line 5: address (number, street, apt. or suite)",
            kind="text",
            required=True,
            acroform=(_W9 + "Address[0].f1_7[0]",),
            keys=(r"address \(number, street",),
        ),
        FieldSpec(
            name="city_state_zip",
            label="Line 6: city, state and ZIP code",
            kind="text",
            required=True,
            acroform=(_W9 + "Address[0].f1_8[0]",),
            keys=(r"city, state, and zip",),
        ),
        FieldSpec(
            name="requester",
            label="Requester's name and address",
            kind="text",
            acroform=(_W9 + "f1_9[0]",),
            keys=(r"requester.s name and address",),
        ),
        FieldSpec(
            name="account_numbers",
            label="Line 7: account numbers",
            kind="text",
            sensitive=True,
            acroform=(_W9 + "f1_10[0]",),
            keys=(r"list account number",),
        ),
        FieldSpec(
            name="tin",
            label="Part I: taxpayer identification number (SSN, ITIN or EIN)",
            kind="tax_id",
            required=True,
            sensitive=True,
            query="What is the taxpayer identification number (social security number or employer identification number)?",
        ),
        FieldSpec(name="tin_type", label="Part I: kind of TIN (ssn, itin or ein)", kind="code"),
        FieldSpec(name="signature", label="Part II: signature", kind="signature", required=True),
        FieldSpec(
            name="signature_date",
            label="Part II: date signed",
            kind="date",
            required=True,
            check="date",
            query="What is the date next to the signature?",
            keys=(r"^date\b",),
        ),
    ),
)

COI_PROFILE = Profile(
    document_type="coi",
    title="Certificate of liability insurance (ACORD 25)",
    textract_api="document_analysis",
    feature_types=("FORMS", "TABLES", "QUERIES"),
    fields=(
        FieldSpec(
            name="insured",
            label="Insured",
            kind="name",
            required=True,
            query="Who is the insured?",
            keys=(r"^insured\b", r"named insured"),
            text=(r"^insured\s*:\s*(.+)$",),
        ),
        FieldSpec(
            name="producer",
            label="Producer",
            kind="name",
            keys=(r"^producer\b",),
            text=(r"^producer\s*:\s*(.+)$",),
        ),
        FieldSpec(
            name="certificate_date",
            label="Certificate date",
            kind="date",
            check="date",
            keys=(r"^date \(mm/dd/yyyy\)",),
            text=(r"^date\s*\(mm/dd/yyyy\)\s*:?\s*(\d{1,2}/\d{1,2}/\d{4})",),
        ),
        FieldSpec(
            name="certificate_holder",
            label="Certificate holder",
            kind="name",
            keys=(r"certificate holder",),
            text=(r"^certificate holder\s*:\s*(.+)$",),
        ),
    ),
    records=("insurers", "policies"),
)

BANK_LETTER_PROFILE = Profile(
    document_type="bank_letter",
    title="Bank letter (account verification)",
    textract_api="document_analysis",
    feature_types=("FORMS", "QUERIES"),
    fields=(
        FieldSpec(
            name="bank_name",
            label="Bank",
            kind="name",
            required=True,
            query="What is the name of the bank?",
            keys=(r"^bank( name)?\b", r"financial institution"),
            text=(
                r"^((?:[A-Z][\w&.,'-]*\s+){0,5}(?:Bank|Credit Union|Bancorp|Trust Company)(?:,? N\.?A\.?)?)\b",
            ),
        ),
        FieldSpec(
            name="account_holder",
            label="Account holder",
            kind="name",
            required=True,
            query="Who is the account holder?",
            keys=(r"account (holder|name|owner)", r"name on (the )?account", r"beneficiary"),
            text=(r"account (?:holder|name|owner)\s*[:\-]\s*(.+)$",),
        ),
        FieldSpec(
            name="routing_number",
            label="ABA routing number",
            kind="bank_number",
            required=True,
            sensitive=True,
            check="routing_number",
            query="What is the routing number?",
            keys=(r"routing", r"\baba\b", r"transit"),
            text=(r"(?:routing|aba|transit)[^\d\n]{0,30}(\d[\d -]{7,12}\d)",),
        ),
        FieldSpec(
            name="account_number",
            label="Account number",
            kind="bank_number",
            required=True,
            sensitive=True,
            check="account_number",
            query="What is the account number?",
            keys=(r"account (number|no\b|#)", r"\bacct\b"),
            text=(r"(?:account|acct)\.?\s*(?:number|no\.?|#)[^\d\n]{0,20}(\d[\d -]{2,20}\d)",),
        ),
        FieldSpec(
            name="account_type",
            label="Account type",
            kind="text",
            keys=(r"account type",),
            text=(r"\b(checking|savings)\b account",),
        ),
    ),
)

SOW_PROFILE = Profile(
    document_type="sow",
    title="Statement of work / contract",
    textract_api="document_analysis",
    feature_types=("FORMS", "TABLES", "QUERIES", "SIGNATURES"),
    fields=(
        FieldSpec(
            name="client",
            label="Client party",
            kind="name",
            required=True,
            query="Who is the client?",
            keys=(r"^(client|customer)( name)?\s*:?$",),
        ),
        FieldSpec(
            name="provider",
            label="Provider party (consultant, contractor, supplier)",
            kind="name",
            required=True,
            query="Who is the consultant, contractor or service provider?",
            keys=(r"^(consultant|contractor|supplier|vendor|service provider|provider)( name)?\s*:?$",),
        ),
        FieldSpec(
            name="effective_date",
            label="Effective date",
            kind="date",
            required=True,
            check="date",
            query="What is the effective date?",
            keys=(r"effective date", r"start date", r"commencement date"),
            text=(
                r"effective (?:as of|date[:\s]*|on)\s*" + _DATE,
                r"(?:commence|start|begin)s? on\s+" + _DATE,
            ),
        ),
        FieldSpec(
            name="end_date",
            label="End date",
            kind="date",
            required=True,
            check="date",
            query="What is the end date or expiration date?",
            keys=(r"end date", r"expiration date", r"termination date", r"completion date"),
            text=(
                r"(?:end|terminate|expire|continue until|through)s?(?: on)?\s+" + _DATE,
                r"\bto\s+" + _DATE,
            ),
        ),
        FieldSpec(
            name="total_fees",
            label="Total fees",
            kind="amount",
            required=True,
            check="amount",
            query="What are the total fees?",
            keys=(r"total (fees?|amount|price|contract value)", r"not.to.exceed", r"fixed fee"),
            text=(
                r"(?:total fees?|not[- ]to[- ]exceed|fixed fee|total contract value|total price)[^$\d\n]{0,40}"
                + _MONEY,
            ),
        ),
        FieldSpec(
            name="payment_terms",
            label="Payment terms",
            kind="text",
            required=True,
            query="What are the payment terms?",
            keys=(r"payment terms",),
            text=(
                r"\b(net\s*\d{1,3}(?: days)?)\b",
                r"payment terms?\s*[:\-]\s*(.+)$",
                r"(\d{1,3} days (?:of|from|after) (?:receipt|the date) of (?:the )?invoice)",
            ),
        ),
    ),
    records=("rates", "clauses"),
)

INVOICE_PROFILE = Profile(
    document_type="invoice",
    title="Subcontractor invoice",
    textract_api="expense_analysis",
    fields=(
        FieldSpec(
            name="vendor_name",
            label="Vendor",
            kind="name",
            required=True,
            expense_types=("VENDOR_NAME",),
            keys=(r"^(vendor|supplier|from)\b",),
        ),
        FieldSpec(
            name="invoice_id",
            label="Invoice number",
            kind="code",
            required=True,
            expense_types=("INVOICE_RECEIPT_ID",),
            keys=(r"invoice (no|number|#)",),
            text=(r"invoice\s*(?:no\.?|number|#)\s*[:#]?\s*([A-Z0-9][\w-]*)",),
        ),
        FieldSpec(
            name="invoice_date",
            label="Invoice date",
            kind="date",
            required=True,
            check="date",
            expense_types=("INVOICE_RECEIPT_DATE",),
            keys=(r"invoice date", r"^date\b"),
            text=(r"invoice date\s*:?\s*" + _INVOICE_DATE,),
        ),
        FieldSpec(
            name="due_date",
            label="Due date",
            kind="date",
            check="date",
            expense_types=("DUE_DATE",),
            keys=(r"due date", r"payment due"),
        ),
        FieldSpec(
            name="po_number",
            label="Purchase order",
            kind="code",
            expense_types=("PO_NUMBER",),
            keys=(r"purchase order", r"\bp\.?o\.? (no|number|#)"),
        ),
        FieldSpec(
            name="vendor_tax_id",
            label="Vendor tax id",
            kind="tax_id",
            sensitive=True,
            expense_types=("TAX_PAYER_ID",),
        ),
        FieldSpec(
            name="payment_terms",
            label="Payment terms",
            kind="text",
            expense_types=("PAYMENT_TERMS",),
            keys=(r"payment terms",),
        ),
        FieldSpec(
            name="subtotal",
            label="Subtotal",
            kind="amount",
            check="amount",
            expense_types=("SUBTOTAL",),
            keys=(r"^sub.?total",),
        ),
        FieldSpec(
            name="tax",
            label="Tax",
            kind="amount",
            check="amount",
            expense_types=("TAX",),
            keys=(r"^(sales )?tax\b",),
        ),
        FieldSpec(
            name="total",
            label="Total",
            kind="amount",
            required=True,
            check="amount",
            expense_types=("TOTAL", "AMOUNT_DUE"),
            keys=(r"^(invoice )?total\b", r"amount due", r"balance due"),
            text=(r"(?:total|amount due|balance due)\s*:?\s*" + _INVOICE_MONEY,),
        ),
        FieldSpec(name="currency", label="Currency", kind="code"),
    ),
    records=("line_items",),
)

PROFILES: dict[DocumentTypeName, Profile] = {
    profile.document_type: profile
    for profile in (W9_PROFILE, COI_PROFILE, BANK_LETTER_PROFILE, SOW_PROFILE, INVOICE_PROFILE)
}


def profile_for(document_type: str) -> Profile:
    try:
        return PROFILES[document_type]  # type: ignore[index]
    except KeyError:
        raise ValueError(
            f"unknown document type {document_type!r}: expected one of {', '.join(DOCUMENT_TYPES)}"
        ) from None


# --------------------------------------------------------------------------------------------------------------
# Finding values
# --------------------------------------------------------------------------------------------------------------


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


def _from_query(spec: FieldSpec, doc: NormalizedDocument) -> list[Candidate]:
    alias = spec.name.upper()
    return [
        Candidate(query.answer, query.confidence, query.page, "query")
        for query in doc.queries
        if (query.alias or "").upper() == alias and query.answer.strip()
    ]


def _key_matches(field: FormField, patterns: Iterable[str]) -> bool:
    key = normalized_key(field.key)
    return bool(key) and any(re.search(pattern, key) for pattern in patterns)


def _from_form(spec: FieldSpec, doc: NormalizedDocument) -> list[Candidate]:
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
    _from_query,
    _from_form,
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


# --------------------------------------------------------------------------------------------------------------
# Judging values
# --------------------------------------------------------------------------------------------------------------


@dataclass
class _Judge:
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


def _adhoc(name: str, label: str, kind: FieldKind, check: str | None = None) -> FieldSpec:
    return FieldSpec(name=name, label=label, kind=kind, check=check)


# --------------------------------------------------------------------------------------------------------------
# Applying a profile
# --------------------------------------------------------------------------------------------------------------


def apply_profile(
    doc: NormalizedDocument,
    document_type: str,
    thresholds: ExtractionSettings | Mapping[str, Any] | None = None,
) -> ExtractionResult:
    """The profile's fields and records from a normalized document, with ``needs_review`` and the reasons when
    a person must look. ``thresholds`` is an ``ExtractionSettings`` or its JSON-shaped configuration."""
    profile = profile_for(document_type)
    settings = _settings(thresholds)
    judge = _Judge(document_type, settings, [])
    builders: dict[
        str,
        Callable[
            [NormalizedDocument, Profile, _Judge], tuple[dict[str, ExtractedField], dict[str, list[Record]]]
        ],
    ] = {
        "w9": _w9,
        "coi": _coi,
        "bank_letter": _generic,
        "sow": _sow,
        "invoice": _invoice,
    }
    fields, records = builders[document_type](doc, profile, judge)
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


def _settings(thresholds: ExtractionSettings | Mapping[str, Any] | None) -> ExtractionSettings:
    if thresholds is None:
        return ExtractionSettings()
    if isinstance(thresholds, ExtractionSettings):
        return thresholds
    data = dict(thresholds)
    # A partial ``thresholds`` map overrides the defaults it names and keeps the others.
    if "thresholds" in data:
        data["thresholds"] = {**DEFAULT_THRESHOLDS, **data["thresholds"]}
    return ExtractionSettings.model_validate(data)


def _generic(
    doc: NormalizedDocument, profile: Profile, judge: _Judge
) -> tuple[dict[str, ExtractedField], dict[str, list[Record]]]:
    return {spec.name: judge.field(spec, find_candidates(spec, doc)) for spec in profile.fields}, {}


# -- W-9 ----------------------------------------------------------------------------------------------------------

# The seven boxes of line 3, by the export value of the AcroForm checkbox (/1 to /7) and by the printed label
# Textract reads next to a box.
W9_CLASSIFICATION_BY_EXPORT = {
    "1": "individual_sole_proprietor",
    "2": "c_corporation",
    "3": "s_corporation",
    "4": "partnership",
    "5": "trust_estate",
    "6": "llc",
    "7": "other",
}
_W9_CLASSIFICATION_BY_LABEL = (
    (r"individual/sole proprietor|single-member llc", "individual_sole_proprietor"),
    (r"^c corporation", "c_corporation"),
    (r"^s corporation", "s_corporation"),
    (r"^partnership", "partnership"),
    (r"^trust/estate", "trust_estate"),
    (r"^limited liability company", "llc"),
    (r"^other \(see instructions\)", "other"),
)
_W9_CHECKBOX = re.compile(r"FederalClassification\[0\]\.c1_1\[(\d)\]$")


def _w9_classification(
    doc: NormalizedDocument, layout: FlattenedW9 | None = None
) -> tuple[list[Candidate], list[str]]:
    """Ticked line-3 boxes (a correct form has exactly one) and the problems found; for a flattened form,
    the ticks drawn beside the boxes' printed labels."""
    ticked: list[Candidate] = []
    for field in doc.fields:
        if not field.selected:
            continue
        if field.name is not None:
            match = _W9_CHECKBOX.search(field.name)
            if not match:
                continue
            export = (
                field.value if field.value in W9_CLASSIFICATION_BY_EXPORT else str(int(match.group(1)) + 1)
            )
            ticked.append(
                Candidate(W9_CLASSIFICATION_BY_EXPORT[export], field.confidence, field.page, "checkbox")
            )
            continue
        key = normalized_key(field.key)
        for pattern, classification in _W9_CLASSIFICATION_BY_LABEL:
            if re.search(pattern, key):
                ticked.append(Candidate(classification, field.confidence, field.page, "checkbox"))
                break
    if not ticked and layout is not None:
        ticked = [Candidate(box.value, box.confidence, box.page, "checkbox") for box in layout.ticked]
    problems = []
    if len({candidate.value for candidate in ticked}) > 1:
        problems.append("more than one tax classification box is ticked (the form allows one)")
    return ticked, problems


def _w9_tin(
    doc: NormalizedDocument, layout: FlattenedW9 | None = None
) -> tuple[list[Candidate], str | None, list[str]]:
    """The TIN from the SSN boxes or the EIN boxes (never both), with its kind; for a flattened form, the
    digits drawn in the boxes' cells, as written."""
    # The sources in order of trust: the first that finds a TIN is the only one read.
    found = _w9_tin_from_acroform(doc) or _w9_tin_from_form_keys(doc) or _w9_tin_from_query(doc)
    if not found and layout is not None:
        found = {
            kind: Candidate(tin.value, tin.confidence, tin.page, "text") for kind, tin in layout.tins.items()
        }
    problems = []
    if len(found) > 1:
        problems.append("both the SSN and the EIN boxes are filled (give one)")
    if "ssn" in found:
        digits = re.sub(r"\D", "", found["ssn"].value)
        kind = "itin" if digits.startswith("9") else "ssn"
        return [found["ssn"]], kind, problems
    if "ein" in found:
        return [found["ein"]], "ein", problems
    return [], None, problems


def _w9_tin_from_acroform(doc: NormalizedDocument) -> dict[str, Candidate]:
    """The digits of the fillable form's SSN and EIN boxes (one AcroForm field per group of digits), by kind."""
    boxes: dict[str, list[FormField]] = {"ssn": [], "ein": []}
    for field in doc.fields:
        if field.name is not None and field.value:
            if ".SSN[0]." in field.name:
                boxes["ssn"].append(field)
            elif ".EmployerID[0]." in field.name:
                boxes["ein"].append(field)
    found: dict[str, Candidate] = {}
    for kind, parts in boxes.items():
        if parts:
            parts.sort(key=lambda f: f.name or "")
            found[kind] = Candidate(
                "".join(part.value for part in parts),
                min_confidence(part.confidence for part in parts),
                parts[0].page,
                "acroform",
            )
    return found


def _w9_tin_from_form_keys(doc: NormalizedDocument) -> dict[str, Candidate]:
    """The first value Textract read next to the printed SSN or EIN label, by kind."""
    found: dict[str, Candidate] = {}
    for field in doc.fields:
        if field.name is None and field.value.strip():
            key = normalized_key(field.key)
            if "social security number" in key:
                found.setdefault("ssn", Candidate(field.value, field.confidence, field.page, "form_field"))
            elif "employer identification number" in key:
                found.setdefault("ein", Candidate(field.value, field.confidence, field.page, "form_field"))
    return found


def _w9_tin_from_query(doc: NormalizedDocument) -> dict[str, Candidate]:
    """The TIN query's answer, its kind told by its shape (an EIN is written NN-NNNNNNN)."""
    query = _from_query(W9_PROFILE.spec("tin"), doc)
    if not query:
        return {}
    digits = re.sub(r"\D", "", query[0].value)
    kind = "ein" if re.fullmatch(r"\s*\d{2}\s*-\s*\d{7}\s*", query[0].value) else "ssn"
    return {kind: Candidate(digits or query[0].value, query[0].confidence, query[0].page, "query")}


def _w9_signature(doc: NormalizedDocument, layout: FlattenedW9 | None = None) -> list[Candidate]:
    """A signature on the form's page: Textract SIGNATURE, an ink/stamp annotation, a signed field, a
    value next to the printed "Signature of U.S. person" key, or (flattened form) strokes drawn there."""
    first_page = _w9_form_page(doc)
    found = [
        Candidate("present", signature.confidence, signature.page, "signature")
        for signature in doc.signatures
        if signature.page == first_page
    ]
    found.extend(
        Candidate("present", field.confidence, field.page, "form_field")
        for field in doc.fields
        if field.name is None
        and field.value.strip()
        and "signature of u.s. person" in normalized_key(field.key)
    )
    if not found and layout is not None and layout.signature is not None:
        drawn = layout.signature
        found.append(Candidate(drawn.value, drawn.confidence, drawn.page, "signature"))
    return sorted(found, key=lambda c: -c.confidence)


def _w9_form_page(doc: NormalizedDocument) -> int:
    for page in doc.pages:
        if any("request for taxpayer" in line.text.lower() for line in page.lines[:40]):
            return page.number
    return 1


def _w9_signature_date(doc: NormalizedDocument, layout: FlattenedW9 | None = None) -> list[Candidate]:
    spec = W9_PROFILE.spec("signature_date")
    found = _from_query(spec, doc) or [c for c in _from_form(spec, doc) if parse_date(c.value) is not None]
    if not found and layout is not None and layout.signature_date is not None:
        dated = layout.signature_date
        found = [Candidate(dated.value, dated.confidence, dated.page, "text")]
    return found or _date_beside_label(doc, _w9_form_page(doc), r"^date\b|\bdate ▶")


def _date_beside_label(doc: NormalizedDocument, page: int, label: str) -> list[Candidate]:
    """A date written on the row of a printed label ("Date ▶"), to its right or on the label's own line."""
    lines = [line for line in doc.lines if line.page == page]
    found: list[Candidate] = []
    for label_line in lines:
        match = re.search(label, label_line.text, re.IGNORECASE)
        if not match:
            continue
        rest = label_line.text[match.end() :].strip(" ▶:")
        if rest and parse_date(rest) is not None:
            found.append(Candidate(rest, label_line.confidence, page, "text"))
            continue
        if label_line.geometry is None:
            continue
        row_middle = label_line.geometry.top + label_line.geometry.height / 2
        for line in lines:
            if line is label_line or line.geometry is None or parse_date(line.text) is None:
                continue
            middle = line.geometry.top + line.geometry.height / 2
            if abs(middle - row_middle) <= max(line.geometry.height, label_line.geometry.height) and (
                line.geometry.left >= label_line.geometry.left
            ):
                found.append(Candidate(line.text.strip(), line.confidence, page, "text"))
    return found


def _w9(
    doc: NormalizedDocument, profile: Profile, judge: _Judge
) -> tuple[dict[str, ExtractedField], dict[str, list[Record]]]:
    fields: dict[str, ExtractedField] = {}
    # A W-9 printed to PDF (flattened) has no form values: its values are read by the form's printed layout.
    flattened = not any(field.name and (field.value or field.selected) for field in doc.fields)
    layout = read_flattened_w9(doc) if flattened else None
    classification, classification_problems = _w9_classification(doc, layout)
    tin, tin_type, tin_problems = _w9_tin(doc, layout)
    for spec in profile.fields:
        if spec.name == "tax_classification":
            fields[spec.name] = judge.field(spec, classification)
        elif spec.name == "tin":
            check = {"ssn": "ssn", "itin": "itin", "ein": "ein"}.get(tin_type or "")
            fields[spec.name] = judge.field(spec.model_copy(update={"check": check}), tin)
        elif spec.name == "tin_type":
            fields[spec.name] = judge.field(
                spec, [Candidate(tin_type, tin[0].confidence, tin[0].page, "derived")] if tin_type else []
            )
        elif spec.name == "signature":
            fields[spec.name] = judge.field(spec, _w9_signature(doc, layout))
        elif spec.name == "signature_date":
            fields[spec.name] = judge.field(spec, _w9_signature_date(doc, layout))
        else:
            candidates = find_candidates(spec, doc)
            if not candidates and layout is not None and spec.name in layout.fields:
                drawn = layout.fields[spec.name]
                candidates = [Candidate(drawn.value, drawn.confidence, drawn.page, "text")]
            fields[spec.name] = judge.field(spec, candidates)
    for problem in classification_problems:
        fields["tax_classification"] = judge.flag(fields["tax_classification"], problem)
    for problem in tin_problems:
        fields["tin"] = judge.flag(fields["tin"], problem)
    chosen = fields["tax_classification"].text
    if chosen == "llc" and not fields["llc_tax_classification"].text:
        fields["llc_tax_classification"] = judge.flag(
            fields["llc_tax_classification"], "missing: an LLC must give its tax classification (C, S or P)"
        )
    if chosen == "other" and not fields["other_classification"].text:
        fields["other_classification"] = judge.flag(
            fields["other_classification"], "missing: the 'Other' box needs a description"
        )
    return fields, {}


# -- Certificate of insurance ------------------------------------------------------------------------------------

_INSURER_KEY = re.compile(r"^insurer ([a-f])\b")
_INSURER_LINE = re.compile(r"^\s*insurer\s+([a-f])\s*:\s*(.+)$", re.IGNORECASE)
_NAIC = re.compile(r"\b(\d{5})\b\s*$")
_NAIC_LABEL = re.compile(r"[\s,;]*naic\s*(?:#|no\.?)?\s*:?\s*$", re.IGNORECASE)


def _coi_insurers(doc: NormalizedDocument, judge: _Judge) -> list[Record]:
    """Insurers A-F from the "INSURER A :" key-value pairs, else (a digital PDF's text layer, which has no
    key-value pairs) from "INSURER A: name, NAIC # 12345" lines."""
    found: list[tuple[str, str, float, int, FieldSource]] = []
    for field in doc.fields:
        match = _INSURER_KEY.search(normalized_key(field.key))
        if match:
            found.append((match.group(1), field.value, field.confidence, field.page, "form_field"))
    if not found:
        for line in doc.lines:
            match = _INSURER_LINE.match(line.text)
            if match:
                found.append((match.group(1).lower(), match.group(2), line.confidence, line.page, "text"))
    insurers: list[Record] = []
    seen: set[str] = set()
    for letter, text, confidence, page, source in found:
        if not text.strip() or letter in seen:
            continue
        seen.add(letter)
        value = text.strip()
        naic = _NAIC.search(value)
        name = _NAIC_LABEL.sub("", value[: naic.start()]).strip() if naic else value
        candidate = Candidate(name, confidence, page, source)
        record: Record = {
            "letter": judge.field(
                _adhoc("letter", "Insurer letter", "code"),
                [Candidate(letter.upper(), confidence, page, source)],
            ),
            "name": judge.field(_adhoc("name", f"Insurer {letter.upper()}", "name"), [candidate]),
        }
        if naic:
            record["naic"] = judge.field(
                _adhoc("naic", f"Insurer {letter.upper()} NAIC #", "code"),
                [Candidate(naic.group(1), confidence, page, source)],
            )
        insurers.append(record)
    return insurers


_POLICY_COLUMNS = {
    "letter": r"insr|ltr",
    "type": r"type of insurance|coverage",
    "additional_insured": r"addl|additional",
    "subrogation_waived": r"subr|wvd|waiv",
    "number": r"policy (number|no)",
    "effective_date": r"eff",
    "expiry_date": r"exp",
    "limits": r"limit",
}


def _policy_table(doc: NormalizedDocument) -> tuple[Table, dict[str, list[int]], int] | None:
    """The coverage table: the one whose header names a policy number column."""
    for table in doc.tables:
        for header_index, row in enumerate(table.rows[:3]):
            texts = [normalized_key(cell) for cell in row]
            if not any(re.search(_POLICY_COLUMNS["number"], text) for text in texts):
                continue
            columns: dict[str, list[int]] = {}
            for index, text in enumerate(texts):
                for name, pattern in _POLICY_COLUMNS.items():
                    if re.search(pattern, text) and not (name == "limits" and "policy" in text):
                        columns.setdefault(name, []).append(index)
                        break
            return table, columns, header_index
    return None


def _coi_policies(doc: NormalizedDocument, judge: _Judge) -> list[Record]:
    """One record per policy row of the ACORD 25 coverage table; the rows below a policy (without a policy
    number) carry more of its limits."""
    found = _policy_table(doc)
    if found is None:
        return []
    table, columns, header_index = found
    cell_confidence = {(cell.row - 1, cell.column - 1): cell.confidence for cell in table.cells}
    page = table.pages[0]

    def cell(row: int, name: str) -> tuple[str, float]:
        indexes = columns.get(name) or []
        texts = [table.rows[row][i] for i in indexes if table.rows[row][i].strip()]
        confidence = min_confidence(cell_confidence.get((row, i)) for i in indexes) or table.confidence
        return (" ".join(dict.fromkeys(texts)).strip(), confidence)

    specs = {
        "letter": _adhoc("letter", "Insurer letter", "code"),
        "type": _adhoc("type", "Type of insurance", "text"),
        "additional_insured": _adhoc("additional_insured", "Additional insured", "code", "yes_no"),
        "subrogation_waived": _adhoc("subrogation_waived", "Subrogation waived", "code", "yes_no"),
        "effective_date": _adhoc("effective_date", "Policy effective date", "date", "date"),
        "expiry_date": _adhoc("expiry_date", "Policy expiry date", "date", "date"),
    }
    policies: list[Record] = []
    current: Record | None = None
    for row in range(header_index + 1, table.row_count):
        number, confidence = cell(row, "number")
        if number and (current is None or current["number"].text != number):
            current = {
                "number": judge.field(
                    FieldSpec(name="number", label="Policy number", kind="code", required=True),
                    [Candidate(number, confidence, page, "table")],
                )
            }
            for name, spec in specs.items():
                text, conf = cell(row, name)
                required = name in {"type", "effective_date", "expiry_date"}
                candidates = [Candidate(text, conf, page, "table")] if text else []
                current[name] = judge.field(spec, candidates, required=required)
            policies.append(current)
        if current is None:
            continue
        limits_text, limits_confidence = cell(row, "limits")
        for limit_name, amount in _limits(limits_text):
            key = "limit_" + re.sub(r"[^a-z0-9]+", "_", limit_name.lower()).strip("_")
            spec = FieldSpec(name=key, label=f"Limit: {limit_name}", kind="amount", check="amount")
            current[key] = judge.field(spec, [Candidate(amount, limits_confidence, page, "table")])
    return policies


def _limits(text: str) -> list[tuple[str, str]]:
    """("EACH OCCURRENCE", "$1,000,000") pairs from a limits cell ("EACH OCCURRENCE $ 1,000,000")."""
    return [
        (name.strip(" .:"), "$" + amount.replace(" ", ""))
        for name, amount in re.findall(r"([A-Za-z][A-Za-z &'/()-]*?)\s*\$\s?([\d,]+(?:\.\d{2})?)", text)
    ]


def _table_from_lines(doc: NormalizedDocument, header: str) -> Table | None:
    """A table rebuilt from positioned text lines: a digital PDF read locally has its text layer, not
    Textract's TABLES. The row holding a line that matches ``header`` gives the columns (each of its lines
    starts one); every line below goes to the column it starts under (cells are taken to be left-aligned
    with their header), and the table ends at the first gap wider than two and a half lines."""
    for page in doc.pages:
        rows: list[list[tuple[Line, Box]]] = []
        for line in page.lines:  # top to bottom, then left to right
            box = line.geometry
            if box is None:
                continue
            if rows and abs(rows[-1][0][1].top - box.top) <= box.height / 2:
                rows[-1].append((line, box))
            else:
                rows.append([(line, box)])
        start = next(
            (
                index
                for index, row in enumerate(rows)
                if any(re.search(header, normalized_key(line.text)) for line, _ in row)
            ),
            None,
        )
        if start is None:
            continue
        lefts = [box.left for _, box in rows[start]]
        grid: list[list[list[Line]]] = []
        for index in range(start, len(rows)):
            above, below = rows[index - 1][0][1], rows[index][0][1]
            if index > start and below.top - above.top > 2.5 * above.height:
                break
            cells: list[list[Line]] = [[] for _ in lefts]
            for line, box in rows[index]:
                column = max((i for i, left in enumerate(lefts) if left <= box.left + 0.005), default=0)
                cells[column].append(line)
            grid.append(cells)
        table_cells = [
            TableCell(
                row=row_number,
                column=column_number,
                text=" ".join(line.text for line in cell),
                confidence=min_confidence(line.confidence for line in cell) if cell else 100.0,
                header=row_number == 1,
                page=page.number,
            )
            for row_number, row_cells in enumerate(grid, start=1)
            for column_number, cell in enumerate(row_cells, start=1)
        ]
        return Table(
            pages=[page.number],
            row_count=len(grid),
            column_count=len(lefts),
            cells=table_cells,
            rows=[[" ".join(line.text for line in cell) for cell in row_cells] for row_cells in grid],
            confidence=min_confidence(cell.confidence for cell in table_cells),
        )
    return None


def _coi(
    doc: NormalizedDocument, profile: Profile, judge: _Judge
) -> tuple[dict[str, ExtractedField], dict[str, list[Record]]]:
    if not doc.tables:
        table = _table_from_lines(doc, _POLICY_COLUMNS["number"])
        if table is not None:
            doc = doc.model_copy(update={"tables": [table]})
    fields, _ = _generic(doc, profile, judge)
    insurers = _coi_insurers(doc, judge)
    policies = _coi_policies(doc, judge)
    if not policies:
        judge.reasons.append("Policies: no coverage table with policy numbers found")
    return fields, {"insurers": insurers, "policies": policies}


# -- SOW / contract -----------------------------------------------------------------------------------------------

_PARTIES = re.compile(
    r"between\s+(.+?)\s*\((?:the\s+)?[\"“]?(\w[\w ]*?)[\"”]?\)\s*,?\s*and\s+(.+?)\s*\((?:the\s+)?[\"“]?(\w[\w ]*?)[\"”]?\)",
    re.IGNORECASE | re.DOTALL,
)
_CLIENT_ROLES = {"client", "customer", "company", "buyer"}
_SECTION = re.compile(r"^(\d{1,2}(?:\.\d{1,2})*)\.?\s+([A-Z][^\n]{1,80})$")
_RATE_LINE = re.compile(
    r"^(?P<role>[A-Za-z][A-Za-z /&-]{2,60}?)\s*[:\-\u2013]?\s*\$\s?(?P<rate>[\d,]+(?:\.\d{2})?)\s*(?:/|per)\s*(?P<unit>hour|hr|day|week|month)\b",
    re.IGNORECASE,
)


def _sow_parties(doc: NormalizedDocument) -> dict[str, Candidate]:
    """Client and provider from the preamble: 'between Acme Corp. ("Client") and Jones LLC ("Consultant")'."""
    for page in doc.pages:
        text = " ".join(line.text for line in page.lines)
        match = _PARTIES.search(text)
        if not match:
            continue
        confidence = min_confidence(line.confidence for line in page.lines)
        first, first_role, second, second_role = (part.strip(" ,") for part in match.groups())
        if second_role.lower() in _CLIENT_ROLES and first_role.lower() not in _CLIENT_ROLES:
            first, second = second, first
        return {
            "client": Candidate(first, confidence, page.number, "text"),
            "provider": Candidate(second, confidence, page.number, "text"),
        }
    return {}


def _sow_rates(doc: NormalizedDocument, judge: _Judge) -> list[Record]:
    """Rates by role: a rate table (role and rate columns), else lines such as 'Senior Consultant: $200/hour'."""
    rates: list[Record] = []
    role_spec = FieldSpec(name="role", label="Role", kind="text", required=True)
    rate_spec = FieldSpec(name="rate", label="Rate", kind="amount", required=True, check="amount")
    unit_spec = FieldSpec(name="unit", label="Rate unit", kind="text")
    for table in doc.tables:
        if not table.rows:
            continue
        header = [normalized_key(cell) for cell in table.rows[0]]
        role_col = next(
            (i for i, h in enumerate(header) if re.search(r"role|title|position|resource|category", h)), None
        )
        rate_col = next((i for i, h in enumerate(header) if re.search(r"rate|price|fee", h)), None)
        if role_col is None or rate_col is None:
            continue
        unit = next((m.group(1) for h in header if (m := re.search(r"(hour|day|week|month)", h))), None)
        confidence = {(c.row - 1, c.column - 1): c.confidence for c in table.cells}
        for index, row in enumerate(table.rows[1:], start=1):
            if not row[role_col].strip() or parse_amount(row[rate_col]) is None:
                continue
            record: Record = {
                "role": judge.field(
                    role_spec,
                    [
                        Candidate(
                            row[role_col].strip(),
                            confidence.get((index, role_col), table.confidence),
                            table.pages[0],
                            "table",
                        )
                    ],
                ),
                "rate": judge.field(
                    rate_spec,
                    [
                        Candidate(
                            row[rate_col].strip(),
                            confidence.get((index, rate_col), table.confidence),
                            table.pages[0],
                            "table",
                        )
                    ],
                ),
            }
            if unit:
                record["unit"] = judge.field(
                    unit_spec, [Candidate(unit, table.confidence, table.pages[0], "table")]
                )
            rates.append(record)
    if rates:
        return rates
    for line in doc.lines:
        match = _RATE_LINE.search(line.text.strip())
        if not match:
            continue
        unit = {"hr": "hour"}.get(match.group("unit").lower(), match.group("unit").lower())
        rates.append(
            {
                "role": judge.field(
                    role_spec, [Candidate(match.group("role").strip(), line.confidence, line.page, "text")]
                ),
                "rate": judge.field(
                    rate_spec, [Candidate("$" + match.group("rate"), line.confidence, line.page, "text")]
                ),
                "unit": judge.field(unit_spec, [Candidate(unit, line.confidence, line.page, "text")]),
            }
        )
    return rates


def _sow_clauses(doc: NormalizedDocument, judge: _Judge) -> list[Record]:
    """Clause text by section: a numbered heading line ("4.2 Payment Terms") and the lines up to the next one."""
    clauses: list[tuple[str, str, list[Line]]] = []
    for line in doc.lines:
        match = _SECTION.match(line.text.strip())
        if match and len(match.group(2).split()) <= 8:
            clauses.append((match.group(1), match.group(2).strip().rstrip("."), [line]))
        elif clauses:
            clauses[-1][2].append(line)
    records: list[Record] = []
    for section, heading, lines in clauses:
        body = " ".join(line.text for line in lines[1:]).strip()
        heading_text, _, inline = heading.partition(". ")
        text = " ".join(part for part in (inline, body) if part)
        confidence = min_confidence(line.confidence for line in lines)
        page = lines[0].page
        records.append(
            {
                "section": judge.field(
                    _adhoc("section", "Section", "code"), [Candidate(section, confidence, page, "text")]
                ),
                "heading": judge.field(
                    _adhoc("heading", "Heading", "text"), [Candidate(heading_text, confidence, page, "text")]
                ),
                "text": judge.field(
                    _adhoc("text", f"Section {section} text", "text"),
                    [Candidate(text, confidence, page, "text")] if text else [],
                ),
            }
        )
    return records


def _sow(
    doc: NormalizedDocument, profile: Profile, judge: _Judge
) -> tuple[dict[str, ExtractedField], dict[str, list[Record]]]:
    parties = _sow_parties(doc)
    fields: dict[str, ExtractedField] = {}
    for spec in profile.fields:
        candidates = find_candidates(spec, doc)
        if spec.name in parties and (not candidates or candidates[0].source == "text"):
            candidates = [parties[spec.name]]
        fields[spec.name] = judge.field(spec, candidates)
    start, end = (parse_date(fields[name].text or "") for name in ("effective_date", "end_date"))
    if start and end and end < start:
        fields["end_date"] = judge.flag(fields["end_date"], "ends before the effective date")
    return fields, {"rates": _sow_rates(doc, judge), "clauses": _sow_clauses(doc, judge)}


# -- Subcontractor invoice ------------------------------------------------------------------------------------------

_LINE_ITEM_FIELDS: tuple[tuple[str, str, str, FieldKind, str | None], ...] = (
    ("description", "ITEM", "Description", "text", None),
    ("quantity", "QUANTITY", "Quantity", "text", None),
    ("unit_price", "UNIT_PRICE", "Unit price", "amount", "amount"),
    ("amount", "PRICE", "Amount", "amount", "amount"),
)


def _invoice_lines(invoice: ExpenseDocument, judge: _Judge) -> list[Record]:
    records: list[Record] = []
    for item in invoice.line_items:
        record: Record = {}
        for name, expense_type, label, kind, check in _LINE_ITEM_FIELDS:
            found = [f for f in item.fields if f.type == expense_type and f.value.strip()]
            if found or name in {"description", "amount"}:
                spec = FieldSpec(
                    name=name,
                    label=f"Line {len(records) + 1}: {label}",
                    kind=kind,
                    check=check,
                    required=name == "amount",
                )
                record[name] = judge.field(
                    spec,
                    [Candidate(" ".join(f.value.split()), f.confidence, f.page, "expense") for f in found],
                )
        records.append(record)
    return records


def _amount(field: ExtractedField | None) -> Decimal | None:
    if field is None or field.text is None or field.valid is False:
        return None
    return parse_amount(field.text)


def _currency_of_amounts(doc: NormalizedDocument, profile: Profile) -> list[Candidate]:
    """The currency the total (else the subtotal or the tax) is printed with: "€ 1.234,56", "1.234,56 EUR"."""
    for name in ("total", "subtotal", "tax"):
        for candidate in find_candidates(profile.spec(name), doc):
            code = amount_currency(candidate.value)
            if code is not None:
                return [Candidate(code, candidate.confidence, candidate.page, "derived")]
    return []


def _invoice(
    doc: NormalizedDocument, profile: Profile, judge: _Judge
) -> tuple[dict[str, ExtractedField], dict[str, list[Record]]]:
    vendor_names = [candidate.value for candidate in find_candidates(profile.spec("vendor_name"), doc)]
    judge.locale = judge.settings.locale_for(*vendor_names)
    fields, _ = _generic(doc, profile, judge)
    lines: list[Record] = []
    currency: list[Candidate] = []
    if doc.expense_documents:
        invoice = doc.expense_documents[0]
        if len(doc.expense_documents) > 1:
            judge.reasons.append(
                f"the file holds {len(doc.expense_documents)} invoices; only the first was read"
            )
        currency = [
            Candidate(f.currency, f.confidence, f.page, "expense")
            for f in invoice.fields_of("TOTAL") + invoice.fields_of("AMOUNT_DUE")
            if f.currency
        ][:1]
        lines = _invoice_lines(invoice, judge)
    fields["currency"] = judge.field(profile.spec("currency"), currency or _currency_of_amounts(doc, profile))
    total, subtotal, tax = (_amount(fields.get(name)) for name in ("total", "subtotal", "tax"))
    line_sum = sum(
        (a for a in (_amount(record.get("amount")) for record in lines) if a is not None), Decimal(0)
    )
    if lines and total is not None:
        expected = subtotal if subtotal is not None else (total - tax if tax is not None else total)
        if line_sum != expected:
            target = "subtotal" if subtotal is not None else "total"
            fields[target] = judge.flag(
                fields[target], f"the line items add up to {line_sum}, not {expected}"
            )
    if subtotal is not None and tax is not None and total is not None and subtotal + tax != total:
        fields["total"] = judge.flag(fields["total"], f"subtotal plus tax is {subtotal + tax}, not {total}")
    return fields, {"line_items": lines}


__all__ = [
    "DEFAULT_THRESHOLDS",
    "DOCUMENT_TYPES",
    "PROFILES",
    "W9_CLASSIFICATION_BY_EXPORT",
    "Candidate",
    "DocumentLocale",
    "DocumentTypeName",
    "ExtractionSettings",
    "FieldKind",
    "FieldSpec",
    "Profile",
    "apply_profile",
    "find_candidates",
    "normalized_key",
    "profile_for",
]
