"""Statements of work as PDF files, and the contract facts read back from their text.

The demo and the tests need SOWs that look like the ones clients sign: parties, dates, fees by role or by
milestone, payment terms and numbered clauses, some of them risky. ``sow_pdf`` writes one from a ``SowSpec``
with a small PDF writer of its own (standard Helvetica, so no font is embedded and nothing new is installed),
and ``parse_sow_text`` turns the text an extractor gets back (pypdf's ``extract_text``) into ``SowFacts``:
the figures the workflow checks and the clauses ``contract_risk`` reads.

The writer is deterministic: the same spec gives the same bytes, so a document's SHA-256 is stable.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Literal, Self

from pydantic import ConfigDict, Field, model_validator

from backoffice.models import BillingModel, Contract, CurrencyCode, Document, Milestone
from backoffice.models.envelope import JsonModel
from backoffice.onboarding.contract_risk import (
    Clause,
    ContractFigures,
    RiskRule,
    number_in_words,
    payment_terms_days_in,
    split_sentences,
)
from backoffice.onboarding.project_setup import months_in_term


class _Frozen(JsonModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


# ------------------------------------------------------------------------------------------------------------
# Roles and numbers as a SOW writes them
# ------------------------------------------------------------------------------------------------------------


def role_key(title: str) -> str:
    """``"Senior Consultant"`` -> ``"senior_consultant"``: the role id workers and rate cards use."""
    return re.sub(r"[^a-z0-9]+", "_", title.lower()).strip("_")


def role_title(key: str) -> str:
    """``"senior_consultant"`` -> ``"Senior Consultant"``: the role as a SOW prints it."""
    return " ".join(word.capitalize() for word in key.split("_"))


def _spelled(number: int) -> str:
    """``"thirty (30)"``: how contracts write a number a reader must not misread."""
    return f"{number_in_words(number)} ({number})"


def _money(currency: str, amount: Decimal) -> str:
    return f"{currency} {amount:,.2f}"


def _long_date(day: date) -> str:
    return f"{day:%B} {day.day}, {day.year}"


def _quantity(value: Decimal) -> str:
    return f"{value.normalize():f}"


# ------------------------------------------------------------------------------------------------------------
# The SOW to write
# ------------------------------------------------------------------------------------------------------------


class RoleLine(_Frozen):
    role: str = Field(min_length=1)  # role id: "senior_consultant"
    rate: Decimal = Field(ge=0)  # per hour
    hours: Decimal = Field(ge=0)


class MilestoneLine(_Frozen):
    name: str = Field(min_length=1)
    amount: Decimal = Field(ge=0)
    due_date: date


class SowSpec(_Frozen):
    """What a generated SOW says. Nothing is refused that a real SOW could get wrong (a fixed fee without
    milestones, an end before the start): the workflow must catch those, so the demo must be able to send them.

    ``risks`` chooses the risky clauses, by the ``contract_risk`` rule each should raise. Payment terms and
    governing law are facts of their own: ``payment_terms_over_limit`` sets 90 days unless
    ``payment_terms_days`` says otherwise, and ``governing_law_not_allowed`` sets the Cayman Islands unless
    ``governing_law`` does.
    """

    title: str = Field(min_length=1)
    firm_name: str = Field(min_length=1)
    client_legal_name: str = Field(min_length=1)
    effective_date: date
    end_date: date
    billing_model: BillingModel
    currency: CurrencyCode = "USD"
    roles: tuple[RoleLine, ...] = ()
    fixed_fee: Decimal | None = Field(default=None, ge=0)
    milestones: tuple[MilestoneLine, ...] = ()
    monthly_retainer_fee: Decimal | None = Field(default=None, ge=0)
    not_to_exceed: Decimal | None = Field(default=None, ge=0)
    payment_terms_days: int | None = Field(default=None, ge=0, le=365)
    governing_law: str | None = None
    scope: str = "the services described in this SOW"
    risks: frozenset[RiskRule] = frozenset()

    @model_validator(mode="after")
    def _risks_consistent(self) -> Self:
        days = self.payment_terms_days
        if "payment_terms_over_limit" in self.risks and days is not None and days <= 60:
            raise ValueError("payment_terms_over_limit needs payment terms over 60 days")
        if "payment_terms_over_limit" not in self.risks and days is not None and days > 60:
            raise ValueError("payment terms over 60 days are a risk: add payment_terms_over_limit to risks")
        return self

    @property
    def terms_days(self) -> int:
        if self.payment_terms_days is not None:
            return self.payment_terms_days
        return 90 if "payment_terms_over_limit" in self.risks else 30

    @property
    def law(self) -> str:
        if self.governing_law is not None:
            return self.governing_law
        return "the Cayman Islands" if "governing_law_not_allowed" in self.risks else "the State of New York"


Style = Literal["title", "subtitle", "heading", "body", "line"]


@dataclass(frozen=True)
class Block:
    """A paragraph of the document: body text wraps; a heading stays with what follows it."""

    style: Style
    text: str


@dataclass(frozen=True)
class _Section:
    heading: str
    paragraphs: tuple[Block, ...]


def _body(*texts: str) -> tuple[Block, ...]:
    return tuple(Block("body", text) for text in texts)


def _fees(spec: SowSpec) -> tuple[Block, ...]:
    blocks: list[Block] = []
    cur = spec.currency
    if spec.billing_model == "time_and_materials":
        blocks.append(
            Block(
                "body", "Consultant shall provide the Services on a time-and-materials basis at these rates:"
            )
        )
    elif spec.billing_model == "fixed_fee":
        fee = _money(cur, spec.fixed_fee) if spec.fixed_fee is not None else "as set out below"
        blocks.append(Block("line", f"Fixed Fee: {fee}, invoiced on acceptance of each milestone."))
        for number, milestone in enumerate(spec.milestones, start=1):
            blocks.append(
                Block(
                    "line",
                    f"Milestone {number}: {milestone.name}  Amount: {_money(cur, milestone.amount)}  "
                    f"Due: {_long_date(milestone.due_date)}",
                )
            )
    else:
        fee = (
            _money(cur, spec.monthly_retainer_fee)
            if spec.monthly_retainer_fee is not None
            else "to be agreed"
        )
        blocks.append(
            Block(
                "line",
                f"Monthly Retainer: {fee} per month, invoiced in advance on the first day of each month.",
            )
        )
    if spec.roles and spec.billing_model != "time_and_materials":
        blocks.append(Block("body", "Staffing plan, and rates for work outside the scope of this SOW:"))
    for line in spec.roles:
        blocks.append(
            Block(
                "line",
                f"Role: {role_title(line.role)}  Rate: {_money(cur, line.rate)} per hour  Hours: {_quantity(line.hours)}",
            )
        )
    if spec.not_to_exceed is not None:
        blocks.append(Block("line", f"Not-to-Exceed: {_money(cur, spec.not_to_exceed)}"))
    blocks.append(Block("body", f"All amounts are in {cur} and exclude applicable taxes."))
    return tuple(blocks)


def _sections(spec: SowSpec) -> list[_Section]:
    """The numbered clauses, safe or risky as ``spec.risks`` asks; Limitation of Liability is Section 7."""
    risky = spec.risks.__contains__
    cur = spec.currency
    days = spec.terms_days
    term = (
        _body(
            "This SOW shall automatically renew for successive one (1) year terms unless either party gives the "
            "other ninety (90) days' prior written notice of non-renewal."
        )
        if risky("auto_renewal_long_notice")
        else _body(
            "This SOW starts on the Effective Date and ends on the End Date unless terminated earlier under "
            "Section 10.",
            "This SOW shall not renew automatically; any extension requires a signed change order.",
        )
    )
    payment = (
        Block("line", f"Payment Terms: Net {days} days."),
        Block("body", f"Client shall pay each undisputed invoice within {_spelled(days)} days of receipt."),
        Block("body", "Consultant invoices monthly in arrears unless Section 3 says otherwise."),
    )
    months = 24 if risky("non_solicit_over_limit") else 12
    personnel = _body(
        f"During the term and for {_spelled(months)} months thereafter, neither party shall solicit for "
        "employment any employee of the other party who worked on the Services.",
        "General advertisements not aimed at those employees are permitted.",
    )
    ip = (
        _body(
            "Consultant hereby assigns to Client all right, title and interest in all Deliverables and work "
            "product, including any Pre-Existing IP incorporated in them."
        )
        if risky("ip_assignment_without_carve_out")
        else _body(
            "Upon full payment, Consultant assigns to Client all right, title and interest in the Deliverables, "
            "except for Consultant's Pre-Existing IP.",
            "Consultant grants Client a perpetual licence to use any Pre-Existing IP incorporated in the "
            "Deliverables.",
        )
    )
    cap_months = 6 if risky("liability_cap_below_minimum") else 12
    liability = _body(
        "Neither party shall be liable for indirect, incidental or consequential damages.",
        "Each party's aggregate liability under this SOW shall not exceed the fees paid or payable in the "
        f"{_spelled(cap_months)} months preceding the claim.",
        "The foregoing limitations shall not apply to liability for fraud or wilful misconduct.",
    )
    indemnity = (
        _body(
            "Consultant shall indemnify Client against all claims, losses and expenses arising from the Services.",
            "The limitations in Section 7 shall not apply to Consultant's indemnification obligations, which "
            "shall be unlimited.",
        )
        if risky("uncapped_liability")
        else _body(
            "Each party shall indemnify the other against third-party claims arising from its breach of this "
            "SOW, subject to the limitations in Section 7."
        )
    )
    insurance = (
        _body(
            f"Consultant shall maintain professional liability insurance of not less than {cur} 10,000,000 per "
            f"claim and cyber liability insurance of not less than {cur} 10,000,000 per claim."
        )
        if risky("insurance_above_cover")
        else _body(
            f"Consultant shall maintain commercial general liability insurance of {cur} 2,000,000 per occurrence "
            f"and professional liability insurance of {cur} 5,000,000 per claim."
        )
    )
    termination = (
        _body(
            "Client may terminate this SOW for convenience at any time on five (5) days' notice, without any "
            "payment for Deliverables not yet accepted."
        )
        if risky("termination_for_convenience")
        else _body(
            "Either party may terminate this SOW for convenience on thirty (30) days' written notice.",
            "Client shall pay Consultant for Services performed and expenses incurred up to the effective date "
            "of termination.",
        )
    )
    law = _body(
        f"This SOW is governed by the laws of {spec.law}, without regard to its conflict of laws rules."
    )
    pricing = (
        _body(
            "Consultant shall extend to Client most-favoured-customer pricing for the Services during the term."
        )
        if risky("most_favoured_nation")
        else _body("The rates in Section 3 are fixed for the term of this SOW.")
    )
    relationship = (
        _body("During the term, Consultant shall not provide similar services to any competitor of Client.")
        if risky("exclusivity_or_non_compete")
        else _body("This SOW is non-exclusive: either party may work with others.")
    )
    acceptance = _body(
        "Client shall accept or reject each Deliverable within ten (10) business days of delivery; a Deliverable "
        "not rejected in that time is accepted.",
        *(
            [
                f"If a milestone is delivered late, Consultant shall pay liquidated damages of {cur} 1,000 for each day of delay."
            ]
            if risky("liquidated_damages")
            else []
        ),
    )
    return [
        _Section("Scope of Services", _body(f'Consultant shall provide {spec.scope} (the "Services").')),
        _Section("Term", term),
        _Section("Fees", _fees(spec)),
        _Section("Invoicing and Payment", payment),
        _Section("Personnel and Non-Solicitation", personnel),
        _Section("Intellectual Property", ip),
        _Section("Limitation of Liability", liability),
        _Section("Indemnification", indemnity),
        _Section("Insurance", insurance),
        _Section("Termination", termination),
        _Section("Governing Law", law),
        _Section("Pricing", pricing),
        _Section("Relationship of the Parties", relationship),
        _Section("Acceptance", acceptance),
        _Section(
            "Order of Precedence",
            _body(
                "This SOW incorporates the terms of the Master Services Agreement between the parties; if they "
                "conflict, this SOW prevails for the Services."
            ),
        ),
    ]


_BILLING_MODEL_TEXT: dict[BillingModel, str] = {
    "time_and_materials": "Time and Materials",
    "fixed_fee": "Fixed Fee",
    "retainer": "Monthly Retainer",
}


def sow_blocks(spec: SowSpec) -> list[Block]:
    """The document, paragraph by paragraph, as it is laid out on the pages."""
    blocks = [
        Block("title", "STATEMENT OF WORK"),
        Block("subtitle", spec.title),
        Block("line", f"Consultant: {spec.firm_name}"),
        Block("line", f"Client: {spec.client_legal_name}"),
        Block("line", f"Effective Date: {_long_date(spec.effective_date)}"),
        Block("line", f"End Date: {_long_date(spec.end_date)}"),
        Block("line", f"Billing Model: {_BILLING_MODEL_TEXT[spec.billing_model]}"),
        Block("line", f"Currency: {spec.currency}"),
        Block(
            "body",
            f'This Statement of Work ("SOW") is entered into by {spec.firm_name} ("Consultant") and '
            f'{spec.client_legal_name} ("Client") under the Master Services Agreement between them.',
        ),
    ]
    for number, section in enumerate(_sections(spec), start=1):
        blocks.append(Block("heading", f"{number}. {section.heading}"))
        blocks.extend(section.paragraphs)
    return blocks


def sow_clauses(spec: SowSpec) -> list[Clause]:
    """The clauses of the SOW as ``parse_sow_text`` reads them back: what ``contract_risk`` assesses."""
    return [
        Clause(
            section=str(number),
            heading=section.heading,
            text=" ".join(" ".join(block.text for block in section.paragraphs).split()),
        )
        for number, section in enumerate(_sections(spec), start=1)
    ]


def sow_pdf(spec: SowSpec) -> bytes:
    """The SOW as a PDF file."""
    return render_pdf(sow_blocks(spec), title=f"Statement of Work - {spec.title}")


# ------------------------------------------------------------------------------------------------------------
# A minimal PDF writer: Helvetica, wrapped lines, several pages, a page footer
# ------------------------------------------------------------------------------------------------------------

# Helvetica advance widths (1/1000 em) for the printable ASCII characters 32-126, from Adobe's AFM.
_HELVETICA_WIDTHS = (
    [278, 278, 355, 556, 556, 889, 667, 191, 333, 333, 389, 584, 278, 333, 278, 278]
    + [556] * 10
    + [278, 278, 584, 584, 584, 556, 1015, 667, 667, 722, 722, 667, 611, 778, 722, 278, 500, 667, 556, 833]
    + [722, 778, 667, 778, 722, 667, 611, 722, 667, 944, 667, 667, 611, 278, 278, 278, 469, 556, 333]
    + [556, 556, 500, 556, 556, 278, 556, 556, 222, 222, 500, 222, 833, 556, 556, 556, 556, 333, 500, 278]
    + [556, 500, 722, 500, 500, 500, 334, 260, 334, 584]
)
PAGE_WIDTH, PAGE_HEIGHT, MARGIN = 612, 792, 72  # US Letter, one-inch margins
_STYLES: dict[Style, tuple[str, float, float]] = {  # font resource, size, space before
    "title": ("F2", 16, 0),
    "subtitle": ("F2", 12, 4),
    "heading": ("F2", 11, 10),
    "body": ("F1", 10, 4),
    "line": ("F1", 10, 2),
}
_BOLD_WIDTH_FACTOR = 1.08  # Helvetica-Bold runs about this much wider; headings are short


def text_width(text: str, size: float, *, bold: bool = False) -> float:
    """Width in points of ``text`` set in Helvetica at ``size``."""
    units = sum(_HELVETICA_WIDTHS[ord(c) - 32] if 32 <= ord(c) <= 126 else 556 for c in text)
    return units * size / 1000 * (_BOLD_WIDTH_FACTOR if bold else 1)


def wrap(text: str, width: float, size: float, *, bold: bool = False) -> list[str]:
    """Words into lines no wider than ``width``; a word longer than a line is cut where it must be."""
    lines: list[str] = []
    current = ""
    for word in text.split(" "):
        candidate = f"{current} {word}" if current else word
        if text_width(candidate, size, bold=bold) <= width or not current:
            current = candidate
        else:
            lines.append(current)
            current = word
        while text_width(current, size, bold=bold) > width and len(current) > 1:
            cut = len(current)
            while cut > 1 and text_width(current[:cut], size, bold=bold) > width:
                cut -= 1
            lines.append(current[:cut])
            current = current[cut:]
    if current:
        lines.append(current)
    return lines


def pdf_string(text: str) -> str:
    """A PDF literal string in WinAnsi: ``(``, ``)`` and ``\\`` escaped, bytes above ASCII as octal."""
    out = []
    for byte in text.encode("cp1252", errors="replace"):
        char = chr(byte)
        if char in "\\()":
            out.append("\\" + char)
        elif 32 <= byte < 127:
            out.append(char)
        else:
            out.append(f"\\{byte:03o}")
    return "(" + "".join(out) + ")"


def _layout(blocks: Sequence[Block]) -> list[list[tuple[str, float, float, str]]]:
    """Blocks into pages of (font, size, y, text) lines, breaking pages so a heading keeps its next line."""
    width = PAGE_WIDTH - 2 * MARGIN
    top, bottom = PAGE_HEIGHT - MARGIN, MARGIN
    pages: list[list[tuple[str, float, float, str]]] = [[]]
    y: float = top
    for index, block in enumerate(blocks):
        font, size, before = _STYLES[block.style]
        leading = size * 1.35
        lines = wrap(block.text, width, size, bold=font == "F2")
        needed = len(lines[:2]) * leading + before
        if block.style == "heading" and index + 1 < len(blocks):
            needed += 2 * leading  # never a heading alone at the foot of a page
        if y - needed < bottom and pages[-1]:
            pages.append([])
            y = top
        elif pages[-1]:
            y -= before
        for line in lines:
            if y - leading < bottom:
                pages.append([])
                y = top
            y -= leading
            pages[-1].append((font, size, y, line))
    return pages


def render_pdf(blocks: Sequence[Block], *, title: str) -> bytes:
    """A PDF 1.4 file of the blocks: Helvetica and Helvetica-Bold (standard fonts, not embedded), US Letter,
    a "Page N of M" footer. Deterministic: no creation date, so the same blocks give the same bytes."""
    pages = _layout(blocks)
    objects: list[bytes] = [b"", b""]  # 1: catalog, 2: page tree; filled in once the pages are known
    objects.append(b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>")
    objects.append(b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica-Bold /Encoding /WinAnsiEncoding >>")
    objects.append(f"<< /Title {pdf_string(title)} /Producer (backoffice sow_documents) >>".encode("latin-1"))
    kids = []
    for number, lines in enumerate(pages, start=1):
        operations = [
            f"BT /{font} {size:g} Tf {MARGIN} {y:.2f} Td {pdf_string(text)} Tj ET"
            for font, size, y, text in lines
        ]
        footer = f"Page {number} of {len(pages)}"
        operations.append(f"BT /F1 8 Tf {MARGIN} {MARGIN / 2:.2f} Td {pdf_string(footer)} Tj ET")
        stream = "\n".join(operations).encode("ascii")
        objects.append(b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream")
        content_id = len(objects)
        objects.append(
            (
                f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 {PAGE_WIDTH} {PAGE_HEIGHT}] "
                f"/Resources << /Font << /F1 3 0 R /F2 4 0 R >> >> /Contents {content_id} 0 R >>"
            ).encode("ascii")
        )
        kids.append(len(objects))
    objects[0] = b"<< /Type /Catalog /Pages 2 0 R >>"
    objects[1] = (
        f"<< /Type /Pages /Kids [{' '.join(f'{k} 0 R' for k in kids)}] /Count {len(kids)} >>".encode()
    )

    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")  # the binary comment tells tools the file is binary
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
# Reading the text back
# ------------------------------------------------------------------------------------------------------------


class SowMilestone(_Frozen):
    name: str
    amount: Decimal
    due_date: date | None = None


class SowFacts(_Frozen):
    """What a SOW's text says, as far as it could be read; a field not found is None (or empty)."""

    title: str | None = None
    firm_name: str | None = None
    client_legal_name: str | None = None
    effective_date: date | None = None
    end_date: date | None = None
    billing_model: BillingModel | None = None
    currency: str | None = None
    rates_by_role: dict[str, Decimal] = Field(default_factory=dict)
    hours_by_role: dict[str, Decimal] = Field(default_factory=dict)
    fixed_fee: Decimal | None = None
    monthly_retainer_fee: Decimal | None = None
    not_to_exceed: Decimal | None = None
    payment_terms_days: int | None = None
    milestones: list[SowMilestone] = Field(default_factory=list)
    clauses: list[Clause] = Field(default_factory=list)

    def total_fees(self) -> Decimal | None:
        """What the SOW is worth: the fixed fee, the retainer over the term, or for T&M the cap if there is
        one and else the rates times the hours."""
        if self.billing_model == "fixed_fee":
            return self.fixed_fee
        if self.billing_model == "retainer":
            if self.monthly_retainer_fee is None or self.effective_date is None or self.end_date is None:
                return None
            return self.monthly_retainer_fee * months_in_term(self.effective_date, self.end_date)
        if self.not_to_exceed is not None:
            return self.not_to_exceed
        estimate = sum(
            (rate * self.hours_by_role.get(role, Decimal(0)) for role, rate in self.rates_by_role.items()),
            Decimal(0),
        )
        return estimate or None

    def figures(self) -> ContractFigures:
        """The figures ``contract_risk`` weighs a liability cap against."""
        total = self.total_fees()
        if total is None or self.effective_date is None:
            return ContractFigures()
        return ContractFigures.for_term(total, self.effective_date, self.end_date)


_LABELS = ("Consultant", "Client", "Effective Date", "End Date", "Billing Model", "Currency")
_NEXT_LABEL = r"(?=\s+(?:" + "|".join(_LABELS) + r"):|\s+This Statement of Work|\s*$)"
_AMOUNT = r"(?P<currency>[A-Z]{3})\s*(?P<amount>\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?)"
_DATE = r"(?P<date>[A-Z][a-z]+\s+\d{1,2},\s+\d{4}|\d{1,2}\s+[A-Z][a-z]+\s+\d{4}|\d{4}-\d{2}-\d{2})"
_ROLE_LINE = re.compile(
    rf"Role:\s*(?P<role>.+?)\s+Rate:\s*{_AMOUNT}\s*per\s+hour\s+Hours:\s*(?P<hours>\d[\d,]*(?:\.\d+)?)"
)
_MILESTONE_LINE = re.compile(rf"Milestone\s+\d+:\s*(?P<name>.+?)\s+Amount:\s*{_AMOUNT}\s+Due:\s*{_DATE}")
_FIXED_FEE = re.compile(rf"Fixed\s+Fee:\s*{_AMOUNT}")
_RETAINER = re.compile(rf"Monthly\s+Retainer:\s*{_AMOUNT}")
_NOT_TO_EXCEED = re.compile(rf"Not-to-Exceed:\s*{_AMOUNT}")
_NET_DAYS = re.compile(r"Payment\s+Terms:\s*Net\s*(?P<days>\d+)")
_FOOTER = re.compile(r"^\s*Page\s+\d+\s+of\s+\d+\s*$")
_HEADING = re.compile(r"^\s*(?P<number>\d{1,2})\.\s+(?P<heading>[A-Z][A-Za-z ,&'/-]{1,79}?)\s*$")


def _decimal(text: str) -> Decimal:
    return Decimal(text.replace(",", ""))


def _parse_date(text: str) -> date | None:
    text = " ".join(text.split())
    for pattern in ("%B %d, %Y", "%d %B %Y", "%Y-%m-%d"):
        try:
            return datetime.strptime(text, pattern).date()
        except ValueError:
            continue
    return None


def _field(flat: str, label: str) -> str | None:
    match = re.search(rf"{re.escape(label)}:\s*(?P<value>.+?){_NEXT_LABEL}", flat)
    return match["value"].strip() if match else None


def _billing_model(text: str | None) -> BillingModel | None:
    folded = (text or "").casefold()
    if "time" in folded and "material" in folded:
        return "time_and_materials"
    if "fixed" in folded:
        return "fixed_fee"
    if "retainer" in folded:
        return "retainer"
    return None


def _split_sections(lines: list[str]) -> tuple[list[str], list[tuple[str, str, list[str]]]]:
    """The lines before Section 1, and each numbered section's number, heading and lines.

    A line is a heading only when it carries the next section number, so a wrapped line that happens to start
    with "12." inside a clause does not open a section.
    """
    head: list[str] = []
    sections: list[tuple[str, str, list[str]]] = []
    for line in lines:
        match = _HEADING.match(line)
        if match and int(match["number"]) == len(sections) + 1:
            sections.append((match["number"], " ".join(match["heading"].split()), []))
        elif sections:
            sections[-1][2].append(line)
        else:
            head.append(line)
    return head, sections


def parse_sow_text(text: str) -> SowFacts:
    """The contract facts of a SOW's extracted text (parties, dates, billing model, rates and hours by role,
    fees, payment terms, cap, milestones, and the clauses by section).

    Reads the layout ``sow_pdf`` writes, and is tolerant of what extraction does to it: lines wrapped at other
    places, page footers between lines, runs of spaces.
    """
    lines = [line for line in text.splitlines() if line.strip() and not _FOOTER.match(line)]
    head, sections = _split_sections(lines)
    flat_head = " ".join(" ".join(head).split())
    flat = " ".join(" ".join(lines).split())

    title_match = re.search(r"STATEMENT OF WORK\s+(?P<title>.+?)\s+Consultant:", flat_head)
    currency = _field(flat_head, "Currency")
    rates: dict[str, Decimal] = {}
    hours: dict[str, Decimal] = {}
    for match in _ROLE_LINE.finditer(flat):
        role = role_key(match["role"])
        rates[role] = _decimal(match["amount"])
        hours[role] = _decimal(match["hours"])
    milestones = [
        SowMilestone(name=m["name"].strip(), amount=_decimal(m["amount"]), due_date=_parse_date(m["date"]))
        for m in _MILESTONE_LINE.finditer(flat)
    ]
    clauses = [
        Clause(section=number, heading=heading, text=" ".join(" ".join(body).split()))
        for number, heading, body in sections
    ]

    def amount(pattern: re.Pattern[str]) -> Decimal | None:
        match = pattern.search(flat)
        return _decimal(match["amount"]) if match else None

    effective = _field(flat_head, "Effective Date")
    end = _field(flat_head, "End Date")
    return SowFacts(
        title=title_match["title"] if title_match else None,
        firm_name=_field(flat_head, "Consultant"),
        client_legal_name=_field(flat_head, "Client"),
        effective_date=_parse_date(effective) if effective else None,
        end_date=_parse_date(end) if end else None,
        billing_model=_billing_model(_field(flat_head, "Billing Model")),
        currency=currency if currency and re.fullmatch(r"[A-Z]{3}", currency) else None,
        rates_by_role=rates,
        hours_by_role=hours,
        fixed_fee=amount(_FIXED_FEE),
        monthly_retainer_fee=amount(_RETAINER),
        not_to_exceed=amount(_NOT_TO_EXCEED),
        payment_terms_days=_payment_terms(flat, clauses),
        milestones=milestones,
        clauses=clauses,
    )


def _payment_terms(flat: str, clauses: Sequence[Clause]) -> int | None:
    """ "Payment Terms: Net 45" when the SOW states it; else the first payment period a payment clause sets."""
    net = _NET_DAYS.search(flat)
    if net:
        return int(net["days"])
    for clause in clauses:
        if "payment" in clause.heading.casefold():
            for sentence in split_sentences(clause.text):
                days = payment_terms_days_in(sentence)
                if days:
                    return days[0]
    return None


# ------------------------------------------------------------------------------------------------------------
# From facts to the canonical contract
# ------------------------------------------------------------------------------------------------------------


def sow_problems(facts: SowFacts) -> list[str]:
    """What keeps the facts from becoming a ``Contract``: each a reason a person can act on."""
    problems = []
    for name in ("client_legal_name", "effective_date", "billing_model", "currency", "payment_terms_days"):
        if getattr(facts, name) is None:
            problems.append(f"the SOW's {name.replace('_', ' ')} could not be read")
    if facts.effective_date and facts.end_date and facts.end_date < facts.effective_date:
        problems.append(f"the SOW ends on {facts.end_date}, before it starts on {facts.effective_date}")
    if facts.payment_terms_days is not None and facts.payment_terms_days > 365:
        problems.append(f"payment terms of {facts.payment_terms_days} days are not plausible")
    return problems


class UnreadableSow(ValueError):
    """The SOW's facts cannot make a contract; ``problems`` says why."""

    def __init__(self, problems: Sequence[str]) -> None:
        self.problems = list(problems)
        super().__init__("; ".join(self.problems))


def contract_from_sow(
    facts: SowFacts,
    *,
    contract_id: str,
    client_id: str,
    opportunity_id: str | None = None,
    document: Document | None = None,
) -> Contract:
    """The canonical SOW contract of the facts. Raises ``UnreadableSow`` listing ``sow_problems``.

    Milestones get ids ``<contract id>-M<n>`` in the order the SOW lists them.
    """
    problems = sow_problems(facts)
    if problems:
        raise UnreadableSow(problems)
    return Contract.from_json_dict(
        {
            "id": contract_id,
            "kind": "sow",
            "client_id": client_id,
            "opportunity_id": opportunity_id,
            "title": facts.title or f"Statement of Work {contract_id}",
            "billing_model": facts.billing_model,
            "currency": facts.currency,
            "rates_by_role": {role: str(rate) for role, rate in facts.rates_by_role.items()},
            "fixed_fee": facts.fixed_fee,
            "monthly_retainer_fee": facts.monthly_retainer_fee,
            "payment_terms_days": facts.payment_terms_days,
            "effective_date": facts.effective_date,
            "end_date": facts.end_date,
            "not_to_exceed": facts.not_to_exceed,
            "milestones": [
                Milestone(
                    id=f"{contract_id}-M{number}", name=m.name, amount=m.amount, due_date=m.due_date
                ).to_json_dict()
                for number, m in enumerate(facts.milestones, start=1)
            ],
            "document": document.to_json_dict() if document else None,
        }
    )
