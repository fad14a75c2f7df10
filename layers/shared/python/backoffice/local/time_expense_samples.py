"""A week of time and expense submissions on the sample firm, for the weekly review (``make run`` and the tests).

The sample firm's people (``onboarding.sample_firm``: W-001... with their e-mails) work on two projects of their own
(``P-TE-01``, managed by W-001; ``P-TE-02``, managed by W-002), with eight weeks of ordinary history before the week
of Monday 30 November 2026. That week:

==========================  ===========================================================  ======================
submission                  what is in it                                                route
==========================  ===========================================================  ======================
W-005's timesheet           five ordinary days on P-TE-01                                 clean: approved by policy
W-006's timesheet           four ordinary days, and 14 hours on the Friday (TE11)       flagged: W-001 approves
W-007's expense report      a hotel night, a 98.00 receipt claimed at 398.00, a taxi     flagged: W-001 rejects,
                                                                                         the expenses go back
==========================  ===========================================================  ======================

``run_weekly_review`` (for ``backoffice demo``) seeds the week, puts the three events on the bus, lets the project
manager decide through the approval links, and prints one line per case.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any, TextIO

from backoffice.connectors.sandbox import SandboxStore
from backoffice.models import Document, ExpenseEntry, Project, TimeEntry

if TYPE_CHECKING:
    from backoffice.local.runtime import LocalRuntime

WEEK_START = date(2026, 11, 30)
WEEK_END = WEEK_START + timedelta(days=6)
HISTORY_WEEKS = 8
RATE = Decimal("180.00")
COST = Decimal("85.00")
PROJECTS = {"P-TE-01": "W-001", "P-TE-02": "W-002"}
CLEAN_WORKER, FLAGGED_WORKER, EXPENSE_WORKER = "W-005", "W-006", "W-007"
EXPENSE_REPORT = "ER-2026-1130-007"
_DESCRIPTIONS = (
    "Requirements workshop with the client's finance team",
    "Data migration mapping, general ledger",
    "Test scripts for the close process",
    "Status meeting and follow-ups",
    "Cut-over plan review",
)


@dataclass(frozen=True)
class SampleSubmission:
    """One submission of the week: its event, its case, and the route the sample expects."""

    detail_type: str
    detail: dict[str, Any]
    case_id: str
    route: str  # "clean", "flagged", "rejected"
    worker_id: str


def _time(worker_id: str, day: date, hours: Decimal, project_id: str, n: int, status: str) -> TimeEntry:
    return TimeEntry(
        id=f"TE-{worker_id}-{day.isoformat()}-{n}",
        worker_id=worker_id,
        project_id=project_id,
        activity_type="consulting",
        work_date=day,
        hours=hours,
        description=_DESCRIPTIONS[(day.toordinal() + n) % len(_DESCRIPTIONS)],
        is_billable=True,
        billing_hours=hours,
        billing_rate=RATE,
        billing_amount=(hours * RATE).quantize(Decimal("0.01")),
        costing_rate=COST,
        currency="USD",
        status=status,  # type: ignore[arg-type]
        submitted_at=datetime.combine(day + timedelta(days=1), datetime.min.time(), UTC),
    )


def _ordinary_week(worker_id: str, monday: date, status: str, project_id: str = "P-TE-01") -> list[TimeEntry]:
    hours = (Decimal("8"), Decimal("7.5"), Decimal("8"), Decimal("8.5"), Decimal("7.5"))
    return [
        _time(
            worker_id, monday + timedelta(days=d), hours[(d + int(worker_id[-1])) % 5], project_id, 1, status
        )
        for d in range(5)
    ]


def _expense(number: int, day: date, kind: str, amount: str, **facts: Any) -> ExpenseEntry:
    return ExpenseEntry.model_validate(
        {
            "id": f"EX-{EXPENSE_WORKER}-{number:03d}",
            "worker_id": EXPENSE_WORKER,
            "project_id": "P-TE-02",
            "expense_date": day,
            "expense_type": kind,
            "amount": Decimal(amount),
            "currency": "USD",
            "is_billable": True,
            "status": "submitted",
            **facts,
        }
    )


def _receipt(number: str, digest: str) -> Document:
    return Document(
        bucket="backoffice-documents",
        key=f"receipts/{EXPENSE_WORKER}/{number}.pdf",
        content_type="application/pdf",
        document_type="other",
        sha256=digest * 64,
    )


def week_expenses() -> list[ExpenseEntry]:
    """W-007's report: a hotel night whose receipt says 98.00 claimed at 398.00 (TE4, and above the lodging per
    diem, TE5), and a taxi."""
    return [
        _expense(
            1,
            WEEK_START + timedelta(days=1),
            "lodging",
            "398.00",
            merchant="Harbour Hotel",
            city="Boston",
            receipt_document=_receipt("HH-44120", "1"),
            receipt_amount=Decimal("98.00"),
            receipt_date=WEEK_START + timedelta(days=1),
            receipt_number="HH-44120",
            nights=1,
            description="Hotel, client workshop",
        ),
        _expense(
            2,
            WEEK_START + timedelta(days=2),
            "taxi",
            "38.40",
            merchant="City Cabs",
            city="Boston",
            receipt_document=_receipt("CC-9912", "2"),
            receipt_amount=Decimal("38.40"),
            receipt_date=WEEK_START + timedelta(days=2),
            receipt_number="CC-9912",
            description="Taxi to the client's office",
        ),
    ]


def week_time() -> list[TimeEntry]:
    """The week's submitted time: W-005's ordinary week; W-006's with 14 hours on the Friday, far above their own
    history (TE11)."""
    flagged = _ordinary_week(FLAGGED_WORKER, WEEK_START, "submitted")[:4]
    flagged.append(
        _time(FLAGGED_WORKER, WEEK_START + timedelta(days=4), Decimal("14"), "P-TE-01", 1, "submitted")
    )
    return [*_ordinary_week(CLEAN_WORKER, WEEK_START, "submitted"), *flagged]


def history() -> Iterator[TimeEntry]:
    """Eight approved weeks before the sample week, for the three workers and a few colleagues (peers)."""
    for weeks_back in range(1, HISTORY_WEEKS + 1):
        monday = WEEK_START - timedelta(weeks=weeks_back)
        for worker_id in (CLEAN_WORKER, FLAGGED_WORKER, EXPENSE_WORKER, "W-008", "W-009"):
            yield from _ordinary_week(worker_id, monday, "approved")


def seed_review_week(store: SandboxStore) -> list[SampleSubmission]:
    """The two projects (with their managers), the history and the week's lines, in the sandbox PSA; the week's
    three submissions. Seeding twice writes the same records."""
    for project_id, manager in PROJECTS.items():
        project = Project(
            id=project_id,
            project_name=f"Finance transformation {project_id[-2:]}",
            client_id="BC-001",
            billing_model="time_and_materials",
            currency="USD",
            service_line="advisory",
            project_manager_id=manager,
            expected_start_date=date(2026, 6, 1),
            expected_end_date=date(2027, 6, 30),
        )
        store.put("psa", "project", project.id, project.to_json_dict())
    store.put_lines(
        "psa",
        "time_entry",
        [(entry.id, entry.work_date, entry.to_json_dict()) for entry in [*history(), *week_time()]],
    )
    store.put_lines(
        "psa", "expense", [(line.id, line.expense_date, line.to_json_dict()) for line in week_expenses()]
    )
    return submissions()


def submissions(submitted_at: datetime | None = None, submission: str = "1") -> list[SampleSubmission]:
    at = (submitted_at or datetime(2026, 12, 4, 17, 30, tzinfo=UTC)).isoformat()
    week = {"week_start": WEEK_START.isoformat(), "week_end": WEEK_END.isoformat(), "submitted_at": at}
    return [
        SampleSubmission(
            "Timesheet Submitted",
            {"worker_id": CLEAN_WORKER, **week, "submission_id": f"TS-{CLEAN_WORKER}-1130-{submission}"},
            f"timesheet-{CLEAN_WORKER}-{WEEK_START.isoformat()}",
            "clean",
            CLEAN_WORKER,
        ),
        SampleSubmission(
            "Timesheet Submitted",
            {"worker_id": FLAGGED_WORKER, **week, "submission_id": f"TS-{FLAGGED_WORKER}-1130-{submission}"},
            f"timesheet-{FLAGGED_WORKER}-{WEEK_START.isoformat()}",
            "flagged",
            FLAGGED_WORKER,
        ),
        SampleSubmission(
            "Expense Report Submitted",
            {
                "report_id": EXPENSE_REPORT,
                "worker_id": EXPENSE_WORKER,
                "expense_ids": [line.id for line in week_expenses()],
                "submitted_at": at,
            },
            f"expense-report-{EXPENSE_REPORT}",
            "rejected",
            EXPENSE_WORKER,
        ),
    ]


# ------------------------------------------------------------------------------------------------------------
# The demo
# ------------------------------------------------------------------------------------------------------------


def run_weekly_review(runtime: LocalRuntime, out: TextIO) -> bool:
    """Seed the week, submit it, let W-001 (the projects' manager) approve the flagged timesheet and reject the
    expense report through the approval links, and print one line per case with its route and outcome. True when
    every case ended as the sample expects."""
    week = seed_review_week(runtime.sandbox())
    for submission in week:
        runtime.put_event(submission.detail_type, submission.detail, source="psa.certinia")
    decisions = {
        "flagged": ("approve", "Friday was the cut-over weekend, agreed"),
        "rejected": ("reject", ""),
    }
    ok = True
    for submission in week:
        if submission.route in decisions:
            action, comment = decisions[submission.route]
            comment = comment or "The hotel receipt says 98.00, not 398.00: correct the amount"
            if decide_by_link(runtime, submission.case_id, action, comment) is None:
                ok = False
    runtime.wait_until_idle(timeout=120)
    for submission in week:
        outcome = _outcome(runtime, submission.case_id)
        expected = {"clean": "approved by policy", "flagged": "approved by the PM", "rejected": "sent back"}
        ok = ok and outcome == expected[submission.route]
        out.write(f"  {submission.case_id:<44} {submission.route:<9} -> {outcome}\n")
    return ok


def decide_by_link(
    runtime: LocalRuntime, case_id: str, action: str, comment: str, *, timeout: float = 60
) -> str | None:
    """Wait for the case's approval request, then decide it as its first approver does: open the link in their
    e-mail and submit the page's form. The page's heading, or None when no request came in time."""
    from backoffice.approvals.store import ApprovalStore
    from backoffice.local.approver import decide_via_http
    from backoffice.local.outbox import read_outbox
    from infra.catalog import Ref

    approvals = ApprovalStore(runtime.resolve(Ref("table_name", "approvals")), runtime.client("dynamodb"))
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for request in approvals.pending_requests():
            if request.case_id != case_id:
                continue
            approver = request.approvers[0]
            mails = [m for m in read_outbox(runtime.outbox_dir) if m.to == approver and case_id in m.text]
            if mails and mails[-1].approval_links:
                _, heading, _ = decide_via_http(mails[-1].approval_links[0], action, approver, comment)
                return heading
        time.sleep(0.1)
    return None


def _outcome(runtime: LocalRuntime, case_id: str) -> str:
    from backoffice.audit import AuditTrail
    from infra.catalog import Ref

    deadline = time.monotonic() + 30
    while True:
        records = AuditTrail(runtime.resolve(Ref("table_name", "audit"))).records(case_id)
        actions = [(r.action, r.data.get("by")) for r in records]
        if any(a == "outcome.published" for a, _ in actions) or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    if any(action == "lines.rejected" for action, _ in actions):
        return "sent back"
    by = [who for action, who in actions if action == "lines.approved"]
    if by and by[-1] != "policy":
        return "approved by the PM"
    if by:
        return "approved by policy"
    return "not reviewed"
