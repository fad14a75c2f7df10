"""What a firm configures about revenue recognition at period close: which method each billing model uses, the
basis of percent complete, when a change of estimate goes to finance for review, and the accounts of the
proposed journal.

Defaults (issue #19): time and materials as delivered, fixed fee by percent complete on hours, a fixed-fee
contract with milestones on their acceptance, retainers ratably; an estimate at completion that moves more than
10 % goes to review. Load a firm's settings with ``RevenuePolicy.from_json_dict``; keys left out keep their
defaults. The lead adds the model to the firm configuration document (section ``finance_close``).
"""

from __future__ import annotations

from decimal import Decimal

from pydantic import ConfigDict, Field

from backoffice.models.entities import BillingModel, PercentCompleteBasis, RecognitionMethod
from backoffice.models.envelope import JsonModel

# How revenue of a contract is earned (ASC 606 / IFRS 15 vocabulary, as finance says it):
# - as_delivered: time and materials, approved billable hours x their rate, in the period the work was done;
# - percent_complete: a fixed fee over time, by the input measure (hours or cost to date over the estimate at
#   completion);
# - milestones: each milestone's amount when the client accepts it (a point in time), nothing before;
# - ratable: a retainer's fee evenly over its service period (stand-ready obligation).
# (The literals live with the canonical Contract, which may name its own method; re-exported here.)
RECOGNITION_METHODS: tuple[RecognitionMethod, ...] = (
    "as_delivered",
    "percent_complete",
    "milestones",
    "ratable",
)
# The input measure of percent complete: hours (effort) or cost (hours x costing rate) to date over the
# estimate at completion in the same unit.


class RecognitionMethods(JsonModel):
    """The method of each billing model; a contract may say otherwise (``ProjectRevenueInputs.recognition_method``,
    which wins over these)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    time_and_materials: RecognitionMethod = "as_delivered"
    fixed_fee: RecognitionMethod = "percent_complete"
    # A fixed-fee contract that lists milestones: the client's acceptance is what the firm is paid for, so its
    # revenue follows acceptance (one performance obligation per milestone). "percent_complete" books the fee
    # over the work instead and leaves the milestones as billing events only.
    fixed_fee_with_milestones: RecognitionMethod = "milestones"
    retainer: RecognitionMethod = "ratable"

    def for_contract(self, billing_model: BillingModel, *, has_milestones: bool) -> RecognitionMethod:
        if billing_model == "fixed_fee" and has_milestones:
            return self.fixed_fee_with_milestones
        method: RecognitionMethod = getattr(self, billing_model)
        return method


class RevenueAccounts(JsonModel):
    """The general-ledger accounts of the period-end journal (as the ERP names them: number and name)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    # Revenue of each billing model: one account for all by default; a firm that reports fixed-fee and
    # retainer revenue apart sets its own.
    time_and_materials_revenue: str = Field(default="4000 Services revenue", min_length=1)
    fixed_fee_revenue: str = Field(default="4000 Services revenue", min_length=1)
    retainer_revenue: str = Field(default="4000 Services revenue", min_length=1)
    # The contract asset: revenue earned and not yet invoiced (work in progress at its sales value).
    unbilled_receivable: str = Field(default="1250 Unbilled receivables", min_length=1)
    # The contract liability: invoiced ahead of the revenue earned (billings in excess of revenue).
    deferred_revenue: str = Field(default="2400 Deferred revenue", min_length=1)

    def revenue(self, billing_model: BillingModel) -> str:
        account: str = getattr(self, f"{billing_model}_revenue")
        return account


class RevenuePolicy(JsonModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    methods: RecognitionMethods = RecognitionMethods()
    # Hours by default: the PSA has every approved hour the day it is approved, whereas cost waits for the
    # costing rates; a contract may say "cost" (``ProjectRevenueInputs.percent_complete_basis``).
    percent_complete_basis: PercentCompleteBasis = "hours"
    # An estimate at completion that moved more than this share (in %) since the previous period goes to
    # finance for review with its old and new figure: exactly 10 % does not, 10.1 % does.
    eac_change_review_pct: Decimal = Field(default=Decimal(10), ge=0)
    accounts: RevenueAccounts = RevenueAccounts()
