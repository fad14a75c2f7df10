"""The approval context summary (issue #23): built from what the approver is shown, written once per request by the
assistant, shown first in the mail and on the page with who wrote it; a failing assistant never holds up a request."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from backoffice.approvals import pages
from backoffice.approvals.store import RequestRecord
from backoffice.approvals.summary import approval_context, summarize_request
from backoffice.assist.config import AiAssistConfig
from backoffice.assist.models import ApprovalContext, ApprovalSummary, AssistCase, word_count
from backoffice.assist.wiring import assistant

VENDOR_SUBJECT: dict[str, Any] = {
    "title": "New vendor: Harbor & Pine Facilities LLC (facilities)",
    "vendor": "Harbor & Pine Facilities LLC",
    "amount": "48000",
    "currency": "USD",
    "risk_level": "medium",
    "reasons": [
        "w9_tin: the TIN ****8390 matches no IRS name check yet",
        "possible sanctions match: HARBOR PINE TRADING (SDN entry 12345, SDGT, score 0.91)",
        "a long reason that has no short head before its colon because it keeps going: and then more",
    ],
}
CONTRACT_SUBJECT: dict[str, Any] = {
    "title": "Contract review: Data platform build",
    "amount": "180000",
    "currency": "EUR",
    "risks": [
        {
            "label": "uncapped_liability",
            "severity": "high",
            "sentence": "The Supplier's liability under this Agreement shall be unlimited.",
        }
    ],
    "reasons": ["§9 uncapped liability (high): ..."],
}


def _request(summary: dict[str, Any] | None) -> RequestRecord:
    return RequestRecord(
        request_id="r1",
        case_id="vendor-0007",
        workflow="vendor_approval",
        step="vendor approval",
        route="vendor_onboarding",
        rule="r",
        level_index=0,
        level_count=1,
        level_name="procurement approval",
        quorum=1,
        approvers=["kofi.mensah@example-firm.com"],
        on_behalf_of={},
        requested_by="dana.whitfield@example-firm.com",
        subject=VENDOR_SUBJECT,
        payload_hash="h",
        task_token="t",
        status="PENDING",
        created_at="2026-12-07T10:00:00+00:00",
        expires_at="2026-12-09T10:00:00+00:00",
        summary=summary,
    )


def test_a_subject_becomes_the_assistants_context_with_the_routes_effects() -> None:
    # Given a vendor approval's subject (reasons as strings) and a contract review's (risks in structure)
    vendor = approval_context("vendor_onboarding", "vendor_approval", "vendor approval", VENDOR_SUBJECT)
    contract = approval_context("contract_review", "onboarding", "legal review", CONTRACT_SUBJECT)

    # Then the amount is typed, each reason a risk named by its short head, the effects the route's
    assert [a.text() for a in vendor.amounts] == ["USD 48,000.00"]
    assert [(r.label, r.severity) for r in vendor.risks] == [
        ("w9_tin", "medium"),
        ("possible sanctions match", "medium"),
        ("finding", "medium"),
    ]
    assert vendor.risks[0].sentence == "the TIN ****8390 matches no IRS name check yet"
    assert "hold is lifted" in vendor.on_approve and "stays on hold" in vendor.on_reject
    # And structured risks are taken as they are, the reasons not repeated
    assert [(r.label, r.severity) for r in contract.risks] == [("uncapped_liability", "high")]
    # And a subject's own effects win; an unknown route gets the plain default
    own = approval_context("x", "w", "s", {"title": "T", "on_approve": "A happens", "on_reject": "R happens"})
    assert (own.on_approve, own.on_reject) == ("A happens", "R happens")


def test_the_local_assistant_summarizes_within_120_words_with_the_facts() -> None:
    # Given the deployed default (the local rules) and a vendor approval
    local = assistant("approval_summary", None, trail=None, config=AiAssistConfig())

    # When its request is summarized
    summary = summarize_request(
        lambda context, case: local.summarize_approval(context),
        route="vendor_onboarding",
        workflow="vendor_approval",
        step="vendor approval",
        case_id="vendor-0007",
        subject=VENDOR_SUBJECT,
        execution_arn=None,
    )

    # Then it says what is asked, the amount and what each decision does, within 120 words, by the rules
    assert summary is not None and summary["source"] == "local"
    text = summary["text"]
    assert word_count(text) <= 120
    assert "New vendor: Harbor & Pine Facilities LLC" in text and "USD 48,000.00" in text
    assert "Approve:" in text and "Reject:" in text
    assert "USD 48,000.00" in summary["facts_used"]


def test_a_failing_assistant_leaves_the_request_without_a_summary(caplog: pytest.LogCaptureFixture) -> None:
    def broken(context: ApprovalContext, case: AssistCase) -> ApprovalSummary:
        raise RuntimeError("SSM unavailable")

    summary = summarize_request(
        broken,
        route="vendor_onboarding",
        workflow="vendor_approval",
        step="vendor approval",
        case_id="vendor-0007",
        subject=VENDOR_SUBJECT,
        execution_arn=None,
    )
    assert summary is None
    assert "approval summary not written" in caplog.text


def test_the_mail_and_page_show_the_summary_first_and_who_wrote_it() -> None:
    # Given a request whose summary a model wrote
    summary = {"text": "Procurement is asked to approve a facilities vendor.", "source": "bedrock"}
    request = _request({**summary, "model_id": "anthropic.claude-3-haiku-20240307-v1:0"})

    # When its mail is written
    _, text, html = pages.approval_email(
        request, "kofi.mensah@example-firm.com", "https://x/approvals/l", reminder=False
    )

    # Then the summary comes before the facts, saying a model suggested it and to check it
    assert text.index("In short: Procurement is asked") < text.index("Case: vendor-0007")
    assert "Summary suggested by anthropic.claude-3-haiku-20240307-v1:0 (AI)" in text
    assert html.index("Procurement is asked") < html.index("vendor-0007")
    # And a request without one reads as before
    _, plain, _ = pages.approval_email(
        _request(None), "kofi.mensah@example-firm.com", "https://x/a/l", reminder=False
    )
    assert "In short" not in plain and plain.startswith("Your approval is needed")


def test_the_local_summary_of_a_contract_names_the_risk_and_quotes_its_sentence() -> None:
    local = assistant("approval_summary", None, trail=None, config=AiAssistConfig())
    context = approval_context("contract_review", "onboarding", "legal review", CONTRACT_SUBJECT)
    text = local.summarize_approval(context).summary
    assert "uncapped liability" in text and "EUR 180,000.00" in text
    assert "liability under this Agreement" in text
    assert Decimal("180000") == context.amounts[0].amount


def test_the_people_a_subject_names_are_known_to_the_assistant_and_masked() -> None:
    # Given a sole proprietor's vendor approval: the subject names the person as the vendor
    subject = {
        **VENDOR_SUBJECT,
        "title": "New vendor: Jordan Reyes (consulting)",
        "people": {"Jordan Reyes": "the vendor"},
    }
    seen: list[AssistCase] = []

    def summarizer(context: ApprovalContext, case: AssistCase) -> ApprovalSummary:
        seen.append(case)
        governed = assistant("approval_summary", case, trail=None, config=AiAssistConfig())
        return governed.summarize_approval(context)

    # When the request is summarized
    summary = summarize_request(
        summarizer,
        route="vendor_onboarding",
        workflow="vendor_approval",
        step="vendor approval",
        case_id="vendor-0009",
        subject=subject,
        execution_arn=None,
    )

    # Then the assistant was told who the person is, and what it wrote names the role, not the person
    assert seen[0].known_people == {"Jordan Reyes": "the vendor"}
    assert summary is not None and "Jordan Reyes" not in summary["text"] and "the vendor" in summary["text"]


def test_purchases_and_resource_rates_say_what_their_decisions_do() -> None:
    purchase = approval_context("purchase_approval", "purchase_approval", "purchase approval", {"title": "T"})
    rate = approval_context("resource_rate", "resource_onboarding", "rate approval", {"title": "T"})
    assert "purchase order is created" in purchase.on_approve and "no order" in purchase.on_reject
    assert "bill rate" in rate.on_approve
