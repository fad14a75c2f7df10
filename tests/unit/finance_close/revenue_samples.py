"""Builders of the revenue tests' projects, contracts and time: one line a fact, the rest the sample firm's."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from itertools import count
from typing import Any

from backoffice.finance_close.revenue import EstimateAtCompletion, ProjectRevenueInputs
from backoffice.models import BillingModel, Contract, Milestone, Project, TimeEntry

OCTOBER = (date(2026, 10, 1), date(2026, 10, 31))
_ids = count(1)


def project(project_id: str, billing_model: BillingModel, currency: str = "USD") -> Project:
    return Project(
        id=project_id,
        project_name=f"Engagement {project_id}",
        client_id="BC-001",
        contract_id=f"C-{project_id}",
        billing_model=billing_model,
        currency=currency,
    )


def contract(project_id: str, billing_model: BillingModel, currency: str = "USD", **terms: Any) -> Contract:
    return Contract(
        id=f"C-{project_id}",
        kind="sow",
        client_id="BC-001",
        title=f"SOW {project_id}",
        billing_model=billing_model,
        currency=currency,
        payment_terms_days=30,
        effective_date=terms.pop("effective_date", date(2026, 1, 1)),
        **terms,
    )


def milestone(milestone_id: str, amount: str, status: str, accepted: date | None = None) -> Milestone:
    return Milestone.model_validate(
        {
            "id": milestone_id,
            "name": f"Deliverable {milestone_id}",
            "amount": Decimal(amount),
            "status": status,
        }
        | ({"accepted_date": accepted} if accepted else {})
    )


def entry(
    project_id: str,
    work_date: date,
    hours: str,
    rate: str = "150.00",
    *,
    role: str | None = "consultant",
    cost: str = "80.00",
    billable: bool = True,
    status: str = "approved",
    currency: str = "USD",
) -> TimeEntry:
    h, r = Decimal(hours), Decimal(rate)
    return TimeEntry.model_validate(
        {
            "id": f"TS-{next(_ids):05d}",
            "worker_id": "W-001",
            "project_id": project_id,
            "role": role,
            "activity_type": "Consulting",
            "work_date": work_date,
            "hours": h,
            "is_billable": billable,
            "billing_hours": h if billable else Decimal(0),
            "billing_rate": r,
            "billing_amount": h * r if billable else Decimal(0),
            "costing_rate": Decimal(cost),
            "currency": currency,
            "status": status,
        }
    )


def hours_worked(project_id: str, total: int, first_day: date, *, cost: str = "80.00") -> list[TimeEntry]:
    """``total`` hours as 8-hour days from ``first_day`` on (the last day takes the rest)."""
    entries, left, day = [], total, first_day
    while left > 0:
        entries.append(entry(project_id, day, str(min(8, left)), cost=cost))
        left -= 8
        day += timedelta(days=1)
    return entries


def eac(hours: str | None = None, cost: str | None = None) -> EstimateAtCompletion:
    return EstimateAtCompletion(
        hours=Decimal(hours) if hours is not None else None, cost=Decimal(cost) if cost is not None else None
    )


def inputs(
    the_project: Project, the_contract: Contract | None, period: tuple[date, date] = OCTOBER, **facts: Any
) -> ProjectRevenueInputs:
    for money in (
        "recognized_to_date",
        "billed_to_date",
        "unbilled_receivable_before",
        "deferred_revenue_before",
    ):
        if money in facts:
            facts[money] = Decimal(facts[money])
    return ProjectRevenueInputs(
        period_start=period[0], period_end=period[1], project=the_project, contract=the_contract, **facts
    )
