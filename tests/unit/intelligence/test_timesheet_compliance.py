"""The late rate by practice and week (issue #21 item 2), worked out by hand, and reminders that are no cases.

The trail: two weeks. Week of 2 November: advisory expects 10 people, 2 reminded (1 escalated); technology
expects 5, 1 reminded; a first count of the week (advisory 9) is superseded by the later one. Week of 9 November:
advisory 10 expected, none late. Overall 3 of 25 worker-weeks reminded (12 %), 1 escalated (4 %); advisory 2 of 20
(10 %), technology 1 of 5 (20 %); the week of 2 November 3 of 15 (20 %).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

import pytest

from backoffice.audit import Actor
from backoffice.intelligence import build_report
from backoffice.intelligence.events import event_log
from backoffice.intelligence.samples import TrailWriter
from backoffice.intelligence.timesheets import timesheet_compliance

JOB = Actor.system("remind_missing_timesheets")
Clock = Callable[[float], datetime]


def checked(trail: TrailWriter, at: Clock, hours: float, week: str, by_practice: dict[str, int]) -> None:
    data = {
        "week_start": week,
        "by_practice": {p: {"expected": n, "missing": 0, "short": 0} for p, n in by_practice.items()},
    }
    trail.add(
        f"timesheet-reminders-{week}", at(hours), "chase missing timesheets", JOB, "timesheet.week_checked",
        "checked", workflow="timesheet_reminders", data=data,
    )  # fmt: skip


def late(
    trail: TrailWriter, at: Clock, hours: float, action: str, worker: str, week: str, practice: str
) -> None:
    data: dict[str, Any] = {
        "worker_id": worker,
        "week_start": week,
        "practice": practice,
        "status": "missing",
    }
    trail.add(
        f"timesheet-{worker}-{week}", at(hours), "chase missing timesheets", JOB, action, "mailed",
        workflow="timesheet_reminders", data=data,
    )  # fmt: skip


def test_the_late_rate_is_reminded_over_expected_worker_weeks_by_practice_and_week(
    trail: TrailWriter, at: Clock
) -> None:
    # Given the two weeks of the module docstring
    checked(trail, at, 0, "2026-11-02", {"advisory": 9, "technology": 5})
    late(trail, at, 1, "timesheet.reminded", "W-1", "2026-11-02", "advisory")
    late(trail, at, 1, "timesheet.reminded", "W-2", "2026-11-02", "advisory")
    late(trail, at, 1, "timesheet.reminded", "W-3", "2026-11-02", "technology")
    checked(trail, at, 2, "2026-11-02", {"advisory": 10, "technology": 5})
    late(trail, at, 50, "timesheet.escalated", "W-1", "2026-11-02", "advisory")
    checked(trail, at, 170, "2026-11-09", {"advisory": 10})
    # When the numbers are read
    found = timesheet_compliance(event_log(trail.records))
    # Then
    assert found.available and (found.weeks, found.expected, found.reminded, found.escalated) == (2, 25, 3, 1)
    assert (found.late_rate, found.escalation_rate) == (pytest.approx(0.12), pytest.approx(0.04))
    practices = {g.key: (g.expected, g.reminded, g.escalated, g.late_rate) for g in found.by_practice}
    assert practices == {"advisory": (20, 2, 1, 0.1), "technology": (5, 1, 0, 0.2)}
    weeks = {g.key: (g.expected, g.reminded, g.late_rate) for g in found.by_week}
    assert weeks == {"2026-11-02": (15, 3, 0.2), "2026-11-09": (10, 0, 0.0)}
    cell = next(g for g in found.by_practice_week if g.key == "2026-11-02 advisory")
    assert (cell.expected, cell.reminded, cell.escalated) == (10, 2, 1)


def test_no_reminder_record_gives_n_a_and_reminders_are_no_cases(trail: TrailWriter, at: Clock) -> None:
    assert not timesheet_compliance([]).available
    assert "n/a" in timesheet_compliance([]).note
    # Given only reminder records on worker-week cases / When the report is built
    late(trail, at, 1, "timesheet.reminded", "W-1", "2026-11-02", "advisory")
    report = build_report(trail.records)
    # Then no case is counted, and the number has reminders but no expected count to rate them against
    assert report.cases == 0
    number = report.management.timesheet_compliance
    assert (number.reminded, number.expected, number.late_rate) == (1, 0, None)


def test_a_late_submission_makes_the_worker_week_a_case_from_its_submission_on(
    trail: TrailWriter, at: Clock
) -> None:
    # Given a worker reminded (hour 0) and escalated (hour 48), who then submits (hour 50) and is approved (hour 52)
    late(trail, at, 0, "timesheet.reminded", "W-1", "2026-11-02", "advisory")
    late(trail, at, 48, "timesheet.escalated", "W-1", "2026-11-02", "advisory")
    case = "timesheet-W-1-2026-11-02"
    review = "time_expense_review"
    trail.add(
        case, at(50), "start case", Actor.system("start_case"), "case.started", "started", workflow=review
    )
    trail.add(
        case, at(52), "publish outcome", Actor.system("publish_outcome"), "outcome.published", "Timesheet Approved",
        workflow=review,
    )  # fmt: skip
    # When the report is built
    report = build_report(trail.records)
    # Then the worker-week is one case of the review, two hours long: the reminders are not its work
    (summary,) = report.case_summaries
    assert (summary.case_id, summary.workflow, summary.events) == (case, review, 2)
    assert summary.cycle_seconds == 2 * 3600
    assert report.management.timesheet_compliance.escalated == 1
