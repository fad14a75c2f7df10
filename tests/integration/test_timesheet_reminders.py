"""Missing and late timesheets on the local runtime (issue #21 item 2): the real ``remind_missing_timesheets``
handler under its synthesized role, through the sandbox HRIS and PSA, mailing through SES into the outbox, on a
simulated clock (each run names its ``as_of``, as the daily schedule's runs would happen).

The week (``local/timesheet_reminder_demo.py``): of the sample firm's 39 active people, W-015, W-022 and W-030 book
nothing, W-024 leaves a full week in draft, W-018 and W-026 submit three and two days of five. Due Monday 9 November
2026 09:00 New York (14:00 UTC); two working days later, Veterans Day (Wednesday 11th) not counted, is Thursday
12th 09:00.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from backoffice.audit import AuditRecord, AuditTrail
from backoffice.delivery.policy import DeliveryPolicy
from backoffice.intelligence import build_report
from backoffice.local.outbox import Mail, read_outbox
from backoffice.local.runtime import LocalRuntime
from backoffice.local.timesheet_reminder_demo import (
    LATE_SUBMITTER,
    WEEK,
    remind,
    seed_timesheet_week,
    submit_late,
)
from backoffice.time_expense.expected_hours import worker_week_case_id
from backoffice.time_expense.reminder_timing import escalation_at
from backoffice.time_expense.reminders import CHECKED, ESCALATED, REMINDED, SUMMARY, job_case_id
from backoffice.time_expense.reminders_policy import ReminderPolicy
from infra.catalog import Ref
from tests.integration.test_sandbox_concurrency import at_once

POLICY, DELIVERY = ReminderPolicy(), DeliveryPolicy()
LATE = {"W-015", "W-018", "W-022", "W-024", "W-026", "W-030"}


@pytest.fixture(scope="module")
def runtime() -> Iterator[LocalRuntime]:
    logging.getLogger("moto").setLevel(logging.CRITICAL)
    with LocalRuntime(retry_time_scale=0.001, api_port=None) as local:
        yield local


def trail(runtime: LocalRuntime) -> AuditTrail:
    return AuditTrail(runtime.resolve(Ref("table_name", "audit")), dynamodb=runtime.client("dynamodb"))


def actions(runtime: LocalRuntime, worker_id: str, week: date = WEEK) -> list[AuditRecord]:
    return trail(runtime).records(worker_week_case_id(worker_id, week))


def mails_about(runtime: LocalRuntime, week_label: str) -> list[Mail]:
    return [m for m in read_outbox(runtime.outbox_dir) if week_label in m.subject]


def at(week: date, moment: str) -> datetime:
    due = POLICY.due_at(week).astimezone(UTC)
    return {"before due": due - timedelta(hours=1), "after due": due + timedelta(minutes=15)}.get(
        moment, due + timedelta(days=1)
    )


def test_a_week_is_reminded_once_escalated_after_the_delay_and_nothing_is_sent_twice(
    runtime: LocalRuntime,
) -> None:
    # Given the week of 2 November: most people submitted, six are missing or short
    workers = {w.id: w for w in seed_timesheet_week(runtime.sandbox(), WEEK)}
    label = "02 November 2026 to 08 November 2026"

    # When the job runs an hour before the timesheets are due
    early = remind(runtime, WEEK, at(WEEK, "before due"))
    # Then it knows who is late but sends nothing yet
    assert early.get("not_due") and set(early["missing"]) | set(early["short"]) == LATE
    assert (early["reminded"], mails_about(runtime, label)) == ([], [])

    # When the first run after the due time comes
    first = remind(runtime, WEEK, at(WEEK, "after due"))
    # Then each late worker is reminded once, by mail, with the week and the hours, and on their worker-week case
    assert set(first["reminded"]) == LATE and first["expected"] == 39
    reminders = [m for m in mails_about(runtime, label) if m.subject.strip().startswith("Timesheet ")]
    assert sorted(m.to for m in reminders) == sorted(str(workers[w].email) for w in LATE)
    short = next(m for m in reminders if m.to == workers["W-018"].email)
    assert "24.00 of 40.00 expected hours" in short.text and "Monday 09 November 2026, 09:00" in short.text
    reminded = [r for r in actions(runtime, "W-015") if r.action == REMINDED]
    assert len(reminded) == 1 and reminded[0].workflow == "timesheet_reminders"
    assert {k: reminded[0].data[k] for k in ("status", "expected_hours", "submitted_hours", "practice")} == {
        "status": "missing",
        "expected_hours": "40.00",
        "submitted_hours": "0.00",
        "practice": "technology",
    }
    # And each practice lead gets one summary: technology W-001, risk W-002; advisory has no lead: the firm's
    # notification recipients
    summaries = {m.to: m for m in mails_about(runtime, label) if "Missing and short" in m.subject}
    assert set(summaries) == {workers["W-001"].email, workers["W-002"].email, "ops@example-firm.com"}
    assert (
        "W-015" in summaries[workers["W-001"].email].text
        and "W-030" in summaries["ops@example-firm.com"].text
    )
    job = trail(runtime).records(job_case_id(WEEK))
    assert Counter(r.action for r in job) == {SUMMARY: 3, CHECKED: 1}
    sent = len(read_outbox(runtime.outbox_dir))

    # When the job runs again a day later, before the escalation delay has passed
    again = remind(runtime, WEEK, at(WEEK, "a day later"))
    # Then nothing new is sent or recorded
    assert (again["reminded"], again["escalated"], again["summaries"]) == ([], [], [])
    assert len(read_outbox(runtime.outbox_dir)) == sent

    # When the late submitter submits their week, and the run after the escalation delay comes
    submit_late(runtime.sandbox(), LATE_SUBMITTER, WEEK)
    escalated_at = escalation_at(WEEK, POLICY, DELIVERY).astimezone(UTC)
    assert escalated_at == datetime(2026, 11, 12, 14, tzinfo=UTC)
    later = remind(runtime, WEEK, escalated_at + timedelta(minutes=15))
    # Then the five still late are escalated to their managers, once each; the late submitter is not
    assert set(later["escalated"]) == LATE - {LATE_SUBMITTER} and later["reminded"] == []
    escalations = [m for m in read_outbox(runtime.outbox_dir)[sent:] if "Timesheet still" in m.subject]
    managers = {workers[str(workers[w].manager_id)].email for w in later["escalated"]}
    assert {m.to for m in escalations} == managers and len(escalations) == 5
    record = next(r for r in actions(runtime, "W-015") if r.action == ESCALATED)
    assert (record.data["manager"], record.data["to"]) == ("W-010", [workers["W-010"].email])
    assert not [r for r in actions(runtime, LATE_SUBMITTER) if r.action == ESCALATED]
    # And the week's counts were recorded again, as they changed
    checked = [r for r in trail(runtime).records(job_case_id(WEEK)) if r.action == CHECKED]
    assert [sum(p["missing"] for p in r.data["by_practice"].values()) for r in checked] == [4, 3]

    # When the job runs once more
    sent = len(read_outbox(runtime.outbox_dir))
    last = remind(runtime, WEEK, escalated_at + timedelta(days=1))
    # Then nothing is sent or recorded twice
    assert (last["reminded"], last["escalated"], last["summaries"]) == ([], [], [])
    assert len(read_outbox(runtime.outbox_dir)) == sent
    assert Counter(r.action for r in actions(runtime, "W-015")) == {REMINDED: 1, ESCALATED: 1}

    # And the worker-week cases that hold only reminders are no cases of the firm in the process report
    records = [r for w in LATE for r in actions(runtime, w)] + trail(runtime).records(job_case_id(WEEK))
    report = build_report(records)
    assert report.cases == 0
    compliance = report.management.timesheet_compliance
    assert compliance.available and (compliance.expected, compliance.reminded, compliance.escalated) == (
        39,
        6,
        5,
    )


def test_runs_at_once_send_each_reminder_and_summary_once(runtime: LocalRuntime) -> None:
    # Given another week with the same six late (the week of 16 November)
    week = date(2026, 11, 16)
    seed_timesheet_week(runtime.sandbox(), week)
    label = "16 November 2026 to 22 November 2026"
    # When six runs of the job start at the same moment after the due time
    answers = at_once([lambda: remind(runtime, week, at(week, "after due"))] * 6)
    assert not [a for a in answers if isinstance(a, Exception)], answers
    # Then each late worker was reminded by exactly one run, with one mail and one record
    reminded = Counter(w for a in answers if isinstance(a, dict) for w in a["reminded"])
    assert reminded == dict.fromkeys(LATE, 1)
    mails = Counter(m.to for m in mails_about(runtime, label))
    assert len(mails) == 6 + 3 and set(mails.values()) == {1}
    for worker_id in LATE:
        assert [r.action for r in actions(runtime, worker_id, week)] == [REMINDED]
    assert Counter(r.action for r in trail(runtime).records(job_case_id(week)))[SUMMARY] == 3


def test_a_holiday_week_expects_fewer_hours(runtime: LocalRuntime) -> None:
    # Given the week of Veterans Day, booked the same way on its four working days
    week = date(2026, 11, 9)
    seed_timesheet_week(runtime.sandbox(), week)
    # When the job runs after it is due
    result = remind(runtime, week, at(week, "after due"))
    # Then the holiday is named, a full-timer owes 32 h, a half-week submitter is short of those
    assert result["public_holidays"] == {"2026-11-11": "Veterans Day"}
    assert set(result["reminded"]) == LATE
    data: dict[str, Any] = next(r.data for r in actions(runtime, "W-015", week) if r.action == REMINDED)
    assert data["expected_hours"] == "32.00"
    short = next(r.data for r in actions(runtime, "W-018", week) if r.action == REMINDED)
    assert (short["expected_hours"], short["submitted_hours"]) == ("32.00", "16.00")
