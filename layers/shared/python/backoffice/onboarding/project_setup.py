"""Project setup: turn a won deal and its signed SOW into the project the PSA and ERP will hold.

``plan_project`` decides everything a person would otherwise key in (template, code, rate card, budget,
dates) and lists what stops the project from being billed correctly as ``reasons``. It writes nothing: the
workflow creates the project from the plan, idempotently, once the plan has no reasons.
"""

from __future__ import annotations

import re
import string
from collections.abc import Mapping, Sequence
from datetime import date
from decimal import Decimal

from pydantic import ConfigDict, Field, computed_field, field_validator

from backoffice.models import (
    BillingModel,
    Client,
    Contract,
    Milestone,
    Opportunity,
    Project,
    ProjectPhase,
    ProjectTemplate,
    RateCard,
    RateCardLine,
)
from backoffice.models.envelope import JsonModel, Model
from backoffice.onboarding.customers import normalize_legal_name

CENT = Decimal("0.01")


class _Frozen(JsonModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


_CODE_FIELDS = frozenset({"client_code", "year", "seq", "service_line", "billing_model"})


class ProjectSetupPolicy(_Frozen):
    """How the firm names and checks new projects."""

    # Fields: client_code, year (of the SOW's start), seq (given by the caller), service_line, billing_model.
    project_code_pattern: str = "{client_code}-{year}-{seq:03d}"
    client_code_length: int = Field(default=4, ge=2, le=10)
    # The template used when a service line has none of its own for the billing model; None: no fallback.
    fallback_service_line: str | None = "general"
    # ERPNext's Activity Cost needs an activity type; SOW rates are per role for the delivery work.
    default_activity_type: str = "Consulting"
    # The opportunity's amount and the SOW's value may differ by this much before a person is told.
    amount_tolerance_percent: Decimal = Field(default=Decimal(5), ge=0, le=100)
    # A T&M or fixed-fee project without an end date cannot be planned or staffed; a retainer may roll on.
    require_end_date: bool = True

    @field_validator("project_code_pattern")
    @classmethod
    def _known_fields(cls, pattern: str) -> str:
        names = {name for _, name, _, _ in string.Formatter().parse(pattern) if name is not None}
        unknown = names - _CODE_FIELDS
        if unknown:
            raise ValueError(f"unknown project code fields: {', '.join(sorted(unknown))}")
        if "seq" not in names:
            raise ValueError("the project code pattern needs {seq} so that two projects never share a code")
        try:
            pattern.format(client_code="ABCD", year=2026, seq=1, service_line="ADV", billing_model="TM")
        except (ValueError, IndexError, KeyError) as error:
            raise ValueError(f"the project code pattern does not format: {error}") from None
        return pattern


class ProjectPlan(Model):
    """The project to create and what blocks it. ``reasons`` block; ``warnings`` are for the reviewer."""

    model_config = ConfigDict(frozen=True)

    project_code: str
    project: Project
    template_id: str | None
    phases: list[ProjectPhase]
    roles: list[str]
    rate_card: RateCard | None
    budget: Decimal | None
    not_to_exceed: Decimal | None
    milestones: list[Milestone]
    reasons: list[str]
    warnings: list[str]

    @computed_field  # type: ignore[prop-decorator]
    @property
    def ready(self) -> bool:
        return not self.reasons


# ------------------------------------------------------------------------------------------------------------
# Pieces
# ------------------------------------------------------------------------------------------------------------


def client_code(client_name: str, length: int = 4) -> str:
    """The client's short code: the first letters of its legal name, legal form left out.

    "Northwind Logistics Inc." -> "NORT", "3M Company" -> "3M" (shorter names keep what they have).
    """
    letters = re.sub(r"[^0-9a-z]", "", normalize_legal_name(client_name))
    return letters[:length].upper() or "CLNT"


def project_code(
    pattern: str,
    *,
    client_code: str,
    year: int,
    seq: int,
    service_line: str | None,
    billing_model: BillingModel,
) -> str:
    return pattern.format(
        client_code=client_code,
        year=year,
        seq=seq,
        service_line=(service_line or "GEN").upper(),
        billing_model={"time_and_materials": "TM", "fixed_fee": "FF", "retainer": "RT"}[billing_model],
    )


def choose_template(
    templates: Sequence[ProjectTemplate],
    service_line: str | None,
    billing_model: BillingModel,
    policy: ProjectSetupPolicy,
) -> ProjectTemplate | None:
    """The template of the service line and billing model, else the fallback service line's, else None."""

    def find(line: str | None) -> ProjectTemplate | None:
        if line is None:
            return None
        matches = [
            t
            for t in templates
            if t.service_line.casefold() == line.casefold() and t.billing_model == billing_model
        ]
        return min(matches, key=lambda t: t.id, default=None)

    return find(service_line) or find(policy.fallback_service_line)


def months_in_term(start: date, end: date) -> int:
    """Monthly periods from ``start`` to ``end``, each starting on the start's day of the month; a part period
    counts as one. November 16 to May 15 is six periods; January 1 to December 31 is twelve."""
    months = (end.year - start.year) * 12 + end.month - start.month
    return months + 1 if end.day >= start.day else max(months, 1)


def _money(value: Decimal) -> str:
    return f"{value:,.2f}"


# ------------------------------------------------------------------------------------------------------------
# The plan
# ------------------------------------------------------------------------------------------------------------


def plan_project(
    opportunity: Opportunity,
    client: Client,
    contract: Contract,
    templates: Sequence[ProjectTemplate],
    policy: ProjectSetupPolicy | None = None,
    *,
    seq: int,
    service_line: str | None = None,
    estimated_hours: Mapping[str, Decimal] | None = None,
    standard_rates: RateCard | None = None,
    client_code_override: str | None = None,
) -> ProjectPlan:
    """Plans the project of ``contract`` (the signed SOW) for the won ``opportunity`` of ``client``.

    ``seq`` is the caller's next number for the client and year (the code's uniqueness is the caller's
    counter, not a guess here). ``estimated_hours`` by role (from the SOW) gives a T&M budget and a cost
    estimate; ``standard_rates``, the firm's standard rate card, gives each role's costing rate.
    """
    policy = policy or ProjectSetupPolicy()
    reasons: list[str] = []
    warnings: list[str] = []
    hours = dict(estimated_hours or {})
    currency = contract.currency

    if contract.client_id != client.id:
        reasons.append(f"the SOW is for client {contract.client_id}, not {client.id}")
    if contract.opportunity_id is not None and contract.opportunity_id != opportunity.id:
        reasons.append(f"the SOW belongs to opportunity {contract.opportunity_id}, not {opportunity.id}")
    if opportunity.currency != currency:
        warnings.append(f"the opportunity is in {opportunity.currency} but the SOW in {currency}")
    if contract.end_date is None and policy.require_end_date and contract.billing_model != "retainer":
        reasons.append("the SOW has no end date")
    if contract.effective_date < opportunity.close_date:
        warnings.append(
            f"the SOW starts on {contract.effective_date}, before the deal closed on {opportunity.close_date}"
        )

    template = choose_template(templates, service_line, contract.billing_model, policy)
    if template is None:
        reasons.append(f"no project template for service line {service_line!r} and {contract.billing_model}")

    budget, not_to_exceed = _budget(contract, hours, reasons, warnings)
    if budget is not None and opportunity.amount > 0 and opportunity.currency == currency:
        gap = abs(budget - opportunity.amount) * 100 / opportunity.amount
        if gap > policy.amount_tolerance_percent:
            warnings.append(
                f"the SOW's value {currency} {_money(budget)} differs from the opportunity's "
                f"{_money(opportunity.amount)} by {gap:.0f}%"
            )

    code = project_code(
        policy.project_code_pattern,
        client_code=client_code_override or client_code(client.customer_name, policy.client_code_length),
        year=contract.effective_date.year,
        seq=seq,
        service_line=service_line,
        billing_model=contract.billing_model,
    )
    rate_card, cost = _rate_card(code, opportunity, client, contract, hours, standard_rates, policy, warnings)
    roles = list(contract.rates_by_role)
    roles += [role for role in (template.default_roles if template else ()) if role not in roles]

    project = Project(
        id=code,
        project_name=opportunity.name,
        client_id=client.id,
        contract_id=contract.id,
        opportunity_id=opportunity.id,
        billing_model=contract.billing_model,
        currency=currency,
        service_line=service_line,
        expected_start_date=contract.effective_date,
        expected_end_date=contract.end_date,
        estimated_costing=cost,
    )
    return ProjectPlan(
        project_code=code,
        project=project,
        template_id=template.id if template else None,
        phases=list(template.phases) if template else [],
        roles=roles,
        rate_card=rate_card,
        budget=budget,
        not_to_exceed=not_to_exceed,
        milestones=list(contract.milestones),
        reasons=reasons,
        warnings=warnings,
    )


def _budget(
    contract: Contract, hours: Mapping[str, Decimal], reasons: list[str], warnings: list[str]
) -> tuple[Decimal | None, Decimal | None]:
    """The fees the project expects (its budget) and the most the client will pay (its cap), by billing model."""
    currency = contract.currency
    if contract.billing_model == "time_and_materials":
        if not contract.rates_by_role:
            reasons.append("a time-and-materials SOW has no rates by role")
        unpriced = sorted(role for role, h in hours.items() if h > 0 and role not in contract.rates_by_role)
        if unpriced:
            reasons.append(f"hours are planned for roles with no rate: {', '.join(unpriced)}")
        estimate = sum(
            (rate * hours[role] for role, rate in contract.rates_by_role.items() if role in hours), Decimal(0)
        )
        cap = contract.not_to_exceed
        if cap is not None and estimate > cap:
            warnings.append(
                f"the estimated fees {currency} {_money(estimate)} exceed the not-to-exceed cap {_money(cap)}"
            )
        budget = cap if cap is not None else (estimate.quantize(CENT) if estimate > 0 else None)
        if budget is None:
            warnings.append("no not-to-exceed cap and no estimated hours: the project has no budget")
        return budget, cap

    if contract.billing_model == "fixed_fee":
        if contract.fixed_fee is None:
            reasons.append("a fixed-fee SOW has no fixed fee")
        if not contract.milestones:
            reasons.append("a fixed-fee SOW has no milestones to bill")
        total = sum((m.amount for m in contract.milestones), Decimal(0))
        if contract.fixed_fee is not None and contract.milestones and total != contract.fixed_fee:
            reasons.append(
                f"the milestones add up to {currency} {_money(total)}, not the fixed fee {_money(contract.fixed_fee)}"
            )
        for milestone in contract.milestones:
            due = milestone.due_date
            if due is not None and (
                due < contract.effective_date or (contract.end_date is not None and due > contract.end_date)
            ):
                warnings.append(f"milestone {milestone.name!r} is due on {due}, outside the SOW's term")
        fee = contract.fixed_fee if contract.fixed_fee is not None else (total or None)
        return fee, contract.not_to_exceed if contract.not_to_exceed is not None else fee

    # Retainer: a monthly fee for the months of the term.
    if contract.monthly_retainer_fee is None:
        reasons.append("a retainer SOW has no monthly fee")
        return None, contract.not_to_exceed
    if contract.end_date is None:
        warnings.append("the retainer has no end date: its budget is not known")
        return None, contract.not_to_exceed
    budget = contract.monthly_retainer_fee * months_in_term(contract.effective_date, contract.end_date)
    return budget, contract.not_to_exceed


def _rate_card(
    code: str,
    opportunity: Opportunity,
    client: Client,
    contract: Contract,
    hours: Mapping[str, Decimal],
    standard_rates: RateCard | None,
    policy: ProjectSetupPolicy,
    warnings: list[str],
) -> tuple[RateCard | None, Decimal | None]:
    """The project's rate card from the SOW's rates by role, with the firm's costing rate for each role; and
    the cost estimate of the planned hours (None when a role's cost is unknown)."""
    if not contract.rates_by_role:
        return None, None
    standard_cost = {
        line.role: line.costing_rate
        for line in (standard_rates.lines if standard_rates else [])
        if line.role is not None and line.worker_id is None and line.currency == contract.currency
    }
    lines = []
    cost: Decimal | None = Decimal(0)
    for role, rate in contract.rates_by_role.items():
        costing = standard_cost.get(role)
        if costing is None:
            warnings.append(f"no standard costing rate for role {role} in {contract.currency}")
        elif costing > rate:
            warnings.append(f"role {role} is billed at {_money(rate)}, below its cost of {_money(costing)}")
        lines.append(
            RateCardLine(
                role=role,
                activity_type=policy.default_activity_type,
                currency=contract.currency,
                billing_rate=rate,
                costing_rate=costing if costing is not None else Decimal(0),
            )
        )
        if cost is not None and role in hours:
            cost = None if costing is None else cost + costing * hours[role]
    card = RateCard(
        id=f"{code}-RATES",
        name=f"{opportunity.name} - SOW rates"[:2000],
        client_id=client.id,
        contract_id=contract.id,
        effective_date=contract.effective_date,
        end_date=contract.end_date,
        lines=lines,
    )
    return card, (cost.quantize(CENT) if cost else None)
