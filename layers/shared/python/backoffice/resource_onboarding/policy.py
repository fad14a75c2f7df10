"""What a firm configures about resource onboarding: the section ``resource_onboarding`` of its configuration
document, read with ``firm_settings.firm_policy``. Every field has a default (the sample firm leaves the section
out: its document must stay small)."""

from __future__ import annotations

from decimal import Decimal

from pydantic import ConfigDict, Field

from backoffice.models.envelope import JsonModel


class ResourceOnboardingPolicy(JsonModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    # The lowest margin a bill rate may leave over the worker's cost: the floor is cost / (1 - minimum_margin). A
    # bill rate below the floor, or above the firm's card for the role, goes to the practice lead.
    minimum_margin: Decimal = Field(default=Decimal("0.35"), ge=0, lt=1)
    # The documents a worker must have signed (and in force on the start date) before they are staffed, by kind of
    # employment; a subcontractor's vendor must also be approved and its certificate of insurance in force.
    required_documents: dict[str, tuple[str, ...]] = Field(
        default_factory=lambda: {
            "employee": (),
            "contractor": ("nda",),
            "subcontractor": ("nda", "right_to_work"),
        }
    )
    # Who approves a bill rate out of band: the workers of the new hire's practice holding this HRIS role (as the
    # timesheet reminders find practice leads), else the approval policy's group below.
    practice_lead_role: str = "practice_lead"
    practice_lead_group: str = "engagement_partners"
    # The week a worker the HRIS gives no weekly hours is available for.
    standard_weekly_hours: Decimal = Field(default=Decimal(40), gt=0, le=80)
    # The rate card's activity a bill rate is read from (the card's line for the role and this activity).
    activity_type: str = "Consulting"
