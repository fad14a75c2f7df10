"""Each sample vendor request reaches the outcome the demo promises for it."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from backoffice.models import DetailType, VendorOnboardingRequested, parse_event_as
from backoffice.vendors.assessment import VendorAssessment, assess_application
from backoffice.vendors.checks import CheckName
from backoffice.vendors.policy import VendorPolicy
from backoffice.vendors.sample_vendors import (
    PROCUREMENT,
    SAMPLE_CHECK_DATE,
    SampleScenario,
    existing_employees,
    existing_vendors,
    sample_scenarios,
)
from backoffice.vendors.sanctions import SanctionsList

SCENARIOS = {scenario.key: scenario for scenario in sample_scenarios()}


def assess(scenario: SampleScenario, sdn_list: SanctionsList, policy: VendorPolicy) -> VendorAssessment:
    return assess_application(
        scenario.application,
        vendors=existing_vendors(),
        employees=existing_employees(),
        sanctions_list=sdn_list,
        policy=policy,
        as_of=SAMPLE_CHECK_DATE,
    )


def test_there_is_one_scenario_per_onboarding_outcome() -> None:
    assert list(SCENARIOS) == [
        "clean",
        "insurance-expired",
        "invalid-tin",
        "invalid-routing",
        "sanctions-hit",
        "duplicate",
        "missing-w9",
        "high-spend",
    ]


def test_the_scenarios_are_deterministic() -> None:
    again = sample_scenarios()
    assert [s.to_json_dict(reveal_secrets=True) for s in again] == [
        s.to_json_dict(reveal_secrets=True) for s in SCENARIOS.values()
    ]


@pytest.mark.parametrize("key", list(SCENARIOS))
def test_each_scenario_reaches_its_expected_outcome(
    key: str, sdn_list: SanctionsList, policy: VendorPolicy
) -> None:
    # Given a sample request with its documents / When it is assessed on the sample check date
    scenario = SCENARIOS[key]
    assessment = assess(scenario, sdn_list, policy)
    # Then its next step, risk level and approval levels are those expected
    assert assessment.risk.next_step == scenario.expected_next_step
    assert assessment.risk.level == scenario.expected_risk_level
    assert [level.name for level in assessment.approval_chain] == scenario.expected_approval_levels
    procurement = [level for level in assessment.approval_chain if level.name == "procurement"]
    if procurement:
        assert procurement[0].quorum == scenario.expected_quorum
    # and the requester is excluded from every level
    requester = scenario.application.request.requester_email
    assert all(requester not in level.eligible_approvers for level in assessment.approval_chain)


# The finding that makes each problem scenario what it is.
FINDINGS = {
    "insurance-expired": (CheckName.INSURANCE, "general liability policy QMG-20260001 expired on 2026-10-31"),
    "invalid-tin": (CheckName.W9_TIN, "EIN ****4442 has a two-digit prefix the IRS does not assign"),
    "invalid-routing": (
        CheckName.BANK_ACCOUNT,
        "routing number ****0025 fails the ABA checksum (a digit is wrong or two are swapped)",
    ),
    "missing-w9": (CheckName.W9_TIN, "no W-9 received yet: ask the vendor for a signed Form W-9"),
}


@pytest.mark.parametrize("key", list(FINDINGS))
def test_problem_scenarios_fail_exactly_on_their_problem(
    key: str, sdn_list: SanctionsList, policy: VendorPolicy
) -> None:
    check, reason = FINDINGS[key]
    assessment = assess(SCENARIOS[key], sdn_list, policy)
    failed = {result.check: result.reasons for result in assessment.checks if result.status == "fail"}
    assert reason in failed[check]
    # Nothing else fails but the other checks waiting for the same W-9
    others = {c for c in failed if c != check}
    assert others <= ({CheckName.W9_FORM, CheckName.W9_NAME} if key == "missing-w9" else set())
    assert assessment.screening.decision == "clear"
    assert assessment.duplicates.decision == "new"


def test_clean_vendor_passes_everything(sdn_list: SanctionsList, policy: VendorPolicy) -> None:
    assessment = assess(SCENARIOS["clean"], sdn_list, policy)
    assert {result.status for result in assessment.checks} == {"pass"}
    assert assessment.approval_chain[0].quorum_label == "1 of 3"


def test_sanctions_scenario_hits_the_sample_list(sdn_list: SanctionsList, policy: VendorPolicy) -> None:
    assessment = assess(SCENARIOS["sanctions-hit"], sdn_list, policy)
    assert [(hit.ent_num, hit.program, hit.kind) for hit in assessment.screening.hits] == [
        (90006, "CYBER2", "primary")
    ]
    assert assessment.risk.blockers == ["a possible sanctions match must be cleared by compliance"]


def test_duplicate_scenario_points_at_the_existing_vendor(
    sdn_list: SanctionsList, policy: VendorPolicy
) -> None:
    assessment = assess(SCENARIOS["duplicate"], sdn_list, policy)
    assert assessment.risk.duplicate_of == "SUP-1001"
    kinds = [signal.kind for signal in assessment.duplicates.matches[0].signals]
    assert kinds == ["same_tin", "same_bank_account", "same_address", "same_phone", "similar_name"]


def test_missing_w9_scenario_goes_to_approval_once_the_w9_arrives(
    sdn_list: SanctionsList, policy: VendorPolicy
) -> None:
    # Given the translator's case waiting for its W-9
    scenario = SCENARIOS["missing-w9"]
    assert assess(scenario, sdn_list, policy).risk.missing_documents == ["w9"]
    # When the W-9 arrives (line 1 the owner, line 2 the trade name used in the request)
    supplied = scenario.model_copy(
        update={"application": scenario.application.model_copy(update={"w9": scenario.supplied_later})}
    )
    assessment = assess(supplied, sdn_list, policy)
    # Then the case goes on to approval, with a warning to record the owner as the legal name
    assert assessment.risk.next_step == scenario.expected_after_documents
    name_check = next(result for result in assessment.checks if result.check == CheckName.W9_NAME)
    assert name_check.status == "warn"
    assert "'Ingrid Fennimore' is the name the TIN is registered to" in name_check.reasons[0]


def test_high_spend_scenario_excludes_the_requesting_procurement_approver(
    sdn_list: SanctionsList, policy: VendorPolicy
) -> None:
    assessment = assess(SCENARIOS["high-spend"], sdn_list, policy)
    procurement, finance = assessment.approval_chain
    assert procurement.excluded_approvers == [PROCUREMENT[0]]
    assert (procurement.quorum_label, finance.quorum_label) == ("2 of 2", "2 of 3")


def test_every_sample_request_is_a_valid_vendor_onboarding_event() -> None:
    # Given each request as the detail of an EventBridge event / Then the canonical parser accepts it
    for scenario in SCENARIOS.values():
        event = {
            "version": "0",
            "id": f"evt-{scenario.key}",
            "detail-type": DetailType.VENDOR_ONBOARDING_REQUESTED.value,
            "source": "backoffice.sample",
            "account": "000000000000",
            "time": datetime(2026, 11, 16, 9, 0, tzinfo=UTC).isoformat(),
            "region": "us-east-1",
            "detail": scenario.application.request.to_json_dict(),
        }
        _, detail = parse_event_as(event, VendorOnboardingRequested)
        assert detail == scenario.application.request


def test_an_assessment_travels_between_workflow_states_as_json(
    sdn_list: SanctionsList, policy: VendorPolicy
) -> None:
    # Given the richest assessment (hits, levels, reasons)
    assessment = assess(SCENARIOS["sanctions-hit"], sdn_list, policy)
    # When it is written as a state's JSON output and read back by the next handler
    back = VendorAssessment.from_json_dict(assessment.to_json_dict())
    # Then nothing is lost, and no tax id or account number is in the JSON
    assert back == assessment
    text = str(assessment.to_json_dict())
    assert "33-0984217" not in text and "2200871123" not in text
