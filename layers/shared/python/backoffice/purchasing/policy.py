"""What a firm configures about purchase approval: the section ``purchasing`` of its configuration document, read
with ``firm_settings.firm_policy``. Every field has a default, so a firm may leave the section out. Who approves
what (the chain by amount and category) is the approval policy's route ``purchase_approval``; the product's
default route is ``approvals.routing.DEFAULT_ROUTES["purchase_approval"]``."""

from __future__ import annotations

from decimal import Decimal

from pydantic import ConfigDict, Field

from backoffice.models.envelope import JsonModel


class PurchasingPolicy(JsonModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    # Travel below this amount is booked as an expense, not bought on a purchase order: such a request is refused.
    travel_limit: Decimal = Field(default=Decimal("2500"), ge=0)
    # The approval policy's group that approves for finance (an over-budget purchase, a large one).
    finance_group: str = "finance"
    # The approval policy's group that approves in the project owner's place: when the owner is the requester (nobody
    # approves their own purchase), has no e-mail, or does not answer in time (escalation).
    fallback_group: str = "engagement_partners"
    # How long a purchase waits for its vendor's onboarding before it is blocked.
    vendor_wait_days: int = Field(default=30, ge=1, le=365)
    # Categories whose vendor must have its certificate of insurance in force (a subcontractor works on site).
    insurance_required_for: tuple[str, ...] = ("subcontractor",)
