"""What a firm configures about the PSA-to-ERP reconciliation: which differences go to a person, and which
rules run.

The rules (RC1 to RC11) are named here, with what each finds, so that the policy can switch them on and off by
id and the console, the approval step and the process report read one table. A finding with an amount at stake at
or above the approval threshold of its currency goes to its owner through the approval step; the rest are listed
in the run's report. Load a firm's settings with ``ReconciliationPolicy.from_json_dict``; keys left out keep their
defaults.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Literal, get_args

from pydantic import ConfigDict, Field, field_validator

from backoffice.models import CurrencyCode
from backoffice.models.envelope import JsonModel

RuleId = Literal["RC1", "RC2", "RC3", "RC4", "RC5", "RC6", "RC7", "RC8", "RC9", "RC10", "RC11"]
RULE_IDS: tuple[RuleId, ...] = get_args(RuleId)

# One line a person reads for each rule, in the order the report lists them.
RULES: dict[RuleId, str] = {
    "RC1": "an ERP invoice line bills the PSA's lines for another amount, quantity or currency than the PSA has",
    "RC2": "a line the PSA shows billed sits on another ERP invoice or project, twice, or not on its invoice",
    "RC3": "an ERP invoice line bills a PSA entry that the PSA does not show billed, or does not have",
    "RC4": "an ERP invoice with no PSA billing link: none of its lines is billed to it in the PSA",
    "RC5": "PSA lines billed to an invoice the ERP does not have, or has cancelled",
    "RC6": "approved billable time and expenses unbilled for longer than the policy allows (WIP)",
    "RC7": "a customer's legal name, tax id, billing address, currency or payment terms differ across CRM, PSA, ERP",
    "RC8": "a customer with work or invoices in the period that the PSA or the ERP does not have",
    "RC9": "a project's code, name, client, currency, status or billing model differ between PSA and ERP",
    "RC10": "an open or active project that the PSA or the ERP does not have",
    "RC11": "a project's rate card differs between PSA and ERP: a rate, a line or the whole card",
}

Owner = Literal["billing", "project_manager", "accounts_receivable", "master_data", "finance"]

# What the person who reviews a finding decides. A write-off needs a reason (``FindingDecision``).
Decision = Literal["acknowledge", "fix_in_psa", "fix_in_erp", "write_off"]
DECISIONS: tuple[Decision, ...] = get_args(Decision)


class ReconciliationPolicy(JsonModel):
    """Thresholds of the reconciliation and the rules it runs; the defaults suit a firm billing in one currency
    around a thousand a line."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    # A finding whose amount at stake is at or above this goes to its owner through the approval step; below it,
    # it is listed. The single amount holds for every currency without one of its own below: a firm billing in
    # USD and JPY sets JPY apart, since a thousand yen is not a thousand dollars.
    approval_threshold: Decimal = Field(default=Decimal("1000.00"), ge=0)
    approval_thresholds_by_currency: dict[CurrencyCode, Decimal] = Field(default_factory=dict)
    # Findings of these rules go to review whatever their amount (a tax id that differs has no amount, yet a
    # firm may want a person on every one).
    always_review: tuple[RuleId, ...] = ()

    # RC6: approved billable work older than this many days (as of the run) is a finding; the WIP table lists it
    # all, in the buckets 0-30, 31-60, 61-90 and over 90 days.
    wip_age_days: int = Field(default=60, ge=0)

    # RC1: how far an ERP line's amount may be from the PSA's lines it bills (rounding of a line total).
    # Quantities (hours, expense count) are compared exactly.
    tolerance: Decimal = Field(default=Decimal("0.00"), ge=0)

    # RC7: two billing addresses this alike (0-100, as customer matching at onboarding scores them: the same
    # house numbers, city, postal code and country, street words in one spelling) are one address.
    address_match_score: float = Field(default=90.0, ge=0, le=100)

    rules_on: tuple[RuleId, ...] = RULE_IDS

    @field_validator("approval_thresholds_by_currency")
    @classmethod
    def _not_negative(cls, thresholds: dict[str, Decimal]) -> dict[str, Decimal]:
        if any(amount < 0 for amount in thresholds.values()):
            raise ValueError("a threshold must not be negative")
        return thresholds

    def threshold(self, currency: str) -> Decimal:
        """The approval threshold for amounts in ``currency``."""
        return self.approval_thresholds_by_currency.get(currency, self.approval_threshold)

    def is_on(self, rule: RuleId) -> bool:
        return rule in self.rules_on
