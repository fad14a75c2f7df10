"""The reminder run over in-memory ports, trail, claims and mailer: who is mailed, what is recorded, and where an
escalation goes when a worker has no manager in the HRIS (their practice's lead, else the firm's recipients)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from backoffice.audit import Actor, AuditRecord
from backoffice.connectors.ports import Allocation, Page
from backoffice.delivery.policy import DeliveryPolicy
from backoffice.intelligence.samples import TrailWriter
from backoffice.models import Worker
from backoffice.time_expense.reminders import ESCALATED, REMINDED, SUMMARY, ReminderRun
from backoffice.time_expense.reminders_policy import ReminderPolicy

WEEK = date(2026, 11, 2)
AFTER_DUE = datetime(2026, 11, 9, 15, tzinfo=UTC)
AFTER_DELAY = datetime(2026, 11, 12, 15, tzinfo=UTC)


def person(worker_id: str, practice: str, **changes: Any) -> Worker:
    values: dict[str, Any] = {
        "id": worker_id,
        "name": f"Person {worker_id}",
        "email": f"{worker_id.lower()}@firm.example",
        "employment": "employee",
        "roles": ["consultant"],
        "cost_rate": Decimal(90),
        "currency": "USD",
        "practice": practice,
        **changes,
    }
    return Worker.model_validate(values)


class Hris:
    def __init__(self, workers: list[Worker]) -> None:
        self.workers = workers

    def list_workers(self, page_token: str | None = None) -> Page[Worker]:
        # Two pages, as a real HRIS pages
        half = len(self.workers) // 2
        return Page(self.workers[:half], "2") if page_token is None else Page(self.workers[half:])


class Psa:
    def list_time_entries(self, start: date, end: date, page_token: str | None = None) -> Page[Any]:
        return Page([])

    def allocations(self, start: date, end: date) -> list[Allocation]:
        return []


class Trail:
    def __init__(self) -> None:
        self.writer = TrailWriter()

    def records(self, case_id: str) -> list[AuditRecord]:
        return [r for r in self.writer.records if r.case_id == case_id]

    def append(self, *, case_id: str, workflow: str, step: str, actor: Actor, action: str, outcome: str,
               reasons: Iterable[str] = (), data: Mapping[str, Any] | None = None, **_: Any) -> AuditRecord:  # fmt: skip
        return self.writer.add(
            case_id,
            datetime.now(UTC),
            step,
            actor,
            action,
            outcome,
            workflow=workflow,
            reasons=reasons,
            data=data,
        )


class Claims:
    def __init__(self) -> None:
        self.taken: set[str] = set()

    def take(self, key: str) -> str | None:
        if key in self.taken:
            return None
        self.taken.add(key)
        return key

    def done(self, key: str, token: str) -> bool:
        return True


class Mailer:
    def __init__(self) -> None:
        self.sent: list[tuple[str, str]] = []
        self.html: list[str] = []

    def send(
        self, *, to: str, subject: str, text: str, html: str, tags: Mapping[str, str] | None = None
    ) -> str:
        self.sent.append((to, subject))
        self.html.append(html)
        return f"m-{len(self.sent)}"


def run_of(workers: list[Worker], **policy: Any) -> tuple[ReminderRun, Trail, Mailer]:
    trail, mailer = Trail(), Mailer()
    run = ReminderRun(
        hris=Hris(workers),  # type: ignore[arg-type]
        psa=Psa(),  # type: ignore[arg-type]
        trail=trail,
        claims=Claims(),
        mailer=mailer,
        reminders=ReminderPolicy(**policy),
        delivery=DeliveryPolicy(),
        fallback_recipients=("ops@firm.example",),
    )
    return run, trail, mailer


def test_escalations_go_to_the_manager_else_the_practice_lead_else_the_firms_recipients() -> None:
    # Given a manager and their report, a lead of risk, a risk worker without a manager, a strategy worker without
    # one and without a lead (named by the policy or the HRIS), and nobody submitted anything
    workers = [
        person("W-1", "advisory"),
        person("W-2", "advisory", manager_id="W-1"),
        person("W-3", "risk", roles=["partner", "practice_lead"]),
        person("W-4", "risk"),
        person("W-5", "strategy", email=None),
    ]
    run, trail, mailer = run_of(workers, practice_leads={"advisory": ("advisory-lead@firm.example",)})
    # When the run after the due time and the run after the delay come
    first = run.run(AFTER_DUE, why="test")["weeks"][0]
    later = run.run(AFTER_DELAY, why="test")["weeks"][0]
    # Then everyone was reminded (W-5 has no address: recorded, not mailed), then escalated
    assert (
        first["reminded"] == ["W-1", "W-2", "W-3", "W-4", "W-5"] and later["escalated"] == first["reminded"]
    )
    no_address = [r for r in trail.records("timesheet-W-5-2026-11-02") if r.action == REMINDED]
    assert no_address[0].outcome == "no_address"
    escalated_to = {
        r.case_id.split("-")[2]: r.data["to"] for r in trail.writer.records if r.action == ESCALATED
    }  # fmt: skip
    assert escalated_to == {
        "2": ["w-1@firm.example"],  # their manager
        "1": ["advisory-lead@firm.example"],  # no manager: the lead the policy names
        "3": ["w-3@firm.example"],  # the HRIS's practice lead (themselves)
        "4": ["w-3@firm.example"],
        "5": ["ops@firm.example"],  # no lead at all: the firm's recipients
    }
    # And one summary per lead: advisory's, risk's, and strategy's to the firm's recipients
    leads = sorted(r.data["lead"] for r in trail.writer.records if r.action == SUMMARY)
    assert leads == ["advisory-lead@firm.example", "ops@firm.example", "w-3@firm.example"]
    # And a third run sends nothing
    before = len(mailer.sent)
    again = run.run(AFTER_DELAY, why="test")["weeks"][0]
    assert (again["reminded"], again["escalated"], again["summaries"], len(mailer.sent)) == (
        [],
        [],
        [],
        before,
    )


def test_what_people_typed_is_escaped_in_the_mails() -> None:
    # Given a worker whose HRIS name holds markup, and their manager's
    workers = [
        person("W-1", "risk", name="<script>alert(1)</script> Boss"),
        person("W-2", "risk", name="Eve <b>Late</b>", manager_id="W-1"),
    ]
    run, _, mailer = run_of(workers)
    # When they are reminded and escalated
    run.run(AFTER_DUE, why="test")
    run.run(AFTER_DELAY, why="test")
    # Then every mail shows the names as text, never as markup
    assert mailer.html and not any("<script>" in html or "<b>Late" in html for html in mailer.html)
    assert any("Eve &lt;b&gt;Late&lt;/b&gt;" in html for html in mailer.html)
