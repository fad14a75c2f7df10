"""Statements of work as the sample firm's clients sign them, written as PDF files for the demo and the tests.

Dev-only: the sample firm (``sample_firm``), the local runtime and the tests write SOWs with it; no handler
reaches it, so the Lambda layer leaves it behind (``tests/unit/test_layer_contents.py``). What the workflow
reads back from such a file is ``sow_documents.parse_sow_text``'s job.

A ``SowSpec`` says what the SOW holds: parties, dates, fees by role or by milestone, payment terms and numbered
clauses, some of them risky (by the ``contract_risk`` rule each should raise). ``sow_pdf`` lays it out with the
samples' PDF writer (``backoffice.sample_pdf``): the same spec gives the same bytes, so a document's SHA-256 is
stable.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Self

from pydantic import ConfigDict, Field, model_validator

from backoffice.models import BillingModel, CurrencyCode
from backoffice.models.envelope import JsonModel
from backoffice.onboarding.contract_risk import Clause, RiskRule, number_in_words
from backoffice.sample_pdf import Block, flowing_pdf


class _Frozen(JsonModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


# ------------------------------------------------------------------------------------------------------------
# Roles and numbers as a SOW writes them
# ------------------------------------------------------------------------------------------------------------


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
    # The producer keeps the name the samples were first written under: renaming it would change every
    # sample SOW's bytes, and so the SHA-256 stored with each one.
    return flowing_pdf(
        sow_blocks(spec), title=f"Statement of Work - {spec.title}", producer="backoffice sow_documents"
    )
