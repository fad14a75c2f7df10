"""Staffing: who is proposed for each role, and the conflicts a resource manager must settle."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from pydantic import ValidationError

from backoffice.models import Worker
from backoffice.onboarding.sample_firm import sample_allocations, sample_workers
from backoffice.onboarding.staffing import (
    Allocation,
    RoleRequest,
    StaffingPolicy,
    allocated_hours,
    assignment_key,
    plan_staffing,
    rank_candidates,
    working_days,
)

# Monday 2 November to Friday 27 November 2026: four working weeks, 160 hours at 40 a week.
START, END = date(2026, 11, 2), date(2026, 11, 27)


def worker(worker_id: str, role: str, *skills: str, active: bool = True) -> Worker:
    return Worker(
        id=worker_id,
        name=f"Worker {worker_id}",
        employment="employee",
        roles=[role],
        skills=list(skills),
        cost_rate=Decimal(90),
        currency="USD",
        is_active=active,
    )


def booked(worker_id: str, hours_per_week: int, start: date = START, end: date = END) -> Allocation:
    return Allocation(
        worker_id=worker_id,
        project_id="PRJ-OLD",
        start=start,
        end=end,
        hours_per_week=Decimal(hours_per_week),
    )


def request(role: str, hours: int, *skills: str) -> RoleRequest:
    return RoleRequest(role=role, hours=Decimal(hours), skills=skills, start=START, end=END)


def test_working_days_and_allocated_hours() -> None:
    # Given four full weeks and a 20-hour-a-week booking over its second half
    assert working_days(START, END) == 20
    half = booked("W1", 20, start=date(2026, 11, 16), end=date(2026, 12, 31))
    # Then two of its weeks fall in the period
    assert allocated_hours([half], "W1", START, END) == Decimal(40)


def test_best_skilled_free_worker_is_proposed() -> None:
    # Given two consultants: one with the skills but half booked, one without the skills and free
    workers = [worker("W1", "consultant", "sap", "python"), worker("W2", "consultant", "excel")]
    plan = plan_staffing([request("consultant", 60, "sap", "python")], workers, [booked("W1", 20)])
    # Then the skilled one is proposed: 80 free hours cover the 60 asked
    [role] = plan.roles
    assert role.proposed_worker_id == "W1"
    assert [c.worker_id for c in role.candidates] == ["W1", "W2"]
    assert (role.candidates[0].capacity_hours, role.candidates[0].free_hours) == (Decimal(160), Decimal(80))
    assert plan.fully_staffed and plan.conflicts == []


def test_over_allocation_is_a_conflict_with_the_candidates() -> None:
    # Given the only skilled consultant is booked 35 hours a week
    workers = [worker("W1", "consultant", "sap"), worker("W2", "consultant")]
    plan = plan_staffing([request("consultant", 60, "sap")], workers, [booked("W1", 35)])
    # Then they are still proposed (skills first), and the over-allocation is reported with the alternatives
    [conflict] = plan.conflicts
    assert (conflict.kind, conflict.worker_id, conflict.candidate_ids) == (
        "over_allocation",
        "W1",
        ["W1", "W2"],
    )
    assert "20.0 free hours of the 60 needed" in conflict.detail
    assert not plan.fully_staffed


def test_missing_skill_is_a_conflict() -> None:
    workers = [worker("W1", "analyst", "excel"), worker("W2", "analyst", "excel", "sql")]
    plan = plan_staffing([request("analyst", 40, "sql", "tableau")], workers, [])
    [conflict] = plan.conflicts
    assert (conflict.kind, conflict.worker_id) == ("missing_skill", "W2")
    assert "lacks tableau" in conflict.detail


def test_no_one_in_the_role_is_a_conflict() -> None:
    # Given nobody holds the role (the only designer has left)
    workers = [worker("W1", "designer", active=False), worker("W2", "consultant")]
    plan = plan_staffing([request("designer", 40)], workers, [])
    # Then the role has no proposal and says so
    [role] = plan.roles
    assert role.proposed_worker_id is None and role.candidates == []
    assert [c.kind for c in plan.conflicts] == ["no_candidate"]


def test_substitute_role_fills_in_when_policy_allows() -> None:
    # Given no senior consultant but a free manager, and a firm that lets managers step down
    policy = StaffingPolicy(substitute_roles={"senior_consultant": ("manager",)})
    plan = plan_staffing([request("senior_consultant", 40)], [worker("W1", "manager")], [], policy)
    # Then the manager is proposed as a substitute
    [role] = plan.roles
    assert (role.proposed_worker_id, role.candidates[0].role_match) == ("W1", "substitute")


def test_one_plan_never_proposes_more_hours_than_a_worker_has() -> None:
    # Given one engineer and two requests of 100 hours each over the same four weeks
    plan = plan_staffing(
        [request("engineer", 100), request("engineer", 100)],
        [worker("W1", "engineer"), worker("W2", "engineer")],
        [],
    )
    # Then the second request goes to the other engineer, and the two have distinct booking keys
    assert [r.proposed_worker_id for r in plan.roles] == ["W1", "W2"]
    assert [r.assignment_key for r in plan.roles] == ["proposed#engineer", "proposed#engineer#2"]


def test_same_inputs_give_the_same_plan() -> None:
    # Given the sample firm and a typical technology project
    workers, allocations = sample_workers(), sample_allocations()
    requested = [
        RoleRequest(
            role="manager",
            hours=Decimal(240),
            skills=("sap",),
            start=date(2026, 11, 16),
            end=date(2027, 5, 14),
        ),
        RoleRequest(
            role="senior_consultant",
            hours=Decimal(480),
            skills=("sap", "integration"),
            start=date(2026, 11, 16),
            end=date(2027, 5, 14),
        ),
    ]
    # When planned twice, and with the workers in reverse order
    first = plan_staffing(requested, workers, allocations, project_id="NORT-2026-001")
    again = plan_staffing(requested, list(reversed(workers)), allocations, project_id="NORT-2026-001")
    # Then the plans are identical
    assert first == again
    assert all(role.proposed_worker_id for role in first.roles)
    assert first.roles[0].assignment_key == assignment_key("NORT-2026-001", "manager")


def test_candidate_list_is_capped_by_policy() -> None:
    workers = [worker(f"W{i}", "consultant") for i in range(10)]
    ranked = rank_candidates(request("consultant", 10), workers, [])
    plan = plan_staffing([request("consultant", 10)], workers, [], StaffingPolicy(max_candidates=3))
    assert len(ranked) == 10
    assert [c.worker_id for c in plan.roles[0].candidates] == ["W0", "W1", "W2"]


def test_role_request_period_must_be_in_order() -> None:
    with pytest.raises(ValidationError):
        RoleRequest(role="analyst", hours=Decimal(1), start=END, end=START)
