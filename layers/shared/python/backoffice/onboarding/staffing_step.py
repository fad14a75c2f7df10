"""Onboarding step 6, staffing: the SOW's roles planned against the workers and their bookings, one resource
request each in the PSA. Its own module so that only the staffing step's handler imports the staffing planner."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from backoffice.connectors.ports import HrisPort, PsaPort, ResourceRequest, all_pages
from backoffice.onboarding.sow_documents import SowFacts
from backoffice.onboarding.staffing import Allocation, RoleRequest, StaffingPolicy, plan_staffing


def request_staffing(
    project_id: str,
    facts: SowFacts,
    psa: PsaPort,
    hris: HrisPort,
    policy: StaffingPolicy | None = None,
) -> dict[str, Any]:
    if facts.effective_date is None or facts.end_date is None:
        return {"requests": [], "conflicts": ["the SOW has no term; staffing waits for dates"]}
    workers = all_pages(hris.list_workers)
    booked = [
        Allocation(
            worker_id=a.worker_id,
            project_id=a.project_id,
            start=a.start,
            end=a.end,
            hours_per_week=a.hours_per_week,
        )
        for a in psa.allocations(facts.effective_date, facts.end_date)
    ]
    requested = [
        RoleRequest(role=role, hours=hours, start=facts.effective_date, end=facts.end_date)
        for role, hours in facts.hours_by_role.items()
    ]
    plan = plan_staffing(requested, workers, booked, policy, project_id=project_id)
    requests: list[dict[str, Any]] = []
    conflicts: list[str] = []
    for role in plan.roles:
        proposed = [c.worker_id for c in role.candidates]
        notes = [f"{c.kind}: {c.detail}" for c in role.conflicts]
        created = psa.create_resource_request(
            ResourceRequest(
                project_id=project_id,
                role=role.request.role,
                hours=Decimal(role.request.hours),
                start=role.request.start,
                end=role.request.end,
                skills=tuple(role.request.skills),
                candidate_ids=tuple(proposed),
                conflicts=tuple(notes),
            ),
            idempotency_key=role.assignment_key,
        )
        requests.append({"id": created.id, "role": role.request.role, "proposed": role.proposed_worker_id})
        conflicts.extend(f"{role.request.role}: {note}" for note in notes)
    return {"requests": requests, "conflicts": conflicts}
