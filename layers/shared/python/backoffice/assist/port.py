"""The assistant port: one method per use, typed in and out (``assist.models``). Two adapters answer it:
``local.LocalAssistant`` (the rules and templates, no AWS) and ``bedrock.BedrockAssistant`` (the Converse API);
``governance.GovernedAssistant`` wraps either with masking, audit, metrics and the fall back to local. A workflow
asks for one with ``assist.wiring.assistant(use, case)``, never builds an adapter itself.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from backoffice.assist.models import (
    AnomalyContext,
    ApprovalContext,
    ApprovalSummary,
    ClauseLabel,
    ClauseSuggestion,
    DocumentSuggestion,
    DocumentText,
    Explanation,
)


class Assistant(Protocol):
    """Recommend-only: each method returns a suggestion a person (or a rule) may follow or ignore."""

    def summarize_approval(self, context: ApprovalContext) -> ApprovalSummary: ...

    def classify_clauses(self, sentences: Sequence[str]) -> list[ClauseSuggestion]: ...

    def classify_document(self, document: DocumentText) -> DocumentSuggestion: ...

    def explain_anomalies(self, context: AnomalyContext) -> Explanation: ...


class ClauseRules(Protocol):
    """The firm's contract-risk rules, one sentence at a time: for each sentence, the rule it breaks and the rule's
    explanation, or None. ``onboarding.clause_rules.clause_rules(policy)`` builds it from the contract-risk rules (this
    package imports no workflow, so the caller hands it in)."""

    def __call__(self, sentences: Sequence[str]) -> list[tuple[ClauseLabel, str] | None]: ...


class AssistUnavailable(Exception):
    """The adapter gave no usable answer (refused, truncated, throttled, timed out, invalid twice): ``reason`` says
    which, in a few words the audit record keeps; ``input_tokens``/``output_tokens`` what the attempts still cost."""

    def __init__(self, reason: str, *, input_tokens: int = 0, output_tokens: int = 0) -> None:
        super().__init__(reason)
        self.reason = reason
        self.input_tokens = input_tokens
        self.output_tokens = output_tokens


__all__ = ["AssistUnavailable", "Assistant", "ClauseRules"]
