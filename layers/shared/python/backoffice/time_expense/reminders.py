"""The missing-timesheet job over the ports: read the week from the HRIS and the PSA, remind, escalate, summarize.

``functions/remind_missing_timesheets`` calls ``ReminderRun.run`` (the schedule every working day; an operator's
``backoffice timesheets remind --week 2026-11-02``). For each week to chase (``reminder_timing.weeks_to_chase``, or
the week asked) it reads every worker (HRIS, paged), the week's time entries (PSA, paged) and, when the policy
requires assignments, the PSA's allocations; assesses each worker (``expected_hours.assess_week``) and, for each
worker missing or short, does what ``reminder_timing.decide`` says:

- remind: a mail to the worker (the week, expected and submitted hours, when it was due) and ``timesheet.reminded``
  on the worker-week case ``timesheet-<worker_id>-<week_start>``;
- escalate: a mail to their manager (HRIS ``manager_id``; without one, the practice's leads) and
  ``timesheet.escalated`` on the same case.

Then one summary per practice lead of who is missing or short in their practices (``timesheet.missing_summary``, once
per lead and week), and the week's counts by practice (``timesheet.week_checked``, when they changed: the
process report's late rate reads them) on the job case ``timesheet-reminders-<week_start>``.

All records are of workflow ``timesheet_reminders``, a job of the firm (``audit.JOB_WORKFLOWS``) whose records the
management numbers read (``intelligence.events.MEASUREMENT_WORKFLOWS``): a worker-week that only holds reminders is
not a case of the firm; its submission (workflow ``time_expense_review``) starts the case. Each mail and record
happens once however many runs overlap (``reminder_claims``; docs/concurrency.md).
"""

from __future__ import annotations

import hashlib
import json
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Protocol

from backoffice.audit import Actor, AuditRecord
from backoffice.audit import CaseTrail as Trail
from backoffice.connectors.ports import Allocation, HrisPort, PsaPort, all_pages
from backoffice.delivery.policy import DeliveryPolicy
from backoffice.mail_events import CASE_TAG, mail_tags
from backoffice.models import TimeEntry, Worker
from backoffice.time_expense.expected_hours import FirmWeek, WorkerWeek, assess_week, firm_week
from backoffice.time_expense.reminder_timing import decide, escalation_at, weeks_to_chase
from backoffice.time_expense.reminders_policy import ReminderPolicy

WORKFLOW = "timesheet_reminders"  # one of audit.JOB_WORKFLOWS
STEP = "chase missing timesheets"
ACTOR = Actor.system("remind_missing_timesheets")
REMINDED = "timesheet.reminded"
ESCALATED = "timesheet.escalated"
SUMMARY = "timesheet.missing_summary"
CHECKED = "timesheet.week_checked"
MAIL_PURPOSE = "timesheet_reminder"
NO_PRACTICE = "(none)"


class Claims(Protocol):
    """Who sends a reminder (``reminder_claims.ReminderClaims``): a token to the one caller that may, then done."""

    def take(self, key: str) -> str | None: ...

    def done(self, key: str, token: str) -> bool: ...


class Mailer(Protocol):
    def send(
        self, *, to: str, subject: str, text: str, html: str, tags: Mapping[str, str] | None = None
    ) -> str | None: ...


def job_case_id(week_start: date) -> str:
    return f"timesheet-reminders-{week_start.isoformat()}"


def _local(moment: datetime, policy: ReminderPolicy) -> str:
    return moment.astimezone(policy.zone).strftime("%A %d %B %Y, %H:%M") + f" ({policy.time_zone})"


@dataclass(frozen=True)
class WeekInputs:
    week: FirmWeek
    workers: list[Worker]
    entries: list[TimeEntry]
    allocations: list[Allocation]


def read_week(week: FirmWeek, hris: HrisPort, psa: PsaPort, reminders: ReminderPolicy) -> WeekInputs:
    """Every worker, the week's time entries and (when the policy requires them) its allocations; reads only."""
    workers = all_pages(hris.list_workers)
    entries = [
        e
        for e in all_pages(lambda t: psa.list_time_entries(week.start, week.end, t))
        if isinstance(e, TimeEntry)
    ]
    allocations = psa.allocations(week.start, week.end) if reminders.require_assignment else []
    return WeekInputs(week, workers, entries, allocations)


@dataclass
class ReminderRun:
    hris: HrisPort
    psa: PsaPort
    trail: Trail
    claims: Claims
    mailer: Mailer
    reminders: ReminderPolicy
    delivery: DeliveryPolicy
    # Who reads what no practice lead is named for (the firm's notification recipients).
    fallback_recipients: Sequence[str] = ()
    firm: str = "the firm"
    actor: Actor = ACTOR

    def run(self, as_of: datetime, *, week_start: date | None = None, why: str) -> dict[str, Any]:
        """Chases the weeks due as of ``as_of`` (or the week asked); what it did, per week."""
        weeks = [week_start] if week_start else weeks_to_chase(as_of, self.reminders, self.delivery)
        return {
            "as_of": as_of.isoformat(),
            "weeks": [
                self.chase_week(firm_week(w, self.reminders, self.delivery), as_of, why) for w in weeks
            ],
        }

    def chase_week(self, week: FirmWeek, as_of: datetime, why: str) -> dict[str, Any]:
        inputs = read_week(week, self.hris, self.psa, self.reminders)
        assessed = assess_week(
            week, inputs.workers, inputs.entries, inputs.allocations, self.reminders, self.delivery
        )
        workers = {w.id: w for w in inputs.workers}
        due = self.reminders.due_at(week.start)
        result: dict[str, Any] = {
            "week_start": week.start.isoformat(),
            "week_end": week.end.isoformat(),
            "due_at": due.isoformat(),
            "escalate_at": escalation_at(week.start, self.reminders, self.delivery).isoformat(),
            "public_holidays": {d.isoformat(): name for d, name in week.holidays.items()},
            "expected": sum(1 for w in assessed if w.status != "not_expected"),
            "missing": [w.worker_id for w in assessed if w.status == "missing"],
            "short": [w.worker_id for w in assessed if w.status == "short"],
            "reminded": [],
            "escalated": [],
            "summaries": [],
        }
        if as_of < due:
            result["not_due"] = True
            return result
        for worker_week in (w for w in assessed if w.late):
            trail = self.trail.records(worker_week.case_id)
            decision = decide(
                worker_week,
                as_of,
                self.reminders,
                self.delivery,
                reminded=any(r.action == REMINDED for r in trail),
                escalated=any(r.action == ESCALATED for r in trail),
            )
            if decision == "remind" and self._remind(worker_week, due, why):
                result["reminded"].append(worker_week.worker_id)
            elif decision == "escalate" and self._escalate(worker_week, workers, due, why):
                result["escalated"].append(worker_week.worker_id)
        result["summaries"] = self._summaries(week, assessed, inputs.workers, why)
        self._record_counts(week, assessed, as_of, why)
        return result

    # -- the three mails ---------------------------------------------------------------------------------------

    def _remind(self, week: WorkerWeek, due: datetime, why: str) -> bool:
        context = self._context(week, due)
        data = {**week.record_data(), "due_at": due.isoformat(), "to": week.email}
        return self._once(
            f"timesheet#reminded#{week.case_id}",
            week.case_id,
            REMINDED,
            [week.email] if week.email else [],
            f"Timesheet {context['status_word']}: week of {context['week_label']}",
            "time_expense/timesheet_reminder.html.j2",
            context,
            data,
            [why, f"{week.status}: {week.submitted_hours:.2f} of {week.expected_hours:.2f} h submitted"],
        )

    def _escalate(self, week: WorkerWeek, workers: Mapping[str, Worker], due: datetime, why: str) -> bool:
        manager = workers.get(week.manager_id) if week.manager_id else None
        recipients = (
            [manager.email] if manager and manager.email else self._leads_of(week.practice, workers.values())
        )
        context = {**self._context(week, due), "manager": manager.name if manager else None}
        data = {
            **week.record_data(),
            "due_at": due.isoformat(),
            "manager": week.manager_id,
            "to": recipients,
        }
        return self._once(
            f"timesheet#escalated#{week.case_id}",
            week.case_id,
            ESCALATED,
            recipients,
            f"Timesheet still {week.status}: {week.name}, week of {context['week_label']}",
            "time_expense/timesheet_escalation.html.j2",
            context,
            data,
            [
                why,
                f"still {week.status} after the reminder: {week.submitted_hours:.2f} of {week.expected_hours:.2f} h",
            ],
        )

    def _summaries(
        self, week: FirmWeek, assessed: Sequence[WorkerWeek], workers: Sequence[Worker], why: str
    ) -> list[str]:
        late_by_practice: dict[str, list[WorkerWeek]] = defaultdict(list)
        for w in assessed:
            if w.late:
                late_by_practice[w.practice or NO_PRACTICE].append(w)
        by_lead: dict[str, list[str]] = defaultdict(list)
        for practice in sorted(late_by_practice):
            for lead in self._leads_of(None if practice == NO_PRACTICE else practice, workers):
                by_lead[lead].append(practice)
        sent = []
        case_id = job_case_id(week.start)
        for lead, practices in sorted(by_lead.items()):
            listed = {
                p: {
                    "missing": [w.worker_id for w in late_by_practice[p] if w.status == "missing"],
                    "short": [w.worker_id for w in late_by_practice[p] if w.status == "short"],
                }
                for p in practices
            }
            context = {
                "firm": self.firm,
                "week_label": _week_label(week),
                "practices": {p: late_by_practice[p] for p in practices},
            }
            data = {"week_start": week.start.isoformat(), "lead": lead, "practices": listed}
            late = sum(len(v["missing"]) + len(v["short"]) for v in listed.values())
            if self._once(
                f"timesheet#summary#{week.start.isoformat()}#{lead.casefold()}",
                case_id,
                SUMMARY,
                [lead],
                f"Missing and short timesheets: week of {context['week_label']}",
                "time_expense/timesheet_summary.html.j2",
                context,
                data,
                [why, f"{late} late in {', '.join(practices)}"],
                already=_for_lead(lead),
            ):
                sent.append(lead)
        return sent

    def _leads_of(self, practice: str | None, workers: Iterable[Worker]) -> list[str]:
        if practice and practice in self.reminders.practice_leads:
            return list(self.reminders.practice_leads[practice])
        leads = sorted(
            w.email
            for w in workers
            if practice
            and w.practice == practice
            and w.is_active
            and w.email
            and self.reminders.practice_lead_role in w.roles
        )
        return leads or list(self.fallback_recipients)

    # -- once --------------------------------------------------------------------------------------------------

    def _once(
        self,
        key: str,
        case_id: str,
        action: str,
        recipients: Sequence[str],
        subject: str,
        template: str,
        context: Mapping[str, Any],
        data: Mapping[str, Any],
        reasons: Sequence[str],
        already: Callable[[AuditRecord], bool] = lambda record: True,
    ) -> bool:
        """Mails and records ``action`` on ``case_id`` unless the case holds it or another run has the claim."""
        if any(r.action == action and already(r) for r in self.trail.records(case_id)):
            return False
        token = self.claims.take(key)
        if token is None:
            return False
        # Taken over from a run that died: it may have recorded before it could mark the claim.
        if any(r.action == action and already(r) for r in self.trail.records(case_id)):
            self.claims.done(key, token)
            return False
        # Imported here: a run that finds everyone on time loads no template engine.
        from backoffice.html import render

        html = render(template, **context)
        text = _plain(html)
        tags = mail_tags(MAIL_PURPOSE, **{CASE_TAG: case_id})
        for to in recipients:
            self.mailer.send(to=to, subject=subject, text=text, html=html, tags=tags)
        self.trail.append(
            case_id=case_id,
            workflow=WORKFLOW,
            step=STEP,
            actor=self.actor,
            action=action,
            outcome="mailed" if recipients else "no_address",
            reasons=reasons,
            data=data,
        )
        self.claims.done(key, token)
        return True

    def _record_counts(
        self, week: FirmWeek, assessed: Sequence[WorkerWeek], as_of: datetime, why: str
    ) -> None:
        counts: dict[str, dict[str, int]] = defaultdict(lambda: {"expected": 0, "missing": 0, "short": 0})
        for w in assessed:
            if w.status == "not_expected":
                continue
            practice = counts[w.practice or NO_PRACTICE]
            practice["expected"] += 1
            if w.late:
                practice[w.status] += 1
        by_practice = {p: counts[p] for p in sorted(counts)}
        case_id = job_case_id(week.start)
        latest = [r for r in self.trail.records(case_id) if r.action == CHECKED]
        if latest and latest[-1].data.get("by_practice") == by_practice:
            return
        digest = hashlib.sha256(json.dumps(by_practice, sort_keys=True).encode()).hexdigest()[:16]
        key = f"timesheet#checked#{week.start.isoformat()}#{len(latest)}#{digest}"
        token = self.claims.take(key)
        if token is None:
            return
        self.trail.append(
            case_id=case_id,
            workflow=WORKFLOW,
            step=STEP,
            actor=self.actor,
            action=CHECKED,
            outcome="checked",
            reasons=[why],
            data={
                "week_start": week.start.isoformat(),
                "week_end": week.end.isoformat(),
                "as_of": as_of.isoformat(),
                "working_days": len(week.working_days),
                "by_practice": by_practice,
            },
        )
        self.claims.done(key, token)

    def _context(self, week: WorkerWeek, due: datetime) -> dict[str, Any]:
        return {
            "firm": self.firm,
            "name": week.name,
            "week_label": f"{week.week_start:%d %B %Y} to {week.week_end:%d %B %Y}",
            "expected": f"{week.expected_hours:.2f}",
            "submitted": f"{week.submitted_hours:.2f}",
            "status": week.status,
            "status_word": "missing" if week.status == "missing" else "short",
            "due": _local(due, self.reminders),
        }


def _for_lead(lead: str) -> Callable[[AuditRecord], bool]:
    return lambda record: record.data.get("lead") == lead


def _week_label(week: FirmWeek) -> str:
    return f"{week.start:%d %B %Y} to {week.end:%d %B %Y}"


def _plain(html: str) -> str:
    """The mail's text part: the HTML's text, one paragraph a line (the values were escaped, then unescaped)."""
    import re
    from html import unescape

    body = html.split("<body>", 1)[-1]
    body = re.sub(r"</(p|h1|li|tr)>", "\n", body)
    return unescape(re.sub(r"<[^>]+>", "", body)).strip() + "\n"


__all__ = [
    "ACTOR",
    "CHECKED",
    "ESCALATED",
    "MAIL_PURPOSE",
    "REMINDED",
    "SUMMARY",
    "WORKFLOW",
    "ReminderRun",
    "WeekInputs",
    "job_case_id",
    "read_week",
]
