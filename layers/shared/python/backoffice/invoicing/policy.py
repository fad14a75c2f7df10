"""What a firm configures about billing readiness (DOMAIN.md section 2): tolerances and escalation levels.

Defaults follow DOMAIN.md: not-to-exceed overruns notify at 10 % and need the client's pre-approval at 25 %.
The workflow part says what a finding does to the invoice: which rules stop the whole invoice, which a
reviewer may override line by line, and what happens to the lines a reviewer rejects (which anomalies go to a
person is the anomaly policy's: ``anomaly.AnomalyPolicy``).
Load a firm's settings with ``BillingPolicy.from_json_dict``; keys left out keep their defaults.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Literal

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

    # -- the invoicing workflow ------------------------------------------------------------------------------
    # A block of these rules stops the whole invoice until someone fixes the data (draft time, the cap, the PO,
    # a closed project or a frozen client, currency and tax set-up). Blocks of other rules leave their lines
    # out and the rest bills.
    invoice_blocking_rules: list[str] = Field(default_factory=lambda: ["BR1", "BR6", "BR8", "BR9", "BR10"])
    # A reviewer may let these lines bill as recorded (an overlap the worker explains, a rate agreed by e-mail).
    reviewable_rules: list[str] = Field(default_factory=lambda: ["BR4", "BR5"])
    # What a rejected line becomes: sent back to the worker to correct, or written off (never billed).
    rejected_time_action: Literal["send_back", "write_off"] = "send_back"
    rejected_expense_action: Literal["send_back", "write_off"] = "write_off"
    # Days to pay when neither the contract nor the customer says.
    default_payment_terms_days: int = Field(default=30, ge=0, le=365)

    # -- the billing run: one child execution per project (a Distributed Map, docs/architecture.md) -----------
    # How many projects bill at once. Each one calls the PSA and the ERP, so this bounds the load a run puts on
    # the firm's systems and their rate limits (Step Functions itself would run up to 10,000 at once).
    max_concurrent_projects: int = Field(default=4, ge=1, le=10_000)
    # The share of projects (in %) whose execution may fail outright (an error no step catches) before the run
    # stops starting others: a fault that hits that many is systematic, and each further project would only
    # repeat it. A project whose step failed is announced blocked either way, and the run then fails as a
    # technical fault: the tolerance says when to stop early, never that a failure is acceptable.
    tolerated_failure_percentage: float = Field(default=5.0, ge=0, le=100)
