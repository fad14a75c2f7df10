"""The sample firm's master data for the sandbox systems: ERP customers, people, rates, templates, SOWs.

Meridian Advisory Partners is a 40-person consultancy with four service lines. Everything here is built
deterministically (fixed seeds, no clock), so the demo, the sandbox and the tests see the same firm every
run. The ERP customers spell the CRM's client names the way a second system does ("Northwind Logistics, Inc."
for "Northwind Logistics Inc.", "123 Main St" for "123 Main Street"), which is what customer matching is for.
"""

from __future__ import annotations

import calendar
import random
from datetime import date, timedelta
from decimal import Decimal

from pydantic import SecretStr

from backoffice.models import (
    Address,
    BillingModel,
    Client,
    ProjectPhase,
    ProjectTemplate,
    RateCard,
    RateCardLine,
    Worker,
)
from backoffice.onboarding.contract_risk import RiskRule
from backoffice.onboarding.project_setup import months_in_term
from backoffice.onboarding.sample_sow import MilestoneLine, RoleLine, SowSpec
from backoffice.onboarding.staffing import Allocation

CENT = Decimal("0.01")
FIRM_NAME = "Meridian Advisory Partners LLC"
FIRM_EMAIL_DOMAIN = "meridian-advisory.example"
SERVICE_LINES = ("technology", "advisory", "digital", "risk")
ROLES = (
    "partner",
    "senior_manager",
    "manager",
    "senior_consultant",
    "consultant",
    "analyst",
    "engineer",
    "designer",
)
# Standard hourly (billing rate, costing rate) in USD; the EUR and GBP cards are derived from these.
STANDARD_RATES: dict[str, tuple[Decimal, Decimal]] = {
    "partner": (Decimal(450), Decimal(210)),
    "senior_manager": (Decimal(350), Decimal(160)),
    "manager": (Decimal(275), Decimal(125)),
    "senior_consultant": (Decimal(225), Decimal(95)),
    "consultant": (Decimal(175), Decimal(75)),
    "analyst": (Decimal(125), Decimal(55)),
    "engineer": (Decimal(190), Decimal(85)),
    "designer": (Decimal(160), Decimal(70)),
}
_FX_FROM_USD = {"USD": Decimal(1), "EUR": Decimal("0.92"), "GBP": Decimal("0.79")}
SKILLS: dict[str, tuple[str, ...]] = {
    "technology": (
        "sap",
        "netsuite",
        "aws",
        "azure",
        "data_engineering",
        "python",
        "integration",
        "cloud_migration",
    ),
    "advisory": ("pricing", "strategy", "finance_transformation", "operating_model", "change_management"),
    "digital": ("ux_research", "ui_design", "service_design", "react", "customer_experience"),
    "risk": ("audit", "sox", "risk_management", "internal_controls", "regulatory_compliance"),
}
_COMMON_SKILLS = ("project_management", "stakeholder_management", "workshop_facilitation")
# Roles a template staffs by default, per service line.
DEFAULT_ROLES: dict[str, tuple[str, ...]] = {
    "technology": ("partner", "manager", "senior_consultant", "engineer"),
    "advisory": ("partner", "senior_manager", "consultant", "analyst"),
    "digital": ("senior_manager", "designer", "engineer", "consultant"),
    "risk": ("partner", "manager", "senior_consultant", "analyst"),
    "general": ("manager", "consultant"),
}


# ------------------------------------------------------------------------------------------------------------
# ERP customers
# ------------------------------------------------------------------------------------------------------------

# (ERP customer name, street, city, region, postal code, country, currency, tax id, frozen). The first eight are
# the CRM's sample clients (backoffice.local.samples) as the ERP spells them, at the address the CRM sends for
# their first deal; the last four are customers with no deal in the sample pipeline.
_CUSTOMERS: tuple[tuple[str, str, str, str | None, str, str, str, str | None, bool], ...] = (
    ("Northwind Logistics, Inc.", "100 Main St", "Seattle", "WA", "98101", "US", "USD", "91-1144442", False),
    ("Contoso Pharmaceuticals L.L.C.", "101 Main St", "Boston", "MA", "02110", "US", "USD", None, False),
    ("Fabrikam Retail GmbH", "102 Main Street", "Munich", None, "80331", "DE", "EUR", "DE136695976", False),
    (
        "Tailspin Aerospace Limited",
        "103 Main Street",
        "Bristol",
        None,
        "BS1 4DJ",
        "GB",
        "GBP",
        "GB980780684",
        False,
    ),
    ("Wide World Importers Corporation", "104 Main St", "Chicago", "IL", "60601", "US", "USD", None, False),
    ("Adventure Works Cycles Inc", "105 Main St.", "Denver", "CO", "80202", "US", "USD", "84-2231907", False),
    ("Litware Insurance Company", "106 Main St", "Hartford", "CT", "06103", "US", "USD", "06-1529314", True),
    ("Proseware Health Partners LLP", "107 Main St", "Austin", "TX", "78701", "US", "USD", None, False),
    ("Alpine Ski House AG", "Bahnhofstrasse 12", "Zurich", None, "8001", "CH", "CHF", "CHE116281710", False),
    (
        "Woodgrove Bank plc",
        "1 King William Street",
        "London",
        None,
        "EC4N 7AR",
        "GB",
        "GBP",
        "GB302417718",
        False,
    ),
    ("Trey Research Pty Ltd", "200 George Street", "Sydney", "NSW", "2000", "AU", "AUD", None, False),
    ("Northwind Traders Ltd", "48 Harbour Road", "Dublin", None, "D02 X285", "IE", "EUR", None, False),
)


def sample_clients() -> list[Client]:
    """Twelve ERP customers (ids ``CUST-0001``...): some with tax ids, one frozen (Litware, in dispute), and a
    "Northwind Traders" that is a different company from "Northwind Logistics" (a near name to review)."""
    clients = []
    for number, (name, street, city, region, postal, country, currency, tax_id, frozen) in enumerate(
        _CUSTOMERS, start=1
    ):
        clients.append(
            Client(
                id=f"CUST-{number:04d}",
                customer_name=name,
                tax_id=SecretStr(tax_id) if tax_id else None,
                default_currency=currency,
                payment_terms_days=30,
                is_frozen=frozen,
                billing_email=f"accounts.payable@{name.split()[0].lower()}.example",
                address=Address(line1=street, city=city, region=region, postal_code=postal, country=country),
            )
        )
    return clients


# ------------------------------------------------------------------------------------------------------------
# People and their current work
# ------------------------------------------------------------------------------------------------------------

_FIRST_NAMES = [
    "Alex",
    "Maria",
    "Priya",
    "Tom",
    "Dana",
    "Sam",
    "Ines",
    "Kofi",
    "Julia",
    "Ruth",
    "Grace",
    "Omar",
    "Lena",
    "Mateo",
    "Aisha",
    "Chen",
    "Sofia",
    "Lukas",
    "Nadia",
    "Ravi",
    "Elena",
    "Marcus",
    "Yuki",
    "Hannah",
    "Diego",
    "Fatima",
    "Jonas",
    "Chloe",
    "Arjun",
    "Zoe",
    "Felix",
    "Amara",
    "Noah",
    "Leila",
    "Ben",
    "Ingrid",
    "Tariq",
    "Mei",
    "Oscar",
    "Freya",
]
_LAST_NAMES = [
    "Chen",
    "Santos",
    "Raman",
    "Becker",
    "Whitfield",
    "Ortiz",
    "Moreau",
    "Mensah",
    "Novak",
    "Adler",
    "Okafor",
    "Haddad",
    "Hoffmann",
    "Rossi",
    "Bello",
    "Wang",
    "Lindqvist",
    "Weber",
    "Petrova",
    "Iyer",
    "Popescu",
    "Reid",
    "Tanaka",
    "Schmidt",
    "Alvarez",
    "Rahman",
    "Berg",
    "Dubois",
    "Mehta",
    "Clarke",
    "Wagner",
    "Osei",
    "Fischer",
    "Karimi",
    "Cohen",
    "Larsen",
    "Aziz",
    "Lin",
    "Keller",
    "Byrne",
]
# How many workers hold each role: 40 in all.
_HEADCOUNT = {
    "partner": 3,
    "senior_manager": 4,
    "manager": 6,
    "senior_consultant": 8,
    "consultant": 8,
    "analyst": 5,
    "engineer": 4,
    "designer": 2,
}
_ROLE_SERVICE_LINES = {
    "engineer": ("technology", "digital"),
    "designer": ("digital",),
}


# Three part-timers (contracted hours a week); everyone else works the firm's standard week.
_PART_TIME = {12: Decimal(24), 21: Decimal(32), 35: Decimal(20)}


def sample_workers(seed: int = 2026) -> list[Worker]:
    """Forty people (``W-001``...), each with one role, skills from a home service line (their practice) plus
    common ones, and a cost rate near the role's standard; two contractors, one leaver (inactive) and three
    part-timers."""
    rng = random.Random(seed)
    workers = []
    number = 0
    for role in ROLES:
        for _ in range(_HEADCOUNT[role]):
            number += 1
            first, last = _FIRST_NAMES[number - 1], _LAST_NAMES[(number * 7) % len(_LAST_NAMES)]
            home = rng.choice(_ROLE_SERVICE_LINES.get(role, SERVICE_LINES))
            skills = sorted(
                {
                    *rng.sample(SKILLS[home], k=3),
                    *rng.sample(_COMMON_SKILLS, k=1 if role in ("analyst",) else 2),
                }
            )
            _, standard_cost = STANDARD_RATES[role]
            cost = standard_cost + Decimal(rng.randrange(-10, 11))
            workers.append(
                Worker(
                    id=f"W-{number:03d}",
                    name=f"{first} {last}",
                    email=f"{first.lower()}.{last.lower()}@{FIRM_EMAIL_DOMAIN}",
                    employment="contractor" if number in (27, 38) else "employee",
                    roles=[role],
                    skills=skills,
                    cost_rate=cost,
                    currency="USD",
                    is_active=number != 33,
                    practice=home,
                    weekly_hours=_PART_TIME.get(number),
                )
            )
    return workers


def sample_allocations(
    workers: list[Worker] | None = None, *, today: date = date(2026, 11, 2)
) -> list[Allocation]:
    """What people are already booked on around ``today``: most have one or two engagements, a few are full
    (40 hours a week) and a few are on the bench, so staffing has both easy roles and conflicts."""
    rng = random.Random(7)
    allocations = []
    for worker in workers if workers is not None else sample_workers():
        if not worker.is_active:
            continue
        for engagement in range(rng.choice((0, 1, 1, 2))):
            start = today - timedelta(days=rng.randrange(0, 90))
            end = today + timedelta(days=rng.randrange(30, 240))
            hours = Decimal(rng.choice((8, 16, 20, 24, 32, 40)))
            allocations.append(
                Allocation(
                    worker_id=worker.id,
                    project_id=f"PRJ-{rng.randrange(100, 999)}-{engagement + 1}",
                    start=start,
                    end=end,
                    hours_per_week=hours if engagement == 0 else min(hours, Decimal(16)),
                )
            )
    return allocations


# ------------------------------------------------------------------------------------------------------------
# Rates and templates
# ------------------------------------------------------------------------------------------------------------


def standard_rate_card(currency: str = "USD", *, effective_date: date = date(2026, 1, 1)) -> RateCard:
    """The firm's standard rates per role in ``currency`` (USD, EUR or GBP), rounded to whole units."""
    fx = _FX_FROM_USD[currency]
    return RateCard(
        id=f"RC-STANDARD-{currency}",
        name=f"Standard rates {effective_date.year} ({currency})",
        effective_date=effective_date,
        lines=[
            RateCardLine(
                role=role,
                activity_type="Consulting",
                currency=currency,
                billing_rate=(billing * fx).quantize(Decimal(1)),
                costing_rate=(cost * fx).quantize(Decimal(1)),
            )
            for role, (billing, cost) in STANDARD_RATES.items()
        ],
    )


def sample_rate_cards() -> list[RateCard]:
    """The standard cards in USD, EUR and GBP, and Northwind's negotiated card (5% off standard)."""
    cards = [standard_rate_card(currency) for currency in _FX_FROM_USD]
    cards.append(
        RateCard(
            id="RC-CUST-0001-2026",
            name="Northwind Logistics negotiated rates 2026",
            client_id="CUST-0001",
            effective_date=date(2026, 1, 1),
            end_date=date(2026, 12, 31),
            lines=[
                RateCardLine(
                    role=role,
                    activity_type="Consulting",
                    currency="USD",
                    billing_rate=(billing * Decimal("0.95")).quantize(Decimal(1)),
                    costing_rate=cost,
                )
                for role, (billing, cost) in STANDARD_RATES.items()
            ],
        )
    )
    return cards


_PHASES: dict[str, tuple[tuple[str, tuple[str, ...]], ...]] = {
    "technology": (
        ("Discovery", ("Current-state assessment", "Requirements workshops")),
        ("Design", ("Solution design", "Data migration plan")),
        ("Build", ("Configuration", "Integrations")),
        ("Test", ("System integration testing", "User acceptance testing")),
        ("Deploy", ("Cutover", "Hypercare")),
    ),
    "advisory": (
        ("Diagnose", ("Stakeholder interviews", "Data request")),
        ("Analyse", ("Benchmarking", "Options analysis")),
        ("Recommend", ("Recommendations report", "Executive readout")),
    ),
    "digital": (
        ("Research", ("User interviews", "Journey mapping")),
        ("Design", ("Wireframes", "Visual design")),
        ("Deliver", ("Prototype", "Design handover")),
    ),
    "risk": (
        ("Planning", ("Risk assessment", "Audit plan")),
        ("Fieldwork", ("Control testing", "Evidence review")),
        ("Reporting", ("Findings report", "Management responses")),
    ),
    "general": (
        ("Initiate", ("Kick-off", "Project plan")),
        ("Deliver", ("Delivery",)),
        ("Close", ("Closing report",)),
    ),
}
_RETAINER_PHASE = ("Monthly service", ("Monthly status report", "Quarterly business review"))
_BILLING_MODELS: tuple[BillingModel, ...] = ("time_and_materials", "fixed_fee", "retainer")


def sample_project_templates() -> list[ProjectTemplate]:
    """One template per service line (and the ``general`` fallback) and billing model: 15 in all.

    A retainer runs as one recurring phase; a fixed-fee project ends each phase with a milestone review.
    """
    templates = []
    for line, phases in _PHASES.items():
        for model in _BILLING_MODELS:
            shaped: tuple[tuple[str, tuple[str, ...]], ...]
            if model == "retainer":
                shaped = (_RETAINER_PHASE,)
            elif model == "fixed_fee":
                shaped = tuple((name, (*tasks, "Milestone acceptance")) for name, tasks in phases)
            else:
                shaped = phases
            templates.append(
                ProjectTemplate(
                    id=f"TPL-{line.upper()}-{model.upper()}",
                    service_line=line,
                    billing_model=model,
                    phases=tuple(ProjectPhase(name=name, tasks=tasks) for name, tasks in shaped),
                    default_roles=DEFAULT_ROLES[line],
                )
            )
    return templates


# ------------------------------------------------------------------------------------------------------------
# SOWs for the sample deals
# ------------------------------------------------------------------------------------------------------------


def sample_sow_spec(
    *,
    title: str,
    client_legal_name: str,
    amount: Decimal,
    start: date,
    currency: str = "USD",
    service_line: str = "technology",
    billing_model: BillingModel = "time_and_materials",
    months: int = 6,
    risks: frozenset[RiskRule] = frozenset(),
) -> SowSpec:
    """A SOW worth about ``amount`` for a deal of the sample pipeline, staffed with the service line's default
    roles at standard rates. T&M: hours per role to reach the amount, capped at it; fixed fee: three
    milestones of 30/40/30%; retainer: the amount spread over the months of the term."""
    end = _add_months(start, months) - timedelta(days=1)
    card = standard_rate_card(currency if currency in _FX_FROM_USD else "USD")
    rates = {line.role: line.billing_rate for line in card.lines if line.role}
    roles = DEFAULT_ROLES.get(service_line, DEFAULT_ROLES["general"])
    # Leverage: partners a little, the team most.
    weights = {"partner": 1, "senior_manager": 2, "manager": 3}
    total_weight = sum(weights.get(role, 5) * rates[role] for role in roles)
    unit_hours = amount / total_weight
    lines = tuple(
        RoleLine(
            role=role,
            rate=rates[role],
            hours=max(Decimal(8), (unit_hours * weights.get(role, 5)).quantize(Decimal(1))),
        )
        for role in roles
    )
    common = {
        "title": title,
        "firm_name": FIRM_NAME,
        "client_legal_name": client_legal_name,
        "effective_date": start,
        "end_date": end,
        "currency": currency,
        "roles": lines,
        "risks": risks,
        "scope": f"the {service_line} services for {title}",
    }
    if billing_model == "fixed_fee":
        first, second = (amount * Decimal("0.3")).quantize(CENT), (amount * Decimal("0.4")).quantize(CENT)
        milestones = (
            MilestoneLine(
                name="Discovery and design", amount=first, due_date=_add_months(start, max(months // 3, 1))
            ),
            MilestoneLine(
                name="Delivery", amount=second, due_date=_add_months(start, max(2 * months // 3, 1))
            ),
            MilestoneLine(name="Handover and closure", amount=amount - first - second, due_date=end),
        )
        return SowSpec.model_validate(
            {**common, "billing_model": "fixed_fee", "fixed_fee": amount, "milestones": milestones}
        )
    if billing_model == "retainer":
        monthly = (amount / months_in_term(start, end)).quantize(CENT)
        return SowSpec.model_validate(
            {**common, "billing_model": "retainer", "monthly_retainer_fee": monthly}
        )
    return SowSpec.model_validate({**common, "billing_model": "time_and_materials", "not_to_exceed": amount})


def _add_months(day: date, months: int) -> date:
    """The same day ``months`` later, or the month's last day when it is shorter (Jan 31 + 1 -> Feb 28)."""
    index = day.month - 1 + months
    year, month = day.year + index // 12, index % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))
