"""The firm's approvers come from its configuration document in SSM, not from the layer.

The stack writes the document the deploy validated to the parameter ``/backoffice/firm-config``
(``infra/firm_config.py``); the approval functions read its approval policy with Powertools Parameters, under
their own IAM roles (``firm_config:read``). A firm changes its approvers by deploying a new document: no code, no
layer. Here the local runtime's parameter is replaced as a deploy would replace it.
"""

from __future__ import annotations

from typing import Any

import pytest

from backoffice.local.samples import Deal, new_client
from tests.integration.conftest import Firm, deploy_firm_document

HIGH_RISK = frozenset({"uncapped_liability"})
NEW_COUNSEL = "nadia.stein@example-firm.com"


def test_legal_review_goes_to_the_lawyers_the_deployed_document_names(
    firm: Firm, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given the firm's document with a new lawyer alone in the legal group, deployed to the parameter, and the
    # five minutes the functions keep what they read gone by
    monkeypatch.delenv("APPROVAL_POLICY", raising=False)

    def new_counsel(document: dict[str, Any]) -> None:
        document["approval_policy"]["groups"]["legal"] = [NEW_COUNSEL]

    deploy_firm_document(firm.runtime, monkeypatch, new_counsel)
    # When a deal with a high-risk contract is won
    case_id = firm.win(Deal(31, new_client(31), risks=HIGH_RISK))
    execution = firm.settle(case_id)
    # Then legal review waits for the new lawyer, who got the request; the layer's sample lawyers got nothing
    assert (execution.status, execution.current_state) == ("RUNNING", "Ask legal to review the contract")
    assert "uncapped liability" in firm.mail(NEW_COUNSEL, case_id).text
    assert not [m for m in firm.inbox("lena.hoffmann@example-firm.com") if case_id in m.text]


def test_the_contract_risk_policy_of_the_deployed_document_decides_what_goes_to_legal(
    firm: Firm, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a firm whose deployed document accepts uncapped liability (the rule switched off in its contract
    # risk policy), and the functions' five-minute cache gone by
    deploy_firm_document(
        firm.runtime,
        monkeypatch,
        lambda document: document.update(contract_risk_policy={"disabled_rules": ["uncapped_liability"]}),
    )
    # When a deal whose contract has uncapped liability is won
    case_id = firm.win(Deal(32, new_client(32), risks=HIGH_RISK))
    execution = firm.settle(case_id)
    # Then the contract risk step found nothing to send to legal under the firm's policy
    assert execution.current_state != "Ask legal to review the contract"
    [assessed] = [r for r in firm.records(case_id) if r.action == "contract.risk_assessed"]
    assert "uncapped" not in " ".join(assessed.reasons).lower()
    assert not [m for m in firm.inbox("lena.hoffmann@example-firm.com") if case_id in m.text]
