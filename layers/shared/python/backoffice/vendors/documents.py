"""Vendor documents as PDF files, and the vendor facts read back from what extraction makes of them (issue 7).

The demo and the tests need the documents a vendor sends, not only the facts read from them, so that the
onboarding workflow runs end to end: PDF, extraction (``backoffice.extraction``), facts, checks.

- ``w9_pdf``: the real IRS Form W-9 (Rev. October 2018) filled with pypdf, signed with an ink annotation and
  dated with a free-text annotation, as a PDF editor does it. The blank form is the IRS's, not ours to ship:
  its path is passed in or named by ``BACKOFFICE_W9_FORM``, and without either ``W9FormUnavailable`` says so.
- ``certificate_pdf``: a certificate of liability insurance in the ACORD 25 layout (labelled lines, insurers
  A-F with NAIC numbers, the coverage table with one row per limit). It has columns, which the SOW writer's
  wrapped paragraphs cannot hold, so it has a small positioned-text writer of its own.
- ``bank_letter_pdf``: a bank's account verification letter, written with the SOW writer
  (``sow_documents.render_pdf``).
- ``facts_from_w9``, ``certificate_from_extraction``, ``bank_letter_from_extraction``: the profile's fields and
  records as ``W9Facts``, ``InsuranceCertificate`` and ``BankLetterFacts``. A field read below its threshold,
  or required and missing, is named in the facts' ``low_confidence_fields``, so that the checks ask a person
  to look. A document that could not be read at all (a scan, a broken file) raises ``DocumentNotRead``: it
  goes to a person whole, and nothing is made up from it.

Every writer is deterministic: the same facts give the same bytes.
"""

from __future__ import annotations

import io
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

from pypdf import PdfReader, PdfWriter
from pypdf.annotations import FreeText
from pypdf.generic import ArrayObject, DictionaryObject, FloatObject, NameObject

from backoffice.extraction.model import ExtractedField, ExtractionResult, Record
from backoffice.onboarding.sow_documents import Block, pdf_string, render_pdf, text_width, wrap
from backoffice.vendors.facts import (
    TAX_CLASSIFICATIONS,
    BankLetterFacts,
    CoverageType,
    InsuranceCertificate,
    InsurancePolicy,
    LimitName,
    W9Facts,
)

__all__ = [
    "W9_FORM_ENV",
    "DocumentNotRead",
    "W9FormUnavailable",
    "bank_letter_from_extraction",
    "bank_letter_pdf",
    "certificate_from_extraction",
    "certificate_pdf",
    "facts_from_w9",
    "w9_form_path",
    "w9_pdf",
]

W9_FORM_ENV = "BACKOFFICE_W9_FORM"


class W9FormUnavailable(RuntimeError):
    """The blank IRS W-9 to fill was not given, or is not the fillable Rev. October 2018 form."""


class DocumentNotRead(ValueError):
    """The extraction result holds no document to take facts from (wrong type, a scan, a broken file)."""

    def __init__(self, message: str, reasons: Sequence[str] = ()) -> None:
        self.reasons = list(reasons)
        super().__init__("; ".join([message, *self.reasons]))


# ------------------------------------------------------------------------------------------------------------
# Form W-9: filling the real IRS form
# ------------------------------------------------------------------------------------------------------------

_W9 = "topmostSubform[0].Page1[0]."
# The line 3 boxes are c1_1[0] to c1_1[6] in the order of TAX_CLASSIFICATIONS; each one's "on" state is /1../7.
_W9_BOXES = {
    classification: (f"{_W9}FederalClassification[0].c1_1[{index}]", f"/{index + 1}")
    for index, classification in enumerate(TAX_CLASSIFICATIONS)
}
_W9_SSN = (_W9 + "SSN[0].f1_11[0]", _W9 + "SSN[0].f1_12[0]", _W9 + "SSN[0].f1_13[0]")
_W9_EIN = (_W9 + "EmployerID[0].f1_14[0]", _W9 + "EmployerID[0].f1_15[0]")
# Part II of page 1, in PDF points: the "Signature of U.S. person" box and the space after "Date".
_W9_SIGNATURE_RECT = (130.0, 228.0, 300.0, 246.0)
_W9_DATE_RECT = (420.0, 228.0, 520.0, 242.0)
# The W-9 instructions: a payee waiting for its TIN writes "Applied For" in the space for the TIN.
_APPLIED_FOR = "Applied For"


def w9_form_path(form: str | Path | None = None) -> Path:
    """The blank W-9 to fill: ``form`` if given, else the file ``BACKOFFICE_W9_FORM`` names.

    Raises ``W9FormUnavailable`` when neither is set or the file is missing: the Lambda layer does not ship the
    IRS form (the local runtime keeps a copy for its samples: ``backoffice.local.vendor_samples.blank_w9``).
    """
    chosen = form if form is not None else os.environ.get(W9_FORM_ENV)
    if not chosen:
        raise W9FormUnavailable(
            f"no blank IRS Form W-9 to fill: pass its path or set {W9_FORM_ENV} to the fillable fw9.pdf "
            "(Rev. October 2018) from irs.gov"
        )
    path = Path(chosen)
    if not path.is_file():
        raise W9FormUnavailable(f"the blank IRS Form W-9 {str(path)!r} does not exist")
    return path


def _split_digits(value: str, widths: Sequence[int]) -> list[str]:
    """A TIN into the form's boxes (3-2-4 or 2-7); a number of the wrong length is written as it is, so
    that the checks find what the vendor wrote."""
    digits = "".join(char for char in value if char.isdigit()) or value
    parts, start = [], 0
    for index, width in enumerate(widths):
        end = len(digits) if index == len(widths) - 1 else start + width
        parts.append(digits[start:end])
        start = end
    return parts


def _w9_values(facts: W9Facts, requester: str | None) -> dict[str, str]:
    values: dict[str, str] = {}

    def put(name: str, value: str | None) -> None:
        if value:
            values[_W9 + name] = value

    put("f1_1[0]", facts.name)
    put("f1_2[0]", facts.business_name)
    for classification in dict.fromkeys(facts.tax_classifications):
        field, on_state = _W9_BOXES[classification]
        values[field] = on_state
    put("FederalClassification[0].f1_3[0]", facts.llc_tax_classification)
    put("FederalClassification[0].f1_4[0]", facts.other_classification)
    put("Exemptions[0].f1_5[0]", facts.exempt_payee_code)
    put("Exemptions[0].f1_6[0]", facts.fatca_exemption_code)
    address = facts.address
    if address is not None:
        put("Address[0].f1_7[0]", ", ".join(part for part in (address.line1, address.line2) if part))
        region_zip = " ".join(part for part in (address.region, address.postal_code) if part)
        put("Address[0].f1_8[0]", ", ".join(part for part in (address.city, region_zip) if part))
    put("f1_9[0]", requester)
    if facts.ssn is not None:
        values.update(zip(_W9_SSN, _split_digits(facts.ssn.get_secret_value(), (3, 2, 4)), strict=True))
    if facts.ein is not None:
        values.update(zip(_W9_EIN, _split_digits(facts.ein.get_secret_value(), (2, 7)), strict=True))
    if facts.ssn is None and facts.ein is None and facts.tin_applied_for:
        values[_W9_EIN[1]] = _APPLIED_FOR
    return {name: value for name, value in values.items() if value}


def _ink_signature(rect: tuple[float, float, float, float]) -> DictionaryObject:
    """An ink annotation with one stroke across the box, as a PDF editor's "sign" tool leaves one."""
    x0, y0, x1, y1 = rect
    stroke = [x0 + 4, y0 + 4, (x0 + x1) / 2, y1 - 3, (x0 + x1) / 2 + 20, y0 + 5, x1 - 6, y1 - 4]
    return DictionaryObject(
        {
            NameObject("/Type"): NameObject("/Annot"),
            NameObject("/Subtype"): NameObject("/Ink"),
            NameObject("/Rect"): ArrayObject([FloatObject(value) for value in rect]),
            NameObject("/InkList"): ArrayObject([ArrayObject([FloatObject(value) for value in stroke])]),
        }
    )


def w9_pdf(facts: W9Facts, form: str | Path | None = None, *, requester: str | None = None) -> bytes:
    """The vendor's W-9 as the real IRS form filled in: lines 1-6, the line 3 box(es), Part I and Part II.

    ``form``: the blank fillable W-9 (Rev. October 2018), else ``BACKOFFICE_W9_FORM``; see ``w9_form_path``.
    ``requester``: the optional "Requester's name and address" box. Every box in ``tax_classifications`` is
    ticked, so a wrongly filled form (two boxes) can be made too. ``signed`` adds an ink signature in Part II
    and ``signature_date`` a typed date (MM/DD/YYYY) after "Date"; a TIN "applied for" is written in the EIN
    space. Raises ``W9FormUnavailable`` when the blank form cannot be found or is not that form.
    """
    path = w9_form_path(form)
    try:
        writer = PdfWriter(clone_from=PdfReader(path))
        known = set(writer.get_fields() or {})
    except Exception as error:
        raise W9FormUnavailable(f"the blank IRS Form W-9 {str(path)!r} cannot be read: {error}") from None
    values = _w9_values(facts, requester)
    if _W9 + "f1_1[0]" not in known or not set(values) <= known:
        raise W9FormUnavailable(
            f"{str(path)!r} is not the fillable IRS Form W-9 (Rev. October 2018): its fields are not the form's"
        )
    writer.update_page_form_field_values(writer.pages[0], values, auto_regenerate=False)
    if facts.signed:
        writer.add_annotation(0, _ink_signature(_W9_SIGNATURE_RECT))
    if facts.signature_date is not None:
        writer.add_annotation(
            0, FreeText(text=facts.signature_date.strftime("%m/%d/%Y"), rect=_W9_DATE_RECT, font_size="10pt")
        )
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


# ------------------------------------------------------------------------------------------------------------
# A page of positioned text (the certificate's columns)
# ------------------------------------------------------------------------------------------------------------

PAGE_WIDTH, PAGE_HEIGHT, MARGIN = 612, 792, 36  # US Letter; ACORD forms use most of the page


@dataclass(frozen=True)
class _Text:
    """One run of text with its baseline's left end, in PDF points from the bottom left of the page."""

    x: float
    y: float
    text: str
    size: float = 8.0
    bold: bool = False


def _font(base: str, bold: bool) -> bytes:
    # Glyph widths let a reader measure the runs (and so tell columns apart) as they are printed.
    widths = " ".join(f"{text_width(chr(code), 1000, bold=bold):.0f}" for code in range(32, 127))
    return (
        f"<< /Type /Font /Subtype /Type1 /BaseFont /{base} /Encoding /WinAnsiEncoding "
        f"/FirstChar 32 /LastChar 126 /Widths [{widths}] >>"
    ).encode("ascii")


def _positioned_pdf(runs: Sequence[_Text], *, title: str) -> bytes:
    """A one-page PDF 1.4 file of the runs: Helvetica and Helvetica-Bold (standard fonts, not embedded).
    Deterministic: no creation date, so the same runs give the same bytes."""
    operations = [
        f"BT /{'F2' if run.bold else 'F1'} {run.size:g} Tf {run.x:.2f} {run.y:.2f} Td {pdf_string(run.text)} Tj ET"
        for run in runs
    ]
    stream = "\n".join(operations).encode("ascii")
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [7 0 R] /Count 1 >>",
        _font("Helvetica", bold=False),
        _font("Helvetica-Bold", bold=True),
        f"<< /Title {pdf_string(title)} /Producer (backoffice vendor documents) >>".encode("latin-1"),
        b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream",
        (
            f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 {PAGE_WIDTH} {PAGE_HEIGHT}] "
            "/Resources << /Font << /F1 3 0 R /F2 4 0 R >> >> /Contents 6 0 R >>"
        ).encode("ascii"),
    ]
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += f"{number} 0 obj\n".encode() + body + b"\nendobj\n"
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    out += b"".join(f"{offset:010d} 00000 n \n".encode() for offset in offsets)
    out += f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R /Info 5 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    return bytes(out)


# ------------------------------------------------------------------------------------------------------------
# Certificate of insurance in the ACORD 25 layout
# ------------------------------------------------------------------------------------------------------------

# The coverage line as the certificate prints it (a long one over two rows), and how a printed line is
# recognized from its first row (most specific first).
_COVERAGE_TEXT: dict[CoverageType, tuple[str, ...]] = {
    "general_liability": ("COMMERCIAL GENERAL LIABILITY", "OCCUR"),
    "auto_liability": ("AUTOMOBILE LIABILITY", "ANY AUTO"),
    "umbrella_liability": ("UMBRELLA LIABILITY", "OCCUR"),
    "employers_liability": ("WORKERS COMPENSATION", "AND EMPLOYERS' LIABILITY"),
    "professional_liability": ("PROFESSIONAL LIABILITY", "(ERRORS & OMISSIONS)"),
    "cyber_liability": ("CYBER LIABILITY", "CLAIMS-MADE"),
}
_COVERAGE_PATTERNS: tuple[tuple[str, CoverageType], ...] = (
    (r"cyber|network security|privacy", "cyber_liability"),
    (r"professional|errors|omissions|\be\s*&\s*o\b", "professional_liability"),
    (r"workers|employer", "employers_liability"),
    (r"umbrella|excess", "umbrella_liability"),
    (r"auto", "auto_liability"),
    (r"general liab|commercial general|\bcgl\b", "general_liability"),
)
# The limit boxes as ACORD 25 labels them, and how a label read back (as the profile keys it: lower case,
# words joined by "_") is recognized. "E.L." loses its dots in the profile's limit names, so employer's
# liability limits are told apart by their own words.
_LIMIT_TEXT: dict[LimitName, str] = {
    "each_occurrence": "EACH OCCURRENCE",
    "damage_to_rented_premises": "DAMAGE TO RENTED PREMISES",
    "medical_expense": "MED EXP (Any one person)",
    "personal_advertising_injury": "PERSONAL & ADV INJURY",
    "general_aggregate": "GENERAL AGGREGATE",
    "products_completed_operations_aggregate": "PRODUCTS - COMP/OP AGG",
    "combined_single_limit": "COMBINED SINGLE LIMIT",
    "el_each_accident": "E.L. EACH ACCIDENT",
    "el_disease_each_employee": "E.L. DISEASE - EA EMPLOYEE",
    "el_disease_policy_limit": "E.L. DISEASE - POLICY LIMIT",
    "each_claim": "EACH CLAIM",
    "aggregate": "AGGREGATE",
}
_LIMIT_PATTERNS: tuple[tuple[str, LimitName], ...] = (
    (r"occurrence$", "each_occurrence"),
    (r"rented|premises", "damage_to_rented_premises"),
    (r"^med", "medical_expense"),
    (r"personal|adv", "personal_advertising_injury"),
    (r"^gen", "general_aggregate"),
    (r"products|comp_op", "products_completed_operations_aggregate"),
    (r"combined|single_limit", "combined_single_limit"),
    (r"disease.*(employee|ea_emp)", "el_disease_each_employee"),
    (r"disease.*policy", "el_disease_policy_limit"),
    (r"each_accident", "el_each_accident"),
    (r"each_claim|per_claim", "each_claim"),
    (r"aggregate", "aggregate"),
)
_TABLE_SIZE = 6.0
# Columns further apart than two font sizes, the gap at which a reader of the text layer splits a row into
# cells (the fonts carry their glyph widths, so it measures the gap as printed).
_TABLE_GAP = 2.5 * _TABLE_SIZE
_HEADERS = (
    ("INSR", "LTR"),
    ("TYPE OF INSURANCE", ""),
    ("ADDL", "INSD"),
    ("SUBR", "WVD"),
    ("POLICY NUMBER", ""),
    ("POLICY EFF", "(MM/DD/YYYY)"),
    ("POLICY EXP", "(MM/DD/YYYY)"),
    ("LIMITS", ""),
    ("", ""),
)


def _mdy(day: date | None) -> str:
    return day.strftime("%m/%d/%Y") if day is not None else ""


def _dollars(amount: Decimal) -> str:
    return f"$ {amount:,.0f}" if amount == amount.to_integral_value() else f"$ {amount:,.2f}"


def _yes_no(flag: bool) -> str:
    return "Y" if flag else "N"


def _policy_rows(policy: InsurancePolicy) -> list[list[str]]:
    """A policy's rows of the coverage table: the policy on the first, then one limit per row."""
    limits = [(_LIMIT_TEXT[name], _dollars(amount)) for name, amount in policy.limits.items()]
    coverage = _COVERAGE_TEXT[policy.coverage]
    rows = [
        [
            policy.insurer_letter or "",
            coverage[0],
            _yes_no(policy.additional_insured),
            _yes_no(policy.subrogation_waived),
            policy.policy_number or "",
            _mdy(policy.effective_date),
            _mdy(policy.expiry_date),
        ]
    ]
    rows += [["", line, "", "", "", "", ""] for line in coverage[1:]]
    rows += [[""] * 7 for _ in range(len(limits) - len(rows))]
    return [row + list(limits[index] if index < len(limits) else ("", "")) for index, row in enumerate(rows)]


class _Page:
    """A cursor down one page of runs."""

    def __init__(self) -> None:
        self.runs: list[_Text] = []
        self.y: float = PAGE_HEIGHT - MARGIN

    def down(self, points: float) -> None:
        self.y -= points
        if self.y < MARGIN:
            # ACORD 25 is a one-page form: more than fits on it is a certificate nobody issues.
            raise ValueError("the certificate does not fit on one page (ACORD 25 is a one-page form)")

    def put(self, x: float, text: str, size: float = 8.0, *, bold: bool = False) -> None:
        if text:
            self.runs.append(_Text(x, self.y, text, size, bold))

    def paragraph(self, text: str, size: float, width: float = PAGE_WIDTH - 2 * MARGIN) -> None:
        for line in wrap(text, width, size):
            self.down(size * 1.3)
            self.put(MARGIN, line, size)


def _certificate_runs(cert: InsuranceCertificate) -> list[_Text]:
    page = _Page()
    page.down(16)
    page.put(MARGIN, "CERTIFICATE OF LIABILITY INSURANCE", 14, bold=True)
    page.put(MARGIN + 390, f"DATE (MM/DD/YYYY): {_mdy(cert.certificate_date)}", 8)
    page.paragraph(
        "THIS CERTIFICATE IS ISSUED AS A MATTER OF INFORMATION ONLY AND CONFERS NO RIGHTS UPON THE HOLDER. "
        "THIS CERTIFICATE DOES NOT AFFIRMATIVELY OR NEGATIVELY AMEND, EXTEND OR ALTER THE COVERAGE AFFORDED "
        "BY THE POLICIES BELOW.",
        6,
    )

    # Producer and insured on the left; the insurers affording coverage on the right, row for row. A left
    # line too long for its column takes the row alone: run into an insurer's line, it would read as one.
    left = [f"PRODUCER: {cert.producer or ''}", "", f"INSURED: {cert.insured_name or ''}"]
    if cert.insured_address is not None:
        address = cert.insured_address
        left += [part for part in (address.line1, address.line2) if part]
        left.append(f"{address.city}, {address.region or ''} {address.postal_code or ''}".strip())
    right = [
        f"INSURER {insurer.letter}: {insurer.name}"
        + (f", NAIC # {insurer.naic_number}" if insurer.naic_number else "")
        for insurer in sorted(cert.insurers, key=lambda insurer: insurer.letter)
    ]
    right_x = MARGIN + 300
    page.down(19)
    page.put(right_x, "INSURER(S) AFFORDING COVERAGE", 7, bold=True)
    while left or right:
        page.down(11)
        alone = bool(left) and text_width(left[0], 8) > right_x - MARGIN - 16
        if left:
            page.put(MARGIN, left.pop(0), 8)
        if right and not alone:
            page.put(right_x, right.pop(0), 7)

    page.down(22)
    page.put(MARGIN, "COVERAGES", 9, bold=True)
    rows = [row for policy in cert.policies for row in _policy_rows(policy)]
    columns: list[float] = []
    x = float(MARGIN)
    for index, header in enumerate(_HEADERS):
        columns.append(x)
        cells = [*header, *(row[index] for row in rows)]
        x += max(text_width(cell, _TABLE_SIZE, bold=cell in header) for cell in cells) + _TABLE_GAP
    if x - _TABLE_GAP > PAGE_WIDTH - MARGIN / 2:
        raise ValueError("the coverage table is wider than the page")
    page.down(14)
    for header_row in zip(*_HEADERS, strict=True):
        for column, text in zip(columns, header_row, strict=True):
            page.put(column, text, _TABLE_SIZE, bold=True)
        page.down(_TABLE_SIZE * 1.4)
    for policy in cert.policies:
        page.down(_TABLE_SIZE * 0.6)  # a little space between policies, as ACORD's ruled boxes give
        for row in _policy_rows(policy):
            for column, text in zip(columns, row, strict=True):
                page.put(column, text, _TABLE_SIZE)
            page.down(_TABLE_SIZE * 1.4)

    page.down(24)
    page.paragraph(
        "DESCRIPTION OF OPERATIONS / LOCATIONS / VEHICLES: The certificate holder is included as additional "
        "insured where required by written contract, for the vendor's services to the certificate holder.",
        7,
    )
    page.down(14)
    page.put(MARGIN, f"CERTIFICATE HOLDER: {cert.certificate_holder or ''}", 8)
    page.paragraph(
        "CANCELLATION: SHOULD ANY OF THE ABOVE DESCRIBED POLICIES BE CANCELLED BEFORE THE EXPIRATION DATE "
        "THEREOF, NOTICE WILL BE DELIVERED IN ACCORDANCE WITH THE POLICY PROVISIONS.",
        6,
    )
    page.down(14)
    page.put(MARGIN, f"AUTHORIZED REPRESENTATIVE: {cert.producer or ''}", 7)
    page.y = MARGIN / 2
    page.put(
        MARGIN, "Certificate of liability insurance in the ACORD 25 layout (generated sample document)", 6
    )
    return page.runs


def certificate_pdf(cert: InsuranceCertificate) -> bytes:
    """The certificate as a one-page PDF in the ACORD 25 layout: date, producer, insured, insurers A-F with
    NAIC numbers, the coverage table (insurer letter, type, ADDL INSD, SUBR WVD, policy number, effective
    and expiry dates, one limit per row) and the certificate holder. Raises ``ValueError`` if the policies
    do not fit on the page."""
    title = f"Certificate of Liability Insurance - {cert.insured_name or 'insured'}"
    return _positioned_pdf(_certificate_runs(cert), title=title)


# ------------------------------------------------------------------------------------------------------------
# Bank letter
# ------------------------------------------------------------------------------------------------------------


def _long_date(day: date) -> str:
    return f"{day:%B} {day.day}, {day.year}"


def bank_letter_pdf(facts: BankLetterFacts) -> bytes:
    """The bank's account verification letter: letterhead, date, the account holder, routing and account
    numbers and the account type as labelled lines, and the bank officer's sign-off."""
    bank = facts.bank_name or "The bank"
    kind = f"{facts.account_type.capitalize()} account" if facts.account_type else None
    blocks = [Block("title", bank), Block("line", "Commercial Banking - Account Services")]
    if facts.letter_date is not None:
        blocks.append(Block("line", _long_date(facts.letter_date)))
    blocks += [
        Block("body", "To whom it may concern:"),
        Block("heading", "Re: Account verification"),
        Block(
            "body",
            f"At the request of our client, {bank} confirms that the account below is open and in good "
            "standing, and may receive payments by ACH credit or wire transfer.",
        ),
    ]
    labelled = (
        ("Account Holder", facts.account_holder_name),
        ("ABA Routing Number", facts.routing_number.get_secret_value() if facts.routing_number else None),
        ("Account Number", facts.account_number.get_secret_value() if facts.account_number else None),
        ("Account Type", kind),
    )
    blocks += [Block("line", f"{label}: {value}") for label, value in labelled if value]
    blocks += [
        Block(
            "body",
            "This letter confirms the account details only; it is no guarantee of any balance or credit. "
            "Please call our client services team with any question about it.",
        ),
        Block("body", "Sincerely,"),
        Block("line", "Client Services Officer"),
        Block("line", bank),
    ]
    return render_pdf(blocks, title=f"Account verification - {facts.account_holder_name or bank}")


# ------------------------------------------------------------------------------------------------------------
# From extraction results to vendor facts
# ------------------------------------------------------------------------------------------------------------


def _require(result: ExtractionResult, document_type: str) -> None:
    if result.document_type != document_type:
        raise DocumentNotRead(f"expected a {document_type} extraction, got {result.document_type!r}")
    if result.status in ("error", "needs_ocr"):
        raise DocumentNotRead(
            f"the {document_type} document could not be read ({result.status})", result.reasons
        )


def _doubtful(field: ExtractedField | None) -> bool:
    """Read below its threshold, or required and not found: a person must confirm it."""
    if field is None or field.text is None:
        return field is not None and field.required
    return field.confidence is not None and field.threshold is not None and field.confidence < field.threshold


def _clean(field: ExtractedField | None) -> str | None:
    text = field.text if field is not None else None
    return " ".join(text.split()) if text and text.strip() else None


class _Reader:
    """The values of one extraction's fields (or of one of its records) for the facts, naming in ``doubtful``
    each fact a person must confirm: read below its threshold, required and missing, or read but unusable
    (a date that is not one, a name too long for the model)."""

    def __init__(self, fields: Mapping[str, ExtractedField], doubtful: list[str], prefix: str = "") -> None:
        self.fields, self.doubtful, self.prefix = fields, doubtful, prefix

    def note(self, *facts: str) -> None:
        self.doubtful.extend(self.prefix + fact for fact in facts)

    def text(self, name: str, fact: str, *, max_length: int = 300) -> str | None:
        field = self.fields.get(name)
        value = _clean(field)
        usable = value if value is None or len(value) <= max_length else None
        if _doubtful(field) or usable != value:
            self.note(fact)
        return usable

    def date(self, name: str, fact: str) -> str | None:
        """The date as ISO text (the profile normalizes a valid date to it)."""
        field = self.fields.get(name)
        value = _clean(field)
        parsed = None
        if value is not None and field is not None and field.valid is not False:
            try:
                parsed = date.fromisoformat(value).isoformat()
            except ValueError:
                parsed = None
        if _doubtful(field) or (value is not None and parsed is None):
            self.note(fact)
        return parsed

    def flag(self, name: str, fact: str) -> bool:
        """An ACORD Y/N box: ticked when read as Y."""
        return self.text(name, fact) == "Y"

    def letter(self, name: str, fact: str) -> str | None:
        letter = (self.text(name, fact) or "").upper()
        return letter if letter in ("A", "B", "C", "D", "E", "F") else None


# ---- W-9

_UNIT = re.compile(
    r"^(suite|ste\.?|apt\.?|apartment|unit|floor|fl\.?|room|rm\.?|bldg\.?|building|#)\s*\S", re.I
)
_CITY_STATE_ZIP = re.compile(r"^(?P<city>.+?),?\s+(?P<region>[A-Z]{2})\.?\s+(?P<zip>\d{5}(?:-?\d{4})?)$")


def _w9_address(street: str | None, place: str | None) -> dict[str, Any] | None:
    """Lines 5 and 6 as an address: the street, with a suite or floor after its last comma as line 2, and
    "City, ST 12345". A line 6 not in that form stays whole in the city, so that the W-9 check asks for the
    state and ZIP code."""
    if street is None or place is None:
        return None
    line1, line2 = street, None
    head, comma, tail = street.rpartition(",")
    if comma and head.strip() and _UNIT.match(tail.strip()):
        line1, line2 = head.strip(), tail.strip()
    match = _CITY_STATE_ZIP.match(place)
    if match is None:
        return {"line1": line1, "line2": line2, "city": place, "country": "US"}
    return {
        "line1": line1,
        "line2": line2,
        "city": match["city"].strip(" ,"),
        "region": match["region"],
        "postal_code": match["zip"],
        "country": "US",
    }


def _as_printed(tin: str, tin_type: str | None) -> str:
    """Nine digits read from Part I as the boxes print them (NN-NNNNNNN, NNN-NN-NNNN); a valid TIN already
    comes so from the profile, an invalid one as bare digits."""
    digits = "".join(char for char in tin if char.isdigit())
    if len(digits) != 9 or digits != tin:
        return tin
    return f"{digits[:2]}-{digits[2:]}" if tin_type == "ein" else f"{digits[:3]}-{digits[3:5]}-{digits[5:]}"


def facts_from_w9(result: ExtractionResult) -> W9Facts:
    """The W-9 facts of a ``w9`` extraction. The TIN goes to ``ssn`` (an ITIN too) or ``ein`` by the boxes it
    was read from, "Applied For" to ``tin_applied_for``; every ticked line 3 box is listed. Raises
    ``DocumentNotRead`` for a result that holds no document (``error``, ``needs_ocr``) or is not a W-9's."""
    _require(result, "w9")
    doubtful: list[str] = []
    read = _Reader(result.fields, doubtful)

    classification = result.fields.get("tax_classification")
    if _doubtful(classification):
        read.note("tax_classifications")
    ticked = [_clean(classification), *(classification.other_values if classification else [])]
    boxes = [box for box in dict.fromkeys(ticked) if box in TAX_CLASSIFICATIONS]

    tin_field = result.fields.get("tin")
    tin, tin_type = _clean(tin_field), _clean(result.fields.get("tin_type"))
    applied_for = tin is not None and "applied" in tin.lower()
    if tin_field is not None and not applied_for:
        # A problem other than the number's own format (which the TIN check finds again) is one the facts
        # cannot show, such as both the SSN and the EIN boxes filled: a person must read Part I.
        explained = int(tin_field.valid is False) + int(_doubtful(tin_field))
        unexplained = len(tin_field.problems) > explained
        if unexplained or tin_type is None:
            read.note("ssn", "ein")
        elif _doubtful(tin_field):
            read.note("ein" if tin_type == "ein" else "ssn")
    tin = _as_printed(tin, tin_type) if tin is not None and not applied_for else None

    street = read.text("address", "address")
    place = read.text("city_state_zip", "address")
    return W9Facts.from_json_dict(
        {
            "name": read.text("name", "name"),
            "business_name": read.text("business_name", "business_name"),
            "tax_classifications": boxes,
            "llc_tax_classification": read.text(
                "llc_tax_classification", "llc_tax_classification", max_length=5
            ),
            "other_classification": read.text("other_classification", "other_classification"),
            "exempt_payee_code": read.text("exempt_payee_code", "exempt_payee_code", max_length=5),
            "fatca_exemption_code": read.text("fatca_exemption_code", "fatca_exemption_code", max_length=5),
            "address": _w9_address(street, place),
            "ssn": tin if tin_type in ("ssn", "itin") else None,
            "ein": tin if tin_type == "ein" else None,
            "tin_applied_for": applied_for,
            "signed": read.text("signature", "signed") is not None,
            "signature_date": read.date("signature_date", "signature_date"),
            "low_confidence_fields": list(dict.fromkeys(doubtful)),
        }
    )


# ---- Certificate of insurance


def _coverage(printed: str | None) -> CoverageType | None:
    folded = (printed or "").lower()
    return next((coverage for pattern, coverage in _COVERAGE_PATTERNS if re.search(pattern, folded)), None)


def _limit_name(key: str, coverage: CoverageType) -> LimitName | None:
    """A profile record key (``limit_each_occurrence``) as the limit box it stands for."""
    slug = key.removeprefix("limit_")
    name = next((name for pattern, name in _LIMIT_PATTERNS if re.search(pattern, slug)), None)
    # Employer's liability has no plain aggregate: "E.L. DISEASE - POLICY LIMIT" is its aggregate.
    return None if coverage == "employers_liability" and name == "aggregate" else name


def _policy(record: Record, doubtful: list[str], index: int) -> dict[str, Any] | None:
    read = _Reader(record, doubtful, prefix=f"policies[{index}].")
    coverage = _coverage(read.text("type", "coverage"))
    if coverage is None:
        read.note("coverage")  # a coverage line nobody can place: a person reads it
        return None
    limits: dict[str, str] = {}
    for key in record:
        name = _limit_name(key, coverage) if key.startswith("limit_") else None
        if name is not None and name not in limits:
            amount = read.text(key, f"limits.{name}")
            if amount is not None and record[key].valid is not False:
                limits[name] = amount
    return {
        "coverage": coverage,
        "insurer_letter": read.letter("letter", "insurer_letter"),
        "policy_number": read.text("number", "policy_number", max_length=60),
        "effective_date": read.date("effective_date", "effective_date"),
        "expiry_date": read.date("expiry_date", "expiry_date"),
        "additional_insured": read.flag("additional_insured", "additional_insured"),
        "subrogation_waived": read.flag("subrogation_waived", "subrogation_waived"),
        "limits": limits,
    }


def certificate_from_extraction(result: ExtractionResult) -> InsuranceCertificate:
    """The certificate of a ``coi`` extraction: its header fields, insurers A-F and one policy per policy row
    of the coverage table, each limit under the ACORD 25 box it was printed in. Doubtful values are named by
    path (``policies[0].expiry_date``); ``policies`` when no coverage table was read at all. Raises
    ``DocumentNotRead`` as ``facts_from_w9`` does."""
    _require(result, "coi")
    doubtful: list[str] = []
    read = _Reader(result.fields, doubtful)
    header = {
        "certificate_date": read.date("certificate_date", "certificate_date"),
        "producer": read.text("producer", "producer"),
        "insured_name": read.text("insured", "insured_name"),
        "certificate_holder": read.text("certificate_holder", "certificate_holder"),
    }

    insurers: list[dict[str, Any]] = []
    for record in result.records.get("insurers", []):
        insurer = _Reader(record, doubtful, prefix=f"insurers[{len(insurers)}].")
        letter, name = insurer.letter("letter", "letter"), insurer.text("name", "name")
        if letter is None or name is None or letter in {found["letter"] for found in insurers}:
            continue
        naic = insurer.text("naic", "naic_number")
        insurers.append(
            {
                "letter": letter,
                "name": name,
                "naic_number": naic if naic and re.fullmatch(r"\d{5}", naic) else None,
            }
        )

    records = result.records.get("policies", [])
    if not records:
        doubtful.append("policies")
    policies: list[dict[str, Any]] = []
    for record in records:
        policy = _policy(record, doubtful, len(policies))
        if policy is not None:
            policies.append(policy)
    return InsuranceCertificate.from_json_dict(
        {
            **header,
            "insurers": insurers,
            "policies": policies,
            "low_confidence_fields": list(dict.fromkeys(doubtful)),
        }
    )


# ---- Bank letter


def bank_letter_from_extraction(result: ExtractionResult) -> BankLetterFacts:
    """The bank letter facts of a ``bank_letter`` extraction. A routing or account number failing its format
    check is kept as read, for the bank checks to report. The profile reads no letter date, so
    ``letter_date`` stays empty. Raises ``DocumentNotRead`` as ``facts_from_w9`` does."""
    _require(result, "bank_letter")
    doubtful: list[str] = []
    read = _Reader(result.fields, doubtful)
    kind = (read.text("account_type", "account_type") or "").lower()
    return BankLetterFacts.from_json_dict(
        {
            "bank_name": read.text("bank_name", "bank_name"),
            "account_holder_name": read.text("account_holder", "account_holder_name"),
            "routing_number": read.text("routing_number", "routing_number"),
            "account_number": read.text("account_number", "account_number"),
            "account_type": kind if kind in ("checking", "savings") else None,
            "low_confidence_fields": list(dict.fromkeys(doubtful)),
        }
    )
