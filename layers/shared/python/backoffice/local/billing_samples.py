"""The sample firm's October 2026 billing period, seeded into the sandbox PSA, ERP and HRIS.

Fifteen time-and-materials projects carry the anomaly generator's month of work (60 people, about 2,500 time
lines and 1,600 expenses, with every TE anomaly injected and labelled) and 45 days of history before it; five
more are made by hand for the billing models the generator does not cover. One project per billing-readiness
rule gets its issue injected, so a billing run shows each rule at work:

===========  ================================================================  ===========================
project      what is wrong with it                                             expected
===========  ================================================================  ===========================
P-0001       nothing but the generator's anomalies                            reviewed, posted
P-0002       BR1: three timesheet lines still in draft                        blocked
P-0003       BR2: a line already billed on an earlier invoice                 left out, rest posted
P-0004       BR3: a zero-hour line, and one with negative hours (unreadable)  left out, rest posted
P-0005       BR4: two overlapping entries of one consultant                   reviewed, posted
P-0006       BR5: two lines at a rate above the rate card                     reviewed, posted
P-0007       BR6: the not-to-exceed cap is overrun by far                     blocked (pre-approval)
P-0008       nothing but the generator's anomalies                            reviewed, posted
P-0009       BR8: the client's purchase order has too little left             blocked
P-0010       BR9: the client is frozen in the ERP                             on hold
P-0011       BR9: work booked after the project's end                         blocked
P-0012       BR10: no sales tax template for the client                       blocked
P-0013       a line by a worker the HRIS does not know                        left out, rest posted
P-0014       a line in EUR on a USD project                                   blocked (BR10)
P-0015       its exception review is rejected in the demo                     lines returned, rest posted
P-0016       BR7: fixed fee, one milestone accepted, one not                  accepted milestone posted
P-0017       retainer: the monthly fee                                        posted
P-0018       only non-billable time                                           nothing to bill
P-0019       BR7: fixed fee, its milestone delivered but not accepted         nothing to bill yet
P-0020       a small clean project                                            posted, no review
===========  ================================================================  ===========================

And one line is booked to P-9999, a project the PSA does not have (reported, never billed).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any, Protocol

from backoffice.anomaly.generator import (
    GeneratedFirm,
    expense_entry_of,
    generate_sample_firm,
    sample_firm_policy,
    time_entry_of,
)
from backoffice.connectors.sandbox import SandboxStore
from backoffice.invoicing.readiness import BillingPeriod
from backoffice.models import (
    Address,
    Client,
    Contract,
    Milestone,
    Project,
    RateCard,
    RateCardLine,
    TimeEntry,
    Worker,
)

PERIOD = BillingPeriod(start=date(2026, 10, 1), end=date(2026, 10, 31))
GENERATED_PROJECTS = 15
_ACTIVITIES = ("consulting", "analysis", "project_management", "workshop", "documentation")
_COST_SHARE = Decimal("0.45")


@dataclass(frozen=True)
class SampleProject:
    project_id: str
    issue: str
    expected: str  # "Invoice Posted", "Invoice Blocked", "Nothing To Bill"


@dataclass
class BillingSample:
    period: BillingPeriod
    projects: list[SampleProject]
    counts: dict[str, int] = field(default_factory=dict)
    reject_review_of: tuple[str, ...] = ("P-0015",)

    def expected(self, project_id: str) -> str:
        return next(p.expected for p in self.projects if p.project_id == project_id)


PROJECTS: tuple[SampleProject, ...] = (
    SampleProject("P-0001", "the generator's anomalies only", "Invoice Posted"),
    SampleProject("P-0002", "BR1 draft time", "Invoice Blocked"),
    SampleProject("P-0003", "BR2 a line billed before", "Invoice Posted"),
    SampleProject("P-0004", "BR3 zero and negative hours", "Invoice Posted"),
    SampleProject("P-0005", "BR4 overlapping entries", "Invoice Posted"),
    SampleProject("P-0006", "BR5 rate above the rate card", "Invoice Posted"),
    SampleProject("P-0007", "BR6 not-to-exceed overrun", "Invoice Blocked"),
    SampleProject("P-0008", "the generator's anomalies only", "Invoice Posted"),
    SampleProject("P-0009", "BR8 purchase order balance too low", "Invoice Blocked"),
    SampleProject("P-0010", "BR9 client frozen", "Invoice Blocked"),
    SampleProject("P-0011", "BR9 work after the project's end", "Invoice Blocked"),
    SampleProject("P-0012", "BR10 no tax template", "Invoice Blocked"),
    SampleProject("P-0013", "unknown worker", "Invoice Posted"),
    SampleProject("P-0014", "a line in another currency", "Invoice Blocked"),
    SampleProject("P-0015", "exception review rejected", "Invoice Posted"),
    SampleProject("P-0016", "BR7 fixed fee, one milestone accepted", "Invoice Posted"),
    SampleProject("P-0017", "retainer fee", "Invoice Posted"),
    SampleProject("P-0018", "only non-billable time", "Nothing To Bill"),
    SampleProject("P-0019", "BR7 fixed fee, its milestone delivered, not accepted", "Nothing To Bill"),
    SampleProject("P-0020", "a small clean project", "Invoice Posted"),
)


def _client(number: int, name: str, **changes: Any) -> Client:
    values: dict[str, Any] = {
        "id": f"BC-{number:03d}",
        "customer_name": name,
        "tax_id": f"{number:02d}-{7_654_320 + number:07d}",
        "default_currency": "USD",
        "payment_terms_days": 30,
        "billing_email": f"ap@{name.split()[0].lower()}.example",
        "address": Address(
            line1=f"{100 + number} Commerce Street",
            city="Chicago",
            region="IL",
            postal_code="60601",
            country="US",
        ),
        **changes,
    }
    return Client.model_validate(values)


def billing_clients() -> list[Client]:
    return [
        _client(1, "Harbor Freight Lines Inc."),
        _client(2, "Bluestem Health System"),
        _client(3, "Cardinal Mutual Insurance Company"),
        _client(4, "Prairie State University"),
        _client(5, "Lakeshore Foods Corporation", requires_po=True),
        _client(6, "Summit Energy Cooperative", is_frozen=True),
        _client(7, "Ironwood Manufacturing LLC"),
        _client(8, "Greenleaf Retail Group"),
    ]


# Which client each project bills (BC-005 needs POs, BC-006 is frozen, BC-007 has no tax template).
_CLIENT_OF = {
    "P-0009": "BC-005",
    "P-0010": "BC-006",
    "P-0012": "BC-007",
}
_ORDINARY_CLIENTS = ("BC-001", "BC-002", "BC-003", "BC-004", "BC-008")


def _client_of(project_id: str) -> str:
    if project_id in _CLIENT_OF:
        return _CLIENT_OF[project_id]
    return _ORDINARY_CLIENTS[int(project_id[2:]) % len(_ORDINARY_CLIENTS)]


def _rate_card(project_id: str, rates: dict[str, Decimal]) -> RateCard:
    return RateCard(
        id=f"RC-{project_id}",
        name=f"Rates of SOW-{project_id}",
        client_id=_client_of(project_id),
        contract_id=f"SOW-{project_id}",
        effective_date=date(2026, 1, 1),
        end_date=date(2026, 12, 31),
        lines=[
            RateCardLine(
                role=role,
                activity_type=activity,
                currency="USD",
                billing_rate=rate,
                costing_rate=(rate * _COST_SHARE).quantize(Decimal("0.01")),
            )
            for role, rate in sorted(rates.items())
            for activity in _ACTIVITIES
        ],
    )


def _contract(project_id: str, rates: dict[str, Decimal], **changes: Any) -> Contract:
    values: dict[str, Any] = {
        "id": f"SOW-{project_id}",
        "kind": "sow",
        "client_id": _client_of(project_id),
        "title": f"Statement of work for {project_id}",
        "billing_model": "time_and_materials",
        "currency": "USD",
        "rates_by_role": rates,
        "payment_terms_days": 30,
        "effective_date": date(2026, 1, 1),
        "end_date": date(2026, 12, 31),
        **changes,
    }
    return Contract.model_validate(values)


def _project(project_id: str, **changes: Any) -> Project:
    values: dict[str, Any] = {
        "id": project_id,
        "project_name": f"Engagement {project_id}",
        "client_id": _client_of(project_id),
        "contract_id": f"SOW-{project_id}",
        "billing_model": "time_and_materials",
        "currency": "USD",
        "service_line": ("technology", "advisory", "digital", "risk")[int(project_id[2:]) % 4],
        "expected_start_date": date(2026, 1, 15),
        "expected_end_date": date(2026, 12, 31),
        **changes,
    }
    return Project.model_validate(values)


def generated_month(seed: int = 2026, *, history_days: int = 45) -> GeneratedFirm:
    return generate_sample_firm(
        seed=seed,
        n_workers=GENERATED_PROJECTS * 4,
        period_start=PERIOD.start,
        period_end=PERIOD.end,
        history_days=history_days,
    )


class _Put(Protocol):
    """Queues one record for the sandbox; a record with a ``day`` is a dated line (time entry, expense)."""

    def __call__(
        self, system: str, entity: str, record_id: str, body: dict[str, Any], day: date | None = None
    ) -> None: ...


def seed_billing_period(store: SandboxStore, *, seed: int = 2026, history_days: int = 45) -> BillingSample:
    """Writes the period's clients, projects, contracts, rate cards, workers and lines into the sandbox."""
    firm = generated_month(seed, history_days=history_days)
    rates = {
        str(row["role"]): Decimal(f"{row['billing_rate']:.2f}") for row in firm.time_rows if row.get("role")
    }
    records: list[tuple[str, str, str, date | None, dict[str, Any]]] = []

    def put(system: str, entity: str, record_id: str, body: dict[str, Any], day: date | None = None) -> None:
        records.append((system, entity, record_id, day, body))

    # The order of the puts is kept: a later record of the same id replaces an earlier one (P-0016, P-0019).
    _put_clients_and_workers(put, firm)

    # A non-billable line carries no billing rate in the PSA (BR5).
    time_entries = [
        entry
        if entry.is_billable
        else entry.model_copy(update={"billing_rate": Decimal(0), "billing_amount": Decimal(0)})
        for entry in map(time_entry_of, firm.time_rows)
    ]
    expenses = [expense_entry_of(row) for row in firm.expense_rows]
    _put_projects(put, rates, _billable_by_project(time_entries))

    by_project: dict[str, list[int]] = {}
    for index, entry in enumerate(time_entries):
        by_project.setdefault(entry.project_id, []).append(index)
    _inject_billing_issues(time_entries, by_project)
    extra = _solo_consultant_lines(put, firm, rates, time_entries[by_project["P-0001"][0]])

    for entry in [*time_entries, *extra]:
        put("psa", "time_entry", entry.id, entry.to_json_dict(), entry.work_date)
    for expense in expenses:
        put("psa", "expense", expense.id, expense.to_json_dict(), expense.expense_date)
    # Negative hours cannot make a TimeEntry: written as the PSA holds it.
    broken = time_entries[by_project["P-0004"][1]].to_json_dict()
    broken.update({"id": "TE-P-0004-NEG", "hours": "-3.5", "billing_hours": "-3.5"})
    put("psa", "time_entry", broken["id"], broken, date.fromisoformat(str(broken["work_date"])))
    _put_history(put, firm)

    written = store.put_many(r for r in records if r[3] is None)
    for entity in ("time_entry", "expense"):
        written += store.put_lines(
            "psa",
            entity,
            [(rid, day, body) for system, kind, rid, day, body in records if kind == entity and day],
        )
    return BillingSample(
        period=PERIOD,
        projects=list(PROJECTS),
        counts={
            "projects": len(PROJECTS),
            "time_lines": len(time_entries) + len(extra) + 1,
            "expense_lines": len(expenses),
            "history_lines": len(firm.history_time_rows) + len(firm.history_expense_rows),
            "workers": len(firm.workers),
            "anomalies_injected": sum(len(labels) for labels in firm.labels.values()),
            "records": written,
        },
    )


def _put_clients_and_workers(put: _Put, firm: GeneratedFirm) -> None:
    for client in billing_clients():
        put("erp", "customer", client.id, client.to_json_dict(reveal_secrets=True))
        if client.id != "BC-007":
            put(
                "erp",
                "tax_template",
                client.id,
                {"template": "US services - exempt (resale certificate on file)"},
            )
    put(
        "erp",
        "purchase_order",
        "BC-005#P-0009",
        {"po_no": "PO-77120", "po_date": "2026-09-15", "balance": "5000.00", "currency": "USD"},
    )
    for worker in firm.workers:
        put("hris", "worker", worker.id, _staffed(worker).to_json_dict())


# Practices are the projects' service lines; two people work four days a week (the rest the firm's 40 hours).
_PRACTICES = ("technology", "advisory", "digital", "risk")
_PART_TIME = {"W-0007": Decimal(32), "W-0031": Decimal(32)}


def _staffed(worker: Worker) -> Worker:
    """The generated worker with the practice and contracted hours the HRIS holds for them."""
    number = int(worker.id.removeprefix("W-"))
    return worker.model_copy(
        update={"practice": _PRACTICES[number % len(_PRACTICES)], "weekly_hours": _PART_TIME.get(worker.id)}
    )


def _billable_by_project(time_entries: list[TimeEntry]) -> dict[str, Decimal]:
    """The period's billable amount per project, before any issue is injected."""
    period_draft: dict[str, Decimal] = {}
    for entry in time_entries:
        if entry.is_billable:
            period_draft[entry.project_id] = (
                period_draft.get(entry.project_id, Decimal(0)) + entry.billing_amount
            )
    return period_draft


def _put_projects(put: _Put, rates: dict[str, Decimal], period_draft: dict[str, Decimal]) -> None:
    """Projects, contracts and rate cards: the generated T&M projects, then the hand-made billing models."""
    for number in range(1, GENERATED_PROJECTS + 1):
        pid = f"P-{number:04d}"
        project_changes: dict[str, Any] = {}
        contract_changes: dict[str, Any] = {}
        if pid == "P-0007":
            # Billed 80 % of the cap before; this month's work takes it far over.
            cap = (period_draft.get(pid, Decimal(0)) * 2).quantize(Decimal(1))
            contract_changes["not_to_exceed"] = cap
            project_changes["total_billed_amount"] = (cap * Decimal("0.8")).quantize(Decimal(1))
        if pid == "P-0011":
            project_changes["expected_end_date"] = date(2026, 10, 20)
            contract_changes["end_date"] = date(2026, 10, 20)
        put("psa", "project", pid, _project(pid, **project_changes).to_json_dict())
        put("psa", "contract", f"SOW-{pid}", _contract(pid, rates, **contract_changes).to_json_dict())
        put("psa", "rate_card", f"RC-{pid}", _rate_card(pid, rates).to_json_dict())

    fixed_fee = {
        "P-0016": [
            Milestone(
                id="MS-P-0016-1",
                name="Current-state assessment",
                amount=Decimal("40000"),
                due_date=date(2026, 10, 15),
                status="accepted",
                accepted_date=date(2026, 10, 16),
            ),
            Milestone(
                id="MS-P-0016-2",
                name="Target operating model",
                amount=Decimal("60000"),
                due_date=date(2026, 10, 30),
                status="delivered",
            ),
        ],
        "P-0019": [
            Milestone(
                id="MS-P-0019-1",
                name="Audit plan",
                amount=Decimal("25000"),
                due_date=date(2026, 10, 23),
                status="delivered",
            ),
        ],
    }
    for pid, milestones in fixed_fee.items():
        put("psa", "project", pid, _project(pid, billing_model="fixed_fee").to_json_dict())
        contract = _contract(
            pid,
            {},
            billing_model="fixed_fee",
            fixed_fee=sum(m.amount for m in milestones),
            milestones=milestones,
        )
        put("psa", "contract", contract.id, contract.to_json_dict())
    put("psa", "project", "P-0017", _project("P-0017", billing_model="retainer").to_json_dict())
    put(
        "psa",
        "contract",
        "SOW-P-0017",
        _contract(
            "P-0017", {}, billing_model="retainer", monthly_retainer_fee=Decimal("25000")
        ).to_json_dict(),
    )
    for pid in ("P-0018", "P-0020"):
        put("psa", "project", pid, _project(pid).to_json_dict())
        put("psa", "contract", f"SOW-{pid}", _contract(pid, rates).to_json_dict())
        put("psa", "rate_card", f"RC-{pid}", _rate_card(pid, rates).to_json_dict())


def _inject_billing_issues(time_entries: list[TimeEntry], by_project: dict[str, list[int]]) -> None:
    """One issue per billing-readiness rule, written over the project's lines in ``time_entries``."""

    def change(pid: str, nth: int, **updates: Any) -> TimeEntry:
        index = by_project[pid][nth]
        time_entries[index] = time_entries[index].model_copy(update=updates)
        return time_entries[index]

    for nth in (0, 1, 2):
        change("P-0002", nth, status="draft")  # BR1
    change("P-0003", 0, invoice_id="SINV-2026-PRIOR")  # BR2
    change("P-0004", 0, hours=Decimal(0), billing_hours=Decimal(0), billing_amount=Decimal(0))  # BR3
    first = change("P-0005", 0)  # BR4: the next entry of the same worker and day overlaps it
    start = datetime.combine(first.work_date, datetime.min.time(), tzinfo=UTC) + timedelta(hours=9)
    change("P-0005", 0, from_time=start, to_time=start + timedelta(hours=float(first.hours)))
    overlap = time_entries[by_project["P-0005"][1]].model_copy(
        update={
            "worker_id": first.worker_id,
            "work_date": first.work_date,
            "from_time": start + timedelta(hours=1),
            "to_time": start + timedelta(hours=3),
            "hours": Decimal(2),
            "billing_hours": Decimal(2),
            "billing_amount": first.billing_rate * 2,
            "role": first.role,
        }
    )
    time_entries[by_project["P-0005"][1]] = overlap
    for nth in (0, 1):  # BR5: 20 % above the card
        line = time_entries[by_project["P-0006"][nth]]
        rate = (line.billing_rate * Decimal("1.2")).quantize(Decimal("0.01"))
        change(
            "P-0006",
            nth,
            billing_rate=rate,
            billing_amount=(rate * line.billing_hours).quantize(Decimal("0.01")),
        )
    change("P-0013", 0, worker_id="W-9999")  # unknown worker
    change("P-0014", 0, currency="EUR")  # another currency


def _solo_consultant_lines(
    put: _Put, firm: GeneratedFirm, rates: dict[str, Decimal], first_line: TimeEntry
) -> list[TimeEntry]:
    """P-0018 and P-0020 are staffed by a consultant who works on nothing else this month; one orphan line."""
    extra: list[TimeEntry] = []
    # A part-timer (24 hours a week) of the technology practice, P-0020's.
    solo = firm.workers[0].model_copy(
        update={"id": "W-0100", "name": "Worker 0100", "practice": "technology", "weekly_hours": Decimal(24)}
    )
    put("hris", "worker", solo.id, solo.to_json_dict())
    template = first_line.model_copy(
        update={"worker_id": solo.id, "role": solo.roles[0], "billing_rate": rates[solo.roles[0]]}
    )
    clean_days = [
        PERIOD.start + timedelta(days=d)
        for d in range(1, 30)
        if (PERIOD.start + timedelta(days=d)).weekday() < 5
    ]
    clean_hours = (Decimal("3.5"), Decimal("4.25"), Decimal(5), Decimal("2.75"), Decimal(6), Decimal(3))
    for n, (day, hours) in enumerate(zip(clean_days[:6], clean_hours, strict=True), start=1):
        for pid, billable in (("P-0020", True), ("P-0018", False)):
            extra.append(
                template.model_copy(
                    update={
                        "id": f"TE-{pid}-{n:03d}",
                        "project_id": pid,
                        "work_date": day,
                        "hours": hours,
                        "billing_hours": hours,
                        "billing_amount": template.billing_rate * hours if billable else Decimal(0),
                        "billing_rate": template.billing_rate if billable else Decimal(0),
                        "is_billable": billable,
                        "status": "approved",
                        "submitted_at": datetime.combine(day, datetime.min.time(), tzinfo=UTC)
                        + timedelta(hours=18),
                    }
                )
            )
    extra.append(template.model_copy(update={"id": "TE-ORPHAN-001", "project_id": "P-9999"}))
    return extra


def _put_history(put: _Put, firm: GeneratedFirm) -> None:
    """The history before the period (``history_days``), billed on earlier invoices."""
    for row in firm.history_time_rows:
        entry = time_entry_of(row).model_copy(update={"invoice_id": "SINV-HISTORY"})
        put("psa", "time_entry", entry.id, entry.to_json_dict(), entry.work_date)
    for row in firm.history_expense_rows:
        past = expense_entry_of(row).model_copy(update={"invoice_id": "SINV-HISTORY"})
        put("psa", "expense", past.id, past.to_json_dict(), past.expense_date)


def anomaly_policy_json() -> str:
    """The sample firm's anomaly policy (its city rates and Benford reference), as the ANOMALY_POLICY setting."""
    return sample_firm_policy().model_dump_json()


def billing_period_closed(period: BillingPeriod = PERIOD, *, rerun: str | None = None) -> dict[str, Any]:
    detail: dict[str, Any] = {"period_start": period.start.isoformat(), "period_end": period.end.isoformat()}
    if rerun:
        detail["rerun"] = rerun
    return detail
