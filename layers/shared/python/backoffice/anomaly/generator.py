"""A labelled sample firm: realistic time and expense lines with anomalies injected at known rates.

What it is for: measuring the scorer (precision and recall per check, in ``tests/unit/anomaly``) and its
speed (``bench/anomaly.py``), and giving the local runtime something to review. Same seed, same firm: every
random draw comes from one ``random.Random(seed)``, and nothing iterates a set of strings.

The firm: consultants in a few roles, each on one to three projects, recording 6.5 to 10 hours on each
working day (weekends and US federal holidays off, a few days of leave) and submitting weekly; travellers
go on two-to-four-day trips to client cities, with an airfare, a hotel night per night, their own meals
within the M&IE rate, taxis, now and then a client dinner; at home, supplies, software, parking, a
conference. Amounts are drawn per type (lognormal or uniform, in cents), receipts come with every lodging
line and every item from USD 75, and OCR facts (receipt amount, date, number) match the claim.

Anomalies, each labelled with the name of the check that should catch it (``CHECKS``), are injected into
the period's lines only; the history is clean apart from the habitual ones (a worker who invents amounts
does so every month). ``rates`` gives, per anomaly, the share of eligible units that get it: lines for most,
worker-days for ``daily_hours`` and ``per_diem_meals``, workers for ``benford``, ``round_endings`` and
``identical_hours``. A line gets at most one injected anomaly; when the anomaly necessarily breaks a second
rule too (a copied claim carries the same receipt file; an old receipt re-used carries its old date), the
line is labelled with both. Where the day or the worker is the unit (daily hours, meals per day, identical
hours, far above the usual day, Benford, round endings), every line of that day or worker is labelled, since
the check reports each.

The anomalies include subtle variants (limits passed by a little, a time entry copied without its start time or
under another task code, outliers just past the robust z threshold, runs just long enough). Beside them, about
20 legitimate look-alikes per type (``GeneratedFirm.lookalikes``, left unlabelled) that a reviewer would clear
and the product recognises from a fact: colleagues on one trip (one ``trip_id``) at one hotel and on one flight,
conference fees and software seats at round list prices (round prices normal for the type, in the history),
long days and weekend work on ``overtime_approved``, a second piece of work of the same length on one project
and day (another ``description``), a month-end close worked long every month, a licence renewed every month,
fixed contract hours, a commuter's parking at round rates, and claims just within each limit.

City rates in ``sample_firm_policy`` are illustrative figures for the sample, not the GSA table.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from backoffice.anomaly.expense_rules import robust_center
from backoffice.anomaly.history import AnomalyHistory, worker_roles
from backoffice.anomaly.policy import AnomalyPolicy
from backoffice.anomaly.public_holidays import us_federal_holidays
from backoffice.anomaly.rows import EXPENSE_COLUMN_FIELDS, LINE_FACTS, TIME_COLUMN_FIELDS
from backoffice.models import Document, ExpenseEntry, TimeEntry, Worker

Row = dict[str, Any]

# Per anomaly: share of eligible units injected (see the module docstring for the units), set so that a
# 20,000-line period holds a few dozen lines of each.
DEFAULT_RATES: dict[str, float] = {
    "duplicate_time": 0.01,
    "daily_hours": 0.004,
    "weekend_or_holiday": 0.003,
    "identical_hours": 0.03,
    "late_entry": 0.004,
    "hours_outlier": 0.004,
    "duplicate_expense": 0.02,
    "duplicate_receipt": 0.04,
    "duplicate_merchant_charge": 0.04,
    "split_transaction": 0.2,
    "round_amount": 0.05,
    "round_endings": 0.03,
    "receipt_missing": 0.015,
    "receipt_amount_mismatch": 0.04,
    "receipt_date_mismatch": 0.006,
    "tip_above_limit": 0.008,
    "per_diem_lodging": 0.03,
    "per_diem_meals": 0.02,
    "per_attendee": 0.15,
    "sanctioned_above_claimed": 0.004,
    "advance_above_sanctioned": 0.06,
    "amount_outlier": 0.01,
    "consecutive_receipts": 0.1,
    "benford": 0.03,
}

# Role, share of the staff, hourly billing rate.
_ROLES: tuple[tuple[str, float, float], ...] = (
    ("analyst", 0.30, 140.0),
    ("consultant", 0.35, 190.0),
    ("senior_consultant", 0.20, 240.0),
    ("manager", 0.10, 290.0),
    ("partner", 0.05, 390.0),
)
_ACTIVITIES = ("consulting", "analysis", "project_management", "workshop", "documentation")
# What a consultant writes on a timesheet line, per activity: two lines of one day say different things.
_DESCRIPTIONS: dict[str, tuple[str, ...]] = {
    "consulting": (
        "Advised finance lead on month end close redesign",
        "Stakeholder interviews target operating model",
        "Review call with sponsor about procurement controls",
        "Coached controller team through reconciliation backlog",
    ),
    "analysis": (
        "Data extraction and variance analysis of ledger balances",
        "Built cost driver model in spreadsheet",
        "Benchmarked vendor pricing against market data",
        "Analysed cash forecast accuracy by region",
    ),
    "project_management": (
        "Weekly status report and risk log update",
        "Planning sprint backlog with delivery leads",
        "Steering committee preparation",
        "Resource plan and budget tracking",
    ),
    "workshop": (
        "Facilitated process mapping session onsite",
        "Design workshop order to cash handoffs",
        "Requirements workshop with warehouse supervisors",
        "Training session for accounts payable clerks",
    ),
    "documentation": (
        "Drafted findings memo for audit committee",
        "Wrote user guide chapters",
        "Updated policy manual sections",
        "Edited final deliverable slides",
    ),
}
_HOME_CITIES = ("Columbus", "Raleigh", "Indianapolis", "Chicago")
_CLIENT_CITIES = ("Des Moines", "Omaha", "Columbus", "Raleigh", "Chicago", "San Francisco", "Tulsa")
# The longest ordinary day: a copied entry keeps its day within it (further is TE11's hours test).
_ORDINARY_DAY_MAX = 10.0
# Legitimate look-alikes made per check a firm: what a reviewer would clear, and the product recognises.
_LOOKALIKES_PER_TYPE = 20
_DAY_TOTALS = (6.5, 7.0, 7.5, 7.75, 8.0, 8.25, 8.5, 8.75, 9.0, 9.5, 10.0)
_DAY_WEIGHTS = (2, 5, 10, 8, 14, 10, 12, 8, 10, 6, 3)

# Illustrative non-standard rates for the sample's big cities; every other city gets the CONUS standard.
_CITY_LODGING = {"Chicago": 182.0, "San Francisco": 258.0}
_CITY_MIE = {"Chicago": 86.0, "San Francisco": 92.0}

# Types whose amounts no per diem or per attendee limit holds: where invented or inflated amounts hide.
_UNCAPPED = ("taxi", "supplies", "software", "airfare", "conference", "parking")
# Their typical (median) amounts: an injected outlier is several times these.
_TYPICAL = {
    "taxi": 22.0,
    "supplies": 35.0,
    "software": 60.0,
    "airfare": 380.0,
    "conference": 450.0,
    "parking": 15.0,
}


def sample_firm_policy(**overrides: Any) -> AnomalyPolicy:
    """The default policy plus the sample firm's city rates (illustrative), its Benford reference, and any
    overrides."""
    values: dict[str, Any] = {
        "lodging_per_night_by_city": dict(_CITY_LODGING),
        "mie_per_day_by_city": dict(_CITY_MIE),
        # The sample's amounts, like most firms' (per diem caps, flat fares, one airline's fares), do not
        # follow Benford's law as a whole: compare each set with the firm's own digits instead.
        "benford_reference": "firm_profile",
    }
    values.update(overrides)
    return AnomalyPolicy.model_validate(values)


@dataclass
class GeneratedFirm:
    """The sample firm's lines of one period (with labels) and of the months before it (clean)."""

    policy: AnomalyPolicy
    workers: list[Worker]
    time_rows: list[Row]
    expense_rows: list[Row]
    history_time_rows: list[Row] = field(default_factory=list)
    history_expense_rows: list[Row] = field(default_factory=list)
    labels: dict[str, set[str]] = field(default_factory=dict)  # line id -> anomalies injected
    # line id -> the check a legitimate line looks like (unlabelled: a reviewer would clear it), for reporting
    lookalikes: dict[str, str] = field(default_factory=dict)

    @property
    def line_count(self) -> int:
        return len(self.time_rows) + len(self.expense_rows)

    def worker_roles(self) -> dict[str, str]:
        return worker_roles(self.workers)

    def history(self) -> AnomalyHistory:
        return AnomalyHistory.from_rows(
            self.history_time_rows,
            self.history_expense_rows,
            policy=self.policy,
            worker_roles=self.worker_roles(),
        )

    def time_entries(self) -> list[TimeEntry]:
        return [time_entry_of(row) for row in self.time_rows]

    def expenses(self) -> list[ExpenseEntry]:
        return [expense_entry_of(row) for row in self.expense_rows]

    def time_lists(self, lines: int | None = None) -> dict[str, list[Any]]:
        """The period's first ``lines`` time lines (all by default) column-wise: a list per field, as
        ``rows.time_columns_of`` takes them. Transposed from the rows: the values are the rows' own."""
        return lists_of(self.time_rows[:lines], TIME_COLUMN_FIELDS)

    def expense_lists(self, lines: int | None = None) -> dict[str, list[Any]]:
        """The period's first ``lines`` expense lines column-wise, as ``rows.expense_columns_of`` takes them."""
        return lists_of(self.expense_rows[:lines], EXPENSE_COLUMN_FIELDS)

    def line_facts(self) -> dict[str, dict[str, Any]]:
        """Each expense's ``LINE_FACTS`` (what the receipt says, tip, card, advance, role) by id, as
        ``score_lines`` takes them beside models; ``expense_entry_of`` puts all but the role on the model."""
        facts: dict[str, dict[str, Any]] = {}
        for row in self.expense_rows:
            found = {key: row[key] for key in LINE_FACTS if row.get(key) is not None}
            if found:
                facts[row["id"]] = found
        return facts


def lists_of(rows: Sequence[Mapping[str, Any]], fields: Sequence[str]) -> dict[str, list[Any]]:
    """The rows column-wise: a list per field, None where a row lacks it."""
    return {name: [row.get(name) for row in rows] for name in fields}


def _money(value: float | None) -> Decimal | None:
    return None if value is None else Decimal(f"{value:.2f}")


def time_entry_of(row: Row) -> TimeEntry:
    hours = Decimal(str(row["hours"]))
    return TimeEntry.model_validate(
        {
            **{key: row[key] for key in ("id", "worker_id", "project_id", "task", "role", "activity_type")},
            "work_date": row["work_date"],
            "hours": hours,
            "is_billable": row["is_billable"],
            "billing_hours": hours,
            "billing_rate": _money(row["billing_rate"]),
            "billing_amount": _money(row["billing_rate"] * row["hours"]),
            "costing_rate": _money(row["costing_rate"]),
            "currency": row["currency"],
            "status": row["status"],
            "submitted_at": row["submitted_at"],
            "from_time": row.get("from_time"),
            "description": row.get("description"),
            "overtime_approved": bool(row.get("overtime_approved")),
        }
    )


def expense_entry_of(row: Row) -> ExpenseEntry:
    receipt = None
    if row.get("receipt_sha256"):
        receipt = Document(
            bucket="backoffice-receipts",
            key=f"receipts/{row['id']}.jpg",
            content_type="image/jpeg",
            document_type="other",  # DocumentType has no "receipt" yet
            sha256=row["receipt_sha256"],
        )
    return ExpenseEntry.model_validate(
        {
            **{key: row[key] for key in ("id", "worker_id", "project_id", "expense_date", "expense_type")},
            "amount": _money(row["amount"]),
            "sanctioned_amount": _money(row.get("sanctioned_amount")),
            "currency": row["currency"],
            "merchant": row.get("merchant"),
            "city": row.get("city"),
            "receipt_document": receipt,
            "attendees": row.get("attendees", 1),
            "is_billable": row.get("is_billable", False),
            "status": row["status"],
            "receipt_amount": _money(row.get("receipt_amount")),
            "receipt_date": row.get("receipt_date"),
            "receipt_number": row.get("receipt_number"),
            "tip_amount": _money(row.get("tip_amount")),
            "advance_amount": _money(row.get("advance_amount")),
            "card_id": row.get("card_id"),
            "nights": row.get("nights"),
            "trip_id": row.get("trip_id"),
        }
    )


# ------------------------------------------------------------------------------------------------------------
# The firm and its ordinary work
# ------------------------------------------------------------------------------------------------------------


@dataclass
class _Person:
    worker: Worker
    role: str
    rate: float
    home: str
    projects: list[tuple[str, str]]  # project id, client city
    traveller: float  # chance a trip starts on a given working day at home
    card: str | None


class _Firm:
    def __init__(self, rng: random.Random, n_workers: int, policy: AnomalyPolicy) -> None:
        self.rng, self.policy = rng, policy
        n_projects = max(3, n_workers // 4)
        self.projects = [(f"P-{i:04d}", rng.choice(_CLIENT_CITIES)) for i in range(1, n_projects + 1)]
        self.people: list[_Person] = []
        names, weights = [r[0] for r in _ROLES], [r[1] for r in _ROLES]
        rates = {r[0]: r[2] for r in _ROLES}
        for i in range(1, n_workers + 1):
            role = rng.choices(names, weights)[0]
            worker = Worker(
                id=f"W-{i:04d}",
                name=f"Worker {i:04d}",
                employment="employee" if rng.random() < 0.9 else "contractor",
                roles=[role],
                cost_rate=Decimal(f"{rates[role] * 0.45:.2f}"),
                currency="USD",
            )
            projects = rng.sample(self.projects, k=min(len(self.projects), rng.randint(1, 3)))
            self.people.append(
                _Person(
                    worker=worker,
                    role=role,
                    rate=rates[role],
                    home=rng.choice(_HOME_CITIES),
                    projects=projects,
                    traveller=rng.choice((0.0, 0.05, 0.1, 0.15, 0.2)),
                    card=f"CARD-{i:04d}" if rng.random() < 0.7 else None,
                )
            )
        self.merchants: dict[tuple[str, str], list[str]] = {}

    def merchant(self, kind: str, city: str) -> str:
        pool = self.merchants.get((kind, city))
        if pool is None:
            size = {
                "meals": 14,
                "lodging": 4,
                "taxi": 3,
                "parking": 3,
                "supplies": 5,
                "client_entertainment": 6,
            }
            pool = [f"{city} {kind.replace('_', ' ').title()} {n}" for n in range(1, size.get(kind, 4) + 1)]
            if kind == "taxi":
                pool += ["Uber", "Lyft"]
            if kind == "airfare":
                pool = ["United Airlines", "Delta Air Lines", "American Airlines", "Southwest Airlines"]
            if kind == "software":
                pool = ["Adobe", "Atlassian", "JetBrains", "Microsoft", "Zoom", "Figma"]
            if kind == "conference":
                pool = ["ConfTix", "Eventbrite", "PMI", "Gartner Events"]
            self.merchants[(kind, city)] = pool
        return self.rng.choice(pool)


def _working_days(start: date, end: date) -> list[date]:
    days, day = [], start
    while day <= end:
        if day.weekday() < 5 and day not in us_federal_holidays(day.year):
            days.append(day)
        day += timedelta(days=1)
    return days


class _Lines:
    """Builds rows with ids in creation order (so a copy always comes after its original)."""

    def __init__(self, rng: random.Random, firm: _Firm, prefix: str) -> None:
        self.rng, self.firm, self.prefix = rng, firm, prefix
        self.time: list[Row] = []
        self.expenses: list[Row] = []
        self._submitted: dict[date, datetime] = {}
        self.trip: str | None = None  # the trip the expenses being added belong to

    def new_time_id(self) -> str:
        return f"{self.prefix}TE-{len(self.time) + 1:07d}"

    def new_expense_id(self) -> str:
        return f"{self.prefix}EX-{len(self.expenses) + 1:07d}"

    def submitted_at(self, day: date) -> datetime:
        # Timesheets go in on the Friday of the week, some on the Monday after.
        found = self._submitted.get(day)
        if found is None:
            friday = day + timedelta(days=(4 - day.weekday()) % 7)
            found = self._submitted[day] = datetime.combine(friday, time(17, 0), tzinfo=UTC)
        if self.rng.random() < 0.2:
            return found + timedelta(days=3)
        return found

    def add_time(
        self, person: _Person, day: date, project: str, hours: float, activity: str | None = None
    ) -> Row:
        row: Row = {
            "id": self.new_time_id(),
            "worker_id": person.worker.id,
            "project_id": project,
            "task": None,
            "role": person.role,
            "activity_type": activity or self.rng.choice(_ACTIVITIES),
            "work_date": day,
            "from_time": None,
            "hours": hours,
            "description": None,
            "overtime_approved": False,
            "is_billable": self.rng.random() < 0.9,
            "billing_rate": person.rate,
            "costing_rate": float(person.worker.cost_rate),
            "currency": "USD",
            "status": "approved" if self.rng.random() < 0.8 else "submitted",
            "submitted_at": self.submitted_at(day),
        }
        row["description"] = self.rng.choice(_DESCRIPTIONS[row["activity_type"]])
        self.time.append(row)
        return row

    def add_expense(
        self,
        person: _Person,
        day: date,
        kind: str,
        amount: float,
        city: str,
        project: str | None,
        *,
        attendees: int = 1,
        tip_share: float = 0.0,
        merchant: str | None = None,
    ) -> Row:
        rng = self.rng
        amount = round(amount, 2)
        has_receipt = kind == "lodging" or amount >= 75.0 or rng.random() < 0.6
        approved = rng.random() < 0.75
        row: Row = {
            "id": self.new_expense_id(),
            "worker_id": person.worker.id,
            "project_id": project,
            "expense_date": day,
            "expense_type": kind,
            "amount": amount,
            "sanctioned_amount": amount if approved else None,
            "currency": "USD",
            "merchant": merchant or self.firm.merchant(kind, city),
            "city": city,
            "attendees": attendees,
            "is_billable": project is not None and kind != "client_entertainment",
            "status": "approved" if approved else "submitted",
            "card_id": person.card if rng.random() < 0.8 else None,
            "receipt_sha256": None,
            "receipt_amount": None,
            "receipt_date": None,
            "receipt_number": None,
            "tip_amount": round(amount * tip_share / (1 + tip_share), 2) if tip_share else None,
            "advance_amount": None,
            "nights": None,
            "trip_id": self.trip if project is not None else None,
            "role": None,  # the peer-group role comes from the worker
        }
        if has_receipt:
            attach_receipt(row, rng)
        self.expenses.append(row)
        return row


def attach_receipt(row: Row, rng: random.Random) -> None:
    row["receipt_sha256"] = f"{rng.getrandbits(256):064x}"
    row["receipt_amount"] = row["amount"]
    row["receipt_date"] = row["expense_date"]
    row["receipt_number"] = str(rng.randrange(100_000, 10_000_000))


def _hours_split(rng: random.Random, total: float, parts: int) -> list[float]:
    quarters = round(total * 4)
    if parts <= 1 or quarters < parts * 2:
        return [total]
    cuts = sorted(rng.sample(range(1, quarters), parts - 1))
    bounds = [0, *cuts, quarters]
    return [(bounds[i + 1] - bounds[i]) / 4 for i in range(parts)]


def _work(lines: _Lines, days: list[date]) -> None:
    rng, firm = lines.rng, lines.firm
    for person in firm.people:
        trip_days_left, trip_city, trip_project = 0, "", ""
        for day in days:
            if rng.random() < 0.04:  # leave
                continue
            total = rng.choices(_DAY_TOTALS, _DAY_WEIGHTS)[0]
            parts = rng.choice((1, 2, 2, 3))
            # One line per project and activity a day, as timesheets are kept.
            slots = rng.sample([(p, a) for p, _ in person.projects for a in _ACTIVITIES], k=parts)
            for (project, activity), hours in zip(slots, _hours_split(rng, total, parts), strict=False):
                lines.add_time(person, day, project, hours, activity)
            # Expenses
            if trip_days_left == 0 and rng.random() < person.traveller:
                trip_project, trip_city = rng.choice(person.projects)
                if trip_city == person.home:
                    trip_city = rng.choice([c for c in _CLIENT_CITIES if c != person.home])
                trip_days_left = rng.randint(2, 4)
                lines.trip = f"{lines.prefix}TRIP-{person.worker.id[2:]}-{day:%Y%m%d}"
                lines.add_expense(person, day, "airfare", _airfare(rng), trip_city, trip_project)
                _trip_day(lines, person, day, trip_city, trip_project, night=True)
                trip_days_left -= 1
            elif trip_days_left > 0:
                trip_days_left -= 1
                _trip_day(lines, person, day, trip_city, trip_project, night=trip_days_left > 0)
            else:
                lines.trip = None
                _home_day(lines, person, day)


def _trip_day(lines: _Lines, person: _Person, day: date, city: str, project: str, *, night: bool) -> None:
    rng, policy = lines.rng, lines.firm.policy
    if night:
        rate = policy.lodging_per_night_by_city.get(city, policy.lodging_per_night)
        lines.add_expense(person, day, "lodging", rng.uniform(0.74, 0.995) * rate, city, project)
    # Own meals, kept within the day's M&IE rate as travellers do.
    mie = policy.mie_per_day_by_city.get(city, policy.mie_per_day)
    meals = []
    if rng.random() < 0.6:
        meals.append((rng.uniform(6, 16), 0.0))
    if rng.random() < 0.8:
        meals.append((rng.uniform(9, 24), rng.uniform(0.12, 0.2)))
    if rng.random() < 0.9:
        meals.append((rng.uniform(16, 40), rng.uniform(0.15, 0.22)))
    budget = mie * rng.uniform(0.8, 0.99)
    scale = min(1.0, budget / sum(m[0] for m in meals)) if meals else 1.0
    for amount, tip in meals:
        lines.add_expense(person, day, "meals", amount * scale, city, project, tip_share=tip)
    for _ in range(rng.choices((0, 1, 2), (30, 55, 15))[0]):
        lines.add_expense(person, day, "taxi", _fare(rng), city, project, tip_share=rng.uniform(0.1, 0.2))
    if rng.random() < 0.08:
        guests = rng.randint(2, 6)
        lines.add_expense(
            person,
            day,
            "client_entertainment",
            guests * rng.uniform(35, 120),
            city,
            project,
            attendees=guests,
        )
    elif rng.random() < 0.05:
        guests = rng.randint(2, 4)
        lines.add_expense(
            person,
            day,
            "meals",
            guests * rng.uniform(12, 40),
            city,
            project,
            attendees=guests,
            tip_share=0.18,
        )


def _airfare(rng: random.Random) -> float:
    while True:  # economy fares on the firm's routes: within a band, drawn again rather than clipped
        fare = rng.lognormvariate(math.log(380), 0.35)
        if 150.0 <= fare <= 900.0:
            return fare


def _fare(rng: random.Random) -> float:
    while True:  # drawn again rather than clipped, which would pile fares up at the bounds
        fare = rng.lognormvariate(math.log(22), 0.45)
        if 7.0 <= fare <= 90.0:
            return fare


_SEAT_PRICES = (50, 100, 150, 200, 300, 600)
# The types whose history shows round prices as normal (``AnomalyPolicy.round_normal_share``).
_ROUND_PRICED = ("conference", "software", "parking")
_CONFERENCE_FEES = (295, 300, 450, 495, 500, 750, 995, 1200)


def _home_day(lines: _Lines, person: _Person, day: date) -> None:
    rng = lines.rng
    if rng.random() >= 0.3:
        return
    kind = rng.choices(("supplies", "software", "parking", "taxi", "conference"), (30, 15, 30, 20, 2))[0]
    amount = {
        "supplies": lambda: min(400.0, max(5.0, rng.lognormvariate(math.log(35), 0.7))),
        # Software seats and conference fees are sold at list prices, often round.
        "software": lambda: (
            float(rng.choice(_SEAT_PRICES))
            if rng.random() < 0.4
            else min(900.0, max(5.0, rng.lognormvariate(math.log(60), 0.6)))
        ),
        "parking": lambda: float(rng.choice((8, 10, 12, 14, 15, 18, 20, 24, 25))),
        "taxi": lambda: _fare(rng),
        "conference": lambda: (
            float(rng.choice(_CONFERENCE_FEES))
            if rng.random() < 0.6
            else rng.lognormvariate(math.log(450), 0.5)
        ),
    }[kind]()
    lines.add_expense(person, day, kind, amount, person.home, None, tip_share=0.15 if kind == "taxi" else 0.0)


# ------------------------------------------------------------------------------------------------------------
# Anomalies
# ------------------------------------------------------------------------------------------------------------


class _Injector:
    def __init__(
        self, lines: _Lines, policy: AnomalyPolicy, rates: Mapping[str, float], period: list[date]
    ) -> None:
        self.lines, self.rng, self.policy, self.rates = lines, lines.rng, policy, rates
        self.period = period
        self.labels: dict[str, set[str]] = {}
        self.lookalikes: dict[str, str] = {}  # line id -> the check it looks like, for reporting
        # Expense lines with a history TE11 can judge them by: (median, robust scale) of its log amounts and
        # the worker's highest past claim of the type.
        self.baselines: dict[str, tuple[float, float, float]] = {}
        self.touched: set[str] = set()  # lines that already carry an injected anomaly
        self.reserved: set[str] = set()  # workers with a habitual anomaly: left alone otherwise

    def label(self, row: Row, *checks: str) -> None:
        self.labels.setdefault(row["id"], set()).update(checks)
        self.touched.add(row["id"])
        self.lookalikes.pop(row["id"], None)

    def lookalike(self, row: Row, check: str) -> None:
        """A legitimate line that looks like an anomaly of ``check``: left unlabelled, and left alone."""
        if row["id"] not in self.labels:
            self.lookalikes[row["id"]] = check
            self.touched.add(row["id"])

    def pick_lookalikes(
        self, rows: list[Row], count: int, eligible: Callable[[Row], bool] = lambda r: True
    ) -> list[Row]:
        """``count`` untouched lines of workers without a habitual anomaly, drawn at random."""
        free = [
            row
            for row in rows
            if row["id"] not in self.touched and row["worker_id"] not in self.reserved and eligible(row)
        ]
        return self.rng.sample(free, k=min(count, len(free)))

    def pick(self, check: str, rows: list[Row], eligible: Callable[[Row], bool]) -> list[Row]:
        """The lines that get ``check``: each eligible line with probability ``rates[check]``."""
        rate = self.rates.get(check, 0.0)
        if rate <= 0.0:
            return []
        draw = self.rng.random
        # The draw comes first: each eligible line still has probability ``rate``, and the eligibility test
        # runs on a few lines instead of all of them.
        return [
            row
            for row in rows
            if draw() < rate
            and row["id"] not in self.touched
            and row["worker_id"] not in self.reserved
            and eligible(row)
        ]

    def pick_workers(self, check: str, eligible: Callable[[_Person], bool] = lambda p: True) -> list[_Person]:
        rate = self.rates.get(check, 0.0)
        free = [p for p in self.lines.firm.people if p.worker.id not in self.reserved and eligible(p)]
        if rate <= 0.0 or not free:
            return []
        count = max(1, round(rate * len(self.lines.firm.people)))
        chosen = self.rng.sample(free, k=min(count, len(free)))
        self.reserved.update(p.worker.id for p in chosen)
        return chosen

    # -- helpers on the current lines ---------------------------------------------------------------------

    def other_activity(self, rows: list[Row], project: str | None = None) -> str:
        """An activity none of a day's lines on the project (the first line's) has: another piece of work."""
        project = project or rows[0]["project_id"]
        used = {r["activity_type"] for r in rows if r["project_id"] == project}
        return self.rng.choice([a for a in _ACTIVITIES if a not in used] or list(_ACTIVITIES))

    def day_lines(self) -> dict[tuple[str, date], list[Row]]:
        days: dict[tuple[str, date], list[Row]] = {}
        for row in self.lines.time:
            days.setdefault((row["worker_id"], row["work_date"]), []).append(row)
        return days

    def copy_expense(self, row: Row, **changes: Any) -> Row:
        copy = {**row, "id": self.lines.new_expense_id(), **changes}
        self.lines.expenses.append(copy)
        return copy

    def set_amount(self, row: Row, amount: float, *, receipt_too: bool = True) -> None:
        row["amount"] = round(amount, 2)
        if row.get("sanctioned_amount") is not None:
            row["sanctioned_amount"] = row["amount"]
        if row.get("tip_amount"):
            share = 0.15
            row["tip_amount"] = round(row["amount"] * share / (1 + share), 2)
        if row.get("receipt_sha256") is None and (row["amount"] >= self.policy.receipt_required_at):
            attach_receipt(row, self.rng)
        elif receipt_too and row.get("receipt_sha256") is not None:
            row["receipt_amount"] = row["amount"]

    # -- habitual anomalies (whole workers) ---------------------------------------------------------------

    def identical_hours(self) -> None:
        days = self.day_lines()
        minimum = self.policy.identical_hours_min_days
        for person in self.pick_workers("identical_hours"):
            length = self.rng.choice((minimum, minimum + 2, max(minimum + 5, 20)))  # some just long enough
            worked = sorted(day for (worker, day) in days if worker == person.worker.id)
            if len(worked) < length:
                continue
            start = self.rng.randrange(0, len(worked) - length + 1)
            for day in worked[start : start + length]:
                rows = days[(person.worker.id, day)]
                for row, hours in zip(rows, _hours_split(self.rng, 8.0, len(rows)), strict=True):
                    row["hours"] = hours
                    self.label(row, "identical_hours")
            # A neighbouring day that happens to total 8 h too would lengthen the run unlabelled.
            for neighbour in (
                worked[start - 1] if start else None,
                worked[start + length : start + length + 1],
            ):
                for day in [neighbour] if isinstance(neighbour, date) else neighbour or []:
                    rows = days[(person.worker.id, day)]
                    if sum(row["hours"] for row in rows) == 8.0:
                        rows[0]["hours"] += 0.5

    def habits(self, history: _Lines) -> None:
        """Workers whose own history explains what would otherwise look odd in the period (their period lines
        are look-alikes): a month-end close worked long every month, fixed contract hours, a licence renewed
        every month, a commuter's parking at round rates."""
        rng = self.rng
        free = [p for p in self.lines.firm.people if p.worker.id not in self.reserved]
        home_bound = [p for p in free if p.traveller <= 0.05]
        # A small firm keeps most of its people for the anomalies: at most a third of them get a habit.
        commuters = rng.sample(home_bound, k=min(2, len(home_bound), len(free) // 6))
        others = [p for p in free if p not in commuters]
        chosen = rng.sample(others, k=min(11, len(others) // 3))
        closers, fixed, buyers = chosen[:3], chosen[3:4], chosen[4:11]
        self.reserved.update(p.worker.id for p in [*commuters, *chosen])
        for lines, labelled in ((history, False), (self.lines, True)):
            days: dict[tuple[str, date], list[Row]] = {}
            for row in lines.time:
                days.setdefault((row["worker_id"], row["work_date"]), []).append(row)
            for person in closers:
                self._month_end_close(lines, days, person, labelled)
            for person in fixed:
                for (worker, _), rows in sorted(days.items()):
                    if worker == person.worker.id:
                        for row, hours in zip(rows, _hours_split(rng, 8.0, len(rows)), strict=True):
                            row["hours"] = hours
                            self._lookalike_if(labelled, row, "identical_hours")
            for person in buyers:
                self._monthly_licence(lines, days, person, labelled)
            for person in commuters:
                for row in lines.expenses:
                    if row["worker_id"] == person.worker.id and row["project_id"] is None:
                        row["expense_type"], row["tip_amount"] = "parking", None
                        row["merchant"] = lines.firm.merchant("parking", row["city"])
                        self.set_amount(row, float(rng.choice((10, 15, 20, 25))))
                        self._lookalike_if(labelled, row, "round_endings")

    def _lookalike_if(self, labelled: bool, row: Row, check: str) -> None:
        if labelled:
            self.lookalike(row, check)

    def _month_end_close(
        self, lines: _Lines, days: dict[tuple[str, date], list[Row]], person: _Person, labelled: bool
    ) -> None:
        """The last day a worker works each month runs to ``_MONTH_END_DAY`` hours."""
        month_ends: dict[tuple[int, int], date] = {}
        for worker, day in days:
            if worker == person.worker.id:
                month = (day.year, day.month)
                month_ends[month] = max(day, month_ends.get(month, day))
        for day in sorted(month_ends.values()):
            rows = days[(person.worker.id, day)]
            extra = _MONTH_END_DAY - sum(r["hours"] for r in rows)
            added = lines.add_time(person, day, rows[0]["project_id"], extra, self.other_activity(rows))
            for row in [*rows, added]:
                self._lookalike_if(labelled, row, "hours_outlier")

    def _monthly_licence(
        self, lines: _Lines, days: dict[tuple[str, date], list[Row]], person: _Person, labelled: bool
    ) -> None:
        """A software licence several times the usual purchase, renewed on the first working day of each month."""
        price = _TYPICAL["software"] * self.rng.uniform(7.0, 9.0)
        firsts: dict[tuple[int, int], date] = {}
        for worker, day in days:
            if worker == person.worker.id:
                firsts[(day.year, day.month)] = min(day, firsts.get((day.year, day.month), day))
        for day in sorted(firsts.values()):
            row = lines.add_expense(person, day, "software", price, person.home, None, merchant="Adobe")
            self._lookalike_if(labelled, row, "amount_outlier")

    def learn_baselines(self, history: list[Row]) -> None:
        """The lines whose worker's own history of the type (or else the peer group's) TE11 can judge them
        by: its median and robust scale of log amounts, and the worker's highest past claim of the type."""
        roles = {p.worker.id: p.role for p in self.lines.firm.people}
        own: dict[tuple[str, str], list[float]] = {}
        peers: dict[tuple[str, str, str], list[float]] = {}
        for row in history:
            if row["amount"] > 0:
                value = math.log(row["amount"])
                own.setdefault((row["worker_id"], row["expense_type"]), []).append(value)
                peers.setdefault((roles[row["worker_id"]], row["expense_type"], row["city"]), []).append(
                    value
                )
        centers: dict[tuple[str, ...], tuple[float, float] | None] = {}
        for row in self.lines.expenses:
            own_key = (row["worker_id"], row["expense_type"])
            past = own.get(own_key, [])
            key: tuple[str, ...] = own_key
            values = past
            if len(values) < self.policy.own_history_min_lines:
                key = (roles[row["worker_id"]], row["expense_type"], row["city"])
                values = peers.get(key, [])
                if len(values) < self.policy.peer_group_min_lines:
                    continue
            if key not in centers:
                centers[key] = robust_center(values)
            center = centers[key]
            if center is not None:
                self.baselines[row["id"]] = (*center, math.exp(max(past, default=0.0)))

    def round_endings(self, people: list[_Person], history: list[Row]) -> None:
        """Whole amounts ending in 0 or 5, period and history alike; capped types rounded down."""
        ids = {p.worker.id for p in people}
        capped = {*self.policy.lodging_types, *self.policy.meal_types, *self.policy.per_attendee_limits}
        for rows, labelled in ((history, False), (self.lines.expenses, True)):
            taken: set[tuple[str, str, date, float]] = set()
            for row in rows:
                if row["worker_id"] not in ids:
                    continue
                step = 5.0
                new = max(5.0, math.floor(row["amount"] / step) * step)
                if row["expense_type"] not in capped:
                    new = max(5.0, round(row["amount"] / step) * step)
                while (row["worker_id"], row["expense_type"], row["expense_date"], new) in taken:
                    new += step
                taken.add((row["worker_id"], row["expense_type"], row["expense_date"], new))
                self.set_amount(row, new)
                # Types sold at round prices are not counted by the check (round there is normal).
                if labelled and row["expense_type"] not in _ROUND_PRICED:
                    checks = ["round_endings"]
                    if (
                        new >= self.policy.round_amount_modulus
                        and new % self.policy.round_amount_modulus == 0
                    ):
                        checks.append("round_amount")
                    self.label(row, *checks)

    def benford(self, people: list[_Person], history: list[Row]) -> None:
        """Invented amounts: same order of magnitude, first digit picked evenly from 1 to 9, on the types no
        cap holds (where invented amounts hide)."""
        ids = {p.worker.id for p in people}
        uncapped = set(_UNCAPPED)
        for rows, labelled in ((history, False), (self.lines.expenses, True)):
            for row in rows:
                if row["worker_id"] not in ids:
                    continue
                if row["expense_type"] in uncapped and row["amount"] >= 10.0:
                    magnitude = 10 ** math.floor(math.log10(row["amount"]))
                    for _ in range(
                        5
                    ):  # plausible amounts: within 4x of what was spent, never far above usual
                        invented = (self.rng.randint(1, 9) + self.rng.random()) * magnitude
                        if 1 / 4 <= invented / row["amount"] <= 4 and invented <= _BENFORD_MAX.get(
                            row["expense_type"], math.inf
                        ):
                            self.set_amount(row, invented)
                            break
                if (
                    labelled
                    and row["expense_type"] in uncapped
                    and row["amount"] >= self.policy.benford_min_amount
                ):
                    self.label(row, "benford")

    # -- time ----------------------------------------------------------------------------------------------

    def time_anomalies(self, history: list[Row]) -> None:
        lines, rng, limit = self.lines, self.rng, self.policy.max_daily_hours
        days = self.day_lines()
        totals = {key: sum(r["hours"] for r in rows) for key, rows in days.items()}
        # A copy keeps the day within an ordinary length: a day far above the worker's usual is another check.
        for row in self.pick(
            "duplicate_time",
            list(lines.time),
            lambda r: totals[(r["worker_id"], r["work_date"])] + r["hours"] <= _ORDINARY_DAY_MAX,
        ):
            key = (row["worker_id"], row["work_date"])
            totals[key] += row["hours"]
            copy = {**row, "id": lines.new_time_id()}
            variant = rng.randrange(4)
            if variant == 1:  # re-keyed without a start time
                row["from_time"] = datetime.combine(row["work_date"], time(9, 0), tzinfo=UTC)
            elif variant == 2:  # under another task code
                copy["task"] = f"TASK-{rng.randint(100, 999)}"
            elif variant == 3:  # under another activity, the description typed again
                copy["activity_type"] = rng.choice([a for a in _ACTIVITIES if a != row["activity_type"]])
                copy["description"] = row["description"].lower() + " (resubmitted)"
            lines.time.append(copy)
            self.touched.add(row["id"])
            self.label(copy, "duplicate_time")
        people = {p.worker.id: p for p in lines.firm.people}
        for key in sorted(days):
            rows = days[key]
            if key[0] in self.reserved or any(r["id"] in self.touched for r in rows):
                continue
            if rng.random() >= self.rates.get("daily_hours", 0.0):
                continue
            extra = math.ceil((limit - totals[key] + rng.uniform(0.1, 3.0)) * 4) / 4  # some just past it
            added = lines.add_time(
                people[key[0]], key[1], rows[0]["project_id"], extra, self.other_activity(rows)
            )
            for row in [*rows, added]:
                self.label(row, "daily_hours")
        self._hours_outliers(days, totals, history)
        off_days = [d for d in _all_days(self.period) if d.weekday() >= 5 or d in us_federal_holidays(d.year)]
        free = [p for p in lines.firm.people if p.worker.id not in self.reserved]
        count = round(self.rates.get("weekend_or_holiday", 0.0) * len(lines.time)) if free else 0
        for _ in range(count):
            person, day = rng.choice(free), rng.choice(off_days)
            added = lines.add_time(
                person, day, rng.choice(person.projects)[0], rng.choice((1.0, 2.0, 3.5, 4.0, 6.0))
            )
            self.label(added, "weekend_or_holiday")
        late = self.policy.late_entry_days
        for row in self.pick("late_entry", list(lines.time), lambda r: True):
            row["submitted_at"] = datetime.combine(
                row["work_date"] + timedelta(days=late + rng.randint(1, 45)), time(10, 0), tzinfo=UTC
            )
            self.label(row, "late_entry")
        self._time_lookalikes(days, totals, off_days, free)
        self._label_far_above_usual(history)

    def _hours_outliers(
        self,
        days: dict[tuple[str, date], list[Row]],
        totals: dict[tuple[str, date], float],
        history: list[Row],
    ) -> None:
        """Days padded to far above the worker's usual, yet within the daily limit."""
        rng, policy = self.rng, self.policy
        usual = _usual_days(history, policy.hours_history_min_days)
        people = {p.worker.id: p for p in self.lines.firm.people}
        for key in sorted(days):
            rows = days[key]
            if key[0] in self.reserved or any(r["id"] in self.touched for r in rows):
                continue
            if rng.random() >= self.rates.get("hours_outlier", 0.0) or usual.get(key[0]) is None:
                continue
            median, scale = usual[key[0]]
            target = max(
                median + scale * policy.robust_z_threshold * rng.uniform(1.1, 1.8),
                median + policy.hours_outlier_min_extra + 0.5,
            )
            extra = math.ceil((target - totals[key]) * 4) / 4
            if extra <= 0 or totals[key] + extra > policy.max_daily_hours:
                continue
            totals[key] += extra
            added = self.lines.add_time(
                people[key[0]], key[1], rows[0]["project_id"], extra, self.other_activity(rows)
            )
            for row in [*rows, added]:
                self.label(row, "hours_outlier")

    def _time_lookalikes(
        self,
        days: dict[tuple[str, date], list[Row]],
        totals: dict[tuple[str, date], float],
        off_days: list[date],
        free: list[_Person],
    ) -> None:
        """What a reviewer would clear and the product has a fact for: a second piece of work of the same
        length on one project and day (another description), long days and weekend work on overtime approved
        in the PSA, an entry submitted on the last day allowed."""
        rng, policy, lines = self.rng, self.policy, self.lines
        count = _LOOKALIKES_PER_TYPE
        people = {p.worker.id: p for p in lines.firm.people}
        keys = [key for key in sorted(days) if key[0] not in self.reserved]
        rng.shuffle(keys)
        untouched = [key for key in keys if not any(r["id"] in self.touched for r in days[key])]
        long_days, made = untouched[: count // 3], 0
        for key in untouched[count // 3 :]:
            row = min(days[key], key=lambda r: r["hours"])
            if made >= count or totals[key] + row["hours"] > _ORDINARY_DAY_MAX:
                continue
            activity = self.other_activity(days[key], row["project_id"])
            added = lines.add_time(people[key[0]], key[1], row["project_id"], row["hours"], activity)
            totals[key] += row["hours"]
            self.lookalike(row, "duplicate_time")
            self.lookalike(added, "duplicate_time")
            made += 1
        for key in long_days:
            extra = math.ceil((policy.max_daily_hours - totals[key] + rng.uniform(0.5, 2.5)) * 4) / 4
            added = lines.add_time(
                people[key[0]], key[1], days[key][0]["project_id"], extra, self.other_activity(days[key])
            )
            for row in [*days[key], added]:
                row["overtime_approved"] = True
                self.lookalike(row, "daily_hours")
        for _ in range(count if free else 0):
            person, day = rng.choice(free), rng.choice(off_days)
            added = lines.add_time(person, day, rng.choice(person.projects)[0], rng.choice((2.0, 4.0, 6.0)))
            added["overtime_approved"] = True
            self.lookalike(added, "weekend_or_holiday")
        late = self.policy.late_entry_days
        for row in self.pick_lookalikes(list(lines.time), count):
            row["submitted_at"] = datetime.combine(
                row["work_date"] + timedelta(days=late), time(18, 0), tzinfo=UTC
            )
            self.lookalike(row, "late_entry")

    def _label_far_above_usual(self, history: list[Row]) -> None:
        """A day made longer by an injected anomaly (over the daily limit, say) is also far above the worker's
        usual when TE11's hours test says so: the anomaly necessarily breaks that rule too."""
        policy = self.policy
        usual = _usual_days(history, policy.hours_history_min_days)
        past = _day_totals(history)
        for (worker, _), rows in self.day_lines().items():
            if not any(r["id"] in self.labels for r in rows) or any(r["overtime_approved"] for r in rows):
                continue
            center = usual.get(worker)
            if center is None:
                continue
            total = sum(r["hours"] for r in rows)
            median, scale = center
            reached = sum(1 for hours in past[worker] if hours >= total - 0.005) / len(past[worker])
            if (
                total - median > max(policy.hours_outlier_min_extra, policy.robust_z_threshold * scale) + 1e-9
                and reached < policy.outlier_explained_share
            ):
                for row in rows:
                    self.label(row, "hours_outlier")

    # -- expenses ------------------------------------------------------------------------------------------

    def expense_anomalies(self) -> None:
        # Every check draws from the lines as they stood before any check ran (copies made on the way are not
        # candidates), and the checks run in this order: the draws from ``rng`` depend on it.
        rows = list(self.lines.expenses)
        self._duplicate_expenses(rows)
        self._split_and_round_amounts(rows)
        self._receipt_and_tip_anomalies(rows)
        self._limit_anomalies(rows)
        self._consecutive_receipts()

    def _duplicate_expenses(self, rows: list[Row]) -> None:
        rng, policy = self.rng, self.policy
        limit = policy.split_limit
        for row in self.pick("duplicate_expense", rows, lambda r: r["amount"] >= limit):
            copy = self.copy_expense(row)
            self.touched.add(row["id"])
            self.label(copy, "duplicate_expense", *(["duplicate_receipt"] if row["receipt_sha256"] else []))
        reusable = {"airfare", "conference", "software", "supplies"}
        last_day = self.period[-1]
        for row in self.pick(
            "duplicate_receipt",
            rows,
            lambda r: (
                r["receipt_sha256"] is not None
                and r["expense_type"] in reusable
                and r["amount"] >= limit
                and r["expense_date"] + timedelta(days=10) <= last_day
            ),
        ):
            later = [d for d in self.period if d >= row["expense_date"] + timedelta(days=7)]
            copy = self.copy_expense(row, expense_date=rng.choice(later))
            self.touched.add(row["id"])
            self.label(copy, "duplicate_receipt", "receipt_date_mismatch")
        shareable = {"client_entertainment", "conference", "supplies", "software", "airfare"}
        people = self.lines.firm.people
        for row in self.pick(
            "duplicate_merchant_charge",
            rows,
            lambda r: (
                r["expense_type"] in shareable
                and r["amount"] >= max(limit, policy.merchant_match_min_amount)
                and not (r["expense_type"] in _ROUND_PRICED and r["amount"] % 5 == 0)  # a list price
            ),
        ):
            other = rng.choice([p for p in people if p.worker.id not in {row["worker_id"], *self.reserved}])
            copy = self.copy_expense(row, worker_id=other.worker.id, card_id=other.card, trip_id=None)
            attach_receipt(copy, rng)  # a photo of the same paper receipt: another file
            self.touched.add(row["id"])
            self.label(copy, "duplicate_merchant_charge")

    def _split_and_round_amounts(self, rows: list[Row]) -> None:
        rng, policy = self.rng, self.policy
        limit = policy.split_limit
        for row in self.pick(
            "split_transaction",
            rows,
            lambda r: r["expense_type"] in ("supplies", "software") and limit + 5 <= r["amount"] <= 3 * limit,
        ):
            parts = math.floor(row["amount"] / (limit * 0.85)) + 1
            weights = [rng.uniform(0.8, 1.2) for _ in range(parts)]
            amounts = [round(row["amount"] * w / sum(weights), 2) for w in weights]
            if max(amounts) >= limit:
                continue
            row["amount"], row["receipt_sha256"] = amounts[0], None
            for key in ("receipt_amount", "receipt_date", "receipt_number", "sanctioned_amount"):
                row[key] = None
            self.label(row, "split_transaction")
            for amount in amounts[1:]:
                self.label(self.copy_expense(row, amount=amount), "split_transaction")
        modulus = policy.round_amount_modulus
        charges = {(r["merchant"], r["expense_date"], r["amount"]) for r in self.lines.expenses}
        for row in self.pick(
            "round_amount",
            rows,
            lambda r: r["expense_type"] in ("airfare", "supplies") and r["amount"] >= 0.95 * modulus,
        ):
            rounded = round(row["amount"] / modulus) * modulus
            if (row["merchant"], row["expense_date"], rounded) in charges:
                continue  # two estimates would make one merchant charge twice: another check
            charges.add((row["merchant"], row["expense_date"], rounded))
            self.set_amount(row, rounded)
            self.label(row, "round_amount")

    def _receipt_and_tip_anomalies(self, rows: list[Row]) -> None:
        rng, policy = self.rng, self.policy
        always = set(policy.receipt_always_types)
        for row in self.pick(
            "receipt_missing",
            rows,
            lambda r: (
                r["receipt_sha256"] is not None
                and (r["expense_type"] in always or r["amount"] >= policy.receipt_required_at)
            ),
        ):
            for key in ("receipt_sha256", "receipt_amount", "receipt_date", "receipt_number"):
                row[key] = None
            self.label(row, "receipt_missing")
        for row in self.pick(
            "receipt_amount_mismatch",
            rows,
            lambda r: (
                r["receipt_sha256"] is not None and r["expense_type"] in ("airfare", "conference", "software")
            ),
        ):
            self.set_amount(row, row["amount"] * rng.uniform(1.01, 1.3), receipt_too=False)
            self.label(row, "receipt_amount_mismatch")
        for row in self.pick("receipt_date_mismatch", rows, lambda r: r["receipt_sha256"] is not None):
            shift = rng.randint(policy.receipt_date_tolerance_days + 1, 30) * rng.choice((-1, 1))
            row["receipt_date"] = row["expense_date"] + timedelta(days=shift)
            self.label(row, "receipt_date_mismatch")
        for row in self.pick("tip_above_limit", rows, lambda r: bool(r.get("tip_amount"))):
            share = rng.uniform(policy.tip_max_share + 0.01, 0.6)
            row["tip_amount"] = round(row["amount"] * share / (1 + share), 2)
            self.label(row, "tip_above_limit")

    def _limit_anomalies(self, rows: list[Row]) -> None:
        rng, policy = self.rng, self.policy
        modulus = policy.round_amount_modulus
        lodging = set(policy.lodging_types)
        for row in self.pick("per_diem_lodging", rows, lambda r: r["expense_type"] in lodging):
            rate = policy.lodging_per_night_by_city.get(row["city"], policy.lodging_per_night)
            self.set_amount(row, rate * rng.uniform(1.01, 1.8))
            self.label(row, "per_diem_lodging")
        self._meal_days()
        limits, meals = policy.per_attendee_limits, set(policy.meal_types)
        for row in self.pick(
            "per_attendee",
            rows,
            lambda r: (
                r["expense_type"] in limits and not (r["expense_type"] in meals and r["attendees"] == 1)
            ),
        ):
            limit_each = limits[row["expense_type"]]
            self.set_amount(row, limit_each * row["attendees"] * rng.uniform(1.02, 2.0))
            self.label(row, "per_attendee")
        for row in self.pick("sanctioned_above_claimed", rows, lambda r: r["sanctioned_amount"] is not None):
            row["sanctioned_amount"] = round(row["amount"] * rng.uniform(1.1, 1.5), 2)
            self.label(row, "sanctioned_above_claimed")
        for row in self.pick("advance_above_sanctioned", rows, lambda r: r["expense_type"] == "airfare"):
            row["advance_amount"] = round(
                (row["sanctioned_amount"] or row["amount"]) * rng.uniform(1.1, 2.0), 2
            )
            self.label(row, "advance_above_sanctioned")
        uncapped = set(_UNCAPPED)
        for row in self.pick(
            "amount_outlier",
            rows,
            lambda r: r["expense_type"] in uncapped and r["id"] in self.baselines,
        ):
            median, scale, highest = self.baselines[row["id"]]
            log_amount = median + max(
                scale * policy.robust_z_threshold * rng.uniform(1.15, 2.0),
                math.log(policy.outlier_min_ratio) + rng.uniform(0.1, 1.0),
            )
            if log_amount - median > math.log(_MAX_OUTLIER_RATIO) or math.exp(log_amount) <= highest * 1.05:
                continue  # a group too spread to show an outlier, or one the worker's history explains
            self.set_amount(row, math.exp(log_amount))
            if row["amount"] % modulus == 0:
                self.set_amount(row, row["amount"] + 0.37)
            self.label(row, "amount_outlier")

    def _meal_days(self) -> None:
        policy, rng = self.policy, self.rng
        meal_types = set(policy.meal_types)
        days: dict[tuple[str, date], list[Row]] = {}
        for row in self.lines.expenses:
            if row["expense_type"] in meal_types and row["attendees"] == 1:
                days.setdefault((row["worker_id"], row["expense_date"]), []).append(row)
        rate = self.rates.get("per_diem_meals", 0.0)
        for key in sorted(days):
            rows = days[key]
            if key[0] in self.reserved or any(r["id"] in self.touched for r in rows) or rng.random() >= rate:
                continue
            mie = max(policy.mie_per_day_by_city.get(r["city"], policy.mie_per_day) for r in rows)
            total = sum(r["amount"] for r in rows)
            target = mie * rng.uniform(1.03, 1.6)
            biggest = max(rows, key=lambda r: r["amount"])
            self.set_amount(biggest, biggest["amount"] + target - total)
            for row in rows:
                self.label(row, "per_diem_meals")

    def _consecutive_receipts(self) -> None:
        """A pad of receipts: one merchant's numbers in a row, on taxis of one project dated a week or more
        apart (some runs just the minimum long)."""
        rng, policy = self.rng, self.policy
        by_worker: dict[str, dict[str, list[Row]]] = {}
        for row in self.lines.expenses:
            if row["expense_type"] == "taxi" and row["id"] not in self.touched and row["project_id"]:
                projects = by_worker.setdefault(row["worker_id"], {})
                projects.setdefault(row["project_id"], []).append(row)
        for person in self.lines.firm.people:
            if person.worker.id in self.reserved or rng.random() >= self.rates.get(
                "consecutive_receipts", 0.0
            ):
                continue
            count = policy.consecutive_receipts_min + rng.randrange(2)
            projects = by_worker.get(person.worker.id, {})
            rows = max(projects.values(), key=len, default=[])
            one_a_day = list({row["expense_date"]: row for row in rows}.values())
            if len(one_a_day) < count:
                continue
            chosen = sorted(rng.sample(one_a_day, k=count), key=lambda r: r["expense_date"])
            if (
                chosen[-1]["expense_date"] - chosen[0]["expense_date"]
            ).days < policy.consecutive_receipts_min_span_days:
                continue
            merchant = f"{chosen[0]['city']} Cab Co {rng.randint(100, 999)}"
            first = rng.randrange(1_000, 90_000)
            for number, row in enumerate(chosen, start=first):
                if row["receipt_sha256"] is None:
                    attach_receipt(row, rng)
                row["merchant"], row["receipt_number"] = merchant, f"{number:06d}"
                self.label(row, "consecutive_receipts")

    # -- legitimate look-alikes --------------------------------------------------------------------------

    def expense_lookalikes(self) -> None:
        """Lines a reviewer would clear, made after the anomalies on lines none touched: colleagues on one
        trip at one hotel and on one flight (one trip id), and claims just within a limit."""
        self._team_trips()
        rng, policy, count = self.rng, self.policy, _LOOKALIKES_PER_TYPE
        rows = list(self.lines.expenses)
        lodging, limits = set(policy.lodging_types), policy.per_attendee_limits
        for row in self.pick_lookalikes(rows, count, lambda r: r["expense_type"] in lodging):
            self.set_amount(row, policy.lodging_per_night_by_city.get(row["city"], policy.lodging_per_night))
            self.lookalike(row, "per_diem_lodging")
        for row in self.pick_lookalikes(
            rows, count, lambda r: r["expense_type"] in limits and r["attendees"] > 1
        ):
            self.set_amount(row, limits[row["expense_type"]] * row["attendees"] * rng.uniform(0.97, 1.0))
            self.lookalike(row, "per_attendee")
        for row in self.pick_lookalikes(rows, count, lambda r: bool(r.get("tip_amount"))):
            share = policy.tip_max_share * rng.uniform(0.85, 0.98)
            row["tip_amount"] = round(row["amount"] * share / (1 + share), 2)
            self.lookalike(row, "tip_above_limit")
        for row in self.pick_lookalikes(rows, count, lambda r: r["receipt_sha256"] is not None):
            days = policy.receipt_date_tolerance_days * rng.choice((-1, 1))
            row["receipt_date"] = row["expense_date"] + timedelta(days=days)
            self.lookalike(row, "receipt_date_mismatch")
        for row in self.pick_lookalikes(
            rows, count, lambda r: r["expense_type"] == "supplies" and r["receipt_sha256"] is None
        ):
            self.set_amount(row, policy.receipt_required_at - rng.uniform(0.01, 3.0))
            self.lookalike(row, "receipt_missing")

    def _team_trips(self) -> None:
        """Colleagues joining a trip: the same hotel on the same nights at the negotiated rate, the same
        flight, under the trip's id. Equal charges at one merchant, and no duplicate."""
        rng, policy = self.rng, self.policy
        people = [p for p in self.lines.firm.people if p.worker.id not in self.reserved]
        booked = {
            (r["worker_id"], r["expense_date"])
            for r in self.lines.expenses
            if r["expense_type"] in (*policy.lodging_types, "airfare")
        }
        by_trip: dict[str, list[Row]] = {}
        for row in self.lines.expenses:
            if row["trip_id"] and row["expense_type"] in (*policy.lodging_types, "airfare"):
                by_trip.setdefault(row["trip_id"], []).append(row)
        trips = sorted(
            trip
            for trip, rows in by_trip.items()
            if not any(r["id"] in self.touched or r["worker_id"] in self.reserved for r in rows)
        )
        made = 0
        for trip in rng.sample(trips, k=len(trips)):
            if made >= _LOOKALIKES_PER_TYPE:
                break
            rows = by_trip[trip]
            days = {r["expense_date"] for r in rows}
            free = [
                p
                for p in people
                if p.worker.id != rows[0]["worker_id"] and not any((p.worker.id, d) in booked for d in days)
            ]
            for other in rng.sample(free, k=min(len(free), rng.randint(1, 3))):
                for row in rows:
                    copy = self.copy_expense(row, worker_id=other.worker.id, card_id=other.card)
                    attach_receipt(copy, rng)  # each traveller's own folio or e-ticket
                    booked.add((other.worker.id, row["expense_date"]))
                    self.lookalike(copy, "duplicate_merchant_charge")
                    made += 1
            for row in rows:
                self.touched.add(row["id"])


def _day_totals(time_rows: list[Row]) -> dict[str, list[float]]:
    totals: dict[tuple[str, date], float] = {}
    for row in time_rows:
        key = (row["worker_id"], row["work_date"])
        totals[key] = totals.get(key, 0.0) + row["hours"]
    by_worker: dict[str, list[float]] = {}
    for (worker, _), total in totals.items():
        by_worker.setdefault(worker, []).append(total)
    return by_worker


def _usual_days(time_rows: list[Row], minimum: int = 20) -> dict[str, tuple[float, float]]:
    """Each worker's median day and robust scale over the history, as TE11's hours test sees them."""
    usual: dict[str, tuple[float, float]] = {}
    for worker, totals in _day_totals(time_rows).items():
        center = robust_center(totals) if len(totals) >= minimum else None
        if center is not None:
            usual[worker] = center
    return usual


_MONTH_END_DAY = 11.5  # hours a month-end close takes
# Fares and parking rates are tight: an invented one stays below the outlier test's ratio to the usual.
_BENFORD_MAX = {"taxi": 3.9 * _TYPICAL["taxi"], "parking": 2.9 * _TYPICAL["parking"]}
_MAX_OUTLIER_RATIO = 15.0  # an inflated claim stays plausible: at most this many times the usual


def _all_days(days: list[date]) -> list[date]:
    first, last = days[0], days[-1]
    return [first + timedelta(days=n) for n in range((last - first).days + 1)]


# ------------------------------------------------------------------------------------------------------------
# Entry point
# ------------------------------------------------------------------------------------------------------------


def generate_sample_firm(
    *,
    seed: int = 2026,
    n_workers: int = 80,
    period_start: date = date(2026, 10, 1),
    period_end: date = date(2026, 12, 31),
    history_days: int = 0,
    rates: Mapping[str, float] | None = None,
    policy: AnomalyPolicy | None = None,
) -> GeneratedFirm:
    """The sample firm's lines for the period (labelled) and for ``history_days`` before it (clean).

    About 4 lines per worker per working day, half of them expenses: 80 workers over a quarter give about
    20,000 period lines. ``rates`` overrides ``DEFAULT_RATES``; ``policy`` (default ``sample_firm_policy()``)
    sets the limits the anomalies are made to break.
    """
    policy = policy or sample_firm_policy()
    rng = random.Random(seed)
    firm = _Firm(rng, n_workers, policy)
    history = _Lines(rng, firm, "H")
    if history_days > 0:
        _work(
            history,
            _working_days(period_start - timedelta(days=history_days), period_start - timedelta(days=1)),
        )
    period = _working_days(period_start, period_end)
    lines = _Lines(rng, firm, "")
    _work(lines, period)

    injector = _Injector(lines, policy, {**DEFAULT_RATES, **(rates or {})}, period)
    injector.habits(history)
    injector.learn_baselines(history.expenses)
    injector.identical_hours()
    # Benford needs many amounts: the invented ones come from people who travel (and claim) most.
    injector.benford(injector.pick_workers("benford", lambda p: p.traveller >= 0.15), history.expenses)
    injector.round_endings(injector.pick_workers("round_endings"), history.expenses)
    injector.time_anomalies(history.time)
    injector.expense_anomalies()
    injector.expense_lookalikes()

    # Lines in date order, a copy after its original (ids are in creation order).
    lines.time.sort(key=lambda r: (r["work_date"], r["id"]))
    lines.expenses.sort(key=lambda r: (r["expense_date"], r["id"]))
    return GeneratedFirm(
        policy=policy,
        workers=[p.worker for p in firm.people],
        time_rows=lines.time,
        expense_rows=lines.expenses,
        history_time_rows=history.time,
        history_expense_rows=history.expenses,
        labels=injector.labels,
        lookalikes=injector.lookalikes,
    )
