"""The Bedrock adapter (backoffice/assist/bedrock.py) against botocore's Stubber: Converse requests as Bedrock
takes them, responses as Bedrock gives them, and each way it fails falling back to the local rules, audited."""

from __future__ import annotations

import json
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import boto3
import pytest
from botocore.exceptions import ReadTimeoutError
from botocore.stub import ANY, Stubber

from backoffice.assist.bedrock import BedrockAssistant, prompt_text
from backoffice.assist.config import AiAssistConfig
from backoffice.assist.models import (
    Amount,
    AnomalyContext,
    AnomalyFact,
    AnomalyReason,
    ApprovalContext,
    DocumentText,
)
from backoffice.assist.port import AssistUnavailable
from backoffice.assist.wiring import assistant
from backoffice.audit import Actor
from backoffice.onboarding.clause_rules import clause_rules

MODEL = "anthropic.claude-3-haiku-20240307-v1:0"
CONFIG = AiAssistConfig(adapter="bedrock", model_id=MODEL, region="us-east-1")
CASE_FIELDS = {
    "case_id": "vendor-brightline-1",
    "workflow": "vendor_approval",
    "step": "read_vendor_documents",
}


@pytest.fixture
def bedrock() -> Iterator[tuple[Any, Stubber]]:
    client = boto3.client(
        "bedrock-runtime",
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    with Stubber(client) as stubber:
        yield client, stubber
        stubber.assert_no_pending_responses()


def _response(text: str, *, stop: str = "end_turn", tokens: tuple[int, int] = (812, 64)) -> dict[str, Any]:
    """A Converse response as Bedrock returns it."""
    return {
        "output": {"message": {"role": "assistant", "content": [{"text": text}]}},
        "stopReason": stop,
        "usage": {"inputTokens": tokens[0], "outputTokens": tokens[1], "totalTokens": sum(tokens)},
        "metrics": {"latencyMs": 740},
    }


def _expect(stubber: Stubber, response: dict[str, Any], expected: dict[str, Any] | None = None) -> None:
    stubber.add_response(
        "converse",
        response,
        expected
        or {
            "modelId": MODEL,
            "system": ANY,
            "messages": ANY,
            "inferenceConfig": {"temperature": 0, "maxTokens": CONFIG.max_output_tokens},
        },
    )


def _throttled(stubber: Stubber, code: str = "ThrottlingException") -> None:
    stubber.add_client_error(
        "converse",
        service_error_code=code,
        service_message="Too many requests, please wait.",
        http_status_code=429,
    )


def _context() -> ApprovalContext:
    return ApprovalContext(
        title="Approve vendor Brightline Analytics",
        amounts=(Amount(label="first order", amount=Decimal("18500"), currency="USD"),),
        risks=(
            {"label": "insurance_above_cover", "sentence": "Vendor's COI shows USD 1,000,000 per claim."},
        ),
        on_approve="the vendor is released in the ERP",
        on_reject="the vendor stays on hold",
    )


# -- success -----------------------------------------------------------------------------------------------------


def test_a_document_is_classified_by_the_model_at_temperature_zero_with_the_versioned_prompt(
    bedrock: tuple[Any, Stubber],
) -> None:
    # Given Bedrock answering with a label
    client, stubber = bedrock
    _expect(
        stubber,
        _response(
            '{"label": "bank_letter", "confidence": 0.93, "why": "bank letterhead confirming an account"}'
        ),
        {
            "modelId": MODEL,
            "system": [{"text": prompt_text("classify_document.v1")}],
            "messages": [{"role": "user", "content": [{"text": ANY}]}],
            "inferenceConfig": {"temperature": 0, "maxTokens": 700},
        },
    )
    adapter = BedrockAssistant(client, CONFIG)
    # When a page is classified
    suggestion = adapter.classify_document(DocumentText(text="First National Bank ... account ****6789"))
    # Then it is the model's label, with its source, model and prompt id, and what it cost
    assert (suggestion.label, suggestion.confidence, suggestion.source) == ("bank_letter", 0.93, "bedrock")
    assert (suggestion.model_id, suggestion.prompt_id) == (MODEL, "classify_document.v1")
    assert (adapter.last_usage.input_tokens, adapter.last_usage.output_tokens) == (812, 64)


def test_a_guardrail_the_firm_configured_is_on_every_call(bedrock: tuple[Any, Stubber]) -> None:
    # Given a firm with a Guardrail
    client, stubber = bedrock
    config = CONFIG.model_copy(update={"guardrail_id": "gr-7x2k9", "guardrail_version": "3"})
    _expect(
        stubber,
        _response('{"text": "The receipt is missing, which the policy requires for lodging."}'),
        {
            "modelId": MODEL,
            "system": ANY,
            "messages": ANY,
            "inferenceConfig": ANY,
            "guardrailConfig": {"guardrailIdentifier": "gr-7x2k9", "guardrailVersion": "3"},
        },
    )
    # When an anomaly is explained  Then the call carried the Guardrail (the Stubber checked the request)
    reason = AnomalyReason(rule="TE4", check="receipt_missing", text="TE4 receipt missing for lodging")
    explanation = BedrockAssistant(client, config).explain_anomalies(
        AnomalyContext(line=AnomalyFact(subject="expense line 2", reasons=(reason,)))
    )
    assert explanation.text.startswith("The receipt is missing")


def test_clauses_come_back_one_per_sentence_in_order_even_wrapped_in_a_code_fence(
    bedrock: tuple[Any, Stubber],
) -> None:
    # Given a model answering out of order inside a Markdown fence
    client, stubber = bedrock
    answer = {
        "clauses": [
            {"index": 1, "label": "standard", "why": "ordinary kick-off"},
            {"index": 0, "label": "uncapped_liability", "why": "no ceiling on the firm's liability"},
        ]
    }
    _expect(stubber, _response("```json\n" + json.dumps(answer) + "\n```"))
    # When two sentences are classified
    suggestions = BedrockAssistant(client, CONFIG).classify_clauses(
        [
            "Provider's exposure under this SOW shall not be subject to any ceiling.",
            "Kick-off is in week one.",
        ]
    )
    # Then they are in sentence order with the model's labels
    assert [(s.index, s.label) for s in suggestions] == [(0, "uncapped_liability"), (1, "standard")]


# -- invalid, then valid on the retry ----------------------------------------------------------------------------


def test_invalid_json_is_sent_back_once_and_the_second_answer_is_used(bedrock: tuple[Any, Stubber]) -> None:
    # Given a model that first answers prose, then valid JSON
    client, stubber = bedrock
    _expect(stubber, _response("Sure! This looks like an invoice.", tokens=(700, 9)))
    _expect(stubber, _response('{"label": "invoice", "confidence": 0.88, "why": "amount due, bill to"}'))
    adapter = BedrockAssistant(client, CONFIG)
    # When a page is classified
    suggestion = adapter.classify_document(DocumentText(text="INVOICE 2026-114 Amount Due USD 4,200.00"))
    # Then the second answer is used and both calls' tokens are counted
    assert suggestion.label == "invoice"
    assert (adapter.last_usage.input_tokens, adapter.last_usage.output_tokens) == (700 + 812, 9 + 64)


def test_the_retry_tells_the_model_what_was_wrong(bedrock: tuple[Any, Stubber]) -> None:
    # Given a first answer with a label that does not exist
    client, stubber = bedrock
    _expect(stubber, _response('{"label": "purchase_order", "confidence": 0.7}'))
    stubber.add_response(
        "converse",
        _response('{"label": "other", "confidence": 0.6, "why": "a purchase order"}'),
        {
            "modelId": MODEL,
            "system": ANY,
            "inferenceConfig": ANY,
            "messages": [
                {"role": "user", "content": [{"text": ANY}]},
                {
                    "role": "assistant",
                    "content": [{"text": '{"label": "purchase_order", "confidence": 0.7}'}],
                },
                {"role": "user", "content": [{"text": ANY}]},
            ],
        },
    )
    # When classified  Then the second answer stands
    assert BedrockAssistant(client, CONFIG).classify_document(DocumentText(text="PO 7781")).label == "other"


def test_two_invalid_answers_give_up_as_invalid_output(bedrock: tuple[Any, Stubber]) -> None:
    client, stubber = bedrock
    _expect(stubber, _response("I cannot determine that."))
    _expect(stubber, _response('{"clauses": []}'))
    with pytest.raises(AssistUnavailable) as gave_up:
        BedrockAssistant(client, CONFIG).classify_clauses(["Fees are fixed."])
    assert gave_up.value.reason.startswith("invalid_output:")
    assert (gave_up.value.input_tokens, gave_up.value.output_tokens) == (2 * 812, 2 * 64)


def test_a_summary_with_an_amount_the_facts_do_not_have_is_not_shown(bedrock: tuple[Any, Stubber]) -> None:
    # Given a model inventing a total twice
    client, stubber = bedrock
    invented = '{"summary": "Approve vendor Brightline Analytics for USD 185,000.00. Approve or reject.", "facts_used": []}'
    _expect(stubber, _response(invented))
    _expect(stubber, _response(invented))
    # When summarizing  Then the adapter gives up rather than show an amount nobody asked about
    with pytest.raises(AssistUnavailable, match="invalid_output: the summary has amounts"):
        BedrockAssistant(client, CONFIG).summarize_approval(_context())


# -- failures fall back to the local rules, audited --------------------------------------------------------------


class Trail:
    def __init__(self) -> None:
        self.appended: list[dict[str, Any]] = []

    def records(self, case_id: str) -> list[Any]:
        return []

    def append(self, **fields: Any) -> Any:
        self.appended.append(fields)
        return fields


@pytest.mark.parametrize(
    ("stub", "reason"),
    [
        (
            lambda s: _expect(s, _response("", stop="guardrail_intervened", tokens=(640, 0))),
            "refused: stopReason guardrail_intervened",
        ),
        (
            lambda s: _expect(s, _response('{"label": "w9", "conf', stop="content_filtered")),
            "refused: stopReason content_filtered",
        ),
        (
            lambda s: _expect(
                s, _response('{"label": "w9", "confidence": 0.9, "why": "the IRS fo', stop="max_tokens")
            ),
            "truncated: stopReason max_tokens",
        ),
        (lambda s: _throttled(s), "throttled: ThrottlingException"),
        (
            lambda s: _throttled(s, "ServiceQuotaExceededException"),
            "throttled: ServiceQuotaExceededException",
        ),
        (lambda s: _throttled(s, "ModelTimeoutException"), "timeout: ModelTimeoutException"),
        (
            lambda s: s.add_client_error("converse", "AccessDeniedException", http_status_code=403),
            "error: AccessDeniedException",
        ),
    ],
    ids=["guardrail", "content-filter", "max-tokens", "throttling", "quota", "model-timeout", "not-granted"],
)
def test_each_failure_falls_back_to_the_local_rules_with_its_reason_audited(
    bedrock: tuple[Any, Stubber], stub: Any, reason: str
) -> None:
    # Given Bedrock failing in one of its ways
    client, stubber = bedrock
    stub(stubber)
    trail = Trail()
    governed = assistant(
        "document_classification", _case(), trail=trail, config=CONFIG, bedrock_client=client
    )
    # When a W-9 is classified
    suggestion = governed.classify_document(
        DocumentText(text="Form W-9 Request for Taxpayer Identification Number and Certification")
    )
    # Then the local rules answered, the suggestion and the audit record say why, and the model is named
    assert (suggestion.label, suggestion.source, suggestion.fallback_reason) == ("w9", "local", reason)
    [record] = trail.appended
    assert record["actor"] == Actor.ai("local-rules") and tuple(record["reasons"]) == (reason,)
    assert record["data"]["requested_model"] == MODEL and record["data"]["fallback_reason"] == reason


def test_a_read_timeout_falls_back_with_the_timeout_as_the_reason() -> None:
    # Given a client whose call times out (botocore raises ReadTimeoutError; the Stubber cannot)
    class TimingOut:
        def converse(self, **request: Any) -> Any:
            raise ReadTimeoutError(endpoint_url="https://bedrock-runtime.us-east-1.amazonaws.com")

    trail = Trail()
    governed = assistant(
        "clause_detection",
        _case(),
        trail=trail,
        config=CONFIG,
        bedrock_client=TimingOut(),
        clause_rules=clause_rules(),
    )
    # When clauses are classified
    suggestions = governed.classify_clauses(["Consultant's liability shall be unlimited."])
    # Then the rules answered, and the reason says it was the timeout
    assert suggestions[0].label == "uncapped_liability"
    assert suggestions[0].fallback_reason == "timeout: no answer within 10 s"
    assert trail.appended[0]["reasons"] == ("timeout: no answer within 10 s",)


def test_a_success_through_the_wiring_is_audited_as_the_model_with_its_tokens(
    bedrock: tuple[Any, Stubber],
) -> None:
    # Given Bedrock answering a summary that keeps to the facts
    client, stubber = bedrock
    summary = (
        "Approve vendor Brightline Analytics. First order USD 18,500.00. Insurance above cover: the COI shows "
        "USD 1,000,000 per claim. Approve: the vendor is released in the ERP. Reject: it stays on hold."
    )
    _expect(
        stubber,
        _response(json.dumps({"summary": summary, "facts_used": ["USD 18,500.00"]}), tokens=(1100, 90)),
    )
    trail = Trail()
    # When summarized through the wiring
    result = assistant(
        "approval_summary", _case(), trail=trail, config=CONFIG, bedrock_client=client
    ).summarize_approval(_context())
    # Then the model's summary is shown and the record is the model's, with tokens and cost
    assert result.summary == summary and result.source == "bedrock" and result.fallback_reason is None
    [record] = trail.appended
    assert record["actor"] == Actor.ai(MODEL)
    assert (record["data"]["input_tokens"], record["data"]["output_tokens"]) == (1100, 90)
    assert Decimal(record["data"]["cost_usd"]) == Decimal("0.0003875")


def _case() -> Any:
    from backoffice.assist.models import AssistCase

    return AssistCase(**CASE_FIELDS)


def _clauses_answer(count: int, label: str = "standard") -> str:
    return json.dumps({"clauses": [{"index": i, "label": label, "why": "ordinary"} for i in range(count)]})


def test_a_long_contract_is_classified_in_batches_with_every_batch_counted(
    bedrock: tuple[Any, Stubber],
) -> None:
    # Given a contract of 20 sentences (more than one batch of 15)
    client, stubber = bedrock
    _expect(stubber, _response(_clauses_answer(15), tokens=(1500, 400)))
    _expect(stubber, _response(_clauses_answer(5, "other_nonstandard"), tokens=(700, 140)))
    adapter = BedrockAssistant(client, CONFIG)
    # When classified
    suggestions = adapter.classify_clauses([f"Sentence {i}." for i in range(20)])
    # Then each sentence has its own answer under its own index, and both calls' tokens are counted
    assert [s.index for s in suggestions] == list(range(20))
    assert [s.label for s in suggestions[15:]] == ["other_nonstandard"] * 5
    assert (adapter.last_usage.input_tokens, adapter.last_usage.output_tokens) == (2200, 540)


def test_a_batch_that_fails_fails_the_call_with_the_tokens_already_spent(
    bedrock: tuple[Any, Stubber],
) -> None:
    # Given a first batch answered and the second throttled
    client, stubber = bedrock
    _expect(stubber, _response(_clauses_answer(15), tokens=(1500, 400)))
    _throttled(stubber)
    # When classified  Then the call gives up as throttled, having spent the first batch's tokens
    with pytest.raises(AssistUnavailable) as gave_up:
        BedrockAssistant(client, CONFIG).classify_clauses([f"Sentence {i}." for i in range(20)])
    assert gave_up.value.reason == "throttled: ThrottlingException"
    assert (gave_up.value.input_tokens, gave_up.value.output_tokens) == (1500, 400)


def test_an_explanation_longer_than_a_reviewer_reads_is_asked_again(bedrock: tuple[Any, Stubber]) -> None:
    # Given a model that rambles, then keeps it short
    client, stubber = bedrock
    _expect(stubber, _response(json.dumps({"text": "word " * 200})))
    _expect(stubber, _response('{"text": "The lodging receipt is missing; policy requires one."}'))
    reason = AnomalyReason(rule="TE4", check="receipt_missing", text="TE4 receipt missing for lodging")
    # When explained  Then the short answer is kept
    explanation = BedrockAssistant(client, CONFIG).explain_anomalies(
        AnomalyContext(line=AnomalyFact(subject="expense line 2", reasons=(reason,)))
    )
    assert explanation.text.startswith("The lodging receipt is missing")


def test_a_contract_whose_batches_outlast_the_deadline_gives_up_as_a_timeout(
    bedrock: tuple[Any, Stubber],
) -> None:
    # Given a 40-sentence contract (three batches) and a model that takes 16 s a batch (timeout 10 s: 30 s in all)
    client, stubber = bedrock
    _expect(stubber, _response(_clauses_answer(15), tokens=(1500, 400)))
    _expect(stubber, _response(_clauses_answer(15), tokens=(1500, 400)))
    now = [0.0]

    def clock() -> float:
        return now[0]

    def slow(*_: Any, **__: Any) -> None:
        now[0] += 16

    client.meta.events.register("before-parameter-build.bedrock-runtime.Converse", slow)
    # When classified
    with pytest.raises(AssistUnavailable) as gave_up:
        BedrockAssistant(client, CONFIG, clock=clock).classify_clauses([f"Sentence {i}." for i in range(40)])
    # Then the third batch is never asked: the call gives up as a timeout with the two batches' tokens
    assert gave_up.value.reason == "timeout: 30 of 40 sentences classified within 30 s"
    assert (gave_up.value.input_tokens, gave_up.value.output_tokens) == (3000, 800)


def test_an_explanation_with_an_amount_the_line_does_not_have_is_asked_again(
    bedrock: tuple[Any, Stubber],
) -> None:
    # Given an explanation that invents an amount, then one that does not
    client, stubber = bedrock
    _expect(stubber, _response(json.dumps({"text": "The receipt of USD 9,999.00 is missing."})))
    _expect(stubber, _response(json.dumps({"text": "No receipt was attached for this taxi ride."})))
    context = AnomalyContext(
        line=AnomalyFact(
            subject="EX-1 2026-10-07 W-1 taxi USD 42.50",
            reasons=(AnomalyReason(rule="TE4", check="receipt_missing", text="TE4 receipt missing"),),
        )
    )
    # When explained / Then the second answer is shown
    assert BedrockAssistant(client, CONFIG).explain_anomalies(context).text.startswith("No receipt")
