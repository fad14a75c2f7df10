"""The weekly time and expense review: a submission read from the PSA, scored by the one scorer, and routed.

A worker's week (``Timesheet Submitted``, case ``timesheet-<worker>-<week start>``) or an expense report (``Expense
Report Submitted``, case ``expense-report-<report>``) is reviewed as it arrives, not at month end:

    read_and_score (read the submitted lines, validate, score against the 90 days before, plan the route)
    -> decide_lines("clean", approved by "policy")      where the firm's TimeExpensePolicy allows
    -> [the approval step: project manager, then for expenses the expense approver, with each line's reasons]
    -> decide_lines("review", approved | rejected)      approved in the PSA, or sent back to the worker with the
                                                        reason and an e-mail

Scoring is the billing run's, piece for piece (``invoicing.steps.read_history`` and ``score_line_lists``, the same
anomaly policy): a line scores the same in the week as at month end, and a line the scorer sends to a person in the
billing run is the one it sends to a person here. Every decision goes to the PSA, to the audit trail
(``lines.approved`` / ``lines.rejected``) and to the decisions store (``decisions.py``), which the month-end run
reads so as not to review again what was settled in the week.

The plan of a review (the lines as read, their scores, who decides) is kept in S3 under
``time-expense/<case id>/<execution name>.json``: the state carries counts, the approval subject and the key.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any, Literal, Protocol

from backoffice.anomaly import AnomalyPolicy
from backoffice.approvals.policy import ApprovalPolicy
from backoffice.connectors.ports import HrisPort, PsaPort, TimeExpensePsaPort, all_pages
from backoffice.invoicing.review import LineScore, line_summary
from backoffice.invoicing.steps import read_history, score_line_lists, scorer_lines, strongest_rules
from backoffice.json_files import get_json, put_json
from backoffice.models import (
    ExpenseEntry,
    ExpenseReportSubmitted,
    Project,
    TimeEntry,
    TimesheetSubmitted,
    Worker,
)
from backoffice.time_expense.decisions import Decision, DecisionStore, DecisionWord, line_hash
from backoffice.time_expense.policy import TimeExpensePolicy

WORKFLOW = "time_expense_review"
ROUTE = (
    "time_expense_review"  # the approval route (approvals.routing.DEFAULT_ROUTES unless the firm names one)
)
PLAN_PREFIX = "time-expense"
BY_POLICY = "policy"
_LISTED = 50  # reasons an approval request lists, as the billing run's exception review does

Submitted = TimesheetSubmitted | ExpenseReportSubmitted
Which = Literal["clean", "review"]


class Mailer(Protocol):
    """The SES mailer's shape (``approvals.adapters.SesMailer``)."""

    def send(
        self, *, to: str, subject: str, text: str, html: str, tags: Mapping[str, str] | None = None
    ) -> str | None: ...


RETURNED_MAIL = "time_expense_returned"  # the tag SES copies into a bounce of the mail to the worker


def plan_key(case_id: str, execution_arn: str | None) -> str:
    """Where an attempt's plan is kept: one file per execution (a resubmission is another execution)."""
    attempt = (execution_arn or "first").rsplit(":", 1)[-1]
    return f"{PLAN_PREFIX}/{case_id}/{attempt}.json"


def _dump(model: TimeEntry | ExpenseEntry | Project | Worker) -> dict[str, Any]:
    dumped: dict[str, Any] = model.to_json_dict(reveal_secrets=True)
    return dumped


# ------------------------------------------------------------------------------------------------------------
# Reading a submission
# ------------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SubmittedLines:
    """The lines a submission puts up for review, and why others it names are not reviewed."""

    time: list[TimeEntry]
    expenses: list[ExpenseEntry]
    problems: list[str]  # lines named but not found, of another worker: the worker is told, nothing decided
    already_decided: list[str]  # lines of the submission no longer submitted (approved or sent back before)
    start: date  # the first day of the lines: the scorer's history is the 90 days before it
    end: date


def read_submitted_lines(detail: Submitted, psa: PsaPort, policy: TimeExpensePolicy) -> SubmittedLines:
    """The submission's lines as the PSA holds them now: a week's time entries of the worker, or the report's
    expenses (looked for in the ``expense_lookback_days`` before its submission). Only lines in status
    ``submitted`` are reviewed: a resubmission after lines were sent back reviews the corrected lines, not the
    week's lines approved the first time."""
    if isinstance(detail, TimesheetSubmitted):
        start, end = detail.week_start, detail.week_end
        mine = [
            line
            for line in all_pages(lambda token: psa.list_time_entries(start, end, token))
            if isinstance(line, TimeEntry) and line.worker_id == detail.worker_id
        ]
        return SubmittedLines(
            time=[line for line in mine if line.status == "submitted"],
            expenses=[],
            problems=[],
            already_decided=[line.id for line in mine if line.status in ("approved", "rejected")],
            start=start,
            end=end,
        )
    end = detail.submitted_at.date()
    first = end - timedelta(days=policy.expense_lookback_days)
    wanted = list(dict.fromkeys(detail.expense_ids))
    found = {
        line.id: line
        for line in all_pages(lambda token: psa.list_expenses(first, end, token))
        if isinstance(line, ExpenseEntry) and line.id in set(wanted)
    }
    problems = [
        f"expense {line_id} is not in the PSA (looked back {policy.expense_lookback_days} days)"
        for line_id in wanted
        if line_id not in found
    ]
    problems += [
        f"expense {line.id} belongs to worker {line.worker_id}, not to {detail.worker_id}"
        for line in found.values()
        if line.worker_id != detail.worker_id
    ]
    theirs = [line for line in found.values() if line.worker_id == detail.worker_id]
    submitted = [line for line in theirs if line.status == "submitted"]
    days = [line.expense_date for line in submitted] or [end]
    return SubmittedLines(
        time=[],
        expenses=submitted,
        problems=problems,
        already_decided=[line.id for line in theirs if line.status in ("approved", "rejected")],
        start=min(days),
        end=max(days),
    )


# ------------------------------------------------------------------------------------------------------------
# Scoring and planning the route
# ------------------------------------------------------------------------------------------------------------


def _emails(policy: ApprovalPolicy | None, group: str) -> list[str]:
    return list(policy.groups.get(group, ())) if policy is not None else []


def read_and_score(
    detail: Submitted,
    *,
    case_id: str,
    execution_arn: str | None,
    psa: PsaPort,
    hris: HrisPort,
    anomaly_policy: AnomalyPolicy,
    policy: TimeExpensePolicy,
    approval_policy: ApprovalPolicy | None,
    s3: Any,
    bucket: str,
) -> dict[str, Any]:
    """Read, validate and score the submission, and plan its route: which lines the policy approves now, which go
    to a person (the scorer's review lines; every line when the firm does not approve clean lines), and who that
    person is. The plan goes to S3; the result is what the state and the audit records carry."""
    lines = read_submitted_lines(detail, psa, policy)
    workers = all_pages(hris.list_workers)
    by_worker = {worker.id: worker for worker in workers}
    worker = by_worker.get(detail.worker_id)
    history, history_lines = read_history(psa, lines.start, anomaly_policy, workers)
    scored = score_line_lists(
        scorer_lines([_dump(line) for line in lines.time], [_dump(line) for line in lines.expenses]),
        history,
        anomaly_policy,
        workers,
    )
    every: list[TimeEntry | ExpenseEntry] = [*lines.time, *lines.expenses]
    flagged_ids = {
        line.id
        for line in every
        if not policy.auto_approve_clean or scored.flagged.get(line.id, {}).get("review", False)
    }
    # A week's time on one project is one timecard in a PSA that approves by the card (Certinia approves the header,
    # every day at once): a flagged day takes its card's other days to the review with it, so that approving the
    # clean days never approves a flagged one before its reviewer sees it.
    held_cards = {line.project_id for line in lines.time if line.id in flagged_ids}
    to_review = [
        line
        for line in every
        if line.id in flagged_ids or (isinstance(line, TimeEntry) and line.project_id in held_cards)
    ]
    review_ids = {line.id for line in to_review}
    clean = [line for line in every if line.id not in review_ids]

    projects = {
        project.id: project
        for project in all_pages(lambda token: psa.list_billable_projects(lines.start, lines.end, token))
    }
    reviewers = [e for e in _emails(approval_policy, policy.reviewer_group) if e != _email(worker)]
    managers: list[str] = []
    for project_id in dict.fromkeys(line.project_id for line in to_review if line.project_id):
        project = projects.get(project_id)
        manager = by_worker.get(project.project_manager_id or "") if project else None
        email = _email(manager)
        if email and email != _email(worker) and email not in managers:
            managers.append(email)
    expense_approvers = [
        e for e in _emails(approval_policy, policy.expense_approver_group) if e != _email(worker)
    ]
    approvers = {
        "project_manager": managers or reviewers,
        "expense_approver": expense_approvers or managers or reviewers,
        "reviewers": reviewers,
    }
    # With no expense approver but the project's managers themselves, a second level would ask the people who just
    # decided the first (separation of duties leaves nobody): the managers' approval is the whole review.
    second_level = bool(set(expense_approvers) - set(approvers["project_manager"]))
    kind = "timesheet" if isinstance(detail, TimesheetSubmitted) else "expense_report"
    reasons_by_line = {line_id: found["reasons"] for line_id, found in scored.flagged.items()}
    for line in to_review:
        if line.id not in flagged_ids:
            reasons_by_line[line.id] = ["on the same timecard as a flagged day: approved or returned with it"]
    plan = {
        "kind": kind,
        "case_id": case_id,
        "worker_id": detail.worker_id,
        "worker_email": _email(worker),
        "worker_name": worker.name if worker else detail.worker_id,
        "submitted_at": detail.submitted_at.isoformat(),
        "time": [_dump(line) for line in lines.time],
        "expenses": [_dump(line) for line in lines.expenses],
        "clean": [line.id for line in clean],
        "review": [line.id for line in to_review],
        "reasons": reasons_by_line,
        # The rules strongest first, as the billing run's write-offs name them.
        "rules": {
            line_id: strongest_rules(LineScore.from_json_dict(found))
            for line_id, found in scored.flagged.items()
        },
        "scores": {line_id: found["score"] for line_id, found in scored.flagged.items()},
    }
    key = plan_key(case_id, execution_arn)
    put_json(s3, bucket, key, plan)

    status = (
        "invalid"
        if lines.problems and not every
        else "nothing_to_review"
        if not every
        else ("review" if to_review else "clean")
    )
    return {
        "status": status,
        "plan_key": key,
        "kind": kind,
        "clean": len(clean),
        "to_review": len(to_review),
        "lines": len(every),
        "problems": lines.problems,
        "already_decided": lines.already_decided,
        "subject": _subject(
            detail, kind, to_review, reasons_by_line, scored.flagged, approvers, worker, anomaly_policy
        )
        | ({} if second_level or kind != "expense_report" else {"owner": "expenses, no expense approver"}),
        # The worker is the requester: the approval step then keeps them out as an approver, a delegate and a
        # decider (separation of duties), whoever the route or a delegation names.
        "requested_by": _email(worker) or f"{detail.worker_id}@worker.invalid",
        "submitted": _submitted_data(detail, lines),
        "scored": {
            "lines_scored": scored.lines_scored,
            "lines_flagged": len(scored.flagged),
            "lines_to_review": scored.lines_to_review,
            "history_lines": history_lines,
            "by_rule": scored.by_rule,
            "benford": scored.benford,
        },
    }


def _email(worker: Worker | None) -> str | None:
    return str(worker.email).lower() if worker is not None and worker.email else None


def _submitted_data(detail: Submitted, lines: SubmittedLines) -> dict[str, Any]:
    """The case's start data on the trail (``timesheet.submitted`` / ``expense_report.submitted``)."""
    data: dict[str, Any] = {
        "worker_id": detail.worker_id,
        "submitted_at": detail.submitted_at.isoformat(),
        "lines": len(lines.time) + len(lines.expenses),
    }
    if isinstance(detail, TimesheetSubmitted):
        data.update(
            week_start=detail.week_start.isoformat(),
            week_end=detail.week_end.isoformat(),
            hours=str(sum((line.hours for line in lines.time), Decimal(0))),
            submission_id=detail.submission_id,
        )
    else:
        data.update(
            report_id=detail.report_id,
            expense_ids=list(detail.expense_ids),
            week_start=lines.start.isoformat(),
            week_end=lines.end.isoformat(),
            amounts={
                currency: str(sum((e.amount for e in lines.expenses if e.currency == currency), Decimal(0)))
                for currency in sorted({e.currency for e in lines.expenses})
            },
        )
    return data


def _subject(
    detail: Submitted,
    kind: str,
    to_review: Sequence[TimeEntry | ExpenseEntry],
    reasons: Mapping[str, list[str]],
    flagged: Mapping[str, Mapping[str, Any]],
    approvers: Mapping[str, list[str]],
    worker: Worker | None,
    anomaly_policy: AnomalyPolicy,
) -> dict[str, Any]:
    """What the approver reads (each line with the scorer's reasons) and what routing reads (``owner``: time or
    expenses; ``approvers``: the people of this case, ``approvals.policy.SUBJECT_GROUP``)."""
    who = worker.name if worker else detail.worker_id
    if isinstance(detail, TimesheetSubmitted):
        title = f"Timesheet review: {who}, week of {detail.week_start.isoformat()}"
    else:
        title = f"Expense report review: {who}, report {detail.report_id}"
    listed = [
        f"{line_summary(line)}: {'; '.join(reasons.get(line.id) or ['the firm reviews every line'])}"
        for line in to_review
    ]
    currencies = {line.currency for line in to_review}
    amount: Decimal | None = sum((_amount(line) for line in to_review), Decimal(0))
    currency = next(iter(currencies)) if len(currencies) == 1 else None
    if len(currencies) > 1:
        # Lines in several currencies: their total in the scorer's currency, so that an approval rule with an amount
        # still matches (a rule that matched nothing would let flagged lines through unreviewed).
        rates = {anomaly_policy.currency: 1.0, **anomaly_policy.fx_rates}
        if currencies <= set(rates):
            amount = sum(
                (_amount(line) * Decimal(str(rates[line.currency])) for line in to_review), Decimal(0)
            ).quantize(Decimal("0.01"))
            currency = anomaly_policy.currency
        else:
            amount = None
    return {
        "title": title,
        "summary": f"{len(to_review)} line(s) need a decision. Approve: they are approved in the PSA. Reject: "
        "they go back to the worker with your comment, to correct and submit again.",
        "owner": "expenses" if kind == "expense_report" else "time",
        "amount": str(amount) if amount is not None and currency else None,
        "currency": currency,
        "anomaly_score": max(
            (float(flagged.get(line.id, {}).get("score", 0.0)) for line in to_review), default=0.0
        ),
        "worker_id": detail.worker_id,
        "reasons": listed[:_LISTED]
        + ([f"... and {len(listed) - _LISTED} more"] if len(listed) > _LISTED else []),
        "approvers": dict(approvers),
    }


def _amount(line: TimeEntry | ExpenseEntry) -> Decimal:
    if isinstance(line, TimeEntry):
        return line.billing_amount if line.is_billable else Decimal(0)
    return line.amount


# ------------------------------------------------------------------------------------------------------------
# Deciding
# ------------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Plan:
    """A review's plan as read back from S3."""

    body: dict[str, Any]

    @classmethod
    def read(cls, s3: Any, bucket: str, key: str) -> Plan:
        return cls(get_json(s3, bucket, key))

    def lines(self, which: Which) -> list[TimeEntry | ExpenseEntry]:
        wanted = set(self.body[which])
        time = [TimeEntry.from_json_dict(body) for body in self.body["time"] if body["id"] in wanted]
        expenses = [
            ExpenseEntry.from_json_dict(body) for body in self.body["expenses"] if body["id"] in wanted
        ]
        return [*time, *expenses]


def decide_lines(
    plan: Plan,
    which: Which,
    decision: Literal["approved", "rejected"],
    *,
    decided_by: Sequence[str],
    comments: Iterable[str],
    psa: PsaPort,
    approvals_psa: TimeExpensePsaPort,
    store: DecisionStore,
    mailer: Mailer | None,
    now: Callable[[], datetime],
) -> dict[str, Any]:
    """Carry a decision about the plan's ``clean`` or ``review`` lines into the PSA and the decisions store:
    approved lines are approved (by the policy or the deciding people), rejected ones go back to the worker with the
    reason, who is also mailed. Every write is idempotent (a retried step changes nothing twice)."""
    lines = plan.lines(which)
    time_ids = [line.id for line in lines if isinstance(line, TimeEntry)]
    expense_ids = [line.id for line in lines if isinstance(line, ExpenseEntry)]
    by = ", ".join(decided_by) or BY_POLICY
    said = [str(c).strip() for c in comments if str(c).strip()]
    reason = "; ".join(said) or None
    word: DecisionWord = "approved" if decision == "approved" else "sent_back"
    mailed = False
    if lines and decision == "approved":
        approvals_psa.approve_lines(
            time_entry_ids=time_ids, expense_ids=expense_ids, approver=by, note=reason
        )
    elif lines:
        reason = reason or "rejected by the reviewer without a comment: ask them what to correct"
        psa.return_lines(time_entry_ids=time_ids, expense_ids=expense_ids, action="send_back", reason=reason)
        mailed = _mail_worker(plan, lines, reason, by, mailer)
    at = now()
    rules = plan.body.get("rules", {})
    recorded = store.record(
        [
            Decision.of_line(
                line,
                word,
                case_id=plan.body["case_id"],
                decided_by=by,
                decided_at=at,
                rules=rules.get(line.id, ()),
                reason=reason if word == "sent_back" else None,
            )
            for line in lines
        ]
    )
    return {
        "decision": decision,
        "which": which,
        "by": by,
        "time_entry_ids": time_ids,
        "expense_ids": expense_ids,
        "hashes": {line.id: line_hash(line) for line in lines},
        "reason": reason,
        "mailed": mailed,
        "written": len(recorded.written),
        "superseded": list(recorded.superseded),
    }


def _mail_worker(
    plan: Plan, lines: Sequence[TimeEntry | ExpenseEntry], reason: str, by: str, mailer: Mailer | None
) -> bool:
    """Tell the worker which lines came back and why. The line summaries and the reviewer's words are escaped by
    the template; nothing but the lines' own facts goes in (no pay, no bank, no tax data)."""
    to = plan.body.get("worker_email")
    if mailer is None or not to:
        return False
    from backoffice.html import render as render_template  # jinja2 only when something is rendered
    from backoffice.mail_events import mail_tags

    kind = "timesheet" if plan.body["kind"] == "timesheet" else "expense report"
    summaries = [line_summary(line) for line in lines]
    subject = f"Your {kind}: {len(lines)} line(s) sent back to correct"
    text = "\n".join(
        [
            f"{by} sent back {len(lines)} line(s) of your {kind} (case {plan.body['case_id']}):",
            *(f"- {summary}" for summary in summaries),
            "",
            f"Reason: {reason}",
            "",
            "Correct them in the PSA and submit again; they are reviewed again when you do.",
        ]
    )
    html = render_template(
        "time_expense/sent_back_email.html.j2",
        kind=kind,
        by=by,
        lines=summaries,
        reason=reason,
        case_id=plan.body["case_id"],
    )
    tags = mail_tags(RETURNED_MAIL)
    mailer.send(to=to, subject=subject, text=text, html=html, tags=tags)
    return True
