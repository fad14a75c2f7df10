"""The firm's vendor policy: what each kind of vendor must show, and who approves what.

Every threshold here is a default from docs/DOMAIN.md section 4 that a firm changes in configuration, not in
code: ``VendorPolicy.from_json_dict(json.load(...))`` reads the firm's file, and a key the file leaves out
keeps its default. A category list given in the file replaces the default list as a whole, so that a firm
never inherits a requirement it did not write down.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Self

from pydantic import Field, field_validator, model_validator

from backoffice.models import CanonicalModel, CurrencyCode, EmailAddress
from backoffice.models.entities import invariant_error
from backoffice.vendors.facts import CoverageType, LimitName
from backoffice.vendors.sanctions import DEFAULT_THRESHOLD

Score = Annotated[float, Field(ge=0, le=100)]
Points = Annotated[int, Field(ge=0, le=100)]
Amount = Annotated[Decimal, Field(ge=0)]

MILLION = Decimal(1_000_000)


class CoverageRequirement(CanonicalModel):
    """One insurance policy a vendor category must hold, with its minimum limits."""

    coverage: CoverageType
    minimum_limits: dict[LimitName, Amount] = Field(default_factory=dict)
    additional_insured: bool = False  # the firm must be named additional insured
    only_when_handles_data: bool = False  # cyber: required only from vendors holding data


class CategoryRequirements(CanonicalModel):
    """What a vendor category must show, and how much inherent risk it brings."""

    description: str
    coverages: list[CoverageRequirement] = Field(default_factory=list)
    risk_points: Points = 0  # on-site work, system access: risk before anything is known about the vendor


class RiskWeights(CanonicalModel):
    """Points added to the vendor risk score, 0-100, per finding."""

    failed_check: Points = 25
    warning: Points = 5
    sanctions_review: Points = 60  # a possible SDN match is high risk on its own
    certain_duplicate: Points = 40
    strong_duplicate: Points = 25
    possible_duplicate: Points = 10
    employee_match: Points = 35  # a vendor sharing an employee's bank account, address or phone: ghost vendor
    po_box_only: Points = 15
    missing_document: Points = 10
    handles_data: Points = 10
    finance_spend: Points = 15  # expected spend at or above ``finance_approval_spend``
    high_spend: Points = 60  # at or above ``high_spend``: high risk on its own, hence two approvers


class VendorPolicy(CanonicalModel):
    """Configuration of vendor onboarding. Name scores are 0-100 (rapidfuzz), sanctions scores 0-1."""

    categories: dict[str, CategoryRequirements] = Field(default_factory=lambda: default_categories())

    # Names: W-9 line 1 vs the request, bank account holder, certificate insured, duplicate vendors.
    name_match_threshold: Score = 90.0
    name_review_threshold: Score = 75.0

    insurance_expiry_warning_days: int = Field(default=30, ge=0, le=365)
    sanctions_threshold: Annotated[float, Field(gt=0, le=1)] = DEFAULT_THRESHOLD  # Jaro-Winkler, 0-1

    # Amounts are in ``currency``; a request in another currency is compared unconverted and says so.
    currency: CurrencyCode = "USD"
    finance_approval_spend: Amount = Decimal(100_000)
    high_spend: Amount = Decimal(500_000)

    risk_weights: RiskWeights = Field(default_factory=RiskWeights)
    medium_risk_score: Points = 30
    high_risk_score: Points = 60

    # Approver groups by name; an approval level names its group. Members are e-mail addresses.
    approver_groups: dict[str, list[EmailAddress]] = Field(default_factory=dict)
    procurement_group: str = "procurement"
    finance_group: str = "finance"
    compliance_group: str = "compliance"
    high_risk_quorum: int = Field(default=2, ge=1)

    @field_validator("categories")
    @classmethod
    def _category_keys_in_lower_case(
        cls, categories: dict[str, CategoryRequirements]
    ) -> dict[str, CategoryRequirements]:
        # A request says "IT_Subcontractor" or "it_subcontractor" depending on who typed it.
        return {key.strip().lower(): value for key, value in categories.items()}

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        if self.name_review_threshold > self.name_match_threshold:
            raise invariant_error("name_review_threshold is above name_match_threshold")
        if self.medium_risk_score > self.high_risk_score:
            raise invariant_error("medium_risk_score is above high_risk_score")
        if self.finance_approval_spend > self.high_spend:
            raise invariant_error("finance_approval_spend is above high_spend")
        return self

    def requirements_for(self, category: str) -> CategoryRequirements | None:
        """The category's requirements; ``None`` for a category the policy does not know.

        An unknown category is not given some default: a typo must not lower what a vendor has to show.
        """
        return self.categories.get(category.strip().lower())


def _gl() -> CoverageRequirement:
    return CoverageRequirement(
        coverage="general_liability",
        minimum_limits={"each_occurrence": MILLION, "general_aggregate": 2 * MILLION},
        additional_insured=True,
    )


def _auto() -> CoverageRequirement:
    return CoverageRequirement(coverage="auto_liability", minimum_limits={"combined_single_limit": MILLION})


def _employers() -> CoverageRequirement:
    return CoverageRequirement(
        coverage="employers_liability",
        minimum_limits={
            "el_each_accident": MILLION,
            "el_disease_each_employee": MILLION,
            "el_disease_policy_limit": MILLION,
        },
    )


def _professional(millions: int) -> CoverageRequirement:
    limit = millions * MILLION
    return CoverageRequirement(
        coverage="professional_liability", minimum_limits={"each_claim": limit, "aggregate": limit}
    )


def _cyber(millions: int) -> CoverageRequirement:
    limit = millions * MILLION
    return CoverageRequirement(
        coverage="cyber_liability",
        minimum_limits={"each_claim": limit, "aggregate": limit},
        only_when_handles_data=True,
    )


def default_categories() -> dict[str, CategoryRequirements]:
    """DOMAIN.md typical minimums: GL $1M/$2M, auto $1M CSL, EL $1M/$1M/$1M, E&O $1-3M, cyber $1-10M."""
    return {
        "it_subcontractor": CategoryRequirements(
            description="IT subcontractor: works in client systems, often with client data",
            coverages=[_gl(), _employers(), _professional(2), _cyber(2)],
            risk_points=10,
        ),
        "facilities": CategoryRequirements(
            description="facilities: cleaning, maintenance and moves, on site with vehicles",
            coverages=[_gl(), _auto(), _employers()],
            risk_points=5,
        ),
        "marketing_agency": CategoryRequirements(
            description="marketing agency: campaigns, events and content",
            coverages=[_gl(), _professional(1), _cyber(1)],
            risk_points=5,
        ),
        "professional_services": CategoryRequirements(
            description="professional services: subcontracted consultants, lawyers, accountants, translators",
            coverages=[_gl(), _professional(2), _cyber(1)],
            risk_points=5,
        ),
    }


def default_vendor_policy() -> VendorPolicy:
    """The policy with every DOMAIN.md default and no approver groups (the firm names its people)."""
    return VendorPolicy()
