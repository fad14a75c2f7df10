"""``backoffice ai eval`` (backoffice/cli/ai.py, assist/evaluation.py, assist/rubric.py) on the labelled sets kept in
evaluation/ai/: the figures are computed from the sets, for the local rules and for a model."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import pytest

from backoffice.assist.evaluation import evaluate_clauses, read_set, score_labels
from backoffice.assist.local import LocalAssistant
from backoffice.assist.models import CLAUSE_LABELS, DOCUMENT_LABELS, Amount, ApprovalContext
from backoffice.assist.rubric import summary_problems
from backoffice.cli.ai import DATA_DIR
from backoffice.cli.main import main
from backoffice.onboarding.clause_rules import clause_rules

CLAUSES = read_set(DATA_DIR / "clauses.jsonl")
DOCUMENTS = read_set(DATA_DIR / "documents.jsonl")
SUMMARIES = read_set(DATA_DIR / "summaries.jsonl")


def test_the_sets_are_as_large_as_the_issue_asks_and_labelled_with_known_labels() -> None:
    # Given the labelled sets in the repository
    # Then there are at least 80 clause sentences, paraphrases among them, 40 documents and the summary contexts
    assert len(CLAUSES) >= 80 and sum(row["kind"] == "paraphrase" for row in CLAUSES) >= 20
    assert len(DOCUMENTS) >= 40 and len(SUMMARIES) >= 10
    # And every label is one the assistant can give, every risk type has examples, every document type too
    assert {row["label"] for row in CLAUSES} == set(CLAUSE_LABELS)
    assert {row["label"] for row in DOCUMENTS} == set(DOCUMENT_LABELS)
    assert all(ApprovalContext.model_validate(row) for row in SUMMARIES)
    assert (DATA_DIR / "SOURCES.md").is_file()


def test_per_label_figures_are_counted_from_the_predictions() -> None:
    # Given three sentences, one of each outcome for "uncapped_liability"
    scores = score_labels(
        ["uncapped_liability", "uncapped_liability", "standard"],
        ["uncapped_liability", "standard", "uncapped_liability"],
    )
    # Then precision is right calls over calls made, recall right calls over true ones
    uncapped = scores.by_label()["uncapped_liability"]
    assert (uncapped.precision, uncapped.recall, uncapped.f1) == (0.5, 0.5, 0.5)
    assert scores.accuracy == pytest.approx(1 / 3)


def test_the_local_rules_never_flag_a_standard_sentence_but_miss_most_paraphrases() -> None:
    # Given the firm's rules as the local assistant, each sentence standing alone
    rules = clause_rules(together=False)
    local = LocalAssistant(rules)
    # When the clause set is evaluated
    scores = evaluate_clauses(local, CLAUSES)
    # Then the flagging figures are those of the rules on the set, counted independently here
    hits = rules([row["sentence"] for row in CLAUSES])
    flagged = [i for i, hit in enumerate(hits) if hit]
    nonstandard = [i for i, row in enumerate(CLAUSES) if row["label"] != "standard"]
    assert scores.extra["flagged_precision"] == len(set(flagged) & set(nonstandard)) / len(flagged) == 1.0
    assert scores.extra["flagged_recall"] == len(set(flagged) & set(nonstandard)) / len(nonstandard)
    # And the paraphrases are where the rules fall short: what a model is measured on
    assert scores.extra["paraphrase_flagged_recall"] < 0.5
    assert scores.by_label()["other_nonstandard"].recall == 0.0
    assert scores.fallbacks == 0


def test_a_summary_breaking_the_rubric_is_named_for_each_rule() -> None:
    # Given a context with one amount and one risk
    context = ApprovalContext(
        title="Approve the Fabrikam SOW",
        amounts=(Amount(label="fees", amount=Decimal("62500"), currency="USD"),),
        risks=({"label": "uncapped_liability", "sentence": "Liability is unlimited."},),
        on_approve="the project is created",
        on_reject="the case stops",
    )
    # When a summary invents a total, forgets the risk and the outcomes, and runs long
    summary = "Approve the Fabrikam SOW for USD 62,500.00, USD 70,000.00 with travel. " + "word " * 120
    problems = summary_problems(context, summary)
    # Then each broken rule is named
    assert any(p.endswith("words, more than 120") for p in problems)
    assert "missing fact: uncapped liability" in problems
    assert "amount not in the facts: 70,000" in problems
    assert "does not say what approving and rejecting do" in problems
    # And the local template's own summary of it passes
    assert summary_problems(context, LocalAssistant().summarize_approval(context).summary) == []


@pytest.mark.parametrize("task", ["clauses", "documents", "summaries"])
def test_the_command_prints_the_figures_for_the_local_adapter(
    task: str, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given the repository's sets  When `backoffice ai eval --task <task>` runs
    assert main(["ai", "eval", "--task", task]) == 0
    out = capsys.readouterr().out
    # Then it prints figures per label (or the rubric per context) for the local rules, and no metric lines
    assert "adapter local (local-rules)" in out and '"_aws"' not in out
    if task == "summaries":
        assert f"rubric passed {len(SUMMARIES)}/{len(SUMMARIES)}" in out
    else:
        assert "precision" in out and "recall" in out and "F1" in out and "overall" in out


class PerfectModel:
    """Stands in for bedrock-runtime: answers each document with its true label (read from the set)."""

    def __init__(self) -> None:
        self.calls = 0

    def converse(self, **request: Any) -> dict[str, Any]:
        self.calls += 1
        truth = DOCUMENTS[self.calls - 1]["label"]  # the eval asks in the set's order
        answer = json.dumps({"label": truth, "confidence": 0.9, "why": "read it"})
        if self.calls == 3:  # one refusal: it is counted, and the rules answer for it
            return {
                "output": {"message": {"role": "assistant", "content": []}},
                "stopReason": "guardrail_intervened",
                "usage": {"inputTokens": 10, "outputTokens": 0, "totalTokens": 10},
            }
        return {
            "output": {"message": {"role": "assistant", "content": [{"text": answer}]}},
            "stopReason": "end_turn",
            "usage": {"inputTokens": 900, "outputTokens": 20, "totalTokens": 920},
        }


def test_the_command_measures_a_model_with_its_fallbacks(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given Bedrock answering every document right but refusing one
    model = PerfectModel()
    monkeypatch.setattr("boto3.client", lambda *args, **kwargs: model)
    # When the documents are evaluated with --adapter bedrock
    assert (
        main(["ai", "eval", "--task", "documents", "--adapter", "bedrock", "--region", "us-east-1", "--json"])
        == 0
    )
    figures = json.loads(capsys.readouterr().out)
    # Then every document was asked, the refusal is counted, and the figures are the model's (and one rule answer)
    assert model.calls == len(DOCUMENTS)
    assert figures["fallbacks"] == 1 and figures["total"] == len(DOCUMENTS)
    assert figures["accuracy"] >= (len(DOCUMENTS) - 1) / len(DOCUMENTS)
