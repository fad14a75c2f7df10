"""Routing of approvals: rules by facts, levels, quorum, separation of duties, delegation (no AWS)."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from pydantic import ValidationError

from backoffice.approvals.policy import ApprovalFacts, ApprovalPolicy, ApprovalPolicyMissing, load_policy
from backoffice.approvals.routing import NoApprovalRoute, NoEligibleApprovers, route_level, select_rule
from backoffice.local.samples import sample_approval_policy

TODAY = date(2026, 11, 25)


def policy(**changes: Any) -> ApprovalPolicy:
    document = sample_approval_policy()
    document.update(changes)
    return ApprovalPolicy.model_validate(document)


def test_the_sample_firms_policy_loads_and_every_route_names_known_groups() -> None:
    loaded = load_policy({"APPROVAL_POLICY": json.dumps(sample_approval_policy())})
    assert {"contract_review", "billing_exceptions", "invoice_release", "vendor_onboarding"} <= set(
        loaded.routes
    )


def test_without_a_configured_policy_nobody_is_asked_rather_than_a_sample_firms_people() -> None:
    # Given a function with no policy in its environment and no firm document (the layer carries none)
    # When it loads the policy / Then it refuses, saying where the policy belongs
    with pytest.raises(ApprovalPolicyMissing, match="no approval_policy"):
        load_policy({})


def test_a_policy_naming_an_unknown_group_is_refused_at_load() -> None:
    document = sample_approval_policy()
    document["routes"]["contract_review"][0]["levels"][0]["group"] = "lawyers"
    with pytest.raises(ValidationError, match="unknown group 'lawyers'"):
        ApprovalPolicy.model_validate(document)


def test_a_quorum_larger_than_the_group_is_refused_at_load() -> None:
    document = sample_approval_policy()
    document["routes"]["contract_review"][0]["levels"][0]["quorum"] = 5
    with pytest.raises(ValidationError, match="quorum 5 exceeds"):
        ApprovalPolicy.model_validate(document)


@pytest.mark.parametrize(
    ("amount", "levels"),
    [
        ("10000", None),
        ("50000", ["finance approval"]),
        ("249999.99", ["finance approval"]),
        ("250000", ["finance approval", "CFO approval"]),
    ],
)
def test_invoice_release_is_routed_by_amount_thresholds(amount: str, levels: list[str] | None) -> None:
    # Given the packaged policy / When an invoice of this amount is routed
    rule = select_rule(policy(), "invoice_release", ApprovalFacts(amount=Decimal(amount), currency="USD"))
    # Then the levels follow the thresholds (below 50,000 no approval is needed)
    assert (None if rule is None else [level.name for level in rule.levels]) == levels


def test_contract_review_is_routed_by_risk_level_and_low_risk_needs_none() -> None:
    p = policy()
    high = select_rule(p, "contract_review", ApprovalFacts(risk_level="high"))
    assert high is not None and [lv.group for lv in high.levels] == ["legal", "general_counsel"]
    assert select_rule(p, "contract_review", ApprovalFacts(risk_level="low")) is None


def test_an_unknown_route_is_an_error_not_a_silent_pass() -> None:
    with pytest.raises(NoApprovalRoute):
        select_rule(policy(), "expense_review", ApprovalFacts())


def test_the_requester_is_never_an_approver() -> None:
    # Given the requester is in the legal group
    p = policy()
    rule = select_rule(p, "contract_review", ApprovalFacts(risk_level="medium"))
    assert rule is not None
    # When the level is routed
    routed = route_level(
        p, rule, 0, requested_by="Lena.Hoffmann@example-firm.com", decided_earlier=frozenset(), today=TODAY
    )
    # Then only the other legal member gets a link, and the note says why
    assert [a.email for a in routed.approvers] == ["omar.haddad@example-firm.com"]
    assert any("cannot approve" in n for n in routed.notes)


def test_one_person_cannot_approve_two_levels() -> None:
    p = policy()
    rule = select_rule(p, "invoice_release", ApprovalFacts(amount=Decimal("300000")))
    assert rule is not None
    # Given the CFO-level group has one member who already approved the finance level
    with pytest.raises(NoEligibleApprovers, match="CFO approval"):
        route_level(
            p,
            rule,
            1,
            requested_by=None,
            decided_earlier=frozenset({"dana.whitfield@example-firm.com"}),
            today=TODAY,
        )


def test_delegation_routes_to_the_delegate_only_within_its_dates() -> None:
    # Given Lena delegates to Ruth from 20 to 30 November
    p = policy(
        delegations=[
            {
                "approver": "lena.hoffmann@example-firm.com",
                "delegate": "ruth.adler@example-firm.com",
                "start": "2026-11-20",
                "end": "2026-11-30",
            }
        ]
    )
    rule = select_rule(p, "contract_review", ApprovalFacts(risk_level="medium"))
    assert rule is not None
    # When routed inside the range / Then Ruth approves on Lena's behalf
    inside = route_level(p, rule, 0, requested_by=None, decided_earlier=frozenset(), today=TODAY)
    assert ("ruth.adler@example-firm.com", "lena.hoffmann@example-firm.com") in [
        (a.email, a.on_behalf_of) for a in inside.approvers
    ]
    # When routed after the range / Then Lena herself
    after = route_level(p, rule, 0, requested_by=None, decided_earlier=frozenset(), today=date(2026, 12, 1))
    assert "lena.hoffmann@example-firm.com" in [a.email for a in after.approvers]


def test_escalation_goes_to_the_escalation_group() -> None:
    p = policy()
    rule = select_rule(p, "contract_review", ApprovalFacts(risk_level="medium"))
    assert rule is not None
    routed = route_level(
        p, rule, 0, requested_by=None, decided_earlier=frozenset(), today=TODAY, escalated=True
    )
    assert [a.email for a in routed.approvers] == ["grace.okafor@example-firm.com"]
    assert routed.escalated


def test_a_delegation_that_ends_before_it_starts_is_refused() -> None:
    with pytest.raises(ValidationError, match="ends before it starts"):
        policy(
            delegations=[
                {"approver": "a@x.com", "delegate": "b@x.com", "start": "2026-12-02", "end": "2026-12-01"}
            ]
        )
