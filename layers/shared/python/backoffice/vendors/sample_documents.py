"""Vendor documents as PDF files, for the demo and the tests: what a vendor sends, not only the facts read from it.

Dev-only: the sample vendors (``sample_vendors``), the local runtime and the tests write documents with it; no
handler reaches it, so the Lambda layer leaves it behind (``tests/unit/test_layer_contents.py``). Reading the
facts back from what extraction makes of these files is ``backoffice.vendors.documents``' job.

- ``w9_pdf``: the real IRS Form W-9 (Rev. October 2018) filled with pypdf, signed with an ink annotation and
  dated with a free-text annotation, as a PDF editor does it. The blank form is the IRS's, not ours to ship:
  its path is passed in or named by ``BACKOFFICE_W9_FORM``, and without either ``W9FormUnavailable`` says so.
- ``certificate_pdf``: a certificate of liability insurance in the ACORD 25 layout (labelled lines, insurers
  A-F with NAIC numbers, the coverage table with one row per limit), written as positioned text
  (``sample_pdf.positioned_pdf``) since it has columns.
- ``bank_letter_pdf``: a bank's account verification letter, written as flowing paragraphs
  (``sample_pdf.flowing_pdf``, as the sample SOWs are).

Every writer is deterministic: the same facts give the same bytes.
"""

from __future__ import annotations

import functools
import io
import os
import threading
from collections.abc import Sequence
from datetime import date
from decimal import Decimal
from pathlib import Path

from pypdf import PdfReader, PdfWriter
from pypdf.annotations import FreeText
from pypdf.generic import ArrayObject, DictionaryObject, FloatObject, NameObject

from backoffice.models.entities import TAX_CLASSIFICATIONS
from backoffice.sample_pdf import (
    PAGE_HEIGHT,
    PAGE_WIDTH,
    Block,
    TextRun,
    flowing_pdf,
    positioned_pdf,
    text_width,
    wrap,
)
from backoffice.vendors.facts import (
    BankLetterFacts,
    CoverageType,
    InsuranceCertificate,
    InsurancePolicy,
    LimitName,
    W9Facts,
)

__all__ = [
    "W9_FORM_ENV",
    "W9FormUnavailable",
    "bank_letter_pdf",
    "certificate_pdf",
    "w9_form_path",
    "w9_pdf",
]

W9_FORM_ENV = "BACKOFFICE_W9_FORM"


class W9FormUnavailable(RuntimeError):
    """The blank IRS W-9 to fill was not given, or is not the fillable Rev. October 2018 form."""


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
        form_content = path.read_bytes()
    except OSError as error:
        raise W9FormUnavailable(f"the blank IRS Form W-9 {str(path)!r} cannot be read: {error}") from None
    values = tuple(_w9_values(facts, requester).items())
    return _filled_w9(path, form_content, values, facts.signed, facts.signature_date)


@functools.lru_cache(maxsize=2)
def _parsed_form(form_content: bytes) -> tuple[PdfReader, threading.Lock]:
    """The blank form parsed once per process, to clone each fill from: a clone copies the objects the reader
    has parsed (and keeps), and changes none of them, so every fill is the same bytes as from a fresh reader."""
    return PdfReader(io.BytesIO(form_content)), threading.Lock()


@functools.lru_cache(maxsize=32)
def _filled_w9(
    path: Path,
    form_content: bytes,
    values: tuple[tuple[str, str], ...],
    signed: bool,
    signature_date: date | None,
) -> bytes:
    """The blank form ``form_content`` (read from ``path``) with ``values`` in its fields, the ink signature when
    ``signed`` and the typed date. Filling costs a copy of the whole form (pypdf clones it, some 0.15 s of CPU,
    half of it parsing the form, which ``_parsed_form`` does once), and the tests and the demo send the same W-9
    again and again: each distinct one is made once per process (what it returns is bytes, which no caller can
    change)."""
    try:
        reader, lock = _parsed_form(form_content)
        # The reader parses its objects from its stream as the clone reaches them: one clone at a time.
        with lock:
            writer = PdfWriter(clone_from=reader)
        known = set(writer.get_fields() or {})
    except Exception as error:
        raise W9FormUnavailable(f"the blank IRS Form W-9 {str(path)!r} cannot be read: {error}") from None
    if _W9 + "f1_1[0]" not in known or not {name for name, _ in values} <= known:
        raise W9FormUnavailable(
            f"{str(path)!r} is not the fillable IRS Form W-9 (Rev. October 2018): its fields are not the form's"
        )
    writer.update_page_form_field_values(writer.pages[0], dict(values), auto_regenerate=False)
    if signed:
        writer.add_annotation(0, _ink_signature(_W9_SIGNATURE_RECT))
    if signature_date is not None:
        writer.add_annotation(
            0, FreeText(text=signature_date.strftime("%m/%d/%Y"), rect=_W9_DATE_RECT, font_size="10pt")
        )
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


# ------------------------------------------------------------------------------------------------------------
# Certificate of insurance in the ACORD 25 layout
# ------------------------------------------------------------------------------------------------------------

_MARGIN = 36  # ACORD forms use most of the page
# The coverage line as the certificate prints it, a long one over two rows (``documents`` recognizes a printed
# line from its first row).
_COVERAGE_TEXT: dict[CoverageType, tuple[str, ...]] = {
    "general_liability": ("COMMERCIAL GENERAL LIABILITY", "OCCUR"),
    "auto_liability": ("AUTOMOBILE LIABILITY", "ANY AUTO"),
    "umbrella_liability": ("UMBRELLA LIABILITY", "OCCUR"),
    "employers_liability": ("WORKERS COMPENSATION", "AND EMPLOYERS' LIABILITY"),
    "professional_liability": ("PROFESSIONAL LIABILITY", "(ERRORS & OMISSIONS)"),
    "cyber_liability": ("CYBER LIABILITY", "CLAIMS-MADE"),
}
# The limit boxes as ACORD 25 labels them.
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
        self.runs: list[TextRun] = []
        self.y: float = PAGE_HEIGHT - _MARGIN

    def down(self, points: float) -> None:
        self.y -= points
        if self.y < _MARGIN:
            # ACORD 25 is a one-page form: more than fits on it is a certificate nobody issues.
            raise ValueError("the certificate does not fit on one page (ACORD 25 is a one-page form)")

    def put(self, x: float, text: str, size: float = 8.0, *, bold: bool = False) -> None:
        if text:
            self.runs.append(TextRun(x, self.y, text, size, bold))

    def paragraph(self, text: str, size: float, width: float = PAGE_WIDTH - 2 * _MARGIN) -> None:
        for line in wrap(text, width, size):
            self.down(size * 1.3)
            self.put(_MARGIN, line, size)


def _certificate_runs(cert: InsuranceCertificate) -> list[TextRun]:
    page = _Page()
    page.down(16)
    page.put(_MARGIN, "CERTIFICATE OF LIABILITY INSURANCE", 14, bold=True)
    page.put(_MARGIN + 390, f"DATE (MM/DD/YYYY): {_mdy(cert.certificate_date)}", 8)
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
    right_x = _MARGIN + 300
    page.down(19)
    page.put(right_x, "INSURER(S) AFFORDING COVERAGE", 7, bold=True)
    while left or right:
        page.down(11)
        alone = bool(left) and text_width(left[0], 8) > right_x - _MARGIN - 16
        if left:
            page.put(_MARGIN, left.pop(0), 8)
        if right and not alone:
            page.put(right_x, right.pop(0), 7)

    page.down(22)
    page.put(_MARGIN, "COVERAGES", 9, bold=True)
    rows = [row for policy in cert.policies for row in _policy_rows(policy)]
    columns: list[float] = []
    x = float(_MARGIN)
    for index, header in enumerate(_HEADERS):
        columns.append(x)
        cells = [*header, *(row[index] for row in rows)]
        x += max(text_width(cell, _TABLE_SIZE, bold=cell in header) for cell in cells) + _TABLE_GAP
    if x - _TABLE_GAP > PAGE_WIDTH - _MARGIN / 2:
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
    page.put(_MARGIN, f"CERTIFICATE HOLDER: {cert.certificate_holder or ''}", 8)
    page.paragraph(
        "CANCELLATION: SHOULD ANY OF THE ABOVE DESCRIBED POLICIES BE CANCELLED BEFORE THE EXPIRATION DATE "
        "THEREOF, NOTICE WILL BE DELIVERED IN ACCORDANCE WITH THE POLICY PROVISIONS.",
        6,
    )
    page.down(14)
    page.put(_MARGIN, f"AUTHORIZED REPRESENTATIVE: {cert.producer or ''}", 7)
    page.y = _MARGIN / 2
    page.put(
        _MARGIN, "Certificate of liability insurance in the ACORD 25 layout (generated sample document)", 6
    )
    return page.runs


def certificate_pdf(cert: InsuranceCertificate) -> bytes:
    """The certificate as a one-page PDF in the ACORD 25 layout: date, producer, insured, insurers A-F with
    NAIC numbers, the coverage table (insurer letter, type, ADDL INSD, SUBR WVD, policy number, effective
    and expiry dates, one limit per row) and the certificate holder. Raises ``ValueError`` if the policies
    do not fit on the page."""
    title = f"Certificate of Liability Insurance - {cert.insured_name or 'insured'}"
    return positioned_pdf(_certificate_runs(cert), title=title, producer="backoffice vendor documents")


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
    # The producer the sample SOWs name too: the two shared one writer before it moved to ``sample_pdf``, and
    # renaming it would change every sample letter's bytes.
    title = f"Account verification - {facts.account_holder_name or bank}"
    return flowing_pdf(blocks, title=title, producer="backoffice sow_documents")
