"""Project setup: the plan a won deal and its SOW give, and what stops it."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from pydantic import ValidationError

from backoffice.models import Client, Contract, Opportunity
from backoffice.onboarding.project_setup import (
    ProjectSetupPolicy,
    client_code,
    months_in_term,
    plan_project,
)
from backoffice.onboarding.sample_firm import sample_project_templates, standard_rate_card

TEMPLATES = sample_project_templates()
STANDARD = standard_rate_card("USD")

OPPORTUNITY = Opportunity.from_json_dict(
    {
        "id": "006OPP1",
        "account_id": "001ACC1",
        "name": "Northwind - ERP implementation",
        "stage_name": "Closed Won",
        "amount": "150000",
        "close_date": "2026-11-02",
        "is_closed": True,
        "is_won": True,
        "currency": "USD",
    }
)
CLIENT = Client.from_json_dict(
    {"id": "CUST-0001", "customer_name": "Northwind Logistics, Inc.", "default_currency": "USD"}
)


def contract(**changes: Any) -> Contract:
    data: dict[str, Any] = {
        "id": "SOW-1",
        "kind": "sow",
        "client_id": "CUST-0001",
        "opportunity_id": "006OPP1",
        "title": "ERP implementation",
        "billing_model": "time_and_materials",
        "currency": "USD",
        "rates_by_role": {"manager": "275", "senior_consultant": "225"},
        "payment_terms_days": 30,
        "effective_date": "2026-11-16",
        "end_date": "2027-05-15",
        "not_to_exceed": "150000",
    }
    data.update(changes)
    return Contract.from_json_dict(data)


def milestones(*amounts: str) -> list[dict[str, Any]]:
    return [
        {"id": f"M{i}", "name": f"Milestone {i}", "amount": amount, "due_date": "2027-02-01"}
        for i, amount in enumerate(amounts, start=1)
    ]


HOURS = {"manager": Decimal(200), "senior_consultant": Decimal(400)}


def test_time_and_materials_plan_is_ready_with_rates_budget_and_code() -> None:
    # Given a won T&M deal with rates, hours and a not-to-exceed cap
    plan = plan_project(
        OPPORTUNITY,
        CLIENT,
        contract(),
        TEMPLATES,
        seq=7,
        service_line="technology",
        estimated_hours=HOURS,
        standard_rates=STANDARD,
    )
    # Then the plan is ready, on the technology T&M template, coded from the client and the SOW's year
    assert plan.ready and plan.reasons == []
    assert plan.template_id == "TPL-TECHNOLOGY-TIME_AND_MATERIALS"
    assert plan.project_code == "NORT-2026-007"
    assert [p.name for p in plan.phases][:2] == ["Discovery", "Design"]
    # And the project carries the SOW's dates and the cost of the planned hours at standard cost
    project = plan.project
    assert (project.id, project.client_id, project.contract_id) == ("NORT-2026-007", "CUST-0001", "SOW-1")
    assert (project.expected_start_date, project.expected_end_date) == (date(2026, 11, 16), date(2027, 5, 15))
    assert project.estimated_costing == Decimal(200 * 125 + 400 * 95)
    # And the rate card bills the SOW's rates and costs the firm's
    assert plan.rate_card is not None
    lines = {line.role: (line.billing_rate, line.costing_rate) for line in plan.rate_card.lines}
    assert lines == {
        "manager": (Decimal(275), Decimal(125)),
        "senior_consultant": (Decimal(225), Decimal(95)),
    }
    assert (plan.budget, plan.not_to_exceed) == (Decimal(150000), Decimal(150000))
    # And the roles to staff are the SOW's, then the template's others
    assert plan.roles == ["manager", "senior_consultant", "partner", "engineer"]


def test_time_and_materials_without_rates_is_blocked() -> None:
    # Given a T&M SOW that names no rates
    plan = plan_project(
        OPPORTUNITY, CLIENT, contract(rates_by_role={}), TEMPLATES, seq=1, service_line="technology"
    )
    # Then the plan is not ready and says why
    assert not plan.ready
    assert "a time-and-materials SOW has no rates by role" in plan.reasons
    assert plan.rate_card is None


def test_hours_for_a_role_without_a_rate_are_blocked() -> None:
    plan = plan_project(
        OPPORTUNITY,
        CLIENT,
        contract(),
        TEMPLATES,
        seq=1,
        service_line="technology",
        estimated_hours={**HOURS, "partner": Decimal(40)},
    )
    assert plan.reasons == ["hours are planned for roles with no rate: partner"]


def test_estimated_fees_above_the_cap_are_a_warning() -> None:
    # Given hours worth more than the not-to-exceed cap
    hours = {"manager": Decimal(400), "senior_consultant": Decimal(400)}
    plan = plan_project(
        OPPORTUNITY, CLIENT, contract(), TEMPLATES, seq=1, service_line="technology", estimated_hours=hours
    )
    # Then the plan can proceed but the reviewer is told
    assert plan.ready
    assert any("exceed the not-to-exceed cap" in warning for warning in plan.warnings)


def test_fixed_fee_without_milestones_is_blocked() -> None:
    # Given a fixed-fee SOW with nothing to bill against
    sow = contract(billing_model="fixed_fee", fixed_fee="150000", rates_by_role={}, not_to_exceed=None)
    plan = plan_project(OPPORTUNITY, CLIENT, sow, TEMPLATES, seq=1, service_line="advisory")
    # Then it cannot be set up
    assert plan.reasons == ["a fixed-fee SOW has no milestones to bill"]


def test_fixed_fee_milestones_must_add_up_to_the_fee() -> None:
    sow = contract(billing_model="fixed_fee", fixed_fee="150000", milestones=milestones("50000", "60000"))
    plan = plan_project(OPPORTUNITY, CLIENT, sow, TEMPLATES, seq=1, service_line="advisory")
    assert plan.reasons == ["the milestones add up to USD 110,000.00, not the fixed fee 150,000.00"]


def test_fixed_fee_plan_budgets_the_fee_and_keeps_the_milestones() -> None:
    # Given a fixed fee in three milestones
    sow = contract(
        billing_model="fixed_fee",
        fixed_fee="150000",
        not_to_exceed=None,
        milestones=milestones("45000", "60000", "45000"),
    )
    # When planned
    plan = plan_project(OPPORTUNITY, CLIENT, sow, TEMPLATES, seq=2, service_line="advisory")
    # Then the fee is the budget and the cap, and each milestone is billable
    assert plan.ready
    assert plan.template_id == "TPL-ADVISORY-FIXED_FEE"
    assert (plan.budget, plan.not_to_exceed) == (Decimal(150000), Decimal(150000))
    assert [m.id for m in plan.milestones] == ["M1", "M2", "M3"]


def test_retainer_budget_is_the_monthly_fee_over_the_term() -> None:
    # Given a six-month retainer of 25,000 a month
    sow = contract(billing_model="retainer", monthly_retainer_fee="25000", not_to_exceed=None)
    # When planned
    plan = plan_project(OPPORTUNITY, CLIENT, sow, TEMPLATES, seq=3, service_line="risk")
    # Then its budget is six months of fees
    assert plan.ready
    assert (plan.template_id, plan.budget) == ("TPL-RISK-RETAINER", Decimal(150000))


def test_open_ended_retainer_has_no_budget_but_is_ready() -> None:
    sow = contract(billing_model="retainer", monthly_retainer_fee="25000", end_date=None)
    plan = plan_project(OPPORTUNITY, CLIENT, sow, TEMPLATES, seq=3, service_line="risk")
    assert plan.ready and plan.budget is None
    assert "the retainer has no end date: its budget is not known" in plan.warnings


def test_retainer_without_a_fee_is_blocked() -> None:
    sow = contract(billing_model="retainer", not_to_exceed=None)
    plan = plan_project(OPPORTUNITY, CLIENT, sow, TEMPLATES, seq=3, service_line="risk")
    assert plan.reasons == ["a retainer SOW has no monthly fee"]


def test_sow_without_an_end_date_is_blocked_for_time_and_materials() -> None:
    plan = plan_project(
        OPPORTUNITY, CLIENT, contract(end_date=None), TEMPLATES, seq=1, service_line="technology"
    )
    assert plan.reasons == ["the SOW has no end date"]


def test_end_before_start_never_reaches_the_plan() -> None:
    # Given a SOW read with its end before its start, Then the canonical contract refuses it
    # (sow_documents.sow_problems reports it to a person before a Contract is built)
    with pytest.raises(ValidationError, match="end_date is before effective_date"):
        contract(effective_date="2027-05-15", end_date="2026-11-16")


def test_unknown_service_line_falls_back_to_the_general_template() -> None:
    plan = plan_project(OPPORTUNITY, CLIENT, contract(), TEMPLATES, seq=1, service_line="tax")
    assert plan.template_id == "TPL-GENERAL-TIME_AND_MATERIALS"


def test_no_template_is_blocked_when_there_is_no_fallback() -> None:
    policy = ProjectSetupPolicy(fallback_service_line=None)
    plan = plan_project(OPPORTUNITY, CLIENT, contract(), TEMPLATES, policy, seq=1, service_line="tax")
    assert plan.reasons == ["no project template for service line 'tax' and time_and_materials"]
    assert plan.phases == []


def test_sow_of_another_client_or_deal_is_blocked() -> None:
    sow = contract(client_id="CUST-0099", opportunity_id="006OTHER")
    plan = plan_project(OPPORTUNITY, CLIENT, sow, TEMPLATES, seq=1, service_line="technology")
    assert plan.reasons == [
        "the SOW is for client CUST-0099, not CUST-0001",
        "the SOW belongs to opportunity 006OTHER, not 006OPP1",
    ]


def test_sow_value_far_from_the_deal_is_a_warning() -> None:
    # Given a SOW capped at 200,000 for a deal of 150,000
    plan = plan_project(
        OPPORTUNITY, CLIENT, contract(not_to_exceed="200000"), TEMPLATES, seq=1, service_line="technology"
    )
    # Then the reviewer sees the 33% gap
    assert plan.ready
    assert any("differs from the opportunity's 150,000.00 by 33%" in warning for warning in plan.warnings)


def test_rate_below_cost_and_unknown_cost_are_warnings() -> None:
    sow = contract(rates_by_role={"partner": "150", "astronaut": "500"})
    plan = plan_project(
        OPPORTUNITY, CLIENT, sow, TEMPLATES, seq=1, service_line="technology", standard_rates=STANDARD
    )
    assert "role partner is billed at 150.00, below its cost of 210.00" in plan.warnings
    assert "no standard costing rate for role astronaut in USD" in plan.warnings


@pytest.mark.parametrize(
    ("name", "code"),
    [
        ("Northwind Logistics Inc.", "NORT"),
        ("3M Company", "3M"),
        ("The Boeing Company", "BOEI"),
        ("Wide World Importers Corp.", "WIDE"),
    ],
)
def test_client_code_comes_from_the_legal_name(name: str, code: str) -> None:
    assert client_code(name) == code


def test_project_code_pattern_is_configurable() -> None:
    # Given a firm that codes projects by service line
    policy = ProjectSetupPolicy.from_json_dict(
        {
            "project_code_pattern": "{service_line}/{client_code}/{year}/{billing_model}-{seq:04d}",
            "client_code_length": 6,
        }
    )
    # Then the code follows its pattern
    plan = plan_project(OPPORTUNITY, CLIENT, contract(), TEMPLATES, policy, seq=12, service_line="technology")
    assert plan.project_code == "TECHNOLOGY/NORTHW/2026/TM-0012"


@pytest.mark.parametrize(
    "pattern", ["{client_code}-{year}", "{client_code}-{seq}-{region}", "{client_code}-{seq:d}-{", "{seq:zz}"]
)
def test_project_code_pattern_is_validated(pattern: str) -> None:
    # Given a pattern without {seq}, with an unknown field or that does not format, Then it is refused
    with pytest.raises(ValidationError):
        ProjectSetupPolicy(project_code_pattern=pattern)


@pytest.mark.parametrize(
    ("start", "end", "months"),
    [
        (date(2026, 11, 16), date(2027, 5, 15), 6),
        (date(2026, 1, 1), date(2026, 12, 31), 12),
        (date(2026, 1, 1), date(2026, 1, 15), 1),
        (date(2026, 11, 16), date(2027, 5, 16), 7),
    ],
)
def test_months_in_term(start: date, end: date, months: int) -> None:
    assert months_in_term(start, end) == months


def test_plan_dumps_to_json_with_its_readiness() -> None:
    plan = plan_project(OPPORTUNITY, CLIENT, contract(), TEMPLATES, seq=1, service_line="technology")
    dumped = plan.model_dump(mode="json")
    assert dumped["ready"] is True
    assert dumped["project"]["id"] == "NORT-2026-001"
