"""Resource onboarding end to end on the local runtime: the HRIS's Worker Hired on the bus, the real ASL, the real
handlers under their synthesized roles, the practice lead's approval link over HTTP, the PSA, ERP and HRIS
(sandbox) and the outbox.

The sample hires (``backoffice.local.resource_demo``): a clean engineer, a senior consultant whose card rate is
below the floor (the practice lead approves), subcontractors of a vendor whose insurance expired, of a vendor on
hold and without a signed NDA (blocked), a rehire (one case, the resource updated) and a designer a waiting staffing
request is assigned to.
"""

from __future__ import annotations

import re
from typing import Any

import pytest

from backoffice.connectors.sandbox import SandboxPsa
from backoffice.local.approver import decide_via_http
from backoffice.local.resource_demo import (
    SOURCE,
    STAFFED_PROJECT,
    STAFFING_REQUEST,
    SampleHire,
    rehire_execution,
    rehire_of,
    sample_hires,
    seed_resource_onboarding,
)
from tests.integration.conftest import Firm
from tests.integration.test_resource_onboarding_concurrency import at_once

LEAD_OF_TECHNOLOGY = "alex.mensah@meridian-advisory.example"  # W-001, the technology practice's lead


@pytest.fixture
def hires(firm: Firm) -> dict[str, SampleHire]:
    seed_resource_onboarding(firm.runtime.sandbox())
    return {sample.scenario: sample for sample in sample_hires()}


def hire(firm: Firm, detail: dict[str, Any]) -> str:
    return firm.runtime.put_event("Worker Hired", detail, source=SOURCE)


def psa(firm: Firm) -> SandboxPsa:
    return SandboxPsa(firm.runtime.sandbox())


def outcomes(firm: Firm, case_id: str) -> list[str]:
    return [r.outcome for r in firm.records(case_id) if r.action == "outcome.published"]


def checked(firm: Firm, case_id: str) -> Any:
    return next(r for r in firm.records(case_id) if r.action == "worker.checked")


def test_a_clean_hire_becomes_a_psa_resource_and_the_worker_and_manager_are_mailed(
    firm: Firm, hires: dict[str, SampleHire]
) -> None:
    # Given an engineer hired at the card's rate, reporting to W-010
    clean = hires["clean"]
    # When the HRIS announces the hire
    hire(firm, clean.detail)
    # Then the case ends onboarded without asking anyone
    assert firm.settle(clean.case_id).status == "SUCCEEDED", firm.fault(clean.case_id)
    assert outcomes(firm, clean.case_id) == ["Worker Onboarded"]
    # And the PSA has the resource with the HRIS's cost rate, the card's bill rate, availability and manager
    resource = psa(firm).resource("W-101")
    assert resource is not None
    assert (resource["role"], resource["practice"], resource["cost_rate"], resource["bill_rate"]) == (
        "engineer",
        "technology",
        "85",
        "190",
    )
    assert resource["weekly_hours"] == "40" and resource["start_date"] == clean.detail["start_date"]
    assert resource["manager_worker_id"] == "W-010" and resource["skills"] == ["aws", "python"]
    # And the trail says each step in order
    assert [a for a, _ in firm.actions(clean.case_id)] == [
        "case.started",
        "worker.checked",
        "resource.saved",
        "resource.not_assigned",
        "worker.welcomed",
        "outcome.published",
    ]
    # And the worker got a welcome and the manager a notice
    welcome = firm.inbox(clean.detail["email"])
    assert len(welcome) == 1 and "Welcome, Nadia Brooks" in welcome[0].text
    manager = firm.inbox("ruth.wagner@meridian-advisory.example")
    assert len(manager) == 1 and "reports to you" in manager[0].text


def test_a_bill_rate_below_the_floor_goes_to_the_practice_lead_who_approves_it(
    firm: Firm, hires: dict[str, SampleHire]
) -> None:
    # Given a senior consultant costing 160/h: the card's 225 is below the floor of 246.16 (35% margin)
    rate = hires["rate"]
    hire(firm, rate.detail)
    # Then the case waits for the technology practice's lead, not for the hiring manager
    waiting = firm.settle(rate.case_id)
    assert waiting.status == "RUNNING" and waiting.current_state == "Ask the practice lead"
    check = checked(firm, rate.case_id)
    assert check.outcome == "needs_approval" and "below the floor 246.16" in check.reasons[0]
    mail = firm.mail(LEAD_OF_TECHNOLOGY, rate.case_id)
    assert "Omar Vance" in mail.text and "246.16" in mail.text
    # When the practice lead approves through the link
    status, _, _ = decide_via_http(mail.approval_links[0], "approve", LEAD_OF_TECHNOLOGY, "Scarce SAP skills")
    assert status == 200
    # Then the resource is set up at the card's rate, saying who approved it
    assert firm.finish(rate.case_id).status == "SUCCEEDED"
    assert outcomes(firm, rate.case_id) == ["Worker Onboarded"]
    assert psa(firm).resource("W-102")["bill_rate"] == "225"  # type: ignore[index]
    saved = next(r for r in firm.records(rate.case_id) if r.action == "resource.saved")
    assert saved.data["rate_decided_by"] == [LEAD_OF_TECHNOLOGY]


def test_a_rejected_bill_rate_blocks_onboarding_with_the_practice_leads_reason(
    firm: Firm, hires: dict[str, SampleHire]
) -> None:
    rate = hires["rate"]
    hire(firm, rate.detail)
    assert firm.settle(rate.case_id).current_state == "Ask the practice lead"
    # When the practice lead rejects the rate
    link = firm.link(LEAD_OF_TECHNOLOGY, rate.case_id)
    decide_via_http(link, "reject", LEAD_OF_TECHNOLOGY, "Propose 260: the card is below cost")
    # Then nothing is set up and the case says why
    assert firm.finish(rate.case_id).status == "SUCCEEDED"
    assert outcomes(firm, rate.case_id) == ["Worker Onboarding Blocked"]
    assert psa(firm).resource("W-102") is None
    assert "Propose 260" in " ".join(firm.output(rate.case_id)["reasons"])


@pytest.mark.parametrize(
    ("scenario", "reason"),
    [
        ("expired", r"Harbor Staffing Group Inc\.'s certificate of insurance expired on \d{4}-\d{2}-\d{2}"),
        ("unapproved", r"on hold"),
        ("no_nda", r"signed NDA is missing"),
    ],
)
def test_a_subcontractor_whose_vendor_or_documents_are_not_in_order_is_blocked(
    firm: Firm, hires: dict[str, SampleHire], scenario: str, reason: str
) -> None:
    # Given a subcontractor worker of a vendor whose insurance expired / on hold / without a signed NDA
    sample = hires[scenario]
    hire(firm, sample.detail)
    # Then onboarding is blocked with the reason, and nothing is set up in the PSA
    assert firm.settle(sample.case_id).status == "SUCCEEDED"
    assert outcomes(firm, sample.case_id) == ["Worker Onboarding Blocked"]
    assert checked(firm, sample.case_id).outcome == "blocked"
    assert any(re.search(reason, r) for r in firm.output(sample.case_id)["reasons"])
    assert psa(firm).resource(sample.worker_id) is None
    assert firm.inbox(sample.detail["email"]) == []


def test_a_subcontractor_of_an_approved_insured_vendor_with_papers_in_order_is_onboarded(
    firm: Firm, hires: dict[str, SampleHire]
) -> None:
    # Given a subcontractor worker of Northstar (approved, insured for a year) with a signed NDA and right to work,
    # proposed at 175 (below the card's 190, above the floor of 146.16)
    sample = hires["subcontractor"]
    hire(firm, sample.detail)
    # Then they are onboarded at the proposed rate without a review, the vendor's standing on the trail
    assert firm.settle(sample.case_id).status == "SUCCEEDED"
    assert outcomes(firm, sample.case_id) == ["Worker Onboarded"]
    check = checked(firm, sample.case_id)
    assert check.outcome == "passed"
    assert (check.data["vendor"]["approved"], check.data["vendor"]["insurance_in_force"]) == (True, True)
    stored = psa(firm).resource("W-108")
    assert stored is not None and (stored["bill_rate"], stored["vendor_id"]) == ("175", "V-RO-NORTHSTAR")


def test_a_duplicate_delivery_is_one_case_and_a_rehire_updates_the_resource(
    firm: Firm, hires: dict[str, SampleHire]
) -> None:
    # Given a hire delivered twice
    sample = hires["rehire"]
    hire(firm, sample.detail)
    hire(firm, sample.detail)
    assert firm.settle(sample.case_id).status == "SUCCEEDED"
    # When the worker leaves and is hired again later, full time
    again = rehire_of(sample)
    hire(firm, again)
    name = rehire_execution(sample, firm.runtime)
    assert name is not None and firm.finish(name).status == "SUCCEEDED"
    # Then one case has two attempts and one duplicate; the PSA has one resource, updated to the rehire
    trail = firm.records(sample.case_id)
    assert sum(r.action == "case.started" for r in trail) == 2
    assert sum(r.action == "event.duplicate" for r in trail) == 1
    assert [r.outcome for r in trail if r.action == "resource.saved"] == ["created", "updated"]
    resources = [r for r in firm.runtime.sandbox().all("psa", "resource") if r["worker_id"] == "W-106"]
    assert len(resources) == 1
    assert (resources[0]["start_date"], resources[0]["weekly_hours"]) == (again["start_date"], "40")
    assert outcomes(firm, sample.case_id) == ["Worker Onboarded", "Worker Onboarded"]


def test_the_staffing_request_waiting_for_the_role_is_the_new_hires_first_assignment(
    firm: Firm, hires: dict[str, SampleHire]
) -> None:
    # Given a staffing request for a designer nobody could fill
    sample = hires["assignment"]
    hire(firm, sample.detail)
    assert firm.settle(sample.case_id).status == "SUCCEEDED"
    # Then the new designer is assigned to it, and the mails say so
    request = firm.runtime.sandbox().get("psa", "resource_request", STAFFING_REQUEST)
    assert request is not None
    assert (request["status"], request["assigned_worker_id"]) == ("assigned", "W-107")
    assigned = next(r for r in firm.records(sample.case_id) if r.action == "resource.assigned")
    assert assigned.data["assignment"]["project_id"] == STAFFED_PROJECT
    assert STAFFED_PROJECT in firm.inbox(sample.detail["email"])[0].text
    assert (
        firm.outcome_event(sample.case_id)["detail"]["data"]["assignment"]["request_id"] == STAFFING_REQUEST
    )


def test_a_record_without_a_manager_is_invalid_and_said_so(firm: Firm, hires: dict[str, SampleHire]) -> None:
    detail = {**hires["clean"].detail, "worker_id": "W-199", "manager_id": "W-999"}
    hire(firm, detail)
    assert firm.settle("worker-W-199").status == "SUCCEEDED"
    assert checked(firm, "worker-W-199").outcome == "invalid"
    assert firm.output("worker-W-199")["reasons"] == ["the manager W-999 is not in the HRIS"]


def test_a_hire_whose_event_does_not_validate_is_parked_not_started(firm: Firm) -> None:
    # Given a Worker Hired without a start date
    event_id = hire(firm, {"worker_id": "W-198", "name": "No Start", "employment": "employee", "role": "x",
                           "cost_rate": "10"})  # fmt: skip
    # Then no case runs; the event is rejected on the trail with the reason
    records = firm.records(f"rejected-{event_id}")
    assert [r.action for r in records] == ["event.rejected"]
    assert any("start_date" in reason for reason in records[0].reasons)


def test_eight_deliveries_of_one_hire_at_once_start_one_case(
    firm: Firm, hires: dict[str, SampleHire]
) -> None:
    # Given the HRIS's hire, delivered eight times at once (EventBridge's at-least-once and a sender's retries)
    clean = hires["clean"]
    at_once([lambda: hire(firm, clean.detail) for _ in range(8)])
    # Then one case ran, seven deliveries are duplicates on its trail, one resource and one welcome
    assert firm.settle(clean.case_id).status == "SUCCEEDED"
    firm.runtime.wait_until_idle(timeout=60)
    trail = firm.records(clean.case_id)
    assert sum(r.action == "case.started" for r in trail) == 1
    assert sum(r.action == "event.duplicate" for r in trail) == 7
    assert [r.outcome for r in trail if r.action == "resource.saved"] == ["created"]
    assert len(firm.inbox(clean.detail["email"])) == 1
