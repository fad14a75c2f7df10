"""The assistant's clause detection beside the contract-risk rules (issue #23): what it flags that the rules did not
reaches legal as "model suggests", and nothing else changes (the level, the score, the route)."""

from __future__ import annotations

from collections.abc import Sequence

from backoffice.assist.config import AiAssistConfig
from backoffice.assist.models import ClauseSuggestion
from backoffice.assist.wiring import assistant
from backoffice.models import OpportunityClosedWon
from backoffice.onboarding.clause_rules import clause_rules
from backoffice.onboarding.contract_risk import Clause
from backoffice.onboarding.sow_documents import SowFacts
from backoffice.onboarding.steps import clause_suggestions, contract_risk, legal_review_subject
from tests.unit.test_models import closed_won_event

FACTS = SowFacts(
    title="Data platform build",
    currency="USD",
    clauses=[
        Clause(
            section="9",
            heading="Limitation of Liability",
            text="The Supplier's liability under this Agreement shall be unlimited. Each party bears its own costs.",
        ),
        Clause(
            section="12",
            heading="Personnel",
            text="For two years after the project the Client may not engage any consultant who worked on it, "
            "directly or through an agency.",
        ),
    ],
)


def _model(labels: dict[int, str]) -> object:
    """A model that labels the sentences at the given indexes (the others standard)."""

    def classify(sentences: Sequence[str]) -> list[ClauseSuggestion]:
        return [
            ClauseSuggestion(
                source="bedrock",
                model_id="anthropic.claude-3-haiku-20240307-v1:0",
                prompt_id="classify_clauses.v1",
                index=index,
                label=labels.get(index, "standard"),  # type: ignore[arg-type]
                why="reads as a restriction on hiring" if index in labels else "",
            )
            for index in range(len(sentences))
        ]

    return classify


def _deal() -> OpportunityClosedWon:
    return OpportunityClosedWon.from_json_dict(closed_won_event()["detail"])


def test_a_paraphrase_the_rules_miss_reaches_legal_as_a_suggestion_and_changes_nothing_else() -> None:
    # Given the rules' findings and a model that flags the uncapped liability again and the hiring restriction
    risk = contract_risk(FACTS)
    suggestions = clause_suggestions(
        FACTS, risk, _model({0: "uncapped_liability", 2: "non_solicit_over_limit"})
    )  # type: ignore[arg-type]

    # Then only what the rules did not flag is suggested, with its section, sentence and why
    assert [(s["section"], s["label"]) for s in suggestions] == [("12", "non_solicit_over_limit")]
    assert suggestions[0]["sentence"].startswith("For two years after the project")
    # And legal reads it marked as the model's, after the rules' findings; the level and score are the rules'
    subject = legal_review_subject(_deal(), FACTS, risk, "s3://b/k", suggestions)
    assert subject["reasons"][-1].startswith(
        "Model suggests (not a rule finding; yours to judge): §12 non solicit"
    )
    assert subject["risk_level"] == risk.level and subject["risk_score"] == float(risk.score)
    assert [r["label"] for r in subject["risks"]] == [f.rule for f in risk.findings]


def test_the_local_assistant_suggests_nothing_beyond_the_rules() -> None:
    # Given the local rules as the assistant (the default)
    risk = contract_risk(FACTS)
    local = assistant(
        "clause_detection", None, trail=None, config=AiAssistConfig(), clause_rules=clause_rules()
    )

    # Then it finds what the rules find and so suggests nothing more
    assert clause_suggestions(FACTS, risk, local.classify_clauses) == []
    assert risk.findings  # the uncapped liability
