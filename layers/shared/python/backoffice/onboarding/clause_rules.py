"""The contract-risk rules as the assistant's local clause classifier (``assist.port.ClauseRules``).

The assistant package imports no workflow, so the rules reach it from here: ``clause_rules(policy)`` answers, for
each sentence, the first rule (in ``contract_risk.RULES`` order) that flags it and the rule's explanation, or None.
The rules themselves stay in ``contract_risk``: this calls them, it does not copy them.
"""

from __future__ import annotations

from collections.abc import Sequence

from backoffice.assist.models import ClauseLabel
from backoffice.assist.port import ClauseRules
from backoffice.onboarding.contract_risk import (
    Clause,
    ContractFigures,
    ContractRiskPolicy,
    find_contract_risks,
)


def clause_rules(
    policy: ContractRiskPolicy | None = None,
    figures: ContractFigures | None = None,
    *,
    together: bool = True,
) -> ClauseRules:
    """The firm's rules over a list of sentences. ``together``: the sentences are one contract (a carve-out in one
    clears an IP assignment in another, as in ``assess_contract_risk``); else each stands alone (labelled sets)."""
    chosen = policy or ContractRiskPolicy()

    def classify(sentences: Sequence[str]) -> list[tuple[ClauseLabel, str] | None]:
        found: dict[int, tuple[ClauseLabel, str]] = {}
        groups = [list(enumerate(sentences))] if together else [[pair] for pair in enumerate(sentences)]
        for group in groups:
            clauses = [Clause(section=str(index), heading="", text=text) for index, text in group]
            for finding in find_contract_risks(clauses, figures, chosen):
                found.setdefault(int(finding.section), (finding.rule, finding.explanation))
        return [found.get(index) for index in range(len(sentences))]

    return classify


__all__ = ["clause_rules"]
