"""Staffing: who could work on the new project, ranked, and what stops a role from being staffed.

``plan_staffing`` proposes, it never books. Booking is the caller's write to the PSA, keyed by project and
role (``assignment_key``) so that a retried step does not book anyone twice; a person confirms the proposal
when the plan reports conflicts.

Free capacity is what a resource manager reads off a schedule: the working weeks of the role's period times
the firm's weekly hours, minus what the worker is already allocated over those weeks. Workers proposed for an
earlier role of the same plan are counted as allocated for the later ones, so one plan never proposes the
same person for more hours than they have.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta
from decimal import Decimal
from typing import Literal, Self

from pydantic import ConfigDict, Field, computed_field, model_validator

from backoffice.models import Worker
from backoffice.models.envelope import JsonModel, Model

HOUR = Decimal("0.1")


class _Frozen(JsonModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class RoleRequest(_Frozen):
    """A role the SOW needs: ``hours`` of a ``role`` between ``start`` and ``end`` (inclusive)."""

    role: str = Field(min_length=1)
    hours: Decimal = Field(gt=0)
    skills: tuple[str, ...] = ()
    start: date
    end: date

    @model_validator(mode="after")
    def _period_in_order(self) -> Self:
        if self.end < self.start:
            raise ValueError("the role's end is before its start")
        return self


class Allocation(_Frozen):
    """Hours a worker is already scheduled for per week from ``start`` to ``end`` (a PSA assignment)."""

    worker_id: str = Field(min_length=1)
    project_id: str = Field(min_length=1)
    start: date
    end: date
    hours_per_week: Decimal = Field(gt=0, le=168)

    @model_validator(mode="after")
    def _period_in_order(self) -> Self:
        if self.end < self.start:
            raise ValueError("the allocation's end is before its start")
        return self


class StaffingPolicy(_Frozen):
    weekly_capacity_hours: Decimal = Field(default=Decimal(40), gt=0, le=80)
    # Candidates listed per role; the rest are left out of the plan, not out of the ranking.
    max_candidates: int = Field(default=5, ge=1, le=50)
    # Other roles that may fill a role, e.g. {"senior_consultant": ["manager"]}: a step up fills a step down.
    substitute_roles: dict[str, tuple[str, ...]] = Field(default_factory=dict)


class Candidate(Model):
    model_config = ConfigDict(frozen=True)

    worker_id: str
    name: str
    role_match: Literal["role", "substitute"]
    skills_matched: list[str]
    skills_missing: list[str]
    skill_score: float  # share of the requested skills the worker has, 1.0 when none are requested
    capacity_hours: Decimal  # over the role's period
    allocated_hours: Decimal  # already scheduled over the role's period, this plan's proposals included
    free_hours: Decimal
    covers_request: bool


ConflictKind = Literal["no_candidate", "missing_skill", "over_allocation"]


class StaffingConflict(Model):
    model_config = ConfigDict(frozen=True)

    kind: ConflictKind
    role: str
    worker_id: str | None
    detail: str
    candidate_ids: list[str]


class RoleStaffing(Model):
    model_config = ConfigDict(frozen=True)

    request: RoleRequest
    assignment_key: str  # the caller books the proposal under this key, once
    proposed_worker_id: str | None
    candidates: list[Candidate]
    conflicts: list[StaffingConflict]


class StaffingPlan(Model):
    model_config = ConfigDict(frozen=True)

    roles: list[RoleStaffing]
    conflicts: list[StaffingConflict]

    @computed_field  # type: ignore[prop-decorator]
    @property
    def fully_staffed(self) -> bool:
        return not self.conflicts


# ------------------------------------------------------------------------------------------------------------
# Capacity
# ------------------------------------------------------------------------------------------------------------


def working_days(start: date, end: date) -> int:
    """Monday to Friday days from ``start`` to ``end`` inclusive (public holidays are the PSA's concern)."""
    if end < start:
        return 0
    days = (end - start).days + 1
    weeks, rest = divmod(days, 7)
    count = weeks * 5
    for offset in range(rest):
        if (start + timedelta(days=weeks * 7 + offset)).weekday() < 5:
            count += 1
    return count


def allocated_hours(allocations: Sequence[Allocation], worker_id: str, start: date, end: date) -> Decimal:
    """Hours the worker is scheduled for between ``start`` and ``end``: each allocation's weekly hours spread
    over its working days, counted on the days it overlaps the period."""
    total = Decimal(0)
    for allocation in allocations:
        if allocation.worker_id != worker_id:
            continue
        overlap = working_days(max(start, allocation.start), min(end, allocation.end))
        total += allocation.hours_per_week * overlap / 5
    return total


def assignment_key(project_id: str, role: str, slot: int = 1) -> str:
    """The idempotency key of booking ``role`` on ``project_id``: a retried booking finds its first write.

    ``slot`` tells apart two requests for the same role (two consultants): the second is ``#2``.
    """
    return f"{project_id}#{role}" if slot == 1 else f"{project_id}#{role}#{slot}"


# ------------------------------------------------------------------------------------------------------------
# The plan
# ------------------------------------------------------------------------------------------------------------


def _candidate(
    worker: Worker,
    request: RoleRequest,
    role_match: Literal["role", "substitute"],
    allocations: Sequence[Allocation],
    policy: StaffingPolicy,
) -> Candidate:
    capacity = policy.weekly_capacity_hours * working_days(request.start, request.end) / 5
    allocated = allocated_hours(allocations, worker.id, request.start, request.end)
    free = max(capacity - allocated, Decimal(0))
    has = {skill.casefold() for skill in worker.skills}
    matched = [skill for skill in request.skills if skill.casefold() in has]
    missing = [skill for skill in request.skills if skill.casefold() not in has]
    return Candidate(
        worker_id=worker.id,
        name=worker.name,
        role_match=role_match,
        skills_matched=matched,
        skills_missing=missing,
        skill_score=round(len(matched) / len(request.skills), 4) if request.skills else 1.0,
        capacity_hours=capacity.quantize(HOUR),
        allocated_hours=allocated.quantize(HOUR),
        free_hours=free.quantize(HOUR),
        covers_request=free >= request.hours,
    )


def rank_candidates(
    request: RoleRequest,
    workers: Sequence[Worker],
    allocations: Sequence[Allocation],
    policy: StaffingPolicy | None = None,
) -> list[Candidate]:
    """Active workers who hold the role (or a substitute role), best first: most of the requested skills,
    then able to cover the hours, then the role itself before a substitute, then most free hours, then id."""
    policy = policy or StaffingPolicy()
    substitutes = set(policy.substitute_roles.get(request.role, ()))
    candidates = []
    for worker in workers:
        if not worker.is_active:
            continue
        if request.role in worker.roles:
            candidates.append(_candidate(worker, request, "role", allocations, policy))
        elif substitutes & set(worker.roles):
            candidates.append(_candidate(worker, request, "substitute", allocations, policy))
    candidates.sort(
        key=lambda c: (
            -c.skill_score,
            not c.covers_request,
            c.role_match != "role",
            -c.free_hours,
            c.worker_id,
        )
    )
    return candidates


def plan_staffing(
    requested: Sequence[RoleRequest],
    workers: Sequence[Worker],
    allocations: Sequence[Allocation],
    policy: StaffingPolicy | None = None,
    *,
    project_id: str = "proposed",
) -> StaffingPlan:
    """Proposes one worker per requested role, in the order requested, and reports what needs a person:
    no one holds the role, the proposed worker lacks a requested skill, or they lack the free hours.

    Deterministic: the same inputs give the same plan (ties go to the lower worker id).
    """
    policy = policy or StaffingPolicy()
    planned = list(allocations)  # grows with this plan's proposals
    roles: list[RoleStaffing] = []
    slots: dict[str, int] = {}
    for request in requested:
        slots[request.role] = slots.get(request.role, 0) + 1
        key = assignment_key(project_id, request.role, slots[request.role])
        ranked = rank_candidates(request, workers, planned, policy)
        listed = ranked[: policy.max_candidates]
        ids = [c.worker_id for c in listed]
        conflicts: list[StaffingConflict] = []
        if not ranked:
            conflicts.append(
                StaffingConflict(
                    kind="no_candidate",
                    role=request.role,
                    worker_id=None,
                    detail=f"no active worker holds the role {request.role}",
                    candidate_ids=[],
                )
            )
            roles.append(
                RoleStaffing(
                    request=request,
                    assignment_key=key,
                    proposed_worker_id=None,
                    candidates=[],
                    conflicts=conflicts,
                )
            )
            continue

        best = ranked[0]
        if best.skills_missing:
            conflicts.append(
                StaffingConflict(
                    kind="missing_skill",
                    role=request.role,
                    worker_id=best.worker_id,
                    detail=f"{best.name} lacks {', '.join(best.skills_missing)}; no candidate has every skill",
                    candidate_ids=ids,
                )
            )
        if not best.covers_request:
            conflicts.append(
                StaffingConflict(
                    kind="over_allocation",
                    role=request.role,
                    worker_id=best.worker_id,
                    detail=(
                        f"{best.name} has {best.free_hours} free hours of the {request.hours} needed "
                        f"between {request.start} and {request.end}"
                    ),
                    candidate_ids=ids,
                )
            )
        weeks = Decimal(max(working_days(request.start, request.end), 1)) / 5
        planned.append(
            Allocation(
                worker_id=best.worker_id,
                project_id=project_id,
                start=request.start,
                end=request.end,
                hours_per_week=min(request.hours / weeks, Decimal(168)),
            )
        )
        roles.append(
            RoleStaffing(
                request=request,
                assignment_key=key,
                proposed_worker_id=best.worker_id,
                candidates=listed,
                conflicts=conflicts,
            )
        )
    return StaffingPlan(roles=roles, conflicts=[c for role in roles for c in role.conflicts])
