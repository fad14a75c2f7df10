"""How well an assistant does on the labelled sets in the repository (``evaluation/ai/``), for ``backoffice ai eval``.

Dev-only (never shipped: no handler imports it). The sets were written for this repository (``SOURCES.md`` there):

- ``clauses.jsonl``: SOW and MSA sentences, each with its true label (a contract-risk rule type,
  ``other_nonstandard`` or ``standard``) and its kind (``plain``: as the rules were written for; ``paraphrase``:
  the same risk in other words; ``negation`` / ``standard``: what must not be flagged);
- ``documents.jsonl``: first pages of W-9s, certificates of insurance, bank letters, invoices, SOWs and others,
  some uploaded under the wrong slot (``declared_type``);
- ``summaries.jsonl``: approval contexts; a summary is scored by the rubric (``assist.rubric``).

Figures: precision, recall and F1 per label (a label never predicted has precision 0 when it is in the set),
accuracy, and for clauses the flagging figures (any label but "standard" counts as flagged) overall and on
paraphrases. Every input goes through the governed assistant, so a model is measured on what production sends it
(masked), and an answer the local rules gave instead of the model (``fallback_reason``) is counted.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from backoffice.assist.models import ApprovalContext, DocumentText, word_count
from backoffice.assist.port import Assistant
from backoffice.assist.rubric import summary_problems


@dataclass(frozen=True)
class LabelScore:
    label: str
    support: int
    predicted: int
    correct: int

    @property
    def precision(self) -> float:
        return self.correct / self.predicted if self.predicted else 0.0

    @property
    def recall(self) -> float:
        return self.correct / self.support if self.support else 0.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0


@dataclass(frozen=True)
class Scores:
    """Per-label scores of one run, its accuracy and how many answers came from the fallback."""

    labels: tuple[LabelScore, ...]
    total: int
    correct: int
    fallbacks: int = 0
    extra: dict[str, float] = field(default_factory=dict)

    @property
    def accuracy(self) -> float:
        return self.correct / self.total if self.total else 0.0

    @property
    def macro_f1(self) -> float:
        scored = [s for s in self.labels if s.support]
        return sum(s.f1 for s in scored) / len(scored) if scored else 0.0

    def by_label(self) -> dict[str, LabelScore]:
        return {s.label: s for s in self.labels}


def score_labels(truth: Sequence[str], predicted: Sequence[str], *, fallbacks: int = 0) -> Scores:
    """Per-label precision, recall and F1 of ``predicted`` against ``truth`` (same order)."""
    if len(truth) != len(predicted):
        raise ValueError(f"{len(truth)} labels but {len(predicted)} predictions")
    supports, predictions = Counter(truth), Counter(predicted)
    correct = Counter(t for t, p in zip(truth, predicted, strict=True) if t == p)
    labels = sorted(set(truth) | set(predicted))
    return Scores(
        labels=tuple(
            LabelScore(label, supports[label], predictions[label], correct[label]) for label in labels
        ),
        total=len(truth),
        correct=sum(correct.values()),
        fallbacks=fallbacks,
    )


def _flagging(truth: Sequence[str], predicted: Sequence[str]) -> LabelScore:
    pairs = list(zip(truth, predicted, strict=True))
    return LabelScore(
        "flagged",
        support=sum(t != "standard" for t, _ in pairs),
        predicted=sum(p != "standard" for _, p in pairs),
        correct=sum(t != "standard" and p != "standard" for t, p in pairs),
    )


def read_set(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


# -- the three tasks ---------------------------------------------------------------------------------------------


def evaluate_clauses(assistant: Assistant, rows: Sequence[dict[str, Any]], *, batch: int = 20) -> Scores:
    """Each sentence classified on its own meaning (in batches, as a contract's sentences would be)."""
    truth = [str(row["label"]) for row in rows]
    predicted: list[str] = []
    fallbacks = 0
    for start in range(0, len(rows), batch):
        sentences = [str(row["sentence"]) for row in rows[start : start + batch]]
        suggestions = assistant.classify_clauses(sentences)
        predicted += [s.label for s in suggestions]
        fallbacks += sum(1 for s in suggestions if s.fallback_reason)
    scores = score_labels(truth, predicted, fallbacks=fallbacks)
    flagged = _flagging(truth, predicted)
    paraphrases = [i for i, row in enumerate(rows) if row.get("kind") == "paraphrase"]
    on_paraphrases = _flagging([truth[i] for i in paraphrases], [predicted[i] for i in paraphrases])
    exact_on_paraphrases = sum(truth[i] == predicted[i] for i in paraphrases)
    scores.extra.update(
        {
            "flagged_precision": flagged.precision,
            "flagged_recall": flagged.recall,
            "flagged_f1": flagged.f1,
            "paraphrase_flagged_recall": on_paraphrases.recall,
            "paraphrase_label_recall": exact_on_paraphrases / len(paraphrases) if paraphrases else 0.0,
            "paraphrases": float(len(paraphrases)),
        }
    )
    return scores


def evaluate_documents(assistant: Assistant, rows: Sequence[dict[str, Any]]) -> Scores:
    truth = [str(row["label"]) for row in rows]
    suggestions = [
        assistant.classify_document(
            DocumentText(
                text=row["text"], file_name=row.get("file_name"), declared_type=row.get("declared_type")
            )
        )
        for row in rows
    ]
    predicted = [s.label for s in suggestions]
    scores = score_labels(truth, predicted, fallbacks=sum(1 for s in suggestions if s.fallback_reason))
    wrong_slot = [i for i, row in enumerate(rows) if row.get("declared_type") not in (None, row["label"])]
    scores.extra.update(
        {
            "wrong_slot_documents": float(len(wrong_slot)),
            "wrong_slot_accuracy": (
                sum(truth[i] == predicted[i] for i in wrong_slot) / len(wrong_slot) if wrong_slot else 0.0
            ),
        }
    )
    return scores


@dataclass(frozen=True)
class SummaryResult:
    title: str
    words: int
    problems: tuple[str, ...]
    fallback_reason: str | None


def evaluate_summaries(assistant: Assistant, rows: Iterable[dict[str, Any]]) -> list[SummaryResult]:
    results = []
    for row in rows:
        context = ApprovalContext.model_validate(row)
        summary = assistant.summarize_approval(context)
        results.append(
            SummaryResult(
                title=context.title,
                words=word_count(summary.summary),
                problems=tuple(summary_problems(context, summary.summary)),
                fallback_reason=summary.fallback_reason,
            )
        )
    return results


__all__ = [
    "LabelScore",
    "Scores",
    "SummaryResult",
    "evaluate_clauses",
    "evaluate_documents",
    "evaluate_summaries",
    "read_set",
    "score_labels",
]
