"""The local assistant (backoffice/assist/local.py): the rules and templates every test and `make run` use."""

from __future__ import annotations

import re
from decimal import Decimal
from typing import get_args

import pytest

from backoffice.assist.local import LocalAssistant, classify_by_marks
from backoffice.assist.models import (
    CLAUSE_LABELS,
    SUMMARY_MAX_WORDS,
    Amount,
    AnomalyContext,
    AnomalyFact,
    AnomalyReason,
    ApprovalContext,
    DocumentText,
    word_count,
)
from backoffice.onboarding.clause_rules import clause_rules
from backoffice.onboarding.contract_risk import RULE_NAMES, RiskRule


def _context(**overrides: object) -> ApprovalContext:
    values: dict[str, object] = {
        "title": "Approve the Northwind data platform SOW",
        "amounts": (Amount(label="total fees", amount=Decimal("184000"), currency="USD"),),
        "risks": (
            {
                "label": "uncapped_liability",
                "severity": "high",
                "sentence": "The Consultant's liability under this SOW shall be unlimited.",
            },
        ),
        "anomalies": (),
        "on_approve": "the project is created in the PSA and staffing is requested",
        "on_reject": "the case stops and sales is told why",
    }
    values.update(overrides)
    return ApprovalContext.model_validate(values)


def test_the_clause_labels_are_the_contract_risk_rules_plus_other_and_standard() -> None:
    # Given the assistant's clause labels and the contract-risk rule types
    # Then they are the same types, plus the two the rules cannot name
    assert set(CLAUSE_LABELS) == {*get_args(RiskRule), "other_nonstandard", "standard"}
    assert set(RULE_NAMES) == set(get_args(RiskRule))


def test_clauses_are_labelled_by_the_firms_rules_and_the_rest_is_standard() -> None:
    # Given two risky sentences the rules know and one ordinary sentence
    sentences = [
        "Consultant shall be liable for all damages without limitation.",
        "Client shall pay each invoice within ninety (90) days of receipt.",
        "The kick-off meeting will take place in the first week.",
    ]
    # When the local assistant classifies them
    suggestions = LocalAssistant(clause_rules(together=False)).classify_clauses(sentences)
    # Then each carries the rule it breaks, in order, and the ordinary one is standard
    assert [(s.index, s.label) for s in suggestions] == [
        (0, "uncapped_liability"),
        (1, "payment_terms_over_limit"),
        (2, "standard"),
    ]
    assert all(
        s.source == "local" and s.model_id == "local-rules" and s.fallback_reason is None for s in suggestions
    )
    assert "90 days" in suggestions[1].why


def test_classifying_clauses_without_the_rules_is_refused_clearly() -> None:
    # Given a local assistant built without the contract-risk rules
    # When it is asked to classify clauses
    # Then it says what it needs rather than calling everything standard
    with pytest.raises(ValueError, match="contract-risk rules"):
        LocalAssistant().classify_clauses(["Anything."])


@pytest.mark.parametrize(
    ("text", "label"),
    [
        ("Form W-9 (Rev. March 2024) Request for Taxpayer Identification Number and Certification", "w9"),
        ("ACORD 25 CERTIFICATE OF LIABILITY INSURANCE DATE (MM/DD/YYYY) CERTIFICATE HOLDER", "coi"),
        (
            "This letter confirms that the account below is held with us. ABA Routing Number: ****0021",
            "bank_letter",
        ),
        ("INVOICE Invoice Number: 2026-114 Bill To: Example Firm LLP Amount Due: USD 4,200.00", "invoice"),
        (
            "Statement of Work No. 3 under the Master Services Agreement. Scope of Services and Deliverables",
            "sow",
        ),
        ("Minutes of the quarterly steering committee. Attendees discussed the roadmap.", "other"),
    ],
)
def test_documents_are_told_apart_by_the_marks_their_first_page_prints(text: str, label: str) -> None:
    # Given a first page  When the local rules classify it  Then the type is the one its marks say
    suggestion = LocalAssistant().classify_document(DocumentText(text=text))
    assert suggestion.label == label
    assert 0 <= suggestion.confidence <= 1 and suggestion.why


def test_a_page_with_marks_of_two_types_goes_to_the_heavier() -> None:
    # Given an invoice that mentions the SOW it bills against
    text = "INVOICE  Invoice No. 881  Bill To: Contoso  Services under Statement of Work 4  Amount Due USD 9,000.00"
    # When classified  Then it is an invoice (its own marks weigh more), with less than full confidence
    label, confidence, _ = classify_by_marks(text)
    assert label == "invoice" and confidence < 1


def test_a_summary_carries_every_fact_within_120_words() -> None:
    # Given an approval with an amount, a high risk and a flagged expense line
    context = _context(
        anomalies=(
            AnomalyFact(
                subject="expense line 3 (lodging)",
                reasons=(
                    AnomalyReason(
                        rule="TE4", check="receipt_missing", text="TE4 receipt missing for lodging"
                    ),
                ),
            ),
        )
    )
    # When summarized by the local template
    summary = LocalAssistant().summarize_approval(context)
    # Then it names the request, the amount as written, the risk type with its sentence, the line and both outcomes
    text = summary.summary
    assert word_count(text) <= SUMMARY_MAX_WORDS
    for fact in context.facts():
        assert fact.lower() in text.lower()
    assert set(summary.facts_used) == set(context.facts())
    assert "liability under this SOW shall be unlimited" in text
    assert "Approve: the project is created" in text and "Reject: the case stops" in text
    assert summary.prompt_id == "summarize_approval.local.v1"


def test_a_long_context_is_cut_to_120_words_keeping_the_facts_first() -> None:
    # Given six risks with long sentences
    long_sentence = " ".join(["word"] * 60) + "."
    risks = tuple(
        {"label": rule, "severity": "medium", "sentence": long_sentence} for rule in list(RULE_NAMES)[:6]
    )
    context = _context(risks=risks)
    # When summarized
    summary = LocalAssistant().summarize_approval(context)
    # Then it stays within 120 words and still names every risk type and the amount
    assert word_count(summary.summary) <= SUMMARY_MAX_WORDS
    for fact in context.facts():
        assert fact.lower() in summary.summary.lower()


def test_a_summary_shows_no_amount_the_facts_do_not_have() -> None:
    # Given an approval with one amount
    summary = LocalAssistant().summarize_approval(_context())
    # Then the only amount in the summary is that one
    assert re.findall(r"USD [\d,]+\.\d{2}", summary.summary) == ["USD 184,000.00"]


def test_an_explanation_says_each_reason_and_what_kind_of_finding_it_is() -> None:
    # Given a line with a policy violation and a statistical signal
    line = AnomalyFact(
        subject="Time entry of 2026-11-03 (14.0 h, Northwind)",
        reasons=(
            AnomalyReason(
                rule="TE7",
                check="daily_hours",
                text="TE7 14.0 hours in a day, above 12.0",
                meaning="more hours in a day than the limit",
                kind="violation",
            ),
            AnomalyReason(
                rule="TE7", check="late_entry", text="TE7 entered 40 days after the work date", kind="signal"
            ),
        ),
    )
    # When explained
    explanation = LocalAssistant().explain_anomalies(AnomalyContext(line=line))
    # Then both reasons are there, in plain words, and which needs a decision and which a judgement
    assert "flagged for 2 reasons" in explanation.text
    assert "more hours in a day than the limit" in explanation.text and "late entry" in explanation.text
    assert "a person must decide" in explanation.text and "unusual rather than wrong" in explanation.text


def test_the_document_labels_are_the_types_the_product_reads_plus_other() -> None:
    # Given the assistant's document labels and the extraction's document types
    from backoffice.assist.models import DOCUMENT_LABELS
    from backoffice.extraction.document_types import DOCUMENT_TYPES

    # Then every type the product reads can be suggested, and "other" besides
    assert set(DOCUMENT_LABELS) == {*DOCUMENT_TYPES, "other"}
