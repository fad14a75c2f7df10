"""Onboarding step 4, the customer: the deal's client matched to an ERP customer, or created. Its own module so
that only the customer step's handler imports the matcher."""

from __future__ import annotations

from dataclasses import dataclass

from backoffice.connectors.ports import CrmPort, ErpPort, RecordNotFound, all_pages
from backoffice.models import Client
from backoffice.onboarding.customers import CustomerMatchPolicy, MatchDecision, match_customer
from backoffice.onboarding.steps import CustomerNeedsReview


@dataclass(frozen=True)
class CustomerOutcome:
    customer_id: str
    decision: str  # existing | created
    reasons: list[str]


def client_of_record(client: Client, crm: CrmPort) -> Client:
    """The deal's client with the tax id the CRM keeps for its account.

    A tax id never travels in the workflow's state (``start_case`` leaves it out of the execution input), so the
    step that matches the customer reads it from the CRM, the system of record of the account. An account the
    CRM does not have (or keeps without a tax id) leaves the client as the event gave it."""
    try:
        recorded = crm.get_account(client.id)
    except RecordNotFound:
        return client
    if recorded.tax_id is None:
        return client
    return client.model_copy(update={"tax_id": recorded.tax_id})


def match_or_create_customer(
    client: Client, erp: ErpPort, policy: CustomerMatchPolicy | None = None
) -> tuple[CustomerOutcome, MatchDecision]:
    existing = all_pages(erp.list_customers)
    decision = match_customer(client, existing, policy)
    if decision.kind == "existing" and decision.customer_id:
        return CustomerOutcome(decision.customer_id, "existing", list(decision.reasons)), decision
    if decision.kind == "review":
        raise CustomerNeedsReview("; ".join(decision.reasons) or "a near match needs a person to decide")
    created = erp.create_customer(client, idempotency_key=f"customer#{client.id}")
    return CustomerOutcome(created.id, "created", list(decision.reasons)), decision
