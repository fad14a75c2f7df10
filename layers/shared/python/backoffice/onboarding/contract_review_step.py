"""Onboarding step 3, the contract's risk: the rules' assessment, the assistant's suggestions beyond them, and
what legal sees. Its own module so that only the contract review's handler imports the risk rules (whose regular
expressions are compiled when they are imported)."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from backoffice.assist.models import ClauseSuggestion
from backoffice.firm_settings import firm_config_section
from backoffice.models import OpportunityClosedWon
from backoffice.onboarding.contract_risk import (
    ContractRiskPolicy,
    RiskAssessment,
    assess_contract_risk,
    compile_patterns,
    split_sentences,
)
from backoffice.onboarding.sow_documents import SowFacts

# Every invocation of the contract review runs every rule: their expressions are compiled at the handler's init
# (importing this module), not on its first event.
compile_patterns("all")


def contract_risk_policy() -> ContractRiskPolicy | None:
    """The ``contract_risk_policy`` of the deployed firm configuration; None: the defaults (DOMAIN.md section 5)."""
    section = firm_config_section("contract_risk_policy")
    return ContractRiskPolicy.from_json_dict(section) if section is not None else None


def contract_risk(facts: SowFacts, policy: ContractRiskPolicy | None = None) -> RiskAssessment:
    """The SOW's risks under ``policy``, else the firm's (``contract_risk_policy``)."""
    return assess_contract_risk(facts.clauses, facts.figures(), policy or contract_risk_policy())


# At most this many of the assistant's suggestions go to legal (the trail keeps every label it gave).
SUGGESTIONS_SHOWN = 20


def clause_suggestions(
    facts: SowFacts, risk: RiskAssessment, classify: Callable[[Sequence[str]], list[ClauseSuggestion]]
) -> list[dict[str, str]]:
    """The sentences the rules did not flag that the assistant (``clause_detection``) labels as a risk type or other
    nonstandard language: shown to legal as "model suggests", never raising the risk level or blocking anything.
    A sentence the rules flagged, or a label the rules already found in its section, is not repeated."""
    sentences = [
        (clause.section, sentence) for clause in facts.clauses for sentence in split_sentences(clause.text)
    ]
    if not sentences:
        return []
    ruled = {(finding.section, finding.rule) for finding in risk.findings}
    ruled_sentences = [" ".join(finding.sentence.split()) for finding in risk.findings]
    shown: list[dict[str, str]] = []
    for suggestion in classify([sentence for _, sentence in sentences]):
        if suggestion.label == "standard" or not 0 <= suggestion.index < len(sentences):
            continue
        section, sentence = sentences[suggestion.index]
        if (section, suggestion.label) in ruled or any(
            sentence in r or r in sentence for r in ruled_sentences
        ):
            continue
        shown.append(
            {
                "section": section,
                "label": suggestion.label,
                "sentence": sentence,
                "why": suggestion.why,
                "model_id": suggestion.model_id,
            }
        )
    return shown[:SUGGESTIONS_SHOWN]


def legal_review_subject(
    deal: OpportunityClosedWon,
    facts: SowFacts,
    risk: RiskAssessment,
    document: str,
    suggestions: Sequence[Mapping[str, str]] = (),
) -> dict[str, Any]:
    """What legal sees in the approval e-mail: the deal, the figures, each finding with its sentence, then what the
    assistant suggests beyond the rules (labelled as such: legal judges it, nothing follows from it)."""
    total = facts.total_fees()
    suggested = [
        f"Model suggests (not a rule finding; yours to judge): §{s['section']} {s['label'].replace('_', ' ')}: "
        f"“{s['sentence']}” — {s['why']}"
        for s in suggestions
    ]
    return {
        "title": f"Contract review: {facts.title or deal.opportunity.name}",
        "client": deal.client.customer_name,
        "amount": str(total if total is not None else deal.opportunity.amount),
        "currency": facts.currency or deal.opportunity.currency,
        "service_line": deal.service_line,
        "risk_level": risk.level,
        "risk_score": float(risk.score),
        "reasons": [
            f"§{f.section} {f.rule.replace('_', ' ')} ({f.severity}): “{f.sentence}” — {f.explanation}"
            for f in risk.findings
        ]
        + suggested,
        # The findings in structure, for the approval summary (approvals.summary).
        "risks": [{"label": f.rule, "severity": f.severity, "sentence": f.sentence} for f in risk.findings],
        "model_suggestions": list(suggestions),
        "document": document,
    }
