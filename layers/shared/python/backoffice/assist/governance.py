"""The one place every assistant call goes through, whichever adapter answers: masking, audit, metrics, fallback.

For each call, in order:

1. mask the input (``masking.mask_prompt_value``): tax ids, bank numbers and IBANs as their last four, e-mail
   addresses as ``[e-mail]``, the case's known people by their roles. Both adapters get the masked input, so what
   the rules saw is what a model would have seen, and the audit's input digest is of what left (or could have);
2. ask the adapter; when Bedrock gives no usable answer (``AssistUnavailable``: refused, truncated, throttled,
   timed out, invalid twice) ask the local rules instead, and keep the reason in the suggestion
   (``fallback_reason``);
3. append ONE audit record (``ai.suggested``, below) and emit the metrics: calls, tokens, cost, latency, fallbacks.

The audit record, one per call (the agreement measure of the process report reads these):

- actor ``ai:<model id>`` of whoever answered: ``ai:anthropic.claude-3-haiku-...`` or ``ai:local-rules``;
- action ``ai.suggested``; outcome the suggestion in one word: the document label, ``summarized``,
  ``explained``, or for clauses ``flagged`` (a sentence other than "standard") or ``standard``;
- reasons: the fallback reason, when there was one;
- input_digest / output_digest: SHA-256 of the masked input and of the suggestion (``audit.digest``);
- data: ``use``, ``task``, ``prompt_id``, ``source``, ``model_id``, ``requested_model`` (Bedrock's model when it
  was asked, even if the rules answered), ``input_tokens``, ``output_tokens``, ``latency_ms``, ``cost_usd``
  (a decimal string), ``fallback_reason``, and ``suggestion``: the label (documents), the labels by sentence index
  that are not "standard" (clauses, ``{"3": "uncapped_liability"}``), or the text (summaries, explanations: masked,
  at most 120 words, what the person was shown).

Metrics (``backoffice.metrics``, dimensions ``use`` and ``model``): ``AiCalls``, ``AiInputTokens``,
``AiOutputTokens``, ``AiCostMicroUsd`` (cost in millionths of a dollar: a whole count sums without float error),
``AiLatency`` (milliseconds); ``AiFallbacks`` with ``use`` and ``reason`` (its kind: refused, truncated,
throttled, timeout, invalid_output, error).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from decimal import Decimal
from typing import Any, TypeVar

from aws_lambda_powertools.metrics import MetricUnit

from backoffice import metrics
from backoffice.assist.config import AiAssistConfig
from backoffice.assist.local import LocalAssistant, Usage
from backoffice.assist.models import (
    AnomalyContext,
    ApprovalContext,
    ApprovalSummary,
    AssistCase,
    AssistUse,
    ClauseSuggestion,
    DocumentSuggestion,
    DocumentText,
    Explanation,
    Suggestion,
)
from backoffice.assist.port import Assistant, AssistUnavailable
from backoffice.audit import Actor, CaseTrail
from backoffice.masking import mask_for_prompt, mask_prompt_value

SUGGESTED = "ai.suggested"
WHY_CHARACTERS = 200  # a suggestion's "why" as people read it: one line
# What of a document is read: its first page, as text (a longer text is cut here, before it is masked or sent).
DOCUMENT_TEXT_LIMIT = 8_000
T = TypeVar("T")


class GovernedAssistant:
    """An ``Assistant`` that masks, audits, measures and falls back. ``inner`` answers (Bedrock or the local rules);
    ``local`` answers when it cannot; ``trail`` None records nothing (the eval command only)."""

    def __init__(
        self,
        use: AssistUse,
        inner: Assistant,
        local: LocalAssistant,
        *,
        config: AiAssistConfig,
        case: AssistCase | None,
        trail: CaseTrail | None,
    ) -> None:
        self.use, self.inner, self.local = use, inner, local
        self.config, self.case, self.trail = config, case, trail

    def summarize_approval(self, context: ApprovalContext) -> ApprovalSummary:
        masked = ApprovalContext.model_validate(self._masked(context.model_dump()))
        return self._call("summarize_approval", masked, lambda a: a.summarize_approval(masked), _one_word)

    def classify_clauses(self, sentences: Sequence[str]) -> list[ClauseSuggestion]:
        masked = [str(s) for s in self._masked(list(sentences))]
        return self._call("classify_clauses", masked, lambda a: a.classify_clauses(masked), _clauses_word)

    def classify_document(self, document: DocumentText) -> DocumentSuggestion:
        first_page = document.model_copy(update={"text": document.text[:DOCUMENT_TEXT_LIMIT]})
        masked = DocumentText.model_validate(self._masked(first_page.model_dump()))
        return self._call("classify_document", masked, lambda a: a.classify_document(masked), _one_word)

    def explain_anomalies(self, context: AnomalyContext) -> Explanation:
        masked = AnomalyContext.model_validate(self._masked(context.model_dump()))
        return self._call("explain_anomalies", masked, lambda a: a.explain_anomalies(masked), _one_word)

    # -- the one path --------------------------------------------------------------------------------------------

    def _masked(self, value: Any) -> Any:
        # Python-mode dumps: amounts stay Decimals, which masking leaves alone (a JSON dump would turn
        # USD 250,000,000.00 into a 9-digit string that looks like a routing number).
        case = self.case
        return mask_prompt_value(
            value, case.known_people if case else None, case.known_names if case else None
        )

    def _call(self, task: str, masked: Any, ask: Callable[[Assistant], T], outcome: Callable[[T], str]) -> T:
        requested = getattr(self.inner, "model_id", "local-rules")
        started = time.perf_counter()
        spent = Usage()
        reason: str | None = None
        try:
            result = ask(self.inner)
            spent = getattr(self.inner, "last_usage", None) or Usage()
        except AssistUnavailable as unavailable:
            reason = unavailable.reason
            spent = Usage(unavailable.input_tokens, unavailable.output_tokens)
            result = _with_fallback(ask(self.local), reason)
        except Exception as error:
            # A suggestion never fails a case: whatever else goes wrong in the model's adapter, the rules answer
            # (and the reason says what it was). The rules' own errors are the product's and go up.
            if self.inner is self.local:
                raise
            reason = f"error: {type(error).__name__}"
            result = _with_fallback(ask(self.local), reason)
        result = self._sanitized(result)
        latency_ms = round((time.perf_counter() - started) * 1000, 1)
        self._measure(requested, spent, latency_ms, reason)
        if self.trail is not None and self.case is not None:
            self._audit(task, masked, result, outcome(result), requested, spent, latency_ms, reason)
        return result

    def _sanitized(self, result: T) -> T:
        """What a model wrote goes where people read it (mails, pages, reasons, an error's cause): its words are
        masked like its input (a number it echoed, a name it guessed) and a ``why`` kept to a short line."""
        people = self.case.known_people if self.case else None
        names = self.case.known_names if self.case else None

        def clean(suggestion: Any) -> Any:
            if not isinstance(suggestion, Suggestion):
                return suggestion
            update: dict[str, Any] = {}
            for name in ("why", "summary", "text"):
                value = getattr(suggestion, name, None)
                if isinstance(value, str):
                    masked = mask_for_prompt(value, people, names)
                    update[name] = _clip(masked, WHY_CHARACTERS) if name == "why" else masked
            if isinstance(suggestion, ApprovalSummary):
                update["facts_used"] = tuple(mask_for_prompt(f, people, names) for f in suggestion.facts_used)
            return suggestion.model_copy(update=update) if update else suggestion

        if isinstance(result, list):
            return [clean(item) for item in result]  # type: ignore[return-value]
        cleaned: T = clean(result)
        return cleaned

    def _measure(self, model: str, spent: Usage, latency_ms: float, reason: str | None) -> None:
        use = self.use
        metrics.record("AiCalls", 1, use=use, model=model)
        metrics.record("AiLatency", latency_ms, unit=MetricUnit.Milliseconds, use=use, model=model)
        if spent.input_tokens or spent.output_tokens:
            metrics.record("AiInputTokens", spent.input_tokens, use=use, model=model)
            metrics.record("AiOutputTokens", spent.output_tokens, use=use, model=model)
            micro = self.config.cost_usd(spent.input_tokens, spent.output_tokens) * 1_000_000
            metrics.record("AiCostMicroUsd", float(micro.quantize(Decimal(1))), use=use, model=model)
        if reason is not None:
            metrics.record("AiFallbacks", 1, use=use, reason=reason.partition(":")[0])

    def _audit(
        self,
        task: str,
        masked: Any,
        result: Any,
        outcome: str,
        requested: str,
        spent: Usage,
        latency_ms: float,
        reason: str | None,
    ) -> None:
        assert self.trail is not None and self.case is not None
        first = result[0] if isinstance(result, list) and result else result
        source = first.source if isinstance(first, Suggestion) else "local"
        model_id = first.model_id if isinstance(first, Suggestion) else self.local.model_id
        prompt_id = first.prompt_id if isinstance(first, Suggestion) else ""
        output = (
            [r.model_dump(mode="json") for r in result]
            if isinstance(result, list)
            else result.model_dump(mode="json")
        )
        self.trail.append(
            case_id=self.case.case_id,
            workflow=self.case.workflow,
            step=self.case.step,
            actor=Actor.ai(model_id),
            action=SUGGESTED,
            outcome=outcome,
            reasons=(reason,) if reason else (),
            input=masked.model_dump(mode="json") if hasattr(masked, "model_dump") else masked,
            output=output,
            execution_arn=self.case.execution_arn,
            data={
                "use": self.use,
                "task": task,
                "prompt_id": prompt_id,
                "source": source,
                "model_id": model_id,
                "requested_model": requested,
                "input_tokens": spent.input_tokens,
                "output_tokens": spent.output_tokens,
                "latency_ms": latency_ms,
                "cost_usd": format(
                    self.config.cost_usd(spent.input_tokens, spent.output_tokens).normalize(), "f"
                ),
                "fallback_reason": reason,
                "suggestion": _suggestion(result),
            },
        )


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _with_fallback(result: T, reason: str) -> T:
    if isinstance(result, list):
        return [r.model_copy(update={"fallback_reason": reason}) for r in result]  # type: ignore[return-value]
    if not isinstance(result, Suggestion):
        raise TypeError(f"not a suggestion: {type(result).__name__}")
    return result.model_copy(update={"fallback_reason": reason})


def _one_word(result: Any) -> str:
    if isinstance(result, DocumentSuggestion):
        return result.label
    if isinstance(result, ApprovalSummary):
        return "summarized"
    return "explained"


def _clauses_word(result: list[ClauseSuggestion]) -> str:
    return "flagged" if any(s.label != "standard" for s in result) else "standard"


def _suggestion(result: Any) -> Any:
    if isinstance(result, list):
        return {str(s.index): s.label for s in result if s.label != "standard"}
    if isinstance(result, DocumentSuggestion):
        return result.label
    if isinstance(result, ApprovalSummary):
        return result.summary
    if isinstance(result, Explanation):
        return result.text
    return None


__all__ = ["SUGGESTED", "GovernedAssistant"]
