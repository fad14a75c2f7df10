"""The sample firm's seed data, and a won deal taken through every onboarding decision with it."""

from __future__ import annotations

import io
from collections import Counter
from datetime import date
from decimal import Decimal

from pypdf import PdfReader

from backoffice.local.samples import SERVICE_LINES as SAMPLE_PIPELINE_SERVICE_LINES
from backoffice.local.samples import closed_won_detail, existing_client
from backoffice.models import OpportunityClosedWon
from backoffice.onboarding.contract_risk import assess_contract_risk
from backoffice.onboarding.customers import match_customer
from backoffice.onboarding.project_setup import plan_project
from backoffice.onboarding.sample_firm import (
    ROLES,
    SERVICE_LINES,
    sample_allocations,
    sample_clients,
    sample_project_templates,
    sample_rate_cards,
    sample_sow_spec,
    sample_workers,
    standard_rate_card,
)
from backoffice.onboarding.sample_sow import sow_pdf
from backoffice.onboarding.sow_documents import contract_from_sow, parse_sow_text
from backoffice.onboarding.staffing import RoleRequest, plan_staffing


def test_seed_data_is_the_same_every_run() -> None:
    assert sample_clients() == sample_clients()
    assert sample_workers() == sample_workers()
    assert sample_allocations() == sample_allocations()


def test_erp_customers() -> None:
    # Given the sample ERP, Then it has twelve customers, some with tax ids and exactly one frozen
    clients = sample_clients()
    assert len(clients) == 12
    assert len({c.id for c in clients}) == 12
    assert 4 <= sum(c.tax_id is not None for c in clients) < 12
    assert [c.customer_name for c in clients if c.is_frozen] == ["Litware Insurance Company"]


def test_workers_cover_every_role_with_skills_and_costs() -> None:
    workers = sample_workers()
    assert len(workers) == 40
    assert set(Counter(role for w in workers for role in w.roles)) == set(ROLES)
    assert all(w.skills and w.cost_rate > 0 for w in workers)
    assert len({w.email for w in workers}) == 40
    assert sum(not w.is_active for w in workers) == 1


def test_allocations_belong_to_active_workers_and_fit_a_week() -> None:
    workers = {w.id: w for w in sample_workers()}
    allocations = sample_allocations()
    assert allocations
    assert all(workers[a.worker_id].is_active for a in allocations)
    assert all(a.hours_per_week <= 40 for a in allocations)


def test_templates_cover_every_service_line_and_billing_model() -> None:
    templates = sample_project_templates()
    keys = {(t.service_line, t.billing_model) for t in templates}
    for line in (*SERVICE_LINES, *SAMPLE_PIPELINE_SERVICE_LINES, "general"):
        for model in ("time_and_materials", "fixed_fee", "retainer"):
            assert (line, model) in keys


def test_rate_cards_bill_above_cost() -> None:
    cards = sample_rate_cards()
    assert {c.id for c in cards} >= {"RC-STANDARD-USD", "RC-STANDARD-EUR", "RC-STANDARD-GBP"}
    assert all(line.billing_rate > line.costing_rate for card in cards for line in card.lines)


def test_sample_sow_is_worth_the_deal() -> None:
    document = sample_sow_spec(
        title="T",
        client_legal_name="C",
        amount=Decimal(90000),
        start=date(2026, 11, 16),
        billing_model="fixed_fee",
    )
    assert document.fixed_fee == sum(m.amount for m in document.milestones) == Decimal(90000)


def test_won_deal_goes_through_every_onboarding_decision() -> None:
    # Given the sample pipeline's first deal and a SOW for it with a six-month liability cap
    detail = closed_won_detail(0)
    detail["client"] = existing_client("Northwind Logistics").to_json_dict(reveal_secrets=True)
    deal = OpportunityClosedWon.from_json_dict(detail)
    opportunity = deal.opportunity
    document = sample_sow_spec(
        title=opportunity.name,
        client_legal_name=deal.client.customer_name,
        amount=opportunity.amount,
        start=date(2026, 11, 16),
        service_line=deal.service_line or "general",
        risks=frozenset({"liability_cap_below_minimum"}),
    )
    pdf = sow_pdf(document)

    # When the client is matched, the SOW read and assessed, the project planned and staffed
    customer = match_customer(deal.client, sample_clients())
    text = "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)
    facts = parse_sow_text(text)
    risk = assess_contract_risk(facts.clauses, facts.figures())
    assert customer.customer_id is not None
    contract = contract_from_sow(
        facts, contract_id="SOW-0001", client_id=customer.customer_id, opportunity_id=opportunity.id
    )
    erp_client = next(c for c in sample_clients() if c.id == customer.customer_id)
    plan = plan_project(
        opportunity,
        erp_client,
        contract,
        sample_project_templates(),
        seq=1,
        service_line=deal.service_line,
        estimated_hours=facts.hours_by_role,
        standard_rates=standard_rate_card("USD"),
    )
    staffing = plan_staffing(
        [
            RoleRequest(
                role=role,
                hours=hours,
                start=contract.effective_date,
                end=contract.end_date or contract.effective_date,
            )
            for role, hours in facts.hours_by_role.items()
        ],
        sample_workers(),
        sample_allocations(),
        project_id=plan.project_code,
    )

    # Then the client is the existing Northwind customer, the cap goes to legal, the project is ready
    assert (customer.kind, customer.customer_id) == ("existing", "CUST-0001")
    assert [f.rule for f in risk.findings] == ["liability_cap_below_minimum"]
    assert risk.requires_legal_review
    assert plan.ready, plan.reasons
    assert plan.project_code == "NORT-2026-001"
    assert plan.budget == opportunity.amount
    # And every role has a proposed person
    assert all(role.proposed_worker_id for role in staffing.roles)
