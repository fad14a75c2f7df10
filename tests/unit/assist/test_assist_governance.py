"""The governed assistant (backoffice/assist/governance.py, wiring.py): what leaves is masked, every call is
audited and measured, a failing model falls back to the local rules with its reason, the kill switch works."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal
from typing import Any

import pytest

from backoffice.assist.config import AiAssistConfig
from backoffice.assist.governance import SUGGESTED, GovernedAssistant
from backoffice.assist.local import LocalAssistant, Usage
from backoffice.assist.models import (
    Amount,
    AnomalyContext,
    AnomalyFact,
    AnomalyReason,
    ApprovalContext,
    ApprovalSummary,
    AssistCase,
    ClauseSuggestion,
    DocumentSuggestion,
    DocumentText,
    Explanation,
)
from backoffice.assist.port import AssistUnavailable
from backoffice.assist.wiring import assistant
from backoffice.audit import Actor, digest
from backoffice.masking import mask_for_prompt
from backoffice.onboarding.clause_rules import clause_rules

CASE = AssistCase(
    case_id="onboard-opp-0042",
    workflow="onboarding",
    step="request_approval",
    known_people={"Dana Whitfield": "the requester", "Priya Raman": "the approver"},
)
BEDROCK = AiAssistConfig(
    adapter="bedrock", model_id="anthropic.claude-3-haiku-20240307-v1:0", region="us-east-1"
)
SECRETS = ("12-3456789", "123-45-6789", "021000021", "000123456789", "GB29NWBK60161331926819")


class MemoryTrail:
    """The audit trail as the governance sees it: ``append`` keeps each record's fields."""

    def __init__(self) -> None:
        self.appended: list[dict[str, Any]] = []

    def records(self, case_id: str) -> list[Any]:
        return []

    def append(self, **fields: Any) -> Any:
        fields["reasons"] = tuple(fields.get("reasons") or ())
        self.appended.append(fields)
        return fields


class ModelDouble:
    """Stands in for Bedrock: keeps what it was sent, answers as a model would, or fails as told."""

    source = "bedrock"
    model_id = "anthropic.claude-3-haiku-20240307-v1:0"

    def __init__(self, failure: AssistUnavailable | None = None) -> None:
        self.sent: list[str] = []
        self.failure = failure
        self.last_usage = Usage()

    def _answer(self, sent: Any) -> None:
        self.sent.append(json.dumps(sent, default=str) if not isinstance(sent, str) else sent)
        if self.failure is not None:
            raise self.failure
        self.last_usage = Usage(input_tokens=1200, output_tokens=150, latency_ms=900)

    def _meta(self, task: str) -> dict[str, Any]:
        return {"source": "bedrock", "model_id": self.model_id, "prompt_id": f"{task}.v1"}

    def summarize_approval(self, context: ApprovalContext) -> ApprovalSummary:
        self._answer(context.model_dump(mode="json"))
        return ApprovalSummary(**self._meta("summarize_approval"), summary=f"{context.title}.", facts_used=())

    def classify_clauses(self, sentences: Sequence[str]) -> list[ClauseSuggestion]:
        self._answer(list(sentences))
        return [
            ClauseSuggestion(
                **self._meta("classify_clauses"), index=i, label="other_nonstandard", why="unusual"
            )
            for i in range(len(sentences))
        ]

    def classify_document(self, document: DocumentText) -> DocumentSuggestion:
        self._answer(document.model_dump(mode="json"))
        return DocumentSuggestion(**self._meta("classify_document"), label="bank_letter", confidence=0.9)

    def explain_anomalies(self, context: AnomalyContext) -> Explanation:
        self._answer(context.model_dump(mode="json"))
        return Explanation(**self._meta("explain_anomalies"), text="Explained.")


def _governed(
    inner: Any, trail: MemoryTrail, *, use: Any = "approval_summary", rules: Any = None
) -> GovernedAssistant:
    return GovernedAssistant(use, inner, LocalAssistant(rules), config=BEDROCK, case=CASE, trail=trail)


def _leaky_context() -> ApprovalContext:
    return ApprovalContext(
        title="Approve vendor Brightline Analytics (EIN 12-3456789) requested by Dana Whitfield",
        amounts=(Amount(label="first order", amount=Decimal("18500"), currency="USD"),),
        risks=(
            {
                "label": "other_nonstandard",
                "sentence": "Pay to routing 021000021, account 000123456789, IBAN GB29 NWBK 6016 1331 9268 19; "
                "owner SSN 123-45-6789; questions to dana.whitfield@example-firm.com or Ms. Whitfield.",
            },
        ),
        on_approve="Priya Raman's approval releases the vendor",
        on_reject="the vendor stays on hold",
    )


# -- masking -----------------------------------------------------------------------------------------------------


def test_no_tax_id_bank_number_email_or_known_name_leaves_in_a_prompt() -> None:
    # Given an approval whose text names people, an e-mail, an EIN, an SSN, a routing and account number and an IBAN
    model, trail = ModelDouble(), MemoryTrail()
    # When the governed assistant asks the model
    _governed(model, trail).summarize_approval(_leaky_context())
    # Then what the model was sent has none of them, and the people are their roles
    sent = model.sent[0]
    for secret in (
        *SECRETS,
        "GB29 NWBK 6016 1331 9268 19",
        "dana.whitfield@",
        "Dana",
        "Whitfield",
        "Priya",
        "Raman",
    ):
        assert secret not in sent
    assert "the requester" in sent and "the approver" in sent and "[e-mail]" in sent
    assert "****6789" in sent and "****0021" in sent
    # And the amount the approver is asked about is still there to summarize
    assert "18500" in sent


def test_every_use_masks_its_input_the_same_way() -> None:
    # Given a clause, a document and an anomaly line each carrying a secret
    model, trail = ModelDouble(), MemoryTrail()
    # When each use is asked
    _governed(model, trail, use="clause_detection").classify_clauses(["Wire to account 000123456789."])
    _governed(model, trail, use="document_classification").classify_document(
        DocumentText(text="Taxpayer 123-45-6789, contact priya.raman@vendor.example", file_name="w9.pdf")
    )
    reason = AnomalyReason(rule="TE1", check="duplicate_expense", text="Dana Whitfield claimed it twice")
    _governed(model, trail, use="anomaly_explanation").explain_anomalies(
        AnomalyContext(line=AnomalyFact(subject="expense line 7", reasons=(reason,)))
    )
    # Then nothing secret or personal was sent by any of them
    everything = " ".join(model.sent)
    assert not [s for s in (*SECRETS, "priya.raman@", "Dana Whitfield") if s in everything]


def test_prompt_masking_replaces_a_surname_alone_and_leaves_amounts_and_dates() -> None:
    # Given text naming a known person by surname only, with an amount, a date and an invoice number
    text = "Per Whitfield, invoice INV-2026-0114 of USD 1,250,000.00 is due 2026-12-31."
    # When masked for a prompt
    masked = mask_for_prompt(text, {"Dana Whitfield": "the requester"})
    # Then the surname is the role and the business facts are untouched
    assert masked == "Per the requester, invoice INV-2026-0114 of USD 1,250,000.00 is due 2026-12-31."


# -- audit and metrics -------------------------------------------------------------------------------------------


def test_each_call_is_one_audit_record_by_the_model_with_digests_tokens_cost_and_latency() -> None:
    # Given Bedrock answering a summary
    model, trail = ModelDouble(), MemoryTrail()
    # When the assistant is asked
    summary = _governed(model, trail).summarize_approval(_leaky_context())
    # Then one record is appended, by the model, on the case's step
    [record] = trail.appended
    assert record["actor"] == Actor.ai("anthropic.claude-3-haiku-20240307-v1:0")
    assert (record["case_id"], record["workflow"], record["step"]) == (
        "onboard-opp-0042",
        "onboarding",
        "request_approval",
    )
    assert record["action"] == SUGGESTED and record["outcome"] == "summarized" and record["reasons"] == ()
    # And it proves what was sent and answered (the masked input, the suggestion) without secrets in it
    assert digest(record["input"]) == digest(json.loads(model.sent[0]))
    assert record["output"] == summary.model_dump(mode="json")
    assert not [s for s in SECRETS if s in json.dumps(record, default=str)]
    # And its data says which prompt, how many tokens, what it cost and how long it took
    data = record["data"]
    assert data["use"] == "approval_summary" and data["prompt_id"] == "summarize_approval.v1"
    assert data["source"] == "bedrock" and data["requested_model"] == model.model_id
    assert (data["input_tokens"], data["output_tokens"]) == (1200, 150)
    # 1200 x 0.00025 / 1000 + 150 x 0.00125 / 1000
    assert Decimal(data["cost_usd"]) == Decimal("0.0004875")
    assert data["latency_ms"] >= 0 and data["fallback_reason"] is None
    assert data["suggestion"] == summary.summary


def test_the_clause_record_keeps_the_nonstandard_labels_by_sentence_for_the_agreement_measure() -> None:
    # Given the local rules classifying three sentences
    trail = MemoryTrail()
    rules = clause_rules(together=False)
    governed = GovernedAssistant(
        "clause_detection",
        LocalAssistant(rules),
        LocalAssistant(rules),
        config=AiAssistConfig(),
        case=CASE,
        trail=trail,
    )
    # When asked
    governed.classify_clauses(["Liability is unlimited.", "Fees are fixed.", "Payment is due net 90."])
    # Then the record is by the local rules and lists the flagged sentences' labels by index
    [record] = trail.appended
    assert record["actor"] == Actor.ai("local-rules") and record["outcome"] == "flagged"
    assert record["data"]["suggestion"] == {"0": "uncapped_liability", "2": "payment_terms_over_limit"}
    assert record["data"]["cost_usd"] == "0" and record["data"]["source"] == "local"


def test_metrics_count_calls_tokens_cost_and_latency_per_use_and_model(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given metrics switched on
    monkeypatch.setenv("POWERTOOLS_METRICS_DISABLED", "false")
    # When Bedrock answers one document
    _governed(ModelDouble(), MemoryTrail(), use="document_classification").classify_document(
        DocumentText(text="x")
    )
    # Then calls, tokens, cost (in millionths of a dollar) and latency are emitted with use and model
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith("{")]
    values = {k: v for line in lines for k, v in line.items() if k.startswith("Ai")}
    assert (values["AiCalls"], values["AiInputTokens"], values["AiOutputTokens"]) == (
        [1.0],
        [1200.0],
        [150.0],
    )
    assert values["AiCostMicroUsd"] == [488.0] and "AiLatency" in values
    assert all(line["use"] == "document_classification" for line in lines)
    assert {line.get("model") for line in lines} == {"anthropic.claude-3-haiku-20240307-v1:0"}


# -- fallback ----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "failure",
    [
        AssistUnavailable("timeout: no answer within 10 s"),
        AssistUnavailable("throttled: ThrottlingException", input_tokens=0),
        AssistUnavailable("truncated: stopReason max_tokens", input_tokens=900, output_tokens=700),
        AssistUnavailable("refused: stopReason guardrail_intervened", input_tokens=900, output_tokens=12),
    ],
)
def test_a_model_that_fails_is_replaced_by_the_local_rules_with_the_reason_audited(
    failure: AssistUnavailable,
) -> None:
    # Given Bedrock failing
    trail = MemoryTrail()
    # When a document is classified
    suggestion = _governed(ModelDouble(failure), trail, use="document_classification").classify_document(
        DocumentText(text="Form W-9 Request for Taxpayer Identification Number and Certification")
    )
    # Then the local rules answered, and the suggestion says why
    assert suggestion.label == "w9" and suggestion.source == "local" and suggestion.model_id == "local-rules"
    assert suggestion.fallback_reason == failure.reason
    # And the record is by the local rules, names the model that was asked, the reason and the tokens still spent
    [record] = trail.appended
    assert record["actor"] == Actor.ai("local-rules") and record["reasons"] == (failure.reason,)
    assert record["data"]["requested_model"] == "anthropic.claude-3-haiku-20240307-v1:0"
    assert record["data"]["fallback_reason"] == failure.reason
    assert (record["data"]["input_tokens"], record["data"]["output_tokens"]) == (
        failure.input_tokens,
        failure.output_tokens,
    )


def test_a_clause_fallback_marks_every_sentence() -> None:
    # Given Bedrock timing out on clauses
    trail = MemoryTrail()
    governed = _governed(
        ModelDouble(AssistUnavailable("timeout: read")), trail, use="clause_detection", rules=clause_rules()
    )
    # When two sentences are classified  Then both come from the rules, each with the reason
    suggestions = governed.classify_clauses(["Liability is unlimited.", "Fees are fixed."])
    assert [s.label for s in suggestions] == ["uncapped_liability", "standard"]
    assert {s.fallback_reason for s in suggestions} == {"timeout: read"}


# -- wiring: which adapter answers -------------------------------------------------------------------------------


def test_without_the_section_every_use_is_the_local_rules(monkeypatch: pytest.MonkeyPatch) -> None:
    # Given no firm document in the environment (the default: AI assist off)
    monkeypatch.delenv("FIRM_CONFIG_PARAMETER", raising=False)
    # When an assistant is asked for  Then the local rules answer, audited
    trail = MemoryTrail()
    governed = assistant("approval_summary", CASE, trail=trail)
    assert isinstance(governed.inner, LocalAssistant)
    governed.summarize_approval(_leaky_context())
    assert trail.appended[0]["actor"] == Actor.ai("local-rules")


def test_bedrock_serves_only_the_uses_the_firm_enabled() -> None:
    # Given Bedrock enabled for summaries only
    config = BEDROCK.model_copy(update={"enabled_uses": ("approval_summary",)})
    # When assistants are asked for two uses
    summary = assistant("approval_summary", CASE, trail=None, config=config, bedrock_client=object())
    documents = assistant("document_classification", CASE, trail=None, config=config, bedrock_client=object())
    # Then Bedrock serves the one, the rules the other
    assert type(summary.inner).__name__ == "BedrockAssistant"
    assert isinstance(documents.inner, LocalAssistant)


@pytest.mark.parametrize("how", ["config", "environment"])
def test_the_kill_switch_sends_every_use_to_the_local_rules(
    how: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given Bedrock enabled for everything, then killed by the firm's config or by an operator's variable
    config = BEDROCK.model_copy(update={"kill_switch": how == "config"})
    if how == "environment":
        monkeypatch.setenv("AI_ASSIST_KILL_SWITCH", "on")
    # When an assistant is asked for  Then the local rules answer
    governed = assistant("approval_summary", CASE, trail=None, config=config, bedrock_client=object())
    assert isinstance(governed.inner, LocalAssistant)


def _records(trail: MemoryTrail) -> Iterable[Mapping[str, Any]]:
    return trail.appended


def test_a_large_amount_is_not_mistaken_for_a_bank_number() -> None:
    # Given a transformation deal of USD 250,000,000.00 (nine digits before the decimals)
    model = ModelDouble()
    context = _leaky_context().model_copy(
        update={"amounts": (Amount(label="total fees", amount=Decimal("250000000.00"), currency="USD"),)}
    )
    # When summarized  Then the amount reaches the model whole
    _governed(model, MemoryTrail()).summarize_approval(context)
    assert json.loads(model.sent[0])["amounts"][0]["amount"] == "250000000.00"


def test_only_the_first_page_of_a_long_document_is_sent() -> None:
    # Given a 50,000-character text
    model = ModelDouble()
    _governed(model, MemoryTrail(), use="document_classification").classify_document(
        DocumentText(text="x " * 25_000)
    )
    # Then what was sent is cut to the first page's worth
    assert len(json.loads(model.sent[0])["text"]) == 8_000


def test_an_unexpected_error_in_the_model_adapter_never_fails_the_case() -> None:
    # Given a model adapter that breaks in a way nobody planned for
    class Broken(ModelDouble):
        def classify_document(self, document: DocumentText) -> DocumentSuggestion:
            raise KeyError("output")

    trail = MemoryTrail()
    # When a document is classified  Then the rules answer, and the reason names the error's type
    suggestion = _governed(Broken(), trail, use="document_classification").classify_document(
        DocumentText(text="INVOICE Invoice No. 7 Amount Due USD 10.00")
    )
    assert (suggestion.label, suggestion.fallback_reason) == ("invoice", "error: KeyError")
    assert trail.appended[0]["reasons"] == ("error: KeyError",)


def test_an_error_in_the_local_rules_is_the_products_and_is_raised() -> None:
    # Given the local rules asked for clauses without the contract-risk rules (a wiring mistake)
    rules = LocalAssistant()  # as the wiring builds it: the rules are the adapter and the fallback
    governed = GovernedAssistant(
        "clause_detection", rules, rules, config=AiAssistConfig(), case=CASE, trail=MemoryTrail()
    )
    # Then the mistake is raised, not hidden behind a fallback
    with pytest.raises(ValueError, match="contract-risk rules"):
        governed.classify_clauses(["Anything."])


def test_numbers_a_label_names_or_printed_in_groups_are_masked_and_dates_and_amounts_are_not() -> None:
    # Given a bank letter's and a W-9's words as a first page may print them
    text = (
        "Account number: 12345678. Acct 0012-3456-7890. Card 4567 8901 2345. EIN 12 3456789. "
        "Routing no. 021000021. Dated 2026-11-03 for USD 48,000.00; policy GL-20260001 to 06/30/2027."
    )
    # When masked for a prompt
    masked = mask_for_prompt(text)
    # Then every number is its last four, and the date, the amount and the policy number are left as they are
    for secret in ("12345678", "0012-3456-7890", "4567 8901 2345", "12 3456789", "021000021"):
        assert secret not in masked
    assert "****5678" in masked and "****7890" in masked and "****2345" in masked and "****6789" in masked
    assert "2026-11-03" in masked and "USD 48,000.00" in masked and "GL-20260001" in masked


class EchoingModel(ModelDouble):
    """A model that echoes a bank number and a known name in its reason, at length."""

    def classify_document(self, document: DocumentText) -> DocumentSuggestion:
        self._answer(document.model_dump(mode="json"))
        why = "the letter confirms account 000123456789 held by Dana Whitfield " + "and more " * 60
        return DocumentSuggestion(
            **self._meta("classify_document"), label="bank_letter", confidence=0.9, why=why
        )


def test_what_a_model_writes_is_masked_and_its_why_kept_to_a_line() -> None:
    # Given a model whose answer repeats a bank number and the name of a person the case knows
    trail = MemoryTrail()
    governed = _governed(EchoingModel(), trail, use="document_classification")

    # When it classifies a document
    suggestion = governed.classify_document(DocumentText(text="Bank letter", declared_type="w9"))

    # Then what people will read carries neither, in at most 200 characters
    assert "000123456789" not in suggestion.why and "Whitfield" not in suggestion.why
    assert "****6789" in suggestion.why and len(suggestion.why) <= 200


def test_dates_times_references_and_amounts_people_read_are_not_masked() -> None:
    # Given words a summary or a document carries that only look like long numbers
    kept = [
        "2026-12-07 18:24",
        "Period 2026-01-01 2026-12-31",
        "Invoice 2026 000123",
        "Total 123 456 789,00 EUR",
        "ein 2026 Haus",
    ]
    # Then they reach the model (and the people) as written
    assert [mask_for_prompt(text) for text in kept] == kept
    # And a VAT number is masked like the other labelled numbers
    assert mask_for_prompt("VAT number 123456789") == "VAT number ****6789"


def test_a_vendors_name_is_replaced_in_full_only() -> None:
    # Given a vendor's name the case knows (it may be a person's) and a certificate naming its insurer
    text = "CERTIFICATE OF LIABILITY INSURANCE for Harbor & Pine LLC; insurer Hartford Fire Insurance Company LLC"

    # When masked with the name as a known name (not a person's: no surname rule)
    masked = mask_for_prompt(text, known_names={"Harbor & Pine LLC": "the vendor"})

    # Then the name is its role and the other words stay, "LLC" and "INSURANCE" included
    assert masked == (
        "CERTIFICATE OF LIABILITY INSURANCE for the vendor; insurer Hartford Fire Insurance Company LLC"
    )
