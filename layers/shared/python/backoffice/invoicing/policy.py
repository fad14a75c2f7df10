"""What a firm configures about billing readiness (DOMAIN.md section 2): tolerances and escalation levels.

Defaults follow DOMAIN.md: not-to-exceed overruns notify at 10 % and need the client's pre-approval at 25 %.
Load a firm's settings with ``BillingPolicy.from_json_dict``; keys left out keep their defaults.
"""

from __future__ import annotations

from decimal import Decimal

from pydantic import ConfigDict, Field

from backoffice.models.envelope import JsonModel


class BillingPolicy(JsonModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    # BR1: submitted time is billable (the approval step may run in parallel); False: approved time only.
    bill_submitted_lines: bool = True

    # BR5: the rate on a line may differ from the rate card by this much per hour (rounding in the PSA);
    # billing_amount may differ from rate x hours by this much (rounding of the line total).
    rate_tolerance: Decimal = Field(default=Decimal("0.01"), ge=0)
    amount_tolerance: Decimal = Field(default=Decimal("0.01"), ge=0)

    # BR6: an overrun of the cap blocks; from these shares of the cap the block also escalates.
    nte_notify_overrun_pct: Decimal = Field(default=Decimal(10), ge=0)
    nte_preapproval_overrun_pct: Decimal = Field(default=Decimal(25), ge=0)
    # A warning before the cap is reached, so the engagement manager can ask for a change order in time.
    nte_warn_at_pct_of_cap: Decimal = Field(default=Decimal(90), ge=0, le=100)

    # BR10: a company or partnership client needs a tax id on the invoice; an individual need not have one.
    require_tax_id: bool = True
    require_tax_template: bool = True
