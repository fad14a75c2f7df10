"""The approval context summary at the top of every approval e-mail and page (issue #23): what is asked, the
amounts, the risks with their sentences, the anomalies with their reasons, and what approving and rejecting do.

The summary is the assistant's (``backoffice.assist``: the local rules' template, or Bedrock when the firm turns it
on for ``approval_summary``), written once per request and kept on it, so reminders and the confirmation page show
the same words the first mail did. It recommends nothing and decides nothing: the facts, the reasons and the buttons
below it are what they always were, and the page says who wrote the summary.

A workflow's subject may name what its decision does (``on_approve``, ``on_reject``) and give its findings in
structure (``risks``: ``{"label", "severity", "sentence"}``; ``anomalies``: ``{"subject", "reasons": [{"rule",
"check", "text"}]}``); otherwise the route's effects below and the subject's ``reasons`` are used.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

from backoffice.assist.models import (
    Amount,
    AnomalyFact,
    AnomalyReason,
    ApprovalContext,
    ApprovalSummary,
    AssistCase,
    RiskFact,
)
from backoffice.audit import CaseTrail

logger = logging.getLogger(__name__)

# What approving and rejecting do, by route (a subject's own on_approve / on_reject win).
EFFECTS: Mapping[str, tuple[str, str]] = {
    "contract_review": (
        "the project is set up in the PSA and onboarding continues",
        "onboarding stops and the deal team is told why",
    ),
    "billing_exceptions": (
        "the lines bill as recorded",
        "time goes back to the worker to correct and expenses are written off",
    ),
    "invoice_release": (
        "the invoice is posted in the ERP and sent",
        "the invoice stays a draft and is not sent",
    ),
    "reconciliation_findings": (
        "the fix proposed for the difference is made",
        "the difference stays open for the period's close",
    ),
    "revenue_journal": ("the journal is posted in the ERP", "nothing is posted; the close stays open"),
    "time_expense_review": (
        "the lines are approved in the PSA",
        "the lines go back to the worker with your comment",
    ),
    "vendor_onboarding": (
        "the vendor's hold is lifted in the ERP and it can be paid",
        "the vendor stays on hold and the requester is told",
    ),
    "sanctions_review": (
        "the possible sanctions match is cleared and onboarding continues",
        "onboarding stops: the vendor is not created",
    ),
    "bank_change": (
        "the new bank account is accepted for payments",
        "the bank account is not changed and payments keep the old one",
    ),
    "purchase_approval": (
        "the purchase order is created in the ERP and sent to the vendor",
        "no order is placed and the requester is told why",
    ),
    "resource_rate": (
        "the worker is set up in the PSA at the proposed bill rate",
        "the worker's onboarding stops until the rate is corrected",
    ),
}
_DEFAULT_EFFECTS = ("the workflow goes on as requested", "the workflow stops and the requester is told")
_REASONS_SUMMARIZED = 12  # reasons beyond these are in the list under the summary, not in the prompt

Summarizer = Callable[[ApprovalContext, AssistCase], ApprovalSummary]


def approval_context(route: str, workflow: str, step: str, subject: Mapping[str, Any]) -> ApprovalContext:
    """The assistant's input for a request: built only from what the approver is shown anyway."""
    on_approve, on_reject = EFFECTS.get(route, _DEFAULT_EFFECTS)
    return ApprovalContext(
        title=str(subject.get("title") or step),
        workflow=workflow,
        amounts=_amounts(subject),
        risks=_risks(subject),
        anomalies=_anomalies(subject),
        on_approve=str(subject.get("on_approve") or on_approve),
        on_reject=str(subject.get("on_reject") or on_reject),
    )


def summarize_request(
    summarizer: Summarizer | None,
    *,
    route: str,
    workflow: str,
    step: str,
    case_id: str,
    subject: Mapping[str, Any],
    execution_arn: str | None,
) -> dict[str, Any] | None:
    """The summary kept on the request (text, who wrote it, facts used), or None: no summarizer, or it failed (a
    summary never holds up an approval; the mail goes out with the facts and reasons alone and the log says why)."""
    if summarizer is None:
        return None
    # The people the subject names by name (a sole proprietor vendor...): replaced by their role in any prompt.
    people = subject.get("people")
    known = {str(k): str(v) for k, v in people.items()} if isinstance(people, Mapping) else {}
    case = AssistCase(
        case_id=case_id, workflow=workflow, step=step, execution_arn=execution_arn, known_people=known
    )
    try:
        summary = summarizer(approval_context(route, workflow, step, subject), case)
    except Exception:  # the request must go out; the assistant's own failures are audited by its governance
        logger.exception("approval summary not written", extra={"case_id": case_id, "step": step})
        return None
    return {
        "text": summary.summary,
        "source": summary.source,
        "model_id": summary.model_id,
        "prompt_id": summary.prompt_id,
        "facts_used": list(summary.facts_used),
        "fallback_reason": summary.fallback_reason,
    }


def assistant_summarizer(trail: CaseTrail) -> Summarizer:
    """The deployed summarizer: the governed assistant for ``approval_summary`` (each call audited on the case)."""

    def summarize(context: ApprovalContext, case: AssistCase) -> ApprovalSummary:
        from backoffice.assist.wiring import assistant  # Bedrock's client only when a request is summarized

        return assistant("approval_summary", case, trail=trail).summarize_approval(context)

    return summarize


def written_by(summary: Mapping[str, Any]) -> str:
    """Who wrote the summary, as the mail and the page say it."""
    if summary.get("source") == "bedrock":
        return f"Summary suggested by {summary.get('model_id')} (AI); check it against the facts below"
    return "Summary written from the request's facts by the firm's rules"


def _amounts(subject: Mapping[str, Any]) -> tuple[Amount, ...]:
    currency = str(subject.get("currency") or "")
    if subject.get("amount") in (None, "") or len(currency) != 3:
        return ()
    try:
        amount = Decimal(str(subject["amount"]))
    except InvalidOperation:
        return ()
    return (Amount(label="amount", amount=amount, currency=currency),)


def _risks(subject: Mapping[str, Any]) -> tuple[RiskFact, ...]:
    structured = subject.get("risks")
    if isinstance(structured, list):
        return tuple(
            RiskFact(
                label=str(r.get("label") or "risk"),
                severity=str(r.get("severity") or "medium"),
                sentence=str(r.get("sentence") or ""),
            )
            for r in structured[:_REASONS_SUMMARIZED]
            if isinstance(r, Mapping)
        )
    if isinstance(subject.get("anomalies"), list):
        return ()
    severity = str(subject.get("risk_level") or "medium")
    reasons = [str(r) for r in subject.get("reasons") or []][:_REASONS_SUMMARIZED]
    return tuple(_reason_as_risk(reason, severity) for reason in reasons)


def _reason_as_risk(reason: str, severity: str) -> RiskFact:
    """``"w9_tin: the TIN ..."`` -> a risk named by its head (a check, a rule) with the rest as its sentence; a
    reason without a short head is its own sentence."""
    head, colon, rest = reason.partition(": ")
    if colon and rest and len(head.split()) <= 5:
        return RiskFact(label=head.strip(), severity=severity, sentence=rest.strip())
    return RiskFact(label="finding", severity=severity, sentence=reason)


def _anomalies(subject: Mapping[str, Any]) -> tuple[AnomalyFact, ...]:
    structured = subject.get("anomalies")
    if not isinstance(structured, list):
        return ()
    facts = []
    for item in structured[:_REASONS_SUMMARIZED]:
        if not isinstance(item, Mapping):
            continue
        reasons = tuple(
            AnomalyReason(
                rule=str(r.get("rule") or ""), check=str(r.get("check") or ""), text=str(r.get("text"))
            )
            for r in item.get("reasons") or []
            if isinstance(r, Mapping) and r.get("text")
        )
        facts.append(AnomalyFact(subject=str(item.get("subject") or "a line"), reasons=reasons))
    return tuple(facts)


__all__ = [
    "EFFECTS",
    "Summarizer",
    "approval_context",
    "assistant_summarizer",
    "summarize_request",
    "written_by",
]
