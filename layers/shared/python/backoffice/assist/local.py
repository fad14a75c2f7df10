"""The local assistant: today's rules and templates behind the assistant port, deterministic and free.

It is what ``make run``, every test and a firm without Bedrock use, and what Bedrock falls back to when it
refuses, truncates, throttles or times out: so it must never be worse than the product before issue #23.

- clauses: the firm's contract-risk rules, sentence by sentence (handed in as ``ClauseRules``: the rules are
  onboarding's, and this package imports no workflow), else "standard". The rules do not guess, so paraphrases
  they were not written for stay "standard" here: the gap the Bedrock adapter is measured on (``backoffice ai eval``).
- documents: the words and layout marks each document type prints on its first page (the W-9's form title, ACORD
  25's heading, a bank's account confirmation, an invoice's "amount due", a SOW's "scope of services"), weighed;
  no mark at all is "other".
- summaries and explanations: templates over the facts given, so they cannot say anything the facts do not.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from backoffice.assist.models import (
    SUMMARY_MAX_WORDS,
    AnomalyContext,
    AnomalyReason,
    ApprovalContext,
    ApprovalSummary,
    ClauseSuggestion,
    DocumentLabel,
    DocumentSuggestion,
    DocumentText,
    Explanation,
    risk_words,
    word_count,
)
from backoffice.assist.port import ClauseRules

LOCAL_MODEL_ID = "local-rules"
# The templates' ids, as a prompt's: "<task>.local.v<N>" (a change to a template is a new version).
LOCAL_PROMPTS = {
    "summarize_approval": "summarize_approval.local.v1",
    "classify_clauses": "classify_clauses.local.v1",
    "classify_document": "classify_document.local.v1",
    "explain_anomalies": "explain_anomalies.local.v1",
}


@dataclass(frozen=True)
class Usage:
    """What one call cost: tokens in and out (0 for the rules) and how long it took."""

    input_tokens: int = 0
    output_tokens: int = 0
    latency_ms: float = 0.0


class LocalAssistant:
    """The rules and templates. ``clause_rules``: needed by ``classify_clauses`` only."""

    source = "local"
    model_id = LOCAL_MODEL_ID

    def __init__(self, clause_rules: ClauseRules | None = None) -> None:
        self._clause_rules = clause_rules
        self.last_usage = Usage()

    def summarize_approval(self, context: ApprovalContext) -> ApprovalSummary:
        summary = _summary(context)
        used = tuple(fact for fact in context.facts() if fact and fact.lower() in summary.lower())
        return ApprovalSummary(
            prompt_id=LOCAL_PROMPTS["summarize_approval"], summary=summary, facts_used=used
        )

    def classify_clauses(self, sentences: Sequence[str]) -> list[ClauseSuggestion]:
        if self._clause_rules is None:
            raise ValueError(
                "classifying clauses locally needs the firm's contract-risk rules (clause_rules)"
            )
        found = self._clause_rules(list(sentences))
        return [
            ClauseSuggestion(
                prompt_id=LOCAL_PROMPTS["classify_clauses"],
                index=index,
                label=hit[0] if hit else "standard",
                why=hit[1] if hit else "no contract-risk rule matches",
            )
            for index, hit in enumerate(found)
        ]

    def classify_document(self, document: DocumentText) -> DocumentSuggestion:
        label, confidence, why = classify_by_marks(document.text)
        return DocumentSuggestion(
            prompt_id=LOCAL_PROMPTS["classify_document"], label=label, confidence=confidence, why=why
        )

    def explain_anomalies(self, context: AnomalyContext) -> Explanation:
        return Explanation(prompt_id=LOCAL_PROMPTS["explain_anomalies"], text=_explanation(context))


# -- documents ---------------------------------------------------------------------------------------------------

_I = re.IGNORECASE
# (pattern, weight): a form's title or printed heading weighs most, words any document may carry least.
_MARKS: dict[DocumentLabel, tuple[tuple[re.Pattern[str], int], ...]] = {
    "w9": (
        (re.compile(r"\bform\s+W-?9\b", _I), 5),
        (re.compile(r"request\s+for\s+taxpayer\s+identification\s+number", _I), 5),
        (re.compile(r"\bbackup\s+withholding\b", _I), 2),
        (re.compile(r"\bfederal\s+tax\s+classification\b", _I), 2),
        (re.compile(r"\bexempt\s+payee\s+code\b", _I), 2),
    ),
    "coi": (
        (re.compile(r"certificate\s+of\s+(?:liability\s+)?insurance", _I), 5),
        (re.compile(r"\bACORD\b"), 4),
        (re.compile(r"\bcertificate\s+holder\b", _I), 2),
        (re.compile(r"\binsurers?\s+affording\s+coverage\b", _I), 2),
        (re.compile(r"\b(?:each\s+occurrence|general\s+aggregate|umbrella\s+liab)", _I), 2),
        (re.compile(r"\bpolicy\s+(?:number|eff|exp)", _I), 1),
    ),
    "bank_letter": (
        (re.compile(r"\b(?:ABA\s+)?routing\s+(?:number|no\.?|transit)", _I), 3),
        (re.compile(r"\baccount\s+(?:verification|confirmation)\b", _I), 4),
        (re.compile(r"\b(?:confirm|verify|certify)\w*\b[^.]{0,80}\baccount\b", _I), 2),
        (re.compile(r"\baccount\s+(?:holder|name|number|no\.?)\b", _I), 2),
        (re.compile(r"\b(?:SWIFT|BIC|IBAN)\b"), 2),
        (re.compile(r"\bin\s+good\s+standing\b", _I), 1),
    ),
    "invoice": (
        (re.compile(r"\binvoice\s+(?:number|no\.?|#|date)", _I), 4),
        (re.compile(r"^\s*(?:tax\s+)?invoice\b", _I | re.MULTILINE), 3),
        (re.compile(r"\b(?:amount|balance|total)\s+due\b", _I), 3),
        (re.compile(r"\bbill\s+to\b", _I), 2),
        (re.compile(r"\b(?:subtotal|remit\s+to|payment\s+terms|net\s+\d+)\b", _I), 1),
    ),
    "sow": (
        (re.compile(r"\bstatement\s+of\s+work\b", _I), 5),
        (re.compile(r"\bscope\s+of\s+(?:services|work)\b", _I), 3),
        (re.compile(r"\bdeliverables?\b", _I), 2),
        (re.compile(r"\bmaster\s+(?:services|consulting)\s+agreement\b", _I), 2),
        (re.compile(r"\b(?:milestones?|acceptance\s+criteria|period\s+of\s+performance)\b", _I), 1),
    ),
}
# A label needs this much weight to be named; below it the document is "other".
_ENOUGH = 4


def classify_by_marks(text: str) -> tuple[DocumentLabel, float, str]:
    """The document type whose marks weigh most on the page, with the share of the weight it holds and the
    marks found; "other" below ``_ENOUGH``."""
    scores: dict[DocumentLabel, tuple[int, list[str]]] = {}
    for label, marks in _MARKS.items():
        found = [(m.group(0), weight) for pattern, weight in marks if (m := pattern.search(text))]
        scores[label] = (sum(weight for _, weight in found), [" ".join(words.split()) for words, _ in found])
    label, (score, words) = max(scores.items(), key=lambda item: item[1][0])
    if score < _ENOUGH:
        return (
            "other",
            1.0 - score / (_ENOUGH * 2),
            "none of the marks of a W-9, COI, bank letter, invoice or SOW",
        )
    total = sum(s for s, _ in scores.values())
    return label, round(score / total, 2), "found: " + "; ".join(words[:4])


# -- summaries ---------------------------------------------------------------------------------------------------

_SENTENCE_WORDS = 22


def _clip(text: str, words: int) -> str:
    parts = text.split()
    return " ".join(parts) if len(parts) <= words else " ".join(parts[:words]) + " …"


def _summary(context: ApprovalContext) -> str:
    """The request, its amounts, its risks and anomalies, and what approve and reject do: first what a reader
    must have (the facts), then the quoted sentences and reasons as the 120 words allow."""
    amounts = "; ".join(f"{a.label} {a.text()}" for a in context.amounts)
    risk_names = [f"{r.severity} risk: {risk_words(r.label)}" for r in context.risks]
    anomalies = [a.subject for a in context.anomalies]
    head = [context.title.rstrip(".") + "."]
    if amounts:
        head.append(f"Amounts: {amounts}.")
    tail = [f"Approve: {context.on_approve.rstrip('.')}.", f"Reject: {context.on_reject.rstrip('.')}."]
    budget = SUMMARY_MAX_WORDS - word_count(" ".join(head + tail))
    middle: list[str] = []
    if not context.risks:
        middle.append("No risks flagged.")
    details = [(name, r.sentence) for name, r in zip(risk_names, context.risks, strict=True)] + [
        (f"flagged {subject}", "; ".join(reason.text for reason in a.reasons))
        for subject, a in zip(anomalies, context.anomalies, strict=True)
    ]
    # The names first (each a fact), then each one's sentence while words remain.
    budget -= word_count(" ".join(middle)) + sum(word_count(name) + 1 for name, _ in details)
    for name, detail in details:
        quoted = _clip(detail, min(_SENTENCE_WORDS, max(budget - 2, 0))) if detail and budget > 6 else ""
        if quoted:
            budget -= word_count(quoted) + 1
            middle.append(f'{name[:1].upper()}{name[1:]} ("{quoted}").')
        else:
            middle.append(f"{name[:1].upper()}{name[1:]}.")
    text = " ".join(head + middle + tail)
    words = text.split()
    return text if len(words) <= SUMMARY_MAX_WORDS else " ".join(words[: SUMMARY_MAX_WORDS - 1]) + " …"


# -- explanations ------------------------------------------------------------------------------------------------


def _reason_sentence(reason: AnomalyReason) -> str:
    what = reason.meaning or reason.check.replace("_", " ")
    if reason.kind == "violation":
        why = "a written policy rule was not met, so a person must decide whether the line stands"
    elif reason.kind == "signal":
        why = "this is unusual rather than wrong: the reviewer judges whether there is a good reason"
    else:
        why = "the reviewer decides whether it stands"
    if not what.strip():
        return f"{reason.text.rstrip('.')}. Rule {reason.rule} flagged it; {why}."
    return f"{reason.text.rstrip('.')}. Rule {reason.rule} checks for {what.rstrip('.')}; {why}."


def _explanation(context: AnomalyContext) -> str:
    line = context.line
    if not line.reasons:
        return f"{line.subject} has no anomaly reason: nothing to explain."
    count = len(line.reasons)
    opening = f"{line.subject} was flagged for {count} reason{'s' if count > 1 else ''}."
    return " ".join([opening, *(_reason_sentence(reason) for reason in line.reasons)])


__all__ = ["LOCAL_MODEL_ID", "LOCAL_PROMPTS", "LocalAssistant", "Usage", "classify_by_marks"]
