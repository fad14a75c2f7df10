"""The first onboarding step: is this closed-won opportunity one we can onboard?"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from backoffice.models import OpportunityClosedWon


class OpportunityNotOnboardable(Exception):
    """The opportunity cannot start onboarding; the message lists the reasons a person can act on."""


def reasons_not_onboardable(deal: OpportunityClosedWon) -> list[str]:
    opportunity = deal.opportunity
    reasons = []
    if not (opportunity.is_closed and opportunity.is_won):
        reasons.append(
            f"opportunity {opportunity.id} is not closed-won (IsClosed={opportunity.is_closed}, "
            f"IsWon={opportunity.is_won}, stage {opportunity.stage_name!r})"
        )
    if opportunity.amount is None or opportunity.amount <= Decimal(0):
        reasons.append(f"opportunity {opportunity.id} has no positive amount")
    if deal.client.disabled or deal.client.is_frozen:
        reasons.append(f"client {deal.client.customer_name!r} is frozen or disabled in the ERP")
    return reasons


def deal_summary(deal: OpportunityClosedWon) -> dict[str, Any]:
    """What later states carry: ids and the figures an approver sees, never whole documents or tax ids."""
    opportunity = deal.opportunity
    return {
        "opportunity": {
            "id": opportunity.id,
            "name": opportunity.name,
            "amount": str(opportunity.amount),
            "currency": opportunity.currency,
            "close_date": opportunity.close_date.isoformat() if opportunity.close_date else None,
        },
        "client": {"name": deal.client.customer_name},
        # Who asked for this deal to be onboarded (the opportunity owner): separation of duties keeps them
        # from approving its contract.
        "requested_by": opportunity.owner_id or "crm",
    }
