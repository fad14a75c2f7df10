"""Revenue recognition's step over the ports: what it reads from where, with stand-in ports (no AWS)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from backoffice.connectors.ports import Page
from backoffice.finance_close.revenue_policy import RevenuePolicy
from backoffice.finance_close.revenue_steps import recognize
from backoffice.models import Contract, Milestone, Project, ProjectEstimate, TimeEntry

PROJECT = Project(
    id="P-1",
    project_name="Operating model",
    client_id="C-1",
    contract_id="SOW-1",
    billing_model="fixed_fee",
    currency="USD",
)


def contract(**changes: Any) -> Contract:
    values: dict[str, Any] = {
        "id": "SOW-1",
        "kind": "sow",
        "client_id": "C-1",
        "title": "SOW",
        "billing_model": "fixed_fee",
        "currency": "USD",
        "fixed_fee": Decimal(100_000),
        "payment_terms_days": 30,
        "effective_date": date(2026, 1, 1),
        "milestones": [Milestone(id="M-1", name="Design", amount=Decimal(100_000), status="delivered")],
        **changes,
    }
    return Contract.model_validate(values)


class Psa:
    def __init__(self, sow: Contract) -> None:
        self.sow = sow

    def list_billable_projects(self, start: date, end: date, page_token: str | None = None) -> Page[Project]:
        return Page([PROJECT])

    def get_contract(self, contract_id: str) -> Contract:
        return self.sow

    def list_time_entries(self, start: date, end: date, page_token: str | None = None) -> Page[TimeEntry]:
        entry = TimeEntry.model_validate(
            {
                "id": "T-1",
                "worker_id": "W-1",
                "project_id": "P-1",
                "activity_type": "consulting",
                "work_date": date(2026, 10, 5),
                "hours": Decimal(20),
                "is_billable": True,
                "billing_hours": Decimal(20),
                "billing_rate": Decimal(0),
                "billing_amount": Decimal(0),
                "costing_rate": Decimal(80),
                "currency": "USD",
                "status": "approved",
            }
        )
        return Page([entry])


class Estimates:
    def project_estimate(self, project_id: str) -> ProjectEstimate | None:
        return ProjectEstimate(hours=Decimal(100))


class Erp:
    def list_invoices(self, start: date, end: date, page_token: str | None = None) -> Page[Any]:
        return Page([])


class Positions:
    def before(self, project_id: str, day: date) -> None:
        return None

    def booked_from(self, projects: list[Project], period_end: date) -> list[str]:
        return []

    def carried(self, listed: set[str]) -> list[Project]:
        return []


class Files:
    result_key, journals_key = "r", "j"

    def put(self, *args: Any) -> None:
        self.put_args = args


def run(sow: Contract) -> Any:
    files = Files()
    recognize(
        {"start": "2026-10-01", "end": "2026-10-31", "as_of": "2026-11-05"},
        Psa(sow),
        Estimates(),
        Erp(),
        Positions(),
        files,
        RevenuePolicy(),  # type: ignore[arg-type]
    )
    return files.put_args[0][0]


def test_the_policy_decides_when_the_contract_does_not_say() -> None:
    # Given a fixed fee with milestones and no method in the contract: on acceptance (the policy's default)
    result = run(contract())
    assert result.method == "milestones" and result.recognized_this_period == Decimal(0)


def test_the_contracts_own_method_wins() -> None:
    # Given the same contract saying its fee is earned by percent complete on hours
    result = run(contract(recognition_method="percent_complete", percent_complete_basis="hours"))
    # Then 20 of 100 hours of 100,000 = 20,000.00
    assert result.method == "percent_complete" and result.recognized_this_period == Decimal("20000.00")
