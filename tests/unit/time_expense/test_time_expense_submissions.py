"""Which lines a submission puts up for review: only the worker's lines still submitted; what an expense report
names but the PSA does not hold, or holds for someone else, is said, never decided (no AWS)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

from backoffice.connectors.ports import Page
from backoffice.local.time_expense_samples import week_expenses, week_time
from backoffice.models import ExpenseEntry, ExpenseReportSubmitted, TimeEntry, TimesheetSubmitted
from backoffice.time_expense.policy import TimeExpensePolicy
from backoffice.time_expense.review import plan_key, read_submitted_lines


class WeekPsa:
    """The PSA's listings over a fixed set of lines (one page)."""

    def __init__(self, time: list[TimeEntry], expenses: list[ExpenseEntry]) -> None:
        self.time, self.expenses = time, expenses

    def list_time_entries(self, start: date, end: date, page_token: str | None = None) -> Page[TimeEntry]:
        return Page([line for line in self.time if start <= line.work_date <= end])

    def list_expenses(self, start: date, end: date, page_token: str | None = None) -> Page[ExpenseEntry]:
        return Page([line for line in self.expenses if start <= line.expense_date <= end])


AT = datetime(2026, 12, 4, 17, 30, tzinfo=UTC)


def test_a_resubmitted_week_reviews_only_the_lines_still_submitted() -> None:
    # Given W-006's week, four days approved the first time and the Friday corrected and submitted again
    lines = [line for line in week_time() if line.worker_id == "W-006"]
    lines = [line.model_copy(update={"status": "approved"}) for line in lines[:4]] + lines[4:]
    other = [line for line in week_time() if line.worker_id == "W-005"]
    detail = TimesheetSubmitted(
        worker_id="W-006", week_start=date(2026, 11, 30), week_end=date(2026, 12, 6), submitted_at=AT
    )
    # When the submission is read
    found = read_submitted_lines(detail, WeekPsa([*lines, *other], []), TimeExpensePolicy())  # type: ignore[arg-type]
    # Then only the Friday is up for review; the four approved days are said to be decided already
    assert [line.id for line in found.time] == [lines[4].id]
    assert sorted(found.already_decided) == sorted(line.id for line in lines[:4])


def test_an_expense_report_says_what_it_names_but_cannot_review() -> None:
    # Given a report naming its two expenses, one of another worker, and one the PSA does not have
    hotel, taxi = week_expenses()
    foreign = taxi.model_copy(update={"id": "EX-OTHER", "worker_id": "W-099", "amount": Decimal("10")})
    detail = ExpenseReportSubmitted(
        report_id="ER-1",
        worker_id="W-007",
        expense_ids=[hotel.id, taxi.id, "EX-OTHER", "EX-GONE"],
        submitted_at=AT,
    )
    # When the report is read
    found = read_submitted_lines(detail, WeekPsa([], [hotel, taxi, foreign]), TimeExpensePolicy())  # type: ignore[arg-type]
    # Then its own two expenses are reviewed, and the other two are named with the reason
    assert [line.id for line in found.expenses] == [hotel.id, taxi.id]
    assert any("EX-GONE is not in the PSA" in p for p in found.problems)
    assert any("EX-OTHER belongs to worker W-099" in p for p in found.problems)
    assert (found.start, found.end) == (hotel.expense_date, taxi.expense_date)


def test_each_attempt_keeps_its_plan_apart() -> None:
    first = plan_key(
        "timesheet-W-1-2026-11-30", "arn:aws:states:eu-west-1:1:execution:sm:timesheet-W-1-2026-11-30"
    )
    again = plan_key(
        "timesheet-W-1-2026-11-30", "arn:aws:states:eu-west-1:1:execution:sm:timesheet-W-1-2026-11-30-sab"
    )
    assert first != again and first.startswith("time-expense/timesheet-W-1-2026-11-30/")
