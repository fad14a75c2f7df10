"""The Bedrock assistant: Amazon Bedrock's Converse API behind the assistant port.

One call per use: the versioned prompt (``prompts/<task>.v<N>.txt``, its id ``<task>.v<N>``) as the system text,
the masked input as JSON in the user message, temperature 0, the configured model (a foundation model or a
cross-region inference profile) and, when the firm set one, its Guardrail. The answer must be one JSON object
that the task's reply model validates; an invalid answer is sent back once with what was wrong, and a second
invalid answer gives up.

Giving up raises ``AssistUnavailable`` with a reason whose first word is its kind, for the governance to fall back
to the local rules and audit it:

- ``refused``: stopReason ``guardrail_intervened`` or ``content_filtered``;
- ``truncated``: stopReason ``max_tokens`` (half a JSON object is no answer);
- ``throttled``: ``ThrottlingException`` / ``ServiceQuotaExceededException`` (no retry: the rules answer now);
- ``timeout``: no answer within the configured seconds (the client's connect/read timeouts, and the whole call);
- ``invalid_output``: no valid JSON twice, or a summary with an amount the facts do not have;
- ``error``: any other service error (``AccessDeniedException`` when the stack does not grant the model).

The input is masked before it gets here (``governance``); this module never sees a name, tax id or bank number.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable, Sequence
from functools import cache
from pathlib import Path
from typing import Any, TypeVar

from botocore.exceptions import BotoCoreError, ClientError, ConnectTimeoutError, ReadTimeoutError
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from backoffice import aws
from backoffice.assist.config import AiAssistConfig
from backoffice.assist.local import Usage
from backoffice.assist.models import (
    AnomalyContext,
    ApprovalContext,
    ApprovalSummary,
    ClauseLabel,
    ClauseSuggestion,
    DocumentLabel,
    DocumentSuggestion,
    DocumentText,
    Explanation,
    word_count,
)
from backoffice.assist.port import AssistUnavailable
from backoffice.assist.rubric import allowed_amounts, amounts_in
from backoffice.models.envelope import Model

PROMPTS_DIR = Path(__file__).with_name("prompts")
# The prompt version each task uses; a new prompt is a new file and a new number here (the old stays, so an
# audited prompt id can always be read back).
PROMPT_VERSIONS = {
    "summarize_approval": 1,
    "classify_clauses": 1,
    "classify_document": 1,
    "explain_anomalies": 1,
}
_REFUSED = {"guardrail_intervened", "content_filtered"}
_THROTTLED = {"ThrottlingException", "ServiceQuotaExceededException", "TooManyRequestsException"}
_TIMEOUT_CODES = {"ModelTimeoutException", "RequestTimeout", "RequestTimeoutException"}
_JSON_OBJECT = re.compile(r"\{.*\}", re.DOTALL)
# Sentences per Converse call when classifying clauses: about 30 output tokens each, well within max_output_tokens.
CLAUSE_BATCH = 15
# The clause batches of one contract share this many model timeouts in all (then the rules answer).
CLAUSE_DEADLINE_TIMEOUTS = 3
# ... and never more than this: the deadline plus one batch's two calls (at most 2 x 20 s) end inside the contract
# risk step's 90 s timeout (infra/catalog.py), so every call made is audited.
CLAUSE_DEADLINE_SECONDS = 40
EXPLANATION_MAX_WORDS = 150

R = TypeVar("R", bound=BaseModel)


def prompt_id(task: str) -> str:
    return f"{task}.v{PROMPT_VERSIONS[task]}"


@cache
def prompt_text(prompt: str) -> str:
    """The text of a prompt by its id (``classify_clauses.v1``)."""
    return (PROMPTS_DIR / f"{prompt}.txt").read_text(encoding="utf-8")


def bedrock_runtime(config: AiAssistConfig) -> Any:
    """The container's shared ``bedrock-runtime`` client in the configured region, with the configured timeout."""
    return aws.client("bedrock-runtime", region=config.region, timeout_seconds=config.timeout_seconds)


# -- what each task must answer ----------------------------------------------------------------------------------


class _Reply(Model):
    # What a model answered: extra keys it adds are ignored (its reasoning, a note); the validator builds on first use.
    model_config = ConfigDict(extra="ignore")


class _SummaryReply(_Reply):
    summary: str = Field(min_length=1)
    facts_used: list[str] = []


class _ClauseReply(_Reply):
    index: int = Field(ge=0)
    label: ClauseLabel
    why: str = ""


class _ClausesReply(_Reply):
    clauses: list[_ClauseReply]


class _DocumentReply(_Reply):
    label: DocumentLabel
    confidence: float = Field(ge=0, le=1)
    why: str = ""


class _ExplanationReply(_Reply):
    text: str = Field(min_length=1)

    @field_validator("text")
    @classmethod
    def _short(cls, text: str) -> str:
        # The prompt asks for 90 words; a reviewer reads it beside the line, not instead of it.
        if word_count(text) > EXPLANATION_MAX_WORDS:
            raise ValueError(f"at most {EXPLANATION_MAX_WORDS} words")
        return text


def _clauses_reader(count: int) -> Callable[[str], _ClausesReply]:
    def read(text: str) -> _ClausesReply:
        reply = _json_reply(text, _ClausesReply)
        if sorted(c.index for c in reply.clauses) != list(range(count)):
            raise _Invalid(f"answer exactly one entry per sentence, index 0 to {count - 1}")
        return reply

    return read


class _Invalid(ValueError):
    """The answer is not what the task asked for: said back to the model once."""


def _json_reply(text: str, reply: type[R]) -> R:
    stripped = text.strip()
    if not stripped.startswith("{"):
        found = _JSON_OBJECT.search(stripped)  # a model may wrap its JSON in a sentence or a code fence
        stripped = found.group(0) if found else stripped
    try:
        return reply.model_validate_json(stripped)
    except ValidationError as error:
        first = error.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or "the answer"
        raise _Invalid(f"{where}: {first['msg']}") from None


class BedrockAssistant:
    """The assistant port over ``bedrock-runtime``'s Converse. ``client``: a ``bedrock-runtime`` client."""

    source = "bedrock"

    def __init__(
        self, client: Any, config: AiAssistConfig, *, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._client, self._config, self._clock = client, config, clock
        self.model_id = config.model_id
        self.last_usage = Usage()

    # -- the four uses ---------------------------------------------------------------------------------------

    def summarize_approval(self, context: ApprovalContext) -> ApprovalSummary:
        allowed = allowed_amounts(context)

        def read(text: str) -> _SummaryReply:
            reply = _json_reply(text, _SummaryReply)
            invented = amounts_in(reply.summary) - allowed
            if invented:
                raise _Invalid("the summary has amounts the input does not: " + ", ".join(map(str, invented)))
            try:
                ApprovalSummary(prompt_id="-", summary=reply.summary)
            except ValidationError:
                raise _Invalid("the summary has more than 120 words") from None
            return reply

        task = "summarize_approval"
        reply = self._converse(task, context.model_dump(mode="json", exclude={"workflow"}), read)
        return ApprovalSummary(**self._meta(task), summary=reply.summary, facts_used=tuple(reply.facts_used))

    def classify_clauses(self, sentences: Sequence[str]) -> list[ClauseSuggestion]:
        """In batches of ``CLAUSE_BATCH`` sentences (a contract's 200 sentences in one answer would outrun
        ``max_output_tokens`` and come back truncated); any batch failing fails the whole call, with every batch's
        tokens counted."""
        task = "classify_clauses"
        suggestions: list[ClauseSuggestion] = []
        spent = [0, 0]
        # One deadline for the whole contract: a long SOW's batches must not outlast the function (whose timeout
        # would leave the calls made unaudited); past it the rules answer, with the reason.
        budget = min(self._config.timeout_seconds * CLAUSE_DEADLINE_TIMEOUTS, CLAUSE_DEADLINE_SECONDS)
        deadline = self._clock() + budget
        for start in range(0, len(sentences), CLAUSE_BATCH):
            if start and self._clock() > deadline:
                raise self._unavailable(
                    f"timeout: {start} of {len(sentences)} sentences classified within {budget:g} s", spent
                )
            batch = list(sentences[start : start + CLAUSE_BATCH])
            try:
                reply = self._converse(task, batch, _clauses_reader(len(batch)))
            except AssistUnavailable as unavailable:
                spent = [spent[0] + unavailable.input_tokens, spent[1] + unavailable.output_tokens]
                raise self._unavailable(unavailable.reason, spent) from None
            spent = [spent[0] + self.last_usage.input_tokens, spent[1] + self.last_usage.output_tokens]
            suggestions += [
                ClauseSuggestion(**self._meta(task), index=start + c.index, label=c.label, why=c.why[:200])
                for c in sorted(reply.clauses, key=lambda c: c.index)
            ]
        self.last_usage = Usage(spent[0], spent[1])
        return suggestions

    def classify_document(self, document: DocumentText) -> DocumentSuggestion:
        task = "classify_document"
        reply = self._converse(
            task, document.model_dump(mode="json"), lambda text: _json_reply(text, _DocumentReply)
        )
        return DocumentSuggestion(
            **self._meta(task), label=reply.label, confidence=reply.confidence, why=reply.why
        )

    def explain_anomalies(self, context: AnomalyContext) -> Explanation:
        quoted = " ".join([context.line.subject, *(reason.text for reason in context.line.reasons)])
        allowed = amounts_in(quoted) | ({context.amount.amount.normalize()} if context.amount else set())

        def read(text: str) -> _ExplanationReply:
            reply = _json_reply(text, _ExplanationReply)
            invented = amounts_in(reply.text) - allowed
            if invented:
                raise _Invalid(
                    "the explanation has amounts the line does not: " + ", ".join(map(str, invented))
                )
            return reply

        task = "explain_anomalies"
        reply = self._converse(task, context.model_dump(mode="json"), read)
        return Explanation(**self._meta(task), text=reply.text)

    # -- one conversation: ask, and once more if the answer was invalid ---------------------------------------

    def _meta(self, task: str) -> dict[str, Any]:
        return {"source": "bedrock", "model_id": self.model_id, "prompt_id": prompt_id(task)}

    def _converse(self, task: str, payload: Any, read: Callable[[str], R]) -> R:
        started = self._clock()
        spent = [0, 0]
        messages: list[dict[str, Any]] = [
            {"role": "user", "content": [{"text": json.dumps(payload, ensure_ascii=False, default=str)}]}
        ]
        problem = ""
        for attempt in (1, 2):
            text = self._ask(task, messages, spent, started)
            try:
                result = read(text)
            except _Invalid as invalid:
                problem = str(invalid)
                if attempt == 2:
                    break
                if self._clock() - started >= self._config.timeout_seconds:
                    raise self._unavailable(
                        f"timeout: no valid answer within {self._config.timeout_seconds:g} s", spent
                    ) from None
                messages += [
                    {"role": "assistant", "content": [{"text": text or "(empty)"}]},
                    {
                        "role": "user",
                        "content": [
                            {
                                "text": f"Your answer was not valid ({problem}). Answer again with the JSON "
                                "object only, as the instructions say."
                            }
                        ],
                    },
                ]
                continue
            self.last_usage = Usage(spent[0], spent[1], round((self._clock() - started) * 1000, 1))
            return result
        raise self._unavailable(f"invalid_output: {problem}", spent)

    def _ask(self, task: str, messages: list[dict[str, Any]], spent: list[int], started: float) -> str:
        request: dict[str, Any] = {
            "modelId": self._config.model_id,
            "system": [{"text": prompt_text(prompt_id(task))}],
            "messages": messages,
            "inferenceConfig": {"temperature": 0, "maxTokens": self._config.max_output_tokens},
        }
        if self._config.guardrail_id:
            request["guardrailConfig"] = {
                "guardrailIdentifier": self._config.guardrail_id,
                "guardrailVersion": self._config.guardrail_version,
            }
        try:
            response = self._client.converse(**request)
        except ClientError as error:
            code = error.response.get("Error", {}).get("Code", "ClientError")
            kind = "throttled" if code in _THROTTLED else "timeout" if code in _TIMEOUT_CODES else "error"
            raise self._unavailable(f"{kind}: {code}", spent) from error
        except (ReadTimeoutError, ConnectTimeoutError):
            raise self._unavailable(
                f"timeout: no answer within {self._config.timeout_seconds:g} s", spent
            ) from None
        except BotoCoreError as error:
            raise self._unavailable(f"error: {type(error).__name__}", spent) from error
        usage = response.get("usage") or {}
        spent[0] += int(usage.get("inputTokens", 0))
        spent[1] += int(usage.get("outputTokens", 0))
        stop = response.get("stopReason", "")
        if stop in _REFUSED:
            raise self._unavailable(f"refused: stopReason {stop}", spent)
        if stop == "max_tokens":
            raise self._unavailable("truncated: stopReason max_tokens", spent)
        content = response.get("output", {}).get("message", {}).get("content", [])
        return "".join(part.get("text", "") for part in content if isinstance(part, dict))

    def _unavailable(self, reason: str, spent: list[int]) -> AssistUnavailable:
        self.last_usage = Usage(spent[0], spent[1])
        return AssistUnavailable(reason, input_tokens=spent[0], output_tokens=spent[1])


__all__ = ["PROMPT_VERSIONS", "BedrockAssistant", "bedrock_runtime", "prompt_id", "prompt_text"]
