"""Six months of a 150-person firm's audit trail, for ``backoffice report --sample`` and the report's screenshots.

The records have the shapes the real handlers write (docs/metrics.md lists the data each management number reads):
onboarding cases from closed-won deals, monthly billing runs with a case per project (exception reviews, invoice
approvals, ``invoice.posted`` with the invoice's amounts and its time at the rate card), the clients' payments and a
few disputes (``invoice.paid``, ``invoice.credited``), the monthly delivery measurement (``delivery.measured`` per
person, ``wip.measured`` per project), vendor approvals and the monthly reconciliation with its findings.

Timings are those of a working firm, not of a demo that runs in seconds: people answer in office hours (09:00 to
18:00, Monday to Friday, public holidays off), so a request sent on Friday evening waits for Monday; billing runs on
the second working day after the month end; clients pay in 20 to 75 days, each at its own habit; the firm's people
book 60 to 85 % of their available hours to clients. The same seed always gives the same records.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from backoffice.audit import Actor, AuditRecord
from backoffice.intelligence.figures import month_end
from backoffice.intelligence.samples import ONBOARDING_PATHS, Clock, SampleCase, TrailWriter, onboarding_case

FIRST_MONTH = date(2026, 5, 1)
MONTHS = 6
# The report is read as of the end of the month after the last one measured: that month's invoices are out and
# partly paid, so receivables and their aging have a shape.
OFFICE_OPENS, OFFICE_CLOSES = time(9), time(18)
# The firm's public holidays in the sample's months (US federal, as observed).
HOLIDAYS = frozenset(
    {
        date(2026, 5, 25),
        date(2026, 6, 19),
        date(2026, 7, 3),
        date(2026, 9, 7),
        date(2026, 10, 12),
        date(2026, 11, 11),
        date(2026, 11, 26),
        date(2026, 11, 27),
    }
)

# Practice, people, of which part-time, and the partners who review its billing exceptions.
PRACTICES = (
    ("Strategy", 30, "jonas.weber@example-firm.com"),
    ("Technology", 55, "amara.diallo@example-firm.com"),
    ("Finance Advisory", 35, "alex.chen@example-firm.com"),
    ("Operations", 18, "maria.santos@example-firm.com"),
    ("Firm services", 12, None),  # finance, HR, IT: no client work
)
# Role, share of a practice, hourly rate at the rate card (USD), utilization target.
ROLES = (
    ("partner", 0.08, Decimal(450), 0.45),
    ("director", 0.10, Decimal(350), 0.60),
    ("manager", 0.20, Decimal(275), 0.72),
    ("senior consultant", 0.30, Decimal(200), 0.80),
    ("consultant", 0.32, Decimal(160), 0.82),
)
FINANCE = ("priya.raman@example-firm.com", "tom.becker@example-firm.com")
BILLING = ("sam.ortiz@example-firm.com", "ines.moreau@example-firm.com")
PROCUREMENT = ("kofi.mensah@example-firm.com", "julia.novak@example-firm.com")
CLIENT_NAMES = (
    "Bluestem Health System",
    "Greenleaf Retail Group",
    "Northwind Logistics",
    "Coho Winery",
    "Fabrikam Energy",
    "Contoso Pharmaceuticals",
    "Tailspin Airlines",
    "Wingtip Insurance",
    "Litware Software",
    "Adatum Bank",
    "Proseware Media",
    "Lucerne Publishing",
    "Humongous Insurance",
    "Margie's Travel",
    "Alpine Ski House",
    "Woodgrove Bank",
    "Fourth Coffee",
    "Blue Yonder Airlines",
    "Trey Research",
    "Graphic Design Institute",
    "School of Fine Art",
    "Wide World Importers",
    "City Power & Light",
    "Relecloud",
    "VanArsdel Foods",
    "Munson's Pickles",
    "Southridge Video",
    "Consolidated Messenger",
    "First Up Consultants",
    "Lamna Healthcare",
)
EXCEPTION_RULES = ("TE3", "TE7", "TE1", "TE4", "TE5", "TE10", "TE11", "TE9")
CENT = Decimal("0.01")


def _money(value: Decimal) -> str:
    return str(value.quantize(CENT, rounding=ROUND_HALF_UP))


# -- the office clock ---------------------------------------------------------------------------------------------


def is_working_day(day: date) -> bool:
    return day.weekday() < 5 and day not in HOLIDAYS


def _next_open(moment: datetime) -> datetime:
    """The moment itself if the office is open then, else when it next opens."""
    day = moment.date()
    if is_working_day(day) and OFFICE_OPENS <= moment.time() < OFFICE_CLOSES:
        return moment
    if is_working_day(day) and moment.time() < OFFICE_OPENS:
        return datetime.combine(day, OFFICE_OPENS, tzinfo=UTC)
    day += timedelta(days=1)
    while not is_working_day(day):
        day += timedelta(days=1)
    return datetime.combine(day, OFFICE_OPENS, tzinfo=UTC)


def office_hours_after(start: datetime, hours: float) -> datetime:
    """The moment ``hours`` of office time after ``start``: nights, weekends and holidays do not count."""
    moment = _next_open(start)
    remaining = timedelta(hours=hours)
    while True:
        closes = datetime.combine(moment.date(), OFFICE_CLOSES, tzinfo=UTC)
        if moment + remaining <= closes:
            return moment + remaining
        remaining -= closes - moment
        moment = _next_open(closes)


def working_day(start: date, n: int) -> date:
    """The ``n``-th working day on or after ``start`` (1 = the first)."""
    day, seen = start, 0
    while True:
        if is_working_day(day):
            seen += 1
            if seen == n:
                return day
        day += timedelta(days=1)


def _answer_hours(rng: random.Random, median: float = 3.0, longest: float = 45.0) -> float:
    """How long a person takes to answer, in office hours: most within the day, a long tail over days."""
    return min(longest, rng.lognormvariate(0, 1.1) * median)


def _months(first: date, count: int) -> list[date]:
    result, month = [], first
    for _ in range(count):
        result.append(month)
        month = month_end(month) + timedelta(days=1)
    return result


# -- the firm -------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Person:
    worker_id: str
    practice: str
    role: str
    rate: Decimal
    weekly_hours: Decimal
    target: float  # share of available hours booked to clients; 0 for firm services


@dataclass(frozen=True)
class Client:
    client_id: str
    name: str
    pays_in: float  # mean days from invoice to payment
    po_required: bool


@dataclass
class Project:
    project_id: str
    client: Client
    practice: str
    partner: str
    started: date
    realization: float  # billed / standard at the card: discounts and write-downs
    open_wip_days: int = 0  # a project whose approved work sits unbilled this long (a stuck WIP)


def _people(rng: random.Random) -> list[Person]:
    people: list[Person] = []
    for practice, size, partner in PRACTICES:
        for n in range(size):
            if partner is None:
                role, rate, target = "staff", Decimal(0), 0.0
            else:
                cumulative, pick = 0.0, (n + 0.5) / size
                role, rate, target = ROLES[-1][0], ROLES[-1][2], ROLES[-1][3]
                for name, share, card, goal in ROLES:
                    cumulative += share
                    if pick <= cumulative:
                        role, rate, target = name, card, goal
                        break
            part_time = rng.random() < 0.1
            weekly = Decimal(rng.choice((20, 24, 30, 32))) if part_time else Decimal(40)
            people.append(
                Person(
                    worker_id=f"W-{len(people) + 1:04d}",
                    practice=practice,
                    role=role,
                    rate=rate,
                    weekly_hours=weekly,
                    target=max(0.0, min(0.95, rng.gauss(target, 0.08))) if target else 0.0,
                )
            )
    return people


def _clients(rng: random.Random) -> list[Client]:
    clients = []
    for n, name in enumerate(CLIENT_NAMES, start=1):
        # Most pay within weeks; two are chronically slow (a public body's payment runs, a client in difficulty).
        slow = (150.0, 180.0)[n % 2] if n in (7, 20) else None
        habit = slow or rng.choice((22.0, 26.0, 28.0, 30.0, 34.0, 38.0, 45.0, 52.0, 60.0, 68.0))
        clients.append(Client(f"CUST-{n:04d}", name, habit, po_required=rng.random() < 0.25))
    return clients


def _projects(rng: random.Random, clients: list[Client]) -> list[Project]:
    partners = {practice: partner for practice, _size, partner in PRACTICES if partner}
    practices = list(partners)
    projects = []
    for n in range(1, 49):
        practice = practices[n % len(practices)]
        started = FIRST_MONTH - timedelta(days=rng.randint(0, 300)) if n <= 36 else FIRST_MONTH
        projects.append(
            Project(
                project_id=f"P-{n:04d}",
                client=clients[(n * 7) % len(clients)],
                practice=practice,
                partner=partners[practice],
                started=started + timedelta(days=30 * max(0, n - 36) // 2),
                realization=min(1.0, rng.gauss(0.95, 0.04)),
                open_wip_days=rng.choice((0, 0, 0, 0, 0, 45, 75, 120)),
            )
        )
    return projects


# -- the history ----------------------------------------------------------------------------------------------------


@dataclass
class _Books:
    """What the history has done so far: the month's hours per project, the invoices out and their payments."""

    writer: TrailWriter
    rng: random.Random
    as_of: datetime
    clock: Clock = office_hours_after


def _capacity(person: Person, first: date) -> Decimal:
    """Hours the person could work in the month before leave: working days x weekly hours / 5."""
    days = sum(1 for d in range(month_end(first).day) if is_working_day(first + timedelta(days=d)))
    return Decimal(days) * person.weekly_hours / 5


def _delivery_month(
    books: _Books, people: list[Person], projects: list[Project], first: date
) -> dict[str, dict[str, Decimal]]:
    """The month's ``delivery.measured`` records; returns each project's billable hours and value at the card."""
    rng, end = books.rng, month_end(first)
    running = [p for p in projects if p.started <= end]
    by_practice: dict[str, list[Project]] = {}
    for project in running:
        by_practice.setdefault(project.practice, []).append(project)
    months_in = (first.year - FIRST_MONTH.year) * 12 + first.month - FIRST_MONTH.month
    work: dict[str, dict[str, Decimal]] = {}
    at = datetime.combine(working_day(end + timedelta(days=1), 3), time(5, 30), tzinfo=UTC)
    case_id = f"delivery-{first:%Y-%m}"
    for person in people:
        available = _capacity(person, first)
        leave = Decimal(0)
        if rng.random() < 0.35:  # a week or a few days off
            leave = min(available, Decimal(rng.choice((8, 16, 24, 40))) * person.weekly_hours / 40)
        available -= leave
        # Utilization drifts up over the half year (the firm's push on timesheets) and dips in the summer.
        summer = 0.06 if first.month in (7, 8) else 0.0
        share = (
            max(0.0, min(0.98, rng.gauss(person.target + 0.012 * months_in - summer, 0.05)))
            if person.target
            else 0.0  # firm services book no client time
        )
        billable = (available * Decimal(str(round(share, 3)))).quantize(Decimal("0.5"))
        non_billable = max(Decimal(0), available - billable - Decimal(rng.randint(0, 8)))
        standard = billable * person.rate
        candidates = by_practice.get(person.practice, [])
        if candidates and billable:
            split = rng.sample(candidates, k=min(len(candidates), rng.choice((1, 1, 2, 3))))
            part = (billable / len(split)).quantize(Decimal("0.5"))
            for n, project in enumerate(split):
                # Equal parts in half hours; the last project takes what rounding left.
                hours = part if n < len(split) - 1 else billable - part * (len(split) - 1)
                figures = work.setdefault(project.project_id, {"hours": Decimal(0), "standard": Decimal(0)})
                figures["hours"] += hours
                figures["standard"] += hours * person.rate
        books.writer.add(
            case_id,
            at,
            "measure delivery",
            Actor.system("measure_delivery"),
            "delivery.measured",
            "measured",
            workflow="delivery",
            data={
                "month": f"{first:%Y-%m}",
                "worker_id": person.worker_id,
                "practice": person.practice,
                "employment": "employee",
                "available_hours": str(available),
                "leave_hours": str(leave),
                "billable_hours": str(billable),
                "non_billable_hours": str(non_billable),
                "standard_value_base": _money(standard),
            },
        )
        at += timedelta(milliseconds=40)
    for project in running:
        if project.project_id not in work:
            continue
        figures = work[project.project_id]
        # Work approved late in the month waits for next month's run; a stuck project keeps older work unbilled.
        recent = figures["standard"] * Decimal(str(round(rng.uniform(0.03, 0.09), 3)))
        aged = {"0-30": recent, "31-60": Decimal(0), "61-90": Decimal(0), "90+": Decimal(0)}
        if project.open_wip_days:
            bucket = (
                "31-60" if project.open_wip_days <= 60 else "61-90" if project.open_wip_days <= 90 else "90+"
            )
            aged[bucket] = figures["standard"] * Decimal("0.15")
        total = sum(aged.values(), Decimal(0))
        books.writer.add(
            case_id,
            at,
            "measure delivery",
            Actor.system("measure_delivery"),
            "wip.measured",
            "measured",
            workflow="delivery",
            data={
                "month": f"{first:%Y-%m}",
                "as_of": end.isoformat(),
                "project_id": project.project_id,
                "client_id": project.client.client_id,
                "practice": project.practice,
                "hours": str((figures["hours"] * Decimal("0.06")).quantize(Decimal("0.5"))),
                "wip_base": _money(total),
                "aging_base": {bucket: _money(value) for bucket, value in aged.items()},
            },
        )
        at += timedelta(milliseconds=40)
    return work


def _approval(
    case: SampleCase,
    step: str,
    level: str,
    rule: str,
    approvers: tuple[str, ...],
    *,
    decision: str = "approved",
    comment: str = "",
    extra: dict[str, Any] | None = None,
) -> str:
    """A request, its link opened and the decision, in office hours; returns who decided."""
    request_id = f"{case.case_id}-{level}".replace(" ", "-")
    case.system(
        step,
        "approvals",
        "approval.requested",
        "pending",
        seconds=(1, 4),
        reasons=[f"{level} (level 1 of 1, rule: {rule}): 1 of {len(approvers)} must approve"],
        data={"request_id": request_id, "approvers": list(approvers), "quorum": 1, "channel": "email"},
    )
    who = case.rng.choice(approvers)
    requested = case.at
    answered = case.clock(requested, _answer_hours(case.rng))
    if (answered - requested) > timedelta(hours=24):
        case.writer.add(
            case.case_id,
            requested + timedelta(hours=24),
            step,
            Actor.system("approvals"),
            "approval.reminded",
            "pending",
            workflow=case.workflow,
            data={"request_id": request_id},
        )
    case.at = max(answered, case.at)
    case.writer.add(
        case.case_id,
        case.at,
        step,
        Actor.user(who),
        "approval.link_viewed",
        "viewed",
        workflow=case.workflow,
        data={"request_id": request_id, "channel": "email"},
    )
    case.person(
        step,
        who,
        "approval.decided",
        decision,
        (0.01, 0.1),
        reasons=[comment] if comment else [],
        data={"request_id": request_id, "level": level, "quorum": 1, **(extra or {})},
    )
    return who


def _billing_run(
    books: _Books, projects: list[Project], first: date, work: dict[str, dict[str, Decimal]]
) -> list[dict[str, Any]]:
    """The month's billing run: a case per project with work to bill; returns the invoices posted."""
    rng, end = books.rng, month_end(first)
    run_id = f"billing-{first.isoformat()}-{end.isoformat()}"
    started = datetime.combine(working_day(end + timedelta(days=1), 2), time(6), tzinfo=UTC)
    run = SampleCase(books.writer, rng, run_id, started, workflow="invoicing", clock=books.clock)
    books.writer.add(
        run_id,
        started,
        "start case",
        Actor.system("start_case"),
        "case.started",
        "started",
        workflow="invoicing",
        reasons=["event Billing Period Closed from psa.certinia matched rule billing_period_closed"],
        data={"rule": "billing_period_closed"},
    )
    billed = [p for p in projects if p.project_id in work]
    run.system(
        "open billing period",
        "open_billing_period",
        "billing_period.opened",
        "opened",
        reasons=[f"{len(billed)} project(s) from {first} to {end}"],
        data={"period": {"start": first.isoformat(), "end": end.isoformat()}},
    )
    invoices = []
    for project in billed:
        invoice = _invoice_case(books, project, first, run.at + timedelta(seconds=rng.uniform(5, 90)), work)
        if invoice:
            invoices.append(invoice)
    run.system(
        "summarize billing run",
        "summarize_billing_run",
        "billing_run.completed",
        "completed",
        seconds=(60, 300),
        reasons=[f"{len(invoices)} invoice(s) posted"],
    )
    return invoices


def _invoice_case(
    books: _Books, project: Project, first: date, at: datetime, work: dict[str, dict[str, Decimal]]
) -> dict[str, Any] | None:
    rng, end = books.rng, month_end(first)
    case = SampleCase(
        books.writer,
        rng,
        f"billing-{first.isoformat()}-{end.isoformat()}-{project.project_id}",
        at,
        workflow="invoicing",
        clock=books.clock,
    )
    figures = work[project.project_id]
    flagged = rng.random() < 0.45
    blocked = project.client.po_required and rng.random() < 0.3
    if blocked:
        reason = "MissingPurchaseOrder: the client requires a PO number on every invoice (BR-04)"
        case.system(
            "check project billing", "check_project_billing", "billing.checked", "blocked", reasons=[reason]
        )
        case.publish("Invoicing Blocked", [reason])
        case.person(
            "resume case",
            "sam.ortiz@example-firm.com",
            "case.resumed",
            "started",
            (2, 30),
            reasons=["PO number added by the engagement manager"],
        )
    rules = rng.sample(EXCEPTION_RULES, k=rng.randint(1, 3)) if flagged else []
    case.system(
        "check project billing",
        "check_project_billing",
        "billing.checked",
        "review" if flagged else "passed",
        data={"project_id": project.project_id, "exceptions_by_rule": {r: rng.randint(1, 4) for r in rules}},
    )
    written_off: list[dict[str, Any]] = []
    if flagged:
        _approval(
            case,
            "billing exception review",
            "exception review",
            "billing exceptions go to the engagement partners",
            (project.partner,),
        )
        confirmed = [r for r in rules if rng.random() < 0.35]
        for n, rule in enumerate(confirmed):
            hours = Decimal(rng.choice((2, 3, 4, 6, 8, 12)))
            value = hours * Decimal(rng.choice((160, 200, 275)))
            written_off.append(
                {
                    "line_id": f"TE-{project.project_id}-{first:%Y%m}-{n + 1:03d}",
                    "kind": "time",
                    "rules": [rule],
                    "hours": str(hours),
                    "value_base": _money(value),
                }
            )
        case.system(
            "settle exception review",
            "settle_exception_review",
            "exceptions.settled",
            "approved",
            data={
                "period_start": first.isoformat(),
                "decisions_by_rule": {
                    r: {"cleared": int(r not in confirmed), "confirmed": int(r in confirmed)} for r in rules
                },
                "written_off": written_off,
                "written_off_base": _money(sum((Decimal(w["value_base"]) for w in written_off), Decimal(0))),
            },
        )
    standard = figures["standard"] - sum((Decimal(w["value_base"]) for w in written_off), Decimal(0))
    hours = figures["hours"] - sum((Decimal(w["hours"]) for w in written_off), Decimal(0))
    # The project's usual discount, and this month's write-downs on top of it now and then.
    realized = project.realization - (rng.uniform(0.02, 0.12) if rng.random() < 0.15 else 0.0)
    billed_time = standard * Decimal(str(round(min(1.0, realized), 3)))
    expenses = billed_time * Decimal(str(round(rng.uniform(0.0, 0.08), 3)))
    amount = billed_time + expenses
    case.system("draft invoice in ERP", "draft_invoice", "invoice.drafted", "drafted", seconds=(2, 20))
    if amount >= 50_000:
        _approval(
            case, "invoice approval", "finance approval", "invoices of 50,000 or more need finance", FINANCE
        )
    else:
        _approval(
            case,
            "invoice approval",
            "partner review",
            "invoices go to the engagement partner",
            (project.partner,),
        )
    invoice_number = f"INV-{first:%Y%m}-{project.project_id[2:]}"
    invoice_date = case.at.date()
    invoice = {
        "invoice_id": f"SINV-{first:%Y%m}{project.project_id[2:]}",
        "invoice_number": invoice_number,
        "amount": _money(amount),
        "currency": "USD",
        "lines_billed": int(hours / 4) + 3,
        "client_id": project.client.client_id,
        "project_id": project.project_id,
        "practice": project.practice,
        "invoice_date": invoice_date.isoformat(),
        "due_date": (invoice_date + timedelta(days=30)).isoformat(),
        "period_start": first.isoformat(),
        "period_end": end.isoformat(),
        "conversion_rate": "1",
        "amount_base": _money(amount),
        "hours_billed": str(hours),
        "time_billed_base": _money(billed_time),
        "time_standard_base": _money(standard),
    }
    case.system(
        "post invoice in ERP",
        "post_invoice",
        "invoice.posted",
        "posted",
        reasons=[f"invoice {invoice_number} for USD {invoice['amount']}"],
        data=invoice,
    )
    case.publish("Invoice Posted")
    invoice["case"] = case
    return invoice


def _collections(books: _Books, invoices: list[dict[str, Any]], clients: dict[str, Client]) -> None:
    """Each client pays at its habit; some pay in two parts; a few dispute and get a credit memo first."""
    rng = books.rng
    for invoice in sorted(invoices, key=lambda i: (i["invoice_date"], i["invoice_id"])):
        case: SampleCase = invoice.pop("case")
        client = clients[invoice["client_id"]]
        issued = date.fromisoformat(invoice["invoice_date"])
        due = date.fromisoformat(invoice["due_date"])
        open_amount = Decimal(invoice["amount"])
        common = {"invoice_id": invoice["invoice_id"], "client_id": client.client_id, "currency": "USD"}
        disputed = rng.random() < 0.04
        if disputed:
            credited_on = issued + timedelta(days=rng.randint(10, 30))
            credit = (open_amount * Decimal(str(rng.choice((0.05, 0.1, 0.2))))).quantize(CENT)
            open_amount -= credit
            if _at(credited_on) <= books.as_of:
                books.writer.add(
                    case.case_id,
                    _at(credited_on),
                    "record invoice payment",
                    Actor.system("record_invoice_payment"),
                    "invoice.credited",
                    "credited",
                    workflow="invoicing",
                    reasons=["credit memo: hours disputed by the client, agreed by the engagement partner"],
                    data={
                        **common,
                        "credit_id": f"CM-{invoice['invoice_id'][5:]}",
                        "credited_on": credited_on.isoformat(),
                        "amount": _money(credit),
                        "amount_base": _money(credit),
                        "open_after": _money(open_amount),
                        "open_after_base": _money(open_amount),
                        "reason": "hours disputed",
                    },
                )
        days = max(7, round(rng.gauss(client.pays_in + (20 if disputed else 0), 7)))
        parts = 2 if not disputed and rng.random() < 0.1 else 1
        for part in range(parts):
            paid_on = issued + timedelta(days=days if part == parts - 1 else days // 2)
            while paid_on.weekday() >= 5:
                paid_on += timedelta(days=1)
            if _at(paid_on) > books.as_of:
                break
            amount = open_amount if part == parts - 1 else (open_amount / 2).quantize(CENT)
            open_amount -= amount
            books.writer.add(
                case.case_id,
                _at(paid_on),
                "record invoice payment",
                Actor.system("record_invoice_payment"),
                "invoice.paid",
                "paid" if open_amount == 0 else "partly_paid",
                workflow="invoicing",
                reasons=[f"payment of USD {_money(amount)}; USD {_money(open_amount)} open"],
                data={
                    **common,
                    "payment_id": f"PYMT-{invoice['invoice_id'][5:]}-{part + 1}",
                    "paid_on": paid_on.isoformat(),
                    "amount": _money(amount),
                    "amount_base": _money(amount),
                    "invoice_date": issued.isoformat(),
                    "due_date": due.isoformat(),
                    "open_after": _money(open_amount),
                    "open_after_base": _money(open_amount),
                    "days_to_pay": (paid_on - issued).days,
                },
            )


def _at(day: date) -> datetime:
    """When the ERP's nightly read records a payment of that day."""
    return datetime.combine(day + timedelta(days=1), time(4, 15), tzinfo=UTC)


def _vendor_case(books: _Books, index: int, at: datetime) -> None:
    rng = books.rng
    case = SampleCase(
        books.writer, rng, f"vendor-sample-{index:03d}", at, workflow="vendor_approval", clock=books.clock
    )
    books.writer.add(
        case.case_id,
        at,
        "start case",
        Actor.system("start_case"),
        "case.started",
        "started",
        workflow="vendor_approval",
        reasons=[
            "event Vendor Onboarding Requested from procurement.portal matched rule vendor_onboarding_requested"
        ],
        data={"rule": "vendor_onboarding_requested"},
    )
    case.system("validate vendor request", "validate_vendor_request", "vendor_request.validated", "complete")
    if rng.random() < 0.3:  # documents missing: the vendor uploads them days later
        case.system("read vendor documents", "read_vendor_documents", "vendor_documents.read", "missing")
        case.at = case.clock(case.at, rng.uniform(8, 40))
    case.system(
        "read vendor documents", "read_vendor_documents", "vendor_documents.read", "read", seconds=(3, 20)
    )
    level = rng.choice(("low", "low", "medium", "high"))
    case.system("assess vendor", "assess_vendor", "vendor.assessed", "approval", data={"level": level})
    case.system("create vendor in ERP on hold", "create_vendor_on_hold", "vendor.created_on_hold", "on_hold")
    rejected = rng.random() < 0.12
    _approval(
        case,
        "vendor approval",
        "procurement approval",
        "new vendors need procurement",
        PROCUREMENT,
        decision="rejected" if rejected else "approved",
        comment="we already have a supplier for this" if rejected else "",
    )
    if level == "high" and not rejected:
        _approval(case, "vendor approval", "finance approval", "high-risk vendors need finance", FINANCE)
    if rejected:
        case.publish("Vendor Rejected", ["VendorRejected: rejected by procurement"])
        return
    case.system("release vendor in ERP", "release_vendor", "vendor.released", "released")
    case.publish("Vendor Approved")


def _reconciliation(books: _Books, first: date, at: datetime) -> None:
    rng, end = books.rng, month_end(first)
    case_id = f"reconcile-{first.isoformat()}-{end.isoformat()}"
    run = SampleCase(books.writer, rng, case_id, at, workflow="reconciliation", clock=books.clock)
    books.writer.add(
        case_id,
        at,
        "start case",
        Actor.system("start_case"),
        "case.started",
        "started",
        workflow="reconciliation",
        reasons=["event Billing Run Completed from backoffice.invoicing matched rule billing_run_completed"],
        data={"rule": "billing_run_completed"},
    )
    run.system("read PSA, ERP and CRM", "read_reconciliation_sources", "reconciliation.sources_read", "read")
    found = rng.randint(8, 22)
    closed = rng.randint(2, 7) if first > FIRST_MONTH else 0
    reviews = rng.randint(3, 7)
    counts = dict.fromkeys(("RC1", "RC3", "RC6", "RC7", "RC11"), 0)
    for _ in range(found):
        counts[rng.choice(list(counts))] += 1
    # The findings above the review threshold, each sent to its owner (keyed as the real rules key them).
    reviewed = [(rng.choice(("RC6", "RC3", "RC7")), f"P-{rng.randint(1, 48):04d}") for _ in range(reviews)]
    keys = [f"{rule}:{project}:{first:%Y-%m}" for rule, project in reviewed]
    summary = {
        "period_start": first.isoformat(),
        "period_end": end.isoformat(),
        "findings": found,
        "to_review": reviews,
        "sent_for_review": reviews,
        "counts_by_rule": counts,
        # Findings fixed since the last run no longer hold: this run closes them.
        "changes": {"new": found, "still_open": 0, "reopened": 0, "closed": closed},
        "as_of": run.at.date().isoformat(),
    }
    run.system(
        "compare PSA and ERP",
        "compare_psa_and_erp",
        "reconciliation.compared",
        "findings",
        data={**summary, "reviews": keys},
    )
    run.system(
        "summarize reconciliation",
        "summarize_reconciliation",
        "reconciliation.completed",
        "findings",
        data=summary,
    )
    run.publish("Reconciliation Completed")
    for n, ((rule, _project), key) in enumerate(zip(reviewed, keys, strict=True), start=1):
        finding = SampleCase(
            books.writer,
            rng,
            f"{case_id}-F{n:03d}",
            run.at + timedelta(seconds=n),
            workflow="reconciliation",
            clock=books.clock,
        )
        resolution = rng.choice(
            ("acknowledge", "fix_in_psa", "fix_in_erp", "write_off" if rule == "RC6" else "acknowledge")
        )
        _approval(
            finding,
            "reconciliation finding review",
            "billing review",
            "the rest: billing",
            BILLING,
            extra={"resolution": resolution},
        )
        status = "awaiting_fix" if resolution.startswith("fix") else "settled"
        finding.system(
            "reconciliation record finding decision",
            "settle_reconciliation_finding",
            "reconciliation.finding_settled",
            status,
            data={
                "applied": True,
                "key": key,
                "resolution": resolution,
                "status": status,
            },
        )
        finding.publish("Finding Reviewed")


def _timesheet_weeks(writer: TrailWriter, rng: random.Random, people: list[Person], first: date) -> None:
    """The missing-timesheet job's records of the weeks starting in the month (``time_expense.reminders``): the
    week's counts by practice, a reminder to about one person in twelve, an escalation for a third of those. Its own
    random stream, so the rest of the history stays as it was."""
    job = Actor.system("remind_missing_timesheets")
    monday = first + timedelta(days=(7 - first.weekday()) % 7)
    while monday.month == first.month:
        week = monday.isoformat()
        due = datetime.combine(monday + timedelta(days=7), time(14), tzinfo=UTC)
        counts: dict[str, dict[str, int]] = {}
        for person in people:
            practice = counts.setdefault(person.practice, {"expected": 0, "missing": 0, "short": 0})
            practice["expected"] += 1
            if rng.random() >= 0.08:
                continue
            status = rng.choice(("missing", "short"))
            practice[status] += 1
            data = {
                "worker_id": person.worker_id,
                "week_start": week,
                "practice": person.practice,
                "status": status,
            }
            case_id = f"timesheet-{person.worker_id}-{week}"
            args = ("chase missing timesheets", job)
            writer.add(
                case_id, due, *args, "timesheet.reminded", "mailed", workflow="timesheet_reminders", data=data
            )
            if rng.random() < 0.35:
                escalate_at = due + timedelta(days=2)
                writer.add(
                    case_id, escalate_at, *args, "timesheet.escalated", "mailed", workflow="timesheet_reminders",
                    data=data,
                )  # fmt: skip
        writer.add(
            f"timesheet-reminders-{week}", due, "chase missing timesheets", job, "timesheet.week_checked",
            "checked", workflow="timesheet_reminders", data={"week_start": week, "by_practice": counts},
        )  # fmt: skip
        monday += timedelta(days=7)


def sample_firm_records(
    seed: int = 20, months: int = MONTHS, onboardings_per_month: int = 9
) -> list[AuditRecord]:
    """Six months of the sample firm (150 people, 30 clients, 48 projects) as audit records, oldest first."""
    rng = random.Random(seed)
    writer = TrailWriter()
    calendar = _months(FIRST_MONTH, months)
    last_end = month_end(calendar[-1])
    as_of = datetime.combine(working_day(last_end + timedelta(days=1), 18), time(18), tzinfo=UTC)
    books = _Books(writer, rng, as_of)
    people = _people(rng)
    clients = _clients(rng)
    projects = _projects(rng, clients)
    names, weights = zip(*ONBOARDING_PATHS, strict=True)
    invoices: list[dict[str, Any]] = []
    onboarding_index = vendor_index = 0
    for first in calendar:
        end = month_end(first)
        for _ in range(onboardings_per_month):
            onboarding_index += 1
            day = first + timedelta(days=rng.randint(0, end.day - 1))
            at = _next_open(datetime.combine(day, time(rng.randint(7, 19), rng.randint(0, 59)), tzinfo=UTC))
            path = rng.choices(names, weights)[0]
            onboarding_case(writer, rng, onboarding_index, at, path, clock=office_hours_after)
        for _ in range(rng.randint(2, 4)):
            vendor_index += 1
            day = first + timedelta(days=rng.randint(0, end.day - 1))
            _vendor_case(books, vendor_index, _next_open(datetime.combine(day, time(10), tzinfo=UTC)))
        work = _delivery_month(books, people, projects, first)
        _timesheet_weeks(writer, random.Random(seed * 1000 + first.month), people, first)
        posted = _billing_run(books, projects, first, work)
        invoices.extend(posted)
        reconcile_at = datetime.combine(working_day(end + timedelta(days=1), 6), time(7), tzinfo=UTC)
        _reconciliation(books, first, reconcile_at)
    _collections(books, invoices, {c.client_id: c for c in clients})
    # What happens after the moment of reading is not history yet (a case's tail only: its chain stays whole).
    kept = [r for r in writer.records if datetime.fromisoformat(r.timestamp) <= as_of]
    return sorted(kept, key=lambda r: (r.timestamp, r.case_id, r.seq))


def sample_as_of(records: list[AuditRecord]) -> datetime:
    """The moment the sample is read at: the end of the month after the last one measured."""
    last = max(
        date.fromisoformat(r.data["month"] + "-01") for r in records if r.action == "delivery.measured"
    )
    return datetime.combine(working_day(month_end(last) + timedelta(days=1), 18), time(18), tzinfo=UTC)
