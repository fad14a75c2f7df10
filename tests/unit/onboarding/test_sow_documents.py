"""Generated SOW PDFs: valid files pypdf reads, whose text parses back to the facts they were made from."""

from __future__ import annotations

import io
import textwrap
import warnings
from datetime import date
from decimal import Decimal

import pytest
from pypdf import PdfReader

from backoffice.models import BillingModel
from backoffice.onboarding.contract_risk import RULE_NAMES, RiskRule, assess_contract_risk, number_in_words
from backoffice.onboarding.sample_firm import FIRM_NAME, sample_sow_spec
from backoffice.onboarding.sample_sow import MilestoneLine, SowSpec, role_title, sow_clauses, sow_pdf
from backoffice.onboarding.sow_documents import (
    SowFacts,
    UnreadableSow,
    contract_from_sow,
    parse_sow_text,
    role_key,
    sow_problems,
)


def spec(
    billing_model: BillingModel = "time_and_materials", risks: frozenset[RiskRule] = frozenset()
) -> SowSpec:
    return sample_sow_spec(
        title="Northwind - ERP implementation, wave 1 (finance, procurement and order-to-cash)",
        client_legal_name="Northwind Logistics Inc.",
        amount=Decimal("240000"),
        start=date(2026, 11, 16),
        service_line="technology",
        billing_model=billing_model,
        risks=risks,
    )


def extract(pdf: bytes) -> str:
    """The text as the local extractor gets it."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a malformed file makes pypdf warn: fail instead
        reader = PdfReader(io.BytesIO(pdf), strict=True)
        return "\n".join(page.extract_text() for page in reader.pages)


def read_back(document: SowSpec) -> SowFacts:
    return parse_sow_text(extract(sow_pdf(document)))


@pytest.mark.parametrize("billing_model", ["time_and_materials", "fixed_fee", "retainer"])
def test_pdf_round_trips_to_the_facts_it_was_made_from(billing_model: BillingModel) -> None:
    # Given a generated SOW of each billing model
    document = spec(billing_model)
    # When written as a PDF, read with pypdf and parsed
    facts = read_back(document)
    # Then every fact comes back
    assert facts.title == document.title
    assert (facts.firm_name, facts.client_legal_name) == (FIRM_NAME, "Northwind Logistics Inc.")
    assert (facts.effective_date, facts.end_date) == (document.effective_date, document.end_date)
    assert (facts.billing_model, facts.currency, facts.payment_terms_days) == (billing_model, "USD", 30)
    assert facts.rates_by_role == {line.role: line.rate for line in document.roles}
    assert facts.hours_by_role == {line.role: line.hours for line in document.roles}
    assert facts.fixed_fee == document.fixed_fee
    assert facts.monthly_retainer_fee == document.monthly_retainer_fee
    assert facts.not_to_exceed == document.not_to_exceed
    assert [(m.name, m.amount, m.due_date) for m in facts.milestones] == [
        (m.name, m.amount, m.due_date) for m in document.milestones
    ]
    # And the clauses are the generator's, section by section
    assert facts.clauses == sow_clauses(document)
    assert [c.section for c in facts.clauses][6:7] == ["7"]
    assert facts.clauses[6].heading == "Limitation of Liability"
    assert facts.total_fees() == Decimal("240000")


def test_pdf_is_valid_multi_page_and_deterministic() -> None:
    # Given one SOW written twice
    first, second = sow_pdf(spec()), sow_pdf(spec())
    # Then the bytes are the same (a stable SHA-256), and pypdf reads two or more pages and the title
    assert first == second
    assert first.startswith(b"%PDF-1.4") and first.rstrip().endswith(b"%%EOF")
    reader = PdfReader(io.BytesIO(first), strict=True)
    assert len(reader.pages) >= 2
    assert reader.metadata is not None and reader.metadata.title is not None
    assert reader.metadata.title.startswith("Statement of Work - Northwind")
    # And every line is inside the page's margins (wrapped, not cut off)
    assert all(len(line) < 120 for line in extract(first).splitlines())


def test_text_outside_ascii_and_pdf_delimiters_survive() -> None:
    # Given a client whose name has accents, an ampersand and parentheses
    document = spec().model_copy(update={"client_legal_name": "Société Générale (Suisse) & Cie S.A."})
    # Then it reads back as written
    assert read_back(document).client_legal_name == "Société Générale (Suisse) & Cie S.A."


def test_parsing_tolerates_other_line_breaks_footers_and_spaces() -> None:
    # Given the extracted text re-wrapped at 38 characters, with Windows line ends and doubled spaces
    text = extract(sow_pdf(spec("fixed_fee")))
    lines = []
    for line in text.splitlines():
        heading = line[:3].rstrip(".").strip().isdigit() and ". " in line[:4]
        lines.extend([line] if heading else textwrap.wrap(line, 38))
    rewrapped = "\r\n".join(line.replace(" ", "  ") for line in lines) + "\r\nPage 9 of 9\r\n"
    # When parsed
    facts = parse_sow_text(rewrapped)
    # Then the facts and the clause texts are the same
    assert facts == parse_sow_text(text)


def test_safe_sow_has_no_risk_findings() -> None:
    # Given a SOW with no risky clause, of each billing model
    for billing_model in ("time_and_materials", "fixed_fee", "retainer"):
        facts = read_back(spec(billing_model))
        # Then contract risk finds nothing in what was read back
        assessment = assess_contract_risk(facts.clauses, facts.figures())
        assert assessment.findings == [], billing_model


@pytest.mark.parametrize("rule", RULE_NAMES)
def test_each_risky_option_raises_exactly_its_rule(rule: RiskRule) -> None:
    # Given a SOW with one risky clause
    facts = read_back(spec(risks=frozenset({rule})))
    # When assessed
    assessment = assess_contract_risk(facts.clauses, facts.figures())
    # Then that rule, and only that rule, is found, and the contract goes to legal
    assert {finding.rule for finding in assessment.findings} == {rule}
    assert assessment.requires_legal_review


def test_all_risky_options_make_a_high_risk_contract() -> None:
    facts = read_back(spec(risks=frozenset(RULE_NAMES)))
    assessment = assess_contract_risk(facts.clauses, facts.figures())
    assert {finding.rule for finding in assessment.findings} == set(RULE_NAMES)
    assert (assessment.level, assessment.requires_legal_review) == ("high", True)
    assert facts.payment_terms_days == 90


def test_risky_payment_terms_must_agree_with_the_days() -> None:
    # Given a spec that asks for risky payment terms of 45 days, or 75-day terms without saying they are risky
    base = spec().model_dump()
    # Then it is refused: the option and the days would tell the tests two stories
    with pytest.raises(ValueError, match="over 60 days"):
        SowSpec.model_validate({**base, "risks": {"payment_terms_over_limit"}, "payment_terms_days": 45})
    with pytest.raises(ValueError, match="add payment_terms_over_limit"):
        SowSpec.model_validate({**base, "payment_terms_days": 75})


def test_contract_from_facts() -> None:
    # Given the facts of a fixed-fee SOW
    facts = read_back(spec("fixed_fee"))
    # When made a contract
    contract = contract_from_sow(facts, contract_id="SOW-9", client_id="CUST-0001", opportunity_id="006X")
    # Then it is the canonical SOW with numbered milestones
    assert (contract.kind, contract.billing_model, contract.fixed_fee) == (
        "sow",
        "fixed_fee",
        Decimal(240000),
    )
    assert [m.id for m in contract.milestones] == ["SOW-9-M1", "SOW-9-M2", "SOW-9-M3"]
    assert sum(m.amount for m in contract.milestones) == contract.fixed_fee
    assert contract.rates_by_role == facts.rates_by_role


def test_sow_ending_before_it_starts_is_a_problem_not_a_contract() -> None:
    # Given a SOW (as a client may send) whose end date is before its start
    document = spec().model_copy(update={"end_date": date(2026, 10, 1)})
    facts = read_back(document)
    # Then the problem is named and no contract is made
    assert sow_problems(facts) == ["the SOW ends on 2026-10-01, before it starts on 2026-11-16"]
    with pytest.raises(UnreadableSow):
        contract_from_sow(facts, contract_id="SOW-9", client_id="CUST-0001")


def test_text_that_is_not_a_sow_has_every_problem() -> None:
    facts = parse_sow_text("Minutes of the weekly status meeting.\nNothing to report.")
    assert facts.clauses == [] and facts.rates_by_role == {}
    assert len(sow_problems(facts)) == 5


def test_fixed_fee_without_milestones_can_be_generated_for_the_workflow_to_catch() -> None:
    # Given a defective SOW the demo sends on purpose
    document = spec("fixed_fee").model_copy(update={"milestones": ()})
    # Then it reads back with no milestones (project setup will block it)
    assert read_back(document).milestones == []


def test_milestone_names_may_wrap_in_the_pdf() -> None:
    long_name = (
        "Discovery, current-state assessment and target operating model design for finance and supply chain"
    )
    milestone = MilestoneLine(name=long_name, amount=Decimal(240000), due_date=date(2027, 1, 15))
    document = spec("fixed_fee").model_copy(update={"milestones": (milestone,)})
    assert [m.name for m in read_back(document).milestones] == [long_name]


def test_roles_and_numbers_as_a_sow_writes_them() -> None:
    assert role_title("senior_consultant") == "Senior Consultant"
    assert role_key("Senior Consultant") == "senior_consultant"
    assert [number_in_words(n) for n in (0, 7, 30, 45, 100, 120, 365)] == [
        "zero",
        "seven",
        "thirty",
        "forty-five",
        "one hundred",
        "one hundred twenty",
        "three hundred sixty-five",
    ]
