"""Onboarding step 5, the project: planned from the SOW's facts and the firm's templates, created in the PSA once.
Its own module so that only the project step's handler imports the project planner."""

from __future__ import annotations

from dataclasses import dataclass

from backoffice.connectors.ports import PsaPort
from backoffice.models import OpportunityClosedWon, ProjectTemplate
from backoffice.onboarding.project_setup import ProjectSetupPolicy, client_code, plan_project
from backoffice.onboarding.sow_documents import SowFacts, UnreadableSow, contract_from_sow
from backoffice.onboarding.steps import ProjectCannotBeSetUp


@dataclass(frozen=True)
class ProjectOutcome:
    project_id: str
    project_code: str
    project_name: str
    created: bool
    warnings: list[str]


def create_project(
    deal: OpportunityClosedWon,
    customer_id: str,
    facts: SowFacts,
    psa: PsaPort,
    templates: list[ProjectTemplate],
    policy: ProjectSetupPolicy | None = None,
) -> ProjectOutcome:
    existing = psa.find_project_by_opportunity(deal.opportunity.id)
    if existing is not None:
        return ProjectOutcome(existing.id, existing.id, existing.project_name, False, [])
    try:
        contract = contract_from_sow(
            facts,
            contract_id=f"SOW-{deal.opportunity.id}",
            client_id=customer_id,
            opportunity_id=deal.opportunity.id,
        )
    except UnreadableSow as error:
        raise ProjectCannotBeSetUp(str(error)) from None
    client = deal.client.model_copy(update={"id": customer_id})
    code = client_code(client.customer_name)
    year = (facts.effective_date or deal.opportunity.close_date).year
    plan = plan_project(
        deal.opportunity,
        client,
        contract,
        templates,
        policy,
        seq=psa.next_project_sequence(code, year),
        service_line=deal.service_line,
        estimated_hours=facts.hours_by_role,
    )
    if not plan.ready:
        raise ProjectCannotBeSetUp("; ".join(plan.reasons))
    created = psa.create_project(plan.project, idempotency_key=f"project#{deal.opportunity.id}")
    return ProjectOutcome(
        created.id, plan.project_code, plan.project.project_name, created.created, list(plan.warnings)
    )
