"""The contract facts of a statement of work, read back from its text, and the canonical contract made of them.

``parse_sow_text`` turns the text an extractor gets back from a SOW (pypdf's ``extract_text``, or Textract's
lines) into ``SowFacts``: the figures the workflow checks and the clauses ``contract_risk`` reads.
``sow_problems`` says what keeps the facts from making a ``Contract``, and ``contract_from_sow`` makes it.

The sample SOWs this reads (the demo's, the tests') are written by ``backoffice.onboarding.sample_sow``, which
the Lambda layer does not ship.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import date, datetime
from decimal import Decimal

from pydantic import ConfigDict, Field

from backoffice.models import BillingModel, Contract, Document, Milestone
from backoffice.models.envelope import JsonModel
from backoffice.onboarding.contract_risk import (
    Clause,
    ContractFigures,
    payment_terms_days_in,
    split_sentences,
)
from backoffice.onboarding.project_setup import months_in_term


class _Frozen(JsonModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def role_key(title: str) -> str:
    """``"Senior Consultant"`` -> ``"senior_consultant"``: the role id workers and rate cards use."""
    return re.sub(r"[^a-z0-9]+", "_", title.lower()).strip("_")


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

    Reads the layout ``sample_sow.sow_pdf`` writes, and is tolerant of what extraction does to it: lines
    wrapped at other places, page footers between lines, runs of spaces.
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
