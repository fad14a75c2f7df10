"""Contract risk rules (DOMAIN.md section 5): each rule flags the risky sentence and leaves the safe one alone."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from pydantic import ValidationError

from backoffice.onboarding.contract_risk import (
    RULE_NAMES,
    Clause,
    ContractFigures,
    ContractRiskPolicy,
    RiskRule,
    assess_contract_risk,
    durations_in,
    find_contract_risks,
    number_value,
    split_sentences,
    words_to_number,
)

# A year of fees of USD 400,000: a cap of USD 200,000 is six months of them.
FIGURES = ContractFigures(annual_fees=Decimal("400000"), contract_value=Decimal("400000"))


def rules_hit(
    *texts: str, figures: ContractFigures = FIGURES, policy: ContractRiskPolicy | None = None
) -> set[str]:
    clauses = [Clause(section=str(i), heading="Clause", text=text) for i, text in enumerate(texts, start=1)]
    return {finding.rule for finding in find_contract_risks(clauses, figures, policy)}


# Each case: the rule, a sentence that must raise it, and a sentence that must not.
POSITIVE: list[tuple[RiskRule, str]] = [
    ("uncapped_liability", "Consultant shall have unlimited liability for any breach of this SOW."),
    ("uncapped_liability", "Consultant's liability under this SOW shall not be limited."),
    ("uncapped_liability", "Consultant shall indemnify Client without limitation for any third-party claim."),
    (
        "uncapped_liability",
        "The limitations in Section 7 shall not apply to Consultant's indemnification obligations.",
    ),
    ("uncapped_liability", "Consultant's liability for breach of confidentiality is uncapped."),
    (
        "ip_assignment_without_carve_out",
        "Consultant hereby assigns to Client all right, title and interest in the Deliverables.",
    ),
    (
        "ip_assignment_without_carve_out",
        "All Deliverables shall be works made for hire and shall vest in Client.",
    ),
    (
        "ip_assignment_without_carve_out",
        "All Deliverables, including any Pre-Existing IP incorporated in them, are hereby assigned to Client.",
    ),
    (
        "liability_cap_below_minimum",
        "Consultant's aggregate liability shall not exceed the fees paid in the preceding six (6) months.",
    ),
    (
        "liability_cap_below_minimum",
        "Liability shall not exceed fifty percent (50%) of the fees paid in the preceding twelve (12) months.",
    ),
    ("liability_cap_below_minimum", "Consultant's total liability is limited to USD 200,000."),
    (
        "liability_cap_below_minimum",
        "Liability shall not exceed the lesser of USD 100,000 or the fees paid in the preceding twelve (12) months.",
    ),
    ("liability_cap_below_minimum", "In no event shall either party's liability exceed nine months of fees."),
    (
        "auto_renewal_long_notice",
        "This SOW shall automatically renew for successive one (1) year terms unless either party gives "
        "ninety (90) days' prior written notice of non-renewal.",
    ),
    (
        "auto_renewal_long_notice",
        "The term renews automatically each year. Either party may prevent renewal by notice given at least "
        "four months before the end of the then-current term.",
    ),
    (
        "termination_for_convenience",
        "Client may terminate this SOW for convenience on ten (10) days' written notice. Client shall pay for "
        "Services performed up to the effective date of termination.",
    ),
    ("termination_for_convenience", "Client may terminate this SOW at any time for convenience."),
    (
        "termination_for_convenience",
        "Client may terminate this SOW for convenience on thirty (30) days' written notice without any payment "
        "to Consultant.",
    ),
    ("payment_terms_over_limit", "Client shall pay each invoice within ninety (90) days of receipt."),
    ("payment_terms_over_limit", "Invoices are payable Net 75."),
    ("payment_terms_over_limit", "Payment terms are one hundred and twenty days from the invoice date."),
    (
        "non_solicit_over_limit",
        "During the term and for twenty-four (24) months thereafter, Consultant shall not solicit or hire any "
        "employee of Client.",
    ),
    (
        "non_solicit_over_limit",
        "Neither party shall solicit the other's personnel for a period of two years.",
    ),
    (
        "most_favoured_nation",
        "Consultant shall extend to Client most-favoured-customer pricing for all Services.",
    ),
    (
        "most_favoured_nation",
        "Consultant shall not charge Client rates higher than those charged to any other client for "
        "comparable services.",
    ),
    (
        "exclusivity_or_non_compete",
        "During the term, Consultant shall not provide similar services to any competitor of Client.",
    ),
    ("exclusivity_or_non_compete", "Consultant shall act as Client's exclusive provider of ERP services."),
    ("exclusivity_or_non_compete", "The parties agree to a non-compete covering the retail sector."),
    (
        "liquidated_damages",
        "For each day of delay Consultant shall pay liquidated damages of USD 2,000, which the parties agree are "
        "not a penalty.",
    ),
    ("liquidated_damages", "A delay penalty of USD 500 per day applies to late milestones."),
    ("governing_law_not_allowed", "This SOW is governed by the laws of the Cayman Islands."),
    ("governing_law_not_allowed", "The laws of Ontario govern this SOW and any dispute under it."),
    (
        "governing_law_not_allowed",
        "This SOW shall be governed by and construed under the laws of the State of Texas.",
    ),
    (
        "insurance_above_cover",
        "Consultant shall maintain professional liability insurance with limits of not less than "
        "USD 10,000,000 per claim.",
    ),
    (
        "insurance_above_cover",
        "Consultant shall maintain commercial general liability insurance of USD 1,000,000 per occurrence and "
        "cyber liability insurance of $8 million.",
    ),
]

NEGATIVE: list[tuple[RiskRule, str]] = [
    (
        "uncapped_liability",
        "Consultant's liability shall not exceed fees paid in the preceding twelve (12) months.",
    ),
    (
        "uncapped_liability",
        "Consultant shall indemnify Client against third-party claims, including, without limitation, claims "
        "of infringement, subject to Section 7.",
    ),
    (
        "uncapped_liability",
        "The foregoing limitation shall not apply to liability for fraud or wilful misconduct.",
    ),
    ("uncapped_liability", "Client's liability for unpaid fees is unlimited."),
    (
        "uncapped_liability",
        "Nothing in this SOW limits either party's liability for death or personal injury caused by negligence.",
    ),
    (
        "ip_assignment_without_carve_out",
        "Consultant hereby assigns to Client all right, title and interest in the Deliverables, except for "
        "Pre-Existing IP.",
    ),
    (
        "ip_assignment_without_carve_out",
        "Consultant hereby assigns to Client all right, title and interest in the Deliverables. Consultant "
        "retains all rights in its pre-existing materials, tools and methodologies.",
    ),
    (
        "ip_assignment_without_carve_out",
        "Neither party may assign this SOW without the other's written consent.",
    ),
    (
        "ip_assignment_without_carve_out",
        "Nothing in this SOW assigns or transfers any intellectual property of either party.",
    ),
    (
        "liability_cap_below_minimum",
        "Liability shall not exceed fees paid in the preceding twelve (12) months.",
    ),
    (
        "liability_cap_below_minimum",
        "Each party's liability shall not exceed two times the fees paid in the preceding twelve-month period.",
    ),
    ("liability_cap_below_minimum", "Consultant's total liability is limited to USD 1,000,000."),
    (
        "liability_cap_below_minimum",
        "Liability shall not exceed the greater of USD 100,000 or the fees paid in the preceding twelve (12) months.",
    ),
    (
        "liability_cap_below_minimum",
        "Fees under this SOW shall not exceed USD 50,000 without a change order.",
    ),
    (
        "liability_cap_below_minimum",
        "Client's total liability shall not exceed the fees paid in the preceding three (3) months.",
    ),
    (
        "auto_renewal_long_notice",
        "This SOW renews automatically for one (1) year unless either party gives thirty (30) days' notice.",
    ),
    (
        "auto_renewal_long_notice",
        "This SOW shall not automatically renew; any renewal requires ninety (90) days' written notice and a "
        "signed change order.",
    ),
    (
        "termination_for_convenience",
        "Client may terminate this SOW for convenience on thirty (30) days' written notice, and shall pay "
        "Consultant for Services performed through the effective date of termination.",
    ),
    (
        "termination_for_convenience",
        "Consultant may terminate this SOW for convenience on five (5) days' notice.",
    ),
    ("payment_terms_over_limit", "Client shall pay each invoice within thirty (30) days of receipt."),
    ("payment_terms_over_limit", "Invoices are payable net sixty (60) days."),
    (
        "payment_terms_over_limit",
        "Client shall notify Consultant of any disputed amount within ninety days and pay the rest within 30 days.",
    ),
    (
        "non_solicit_over_limit",
        "During the term and for twelve (12) months thereafter, Client shall not solicit or hire any Consultant "
        "personnel.",
    ),
    (
        "non_solicit_over_limit",
        "Client engages Consultant for a term of twenty-four months to provide the Services.",
    ),
    ("most_favoured_nation", "Client is not entitled to most-favoured-nation pricing."),
    ("most_favoured_nation", "The rates in Section 3 are fixed for the term of this SOW."),
    (
        "exclusivity_or_non_compete",
        "This SOW is non-exclusive and nothing in it restricts Consultant from providing services to others.",
    ),
    (
        "exclusivity_or_non_compete",
        "The Deliverables shall be the exclusive property of Client upon payment.",
    ),
    (
        "exclusivity_or_non_compete",
        "The courts of New York shall have exclusive jurisdiction over any dispute.",
    ),
    ("liquidated_damages", "Neither party shall be liable for liquidated damages or penalties of any kind."),
    ("liquidated_damages", "Liquidated damages shall not apply to this SOW."),
    (
        "governing_law_not_allowed",
        "This SOW is governed by the laws of the State of New York, without regard to its conflict of laws rules.",
    ),
    ("governing_law_not_allowed", "This SOW is governed by the laws of England and Wales."),
    ("governing_law_not_allowed", "The laws of the State of Delaware shall govern this SOW."),
    (
        "insurance_above_cover",
        "Consultant shall maintain professional liability insurance of not less than USD 2,000,000 per claim.",
    ),
    (
        "insurance_above_cover",
        "Consultant shall maintain general liability insurance of USD 2,000,000 per occurrence and "
        "USD 4,000,000 in the aggregate.",
    ),
]


def positive(rule: RiskRule) -> str:
    """The first risky sentence of the table for ``rule``."""
    return next(text for r, text in POSITIVE if r == rule)


def test_every_rule_has_a_positive_and_a_negative_case() -> None:
    # Given the rule catalogue, Then the tables below exercise each rule both ways
    assert {rule for rule, _ in POSITIVE} == set(RULE_NAMES)
    assert {rule for rule, _ in NEGATIVE} == set(RULE_NAMES)


@pytest.mark.parametrize(("rule", "text"), POSITIVE, ids=[f"{r}-{i}" for i, (r, _) in enumerate(POSITIVE)])
def test_risky_sentence_is_flagged(rule: RiskRule, text: str) -> None:
    # Given a clause with a risky sentence, When it is assessed, Then its rule is raised
    assert rule in rules_hit(text)


@pytest.mark.parametrize(("rule", "text"), NEGATIVE, ids=[f"{r}-{i}" for i, (r, _) in enumerate(NEGATIVE)])
def test_safe_sentence_is_not_flagged(rule: RiskRule, text: str) -> None:
    # Given a clause a reader would call safe for this rule, When it is assessed, Then the rule stays silent
    assert rule not in rules_hit(text)


def test_finding_quotes_the_sentence_not_the_clause() -> None:
    # Given a limitation-of-liability clause of three sentences, one of them a six-month cap
    clause = Clause(
        section="7",
        heading="Limitation of Liability",
        text=(
            "Neither party is liable for indirect damages. Consultant's aggregate liability shall not exceed "
            "the fees paid in the preceding six (6) months. This Section survives termination."
        ),
    )
    # When assessed
    [finding] = find_contract_risks([clause], FIGURES)
    # Then the finding names the section and quotes only the cap sentence
    assert finding.rule == "liability_cap_below_minimum"
    assert finding.section == "7"
    assert finding.sentence == (
        "Consultant's aggregate liability shall not exceed the fees paid in the preceding six (6) months."
    )
    assert finding.severity == "medium"
    assert "6 months" in finding.explanation


def test_carve_out_for_pre_existing_ip_in_another_section_counts() -> None:
    # Given an assignment in section 6 and the Pre-Existing IP carve-out in section 15
    hits = rules_hit(
        "Client shall own all Deliverables.",
        "Notwithstanding anything else in this SOW, Consultant retains ownership of its Pre-Existing IP.",
    )
    # Then the assignment is not flagged
    assert "ip_assignment_without_carve_out" not in hits


def test_payment_on_termination_may_be_promised_in_another_section() -> None:
    # Given a convenience termination in one section and payment on any termination in another
    hits = rules_hit(
        "Client may terminate this SOW for convenience on thirty (30) days' written notice.",
        "Upon any termination, Client shall pay Consultant for Services performed up to the termination date.",
    )
    # Then the termination is not flagged; without the second section it is
    assert "termination_for_convenience" not in hits
    assert "termination_for_convenience" in rules_hit(
        "Client may terminate this SOW for convenience on thirty (30) days' written notice."
    )


def test_fixed_amount_cap_needs_the_annual_fees() -> None:
    # Given a cap written as an amount and no figures to weigh it against
    text = "Consultant's total liability is limited to USD 200,000."
    # Then it is not guessed at; with a year of fees of 400,000 it is half a year
    assert "liability_cap_below_minimum" not in rules_hit(text, figures=ContractFigures())
    assert "liability_cap_below_minimum" in rules_hit(text)


def test_cap_of_the_fees_under_a_short_sow_is_a_year_of_fees() -> None:
    # Given a six-month SOW: all its fees are paid within any twelve months
    figures = ContractFigures.for_term(Decimal("150000"), date(2026, 1, 1), date(2026, 6, 30))
    text = "Consultant's liability shall not exceed the total fees paid under this SOW."
    # Then a cap of the SOW's fees is a cap of twelve months of fees
    assert figures.annual_fees == Decimal("150000")
    assert "liability_cap_below_minimum" not in rules_hit(text, figures=figures)
    # But for a two-year SOW, half its fees are only one year: fine; a quarter of them is not
    long = ContractFigures.for_term(Decimal("800000"), date(2026, 1, 1), date(2027, 12, 31))
    assert "liability_cap_below_minimum" not in rules_hit(text, figures=long)
    quarter = "Consultant's liability shall not exceed 25% of the total fees paid under this SOW."
    assert "liability_cap_below_minimum" in rules_hit(quarter, figures=long)


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("thirty (30)", 30),
        ("30", 30),
        ("thirty", 30),
        ("forty-five", 45),
        ("one hundred and twenty", 120),
        ("1,000", 1000),
    ],
)
def test_numbers_are_read_as_contracts_write_them(text: str, value: int) -> None:
    # Given a number in words, digits, or both, Then its value is read
    assert number_value(text) == value


def test_words_to_number_refuses_other_words() -> None:
    with pytest.raises(ValueError, match="not a number word"):
        words_to_number("several")


def test_durations_in_words_digits_and_hyphenated() -> None:
    # Given periods written three ways, Then each is found with its unit
    found = durations_in("within thirty (30) days, a twelve-month period and 2 years")
    assert [(d.value, d.unit) for d in found] == [(30, "day"), (12, "month"), (2, "year")]


def test_sentences_split_at_full_stops_but_not_abbreviations() -> None:
    # Given a clause with abbreviations and PDF line breaks
    text = "Northwind Inc. and the U.S. entity agree.\nConsultant, e.g. its staff, shall\nperform. Done."
    # Then only real sentence ends split it
    assert split_sentences(text) == [
        "Northwind Inc. and the U.S. entity agree.",
        "Consultant, e.g. its staff, shall perform.",
        "Done.",
    ]


def test_policy_thresholds_change_the_outcome() -> None:
    # Given a firm that accepts 90-day payment terms and governs by Texas law
    policy = ContractRiskPolicy.from_json_dict(
        {"max_payment_terms_days": 90, "governing_law_allow_list": ["Texas", "New York"]}
    )
    # Then neither clause is flagged under its policy, and both are under the default
    texts = (
        "Client shall pay each invoice within ninety (90) days of receipt.",
        "This SOW is governed by the laws of the State of Texas.",
    )
    assert rules_hit(*texts, policy=policy) == set()
    assert rules_hit(*texts) == {"payment_terms_over_limit", "governing_law_not_allowed"}


def test_policy_from_json_sets_insurance_cover_and_severity() -> None:
    # Given a firm with USD 20m professional cover that treats MFN as high
    policy = ContractRiskPolicy.from_json_dict(
        {
            "insurance_cover": {"professional_liability": {"per_claim": "20000000", "aggregate": 20000000}},
            "severities": {"most_favoured_nation": "high"},
        }
    )
    clauses = [
        Clause(section="9", heading="Insurance", text=positive("insurance_above_cover")),
        Clause(section="12", heading="Pricing", text=positive("most_favoured_nation")),
    ]
    # When assessed
    assessment = assess_contract_risk(clauses, FIGURES, policy)
    # Then the insurance demand is within cover, MFN is a high finding, and the other severities are the defaults
    assert [(f.rule, f.severity) for f in assessment.findings] == [("most_favoured_nation", "high")]
    assert assessment.level == "high"
    assert policy.severities["uncapped_liability"] == "high"
    assert policy.severities["liquidated_damages"] == "medium"


@pytest.mark.parametrize(
    "data",
    [
        {"max_payment_terms_days": -1},
        {"severities": {"made_up_rule": "high"}},
        {"severities": {"uncapped_liability": "critical"}},
        {"severity_points": {"high": -1}},
        {"insurance_cover": {"cyber_liability": {"per_claim": 5, "aggregate": 1}}},
        {"governing_law_allow_list": ["  "]},
        {"unknown_setting": True},
    ],
)
def test_policy_refuses_invalid_configuration(data: dict[str, object]) -> None:
    # Given an impossible or incomplete policy, Then loading it fails instead of assessing with it
    with pytest.raises(ValidationError):
        ContractRiskPolicy.from_json_dict(data)


def test_clean_contract_scores_zero_and_skips_legal() -> None:
    # Given only safe clauses
    clauses = [
        Clause(section=str(i), heading="Clause", text=text) for i, (_, text) in enumerate(NEGATIVE[:8])
    ]
    # When assessed
    assessment = assess_contract_risk(clauses, FIGURES)
    # Then nothing is found and nobody in legal is asked
    assert assessment.findings == []
    assert (assessment.score, assessment.level, assessment.requires_legal_review) == (0, "none", False)


def test_high_finding_requires_legal_review() -> None:
    # Given an uncapped liability clause
    assessment = assess_contract_risk(
        [Clause(section="7", heading="Liability", text=positive("uncapped_liability"))]
    )
    # Then the contract is high risk and goes to legal
    assert (assessment.score, assessment.level, assessment.requires_legal_review) == (10, "high", True)


def test_several_medium_risks_add_up_to_high() -> None:
    # Given four medium risks in one contract
    rules: list[RiskRule] = [
        "payment_terms_over_limit",
        "non_solicit_over_limit",
        "most_favoured_nation",
        "governing_law_not_allowed",
    ]
    texts = [positive(rule) for rule in rules]
    assessment = assess_contract_risk(
        [Clause(section=str(i), heading="", text=t) for i, t in enumerate(texts)]
    )
    # Then the level escalates to high (4 x 3 points reach the default threshold of 12)
    assert {f.severity for f in assessment.findings} == {"medium"}
    assert (assessment.score, assessment.level) == (12, "high")


def test_same_rule_twice_scores_once() -> None:
    # Given two sentences with long payment terms
    clause = Clause(
        section="4",
        heading="Payment",
        text="Client shall pay within ninety (90) days. Expenses are payable Net 75.",
    )
    # When assessed
    assessment = assess_contract_risk([clause])
    # Then both sentences are findings, but the risk counts once
    assert len(assessment.findings) == 2
    assert (assessment.score, assessment.level) == (3, "medium")


def test_legal_review_threshold_is_configurable() -> None:
    # Given a firm that sends only high-risk contracts to legal
    policy = ContractRiskPolicy(legal_review_from="high")
    # When a contract has one medium risk
    assessment = assess_contract_risk(
        [Clause(section="4", heading="", text=positive("payment_terms_over_limit"))], policy=policy
    )
    # Then it is medium and does not wait for legal
    assert (assessment.level, assessment.requires_legal_review) == ("medium", False)


def test_insurance_line_the_firm_does_not_hold_is_flagged() -> None:
    # Given a firm with no cyber cover at all
    policy = ContractRiskPolicy.from_json_dict(
        {"insurance_cover": {"professional_liability": {"per_claim": 5000000, "aggregate": 5000000}}}
    )
    text = "Consultant shall maintain cyber liability insurance of USD 1,000,000."
    # Then even a small cyber demand is a finding
    [finding] = find_contract_risks([Clause(section="9", heading="Insurance", text=text)], policy=policy)
    assert "does not hold" in finding.explanation


def test_disabled_rule_is_not_run() -> None:
    # Given a firm that does not check governing law
    policy = ContractRiskPolicy(disabled_rules=frozenset({"governing_law_not_allowed"}))
    # Then a Cayman Islands clause raises nothing
    assert rules_hit(positive("governing_law_not_allowed"), policy=policy) == set()
