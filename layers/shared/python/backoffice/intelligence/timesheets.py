"""Timesheet compliance from the audit trail: the late rate by practice and week (issue #21 item 2).

Inputs: ``timesheet.week_checked`` (the missing-timesheet job's counts of a week by practice: who owed hours, on
the job case ``timesheet-reminders-<week>``; the newest per week wins, as a later run supersedes), and
``timesheet.reminded`` / ``timesheet.escalated`` (one per worker-week at most; counted per distinct worker and
week all the same). Late rate = worker-weeks reminded / worker-weeks expected; escalation rate likewise. A week
with reminders but no counts (none recorded) has no rate.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

from backoffice.intelligence.events import Event
from backoffice.intelligence.figures import _Model, latest_per, of_action, share, text

WEEK_CHECKED, REMINDED, ESCALATED = "timesheet.week_checked", "timesheet.reminded", "timesheet.escalated"
NO_PRACTICE = "(none)"


class ComplianceGroup(_Model):
    key: str  # a practice, a week's first day, or "<week> <practice>"
    expected: int  # worker-weeks that owed hours
    reminded: int  # worker-weeks missing or short after the due time
    escalated: int  # of those, still late after the escalation delay
    late_rate: float | None
    escalation_rate: float | None


class TimesheetCompliance(_Model):
    available: bool
    note: str
    weeks: int
    expected: int
    reminded: int
    escalated: int
    late_rate: float | None
    escalation_rate: float | None
    by_practice: list[ComplianceGroup]
    by_week: list[ComplianceGroup]
    by_practice_week: list[ComplianceGroup]


def _worker_weeks(events: Sequence[Event], action: str) -> dict[tuple[str, str], str]:
    """(week, worker) -> practice of each worker-week with a record of ``action``."""
    found: dict[tuple[str, str], str] = {}
    for e in of_action(events, action):
        week, worker = text(e.data.get("week_start")), text(e.data.get("worker_id"))
        if week and worker:
            found.setdefault((week, worker), text(e.data.get("practice")) or NO_PRACTICE)
    return found


def _groups(counts: dict[str, list[int]]) -> list[ComplianceGroup]:
    return [
        ComplianceGroup(
            key=key,
            expected=expected,
            reminded=reminded,
            escalated=escalated,
            late_rate=share(reminded, expected),
            escalation_rate=share(escalated, expected),
        )
        for key, (expected, reminded, escalated) in sorted(counts.items())
    ]


def timesheet_compliance(events: Sequence[Event]) -> TimesheetCompliance:
    """Worker-weeks reminded and escalated over worker-weeks expected, overall, by practice, week and both."""
    checked = latest_per(of_action(events, WEEK_CHECKED), lambda e: text(e.data.get("week_start")))
    cells: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0, 0])  # (week, practice) -> counts
    for week, e in checked.items():
        practices = e.data.get("by_practice")
        for practice, counts in practices.items() if isinstance(practices, dict) else []:
            expected = counts.get("expected") if isinstance(counts, dict) else None
            if isinstance(expected, int) and not isinstance(expected, bool):
                cells[(week, str(practice))][0] += expected
    for column, action in ((1, REMINDED), (2, ESCALATED)):
        for (week, _), practice in _worker_weeks(events, action).items():
            cells[(week, practice)][column] += 1
    if not cells:
        return TimesheetCompliance(
            available=False,
            note="n/a: no timesheet.week_checked or timesheet.reminded record (the reminder job has not run)",
            weeks=0,
            expected=0,
            reminded=0,
            escalated=0,
            late_rate=None,
            escalation_rate=None,
            by_practice=[],
            by_week=[],
            by_practice_week=[],
        )
    by_practice: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0])
    by_week: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0])
    for (week, practice), counts in cells.items():
        for target in (by_practice[practice], by_week[week]):
            for i in range(3):
                target[i] += counts[i]
    expected, reminded, escalated = (sum(c[i] for c in cells.values()) for i in range(3))
    return TimesheetCompliance(
        available=True,
        note=f"{reminded} of {expected} worker-week(s) reminded, {escalated} escalated, over {len(by_week)} week(s)",
        weeks=len(by_week),
        expected=expected,
        reminded=reminded,
        escalated=escalated,
        late_rate=share(reminded, expected),
        escalation_rate=share(escalated, expected),
        by_practice=_groups(by_practice),
        by_week=_groups(by_week),
        by_practice_week=_groups({f"{week} {practice}": c for (week, practice), c in cells.items()}),
    )


__all__ = ["ComplianceGroup", "TimesheetCompliance", "timesheet_compliance"]
