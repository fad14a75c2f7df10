"""The management numbers of the process report (issue #20), each defined once in ``GLOSSARY``.

Receivables (DSO, aging, days to pay, billing lag, billing accuracy) live in ``receivables``; delivery and margin
(utilization, realization, WIP, leakage) in ``delivery``; this module adds what is read off the cases themselves
(setup, invoice and vendor onboarding cycle times, reconciliation effort, the share of cases that ran through the
workflows alone) and puts them together as ``ManagementNumbers``. Every number says ``available`` and, when the
trail has nothing for it, a ``note`` that says n/a and why; a number is never made up.

Case cycle times here are in seconds (like the report's other durations; ``stats.format_duration`` reads them),
money timing in days, money in the firm's reporting currency (``*_base``), shares between 0 and 1.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

from backoffice.intelligence.delivery import (
    Leakage,
    Realization,
    Utilization,
    Wip,
    leakage,
    realization,
    utilization,
    wip,
)
from backoffice.intelligence.events import NOT_CASES, Event, case_work, final_outcome, is_manual_edit
from backoffice.intelligence.figures import _Model, month_of, text
from backoffice.intelligence.receivables import (
    Aging,
    BillingAccuracy,
    BillingLag,
    DaysToPay,
    Dso,
    aging,
    billing_accuracy,
    billing_lag,
    days_to_pay,
    dso,
)
from backoffice.intelligence.stats import Stats, ratio
from backoffice.intelligence.timesheets import TimesheetCompliance, timesheet_compliance

DECIDED = frozenset({"settled", "awaiting_fix"})  # a finding's status once a person approved a resolution


class CycleMonth(_Model):
    month: str
    cases: int
    median_seconds: float
    mean_seconds: float


class CaseCycleTime(_Model):
    available: bool
    note: str
    workflow: str
    start: str  # what starts the clock
    end: str  # what stops it
    cases: int  # cases that reached the end
    open: int  # cases not at the end and without an outcome yet
    ended_otherwise: int  # cases that published an outcome without reaching the end (blocked, rejected)
    stats: Stats | None  # seconds
    by_month: list[CycleMonth]  # by the month the end was reached
    by_outcome: dict[str, Stats]
    durations: list[float]  # each case's seconds (for the histogram)


class ReconciliationPeriod(_Model):
    period: str  # the reconciled period's first month, 2026-10
    runs: int
    findings: int  # at the period's latest run
    sent_for_review: int
    decided: int  # a person approved a resolution
    settled: int
    closed: int  # no longer holding at a later run
    time_to_settle: Stats | None  # seconds, first sent for review -> decided


class ReconciliationEffort(_Model):
    available: bool
    note: str
    runs: int
    findings: int
    sent_for_review: int
    decided: int
    settled: int
    closed: int
    time_to_settle: Stats | None
    by_period: list[ReconciliationPeriod]


class OrchestratedGroup(_Model):
    key: str  # a workflow or a month
    closed: int
    orchestrated: int
    share: float | None


class OrchestratedShare(_Model):
    available: bool
    note: str
    closed: int
    orchestrated: int
    share: float | None
    by_workflow: list[OrchestratedGroup]
    by_month: list[OrchestratedGroup]  # by the month the case closed


class ManagementNumbers(_Model):
    dso: Dso
    aging: Aging
    days_to_pay: DaysToPay
    billing_lag: BillingLag
    utilization: Utilization
    realization: Realization
    wip: Wip
    leakage: Leakage
    billing_accuracy: BillingAccuracy
    setup_cycle_time: CaseCycleTime
    invoice_cycle_time: CaseCycleTime
    vendor_onboarding_cycle_time: CaseCycleTime
    reconciliation_effort: ReconciliationEffort
    orchestrated_share: OrchestratedShare
    timesheet_compliance: TimesheetCompliance


class Definition(_Model):
    key: str
    name: str
    formula: str
    source: str
    unit: str
    path: str  # where the report carries it (JSON path from the report's root)


def _define(key: str, name: str, formula: str, source: str, unit: str, path: str = "") -> Definition:
    return Definition(
        key=key, name=name, formula=formula, source=source, unit=unit, path=path or f"management.{key}"
    )


# The one place each number is defined: the report carries it (report.glossary), docs/metrics.md repeats it (a
# test holds the two equal), the HTML shows it next to the figure.
GLOSSARY: tuple[Definition, ...] = (
    _define(
        "dso",
        "Days sales outstanding (DSO)",
        "Count-back (the headline): from the day, walk back month by month, taking each month's billings off the "
        "receivables until they are used up, and add up those months' days (for the last one, the fraction of its "
        "days its billings took). Simple: receivables / billings of the last 3 months x the days of those months. "
        "Receivables at a day T = for each invoice posted on or before T, amount_base - what was paid or credited "
        "on it on or before T. Both at as_of and at each month end.",
        "invoice.posted (R1), invoice.paid (R2), invoice.credited (R3)",
        "days",
    ),
    _define(
        "aging",
        "Receivables aging",
        "Receivables open at as_of by days past due (as_of - due_date): current (not yet due), 1-30, 31-60, "
        "61-90, 90+; overall and per client.",
        "invoice.posted (R1), invoice.paid (R2), invoice.credited (R3)",
        "reporting currency",
    ),
    _define(
        "days_to_pay",
        "Days to pay",
        "Per invoice paid in full: paid_on of the payment that left nothing open - invoice_date; mean and median "
        "overall, per client and by the month paid. Paid late share = invoices paid in full after their due_date / "
        "invoices paid in full.",
        "invoice.paid (R2), invoice.posted (R1)",
        "days",
    ),
    _define(
        "billing_lag",
        "Billing lag",
        "Per posted invoice: the date of its invoice.posted record - period_end of the period it bills; median, "
        "mean and p90, by the month posted.",
        "invoice.posted (R1)",
        "days",
    ),
    _define(
        "utilization",
        "Utilization",
        "billable_hours / available_hours (weekdays that are not public holidays x weekly hours / 5, less leave), "
        "summed over the latest delivery.measured record of each worker and month; overall, by practice, by month "
        "and by person.",
        "delivery.measured (R4)",
        "share (0-1)",
    ),
    _define(
        "realization",
        "Realization",
        "time_billed_base / time_standard_base (the hours worked on the billed time lines at the rate card: hours "
        "trimmed before billing are a write-down) over posted invoices; overall, by client, by practice and by the "
        "month billed.",
        "invoice.posted (R1)",
        "share (0-1)",
    ),
    _define(
        "wip",
        "Work in progress (WIP)",
        "Approved, unbilled time and expenses at their billing amounts (wip_base) at the latest month end "
        "measured, from the latest wip.measured record per project and month: total, by practice and by client, "
        "aged by work date (0-30, 31-60, 61-90, 90+ days); the trend is the total at each month end.",
        "wip.measured (R5)",
        "reporting currency",
    ),
    _define(
        "leakage",
        "Margin leakage",
        "Write-offs (value_base of the lines exception reviews wrote off, each charged to the scorer's first "
        "rule, 'unscored' when none) + write-downs (time_standard_base - time_billed_base of each posted invoice "
        "billed below the rate card). Share = leakage / (time_standard_base of posted invoices + write-offs). By "
        "month: the billing period both belong to (the review's period_start, the invoice's period_end).",
        "exceptions.settled (R6), invoice.posted (R1)",
        "reporting currency; share (0-1)",
    ),
    _define(
        "billing_accuracy",
        "Billing accuracy",
        "Posted invoices with no credit memo applied to them since / all posted invoices, by the month posted.",
        "invoice.posted (R1), invoice.credited (R3)",
        "share (0-1)",
    ),
    _define(
        "setup_cycle_time",
        "Project setup cycle time",
        "Per onboarding case: its project.created record - its first record (the CRM's closed-won case start); "
        "by the month the project was created.",
        "onboarding: case.started, project.created",
        "seconds",
    ),
    _define(
        "invoice_cycle_time",
        "Invoice cycle time",
        "Per invoicing project case: its invoice.posted record - its first record; by the month posted. Payments "
        "and credit memos recorded on the case afterwards do not lengthen it.",
        "invoicing: the project case's first record, invoice.posted",
        "seconds",
    ),
    _define(
        "vendor_onboarding_cycle_time",
        "Vendor onboarding cycle time",
        "Per vendor_approval case: its published outcome - its first record (the request received); by the month "
        "of the outcome and by outcome.",
        "vendor_approval: case.started, outcome.published",
        "seconds",
    ),
    _define(
        "reconciliation_effort",
        "Reconciliation effort",
        "Per reconciled period: runs, findings at its latest run, findings sent to people for review, decided by "
        "them (a resolution approved), settled, and closed (no longer holding at a later run); time from the run "
        "that first sent a finding for review to its decision.",
        "reconciliation.compared, reconciliation.completed, reconciliation.finding_settled",
        "count; seconds",
    ),
    _define(
        "orchestrated_share",
        "Share of cases run through the workflows",
        "Closed cases with no case.resumed record and no manual edit (a record by a person outside the approval "
        "protocol) / closed cases; overall, per workflow and by the month closed. Rejected events are not cases "
        "that ran.",
        "every case's trail",
        "share (0-1)",
    ),
    _define(
        "timesheet_compliance",
        "Timesheet compliance (late rate)",
        "Per firm week and practice: worker-weeks reminded (missing or short after the due time: a "
        "timesheet.reminded record) / worker-weeks expected (people owing hours, from the latest "
        "timesheet.week_checked of the week); escalation rate likewise with timesheet.escalated; overall, by "
        "practice, by week and by both.",
        "timesheet.week_checked, timesheet.reminded, timesheet.escalated",
        "share (0-1)",
    ),
    _define(
        "approval_turnaround",
        "Approval turnaround",
        "Per decision: approval.decided - the approval.requested (or escalated) it answers; by step, level and "
        "approver.",
        "approval.requested, approval.escalated, approval.decided",
        "seconds",
        "approvals",
    ),
    _define(
        "exception_rate",
        "Exception rate",
        "Cases with at least one exception (a failure outcome, a refused or expired approval, a rejected event) / "
        "all cases.",
        "every case's trail",
        "share (0-1)",
        "exceptions.rate",
    ),
    _define(
        "rework",
        "Rework",
        "Occurrences of the same work (stage, action) in a case beyond the first; rework % = rework / all the "
        "cases' records. Follow-ups (reminders, link opened, duplicates) and payments after the outcome are not "
        "work.",
        "every case's trail",
        "count; share (0-1)",
        "rework",
    ),
)


def glossary() -> list[Definition]:
    return list(GLOSSARY)


def glossary_markdown() -> str:
    """The glossary as docs/metrics.md's table (one row per number, in the report's order)."""
    rows = ["| Key | Name | Formula | Source records | Unit | In the report |", "|---|---|---|---|---|---|"]
    rows += [
        f"| `{d.key}` | {d.name} | {d.formula} | {d.source} | {d.unit} | `report.{d.path}` |"
        for d in GLOSSARY
    ]
    return "\n".join(rows) + "\n"


# -- the cases -------------------------------------------------------------------------------------------------


def case_trails(events: Iterable[Event]) -> dict[str, list[Event]]:
    """Each case of the firm's trail in chain order (the scheduled jobs' and measurements' records left out, and
    the refused-attempt sink that is no case)."""
    by_case: dict[str, list[Event]] = defaultdict(list)
    for event in events:
        if event.workflow not in NOT_CASES:
            by_case[event.case_id].append(event)
    trails = {case: sorted(trail, key=lambda e: e.seq) for case, trail in sorted(by_case.items())}
    return {
        case: trail
        for case, trail in trails.items()
        if not all(e.action == "approval.refused" for e in trail)
        and not all(e.action == "event.rejected" for e in trail)
    }


def _first(action: str) -> Callable[[Sequence[Event]], Event | None]:
    return lambda trail: next((e for e in case_work(trail) if e.action == action), None)


def case_cycle_time(
    events: Sequence[Event],
    workflow: str,
    end: Callable[[Sequence[Event]], Event | None],
    *,
    start_label: str,
    end_label: str,
    counts: Callable[[Sequence[Event]], bool] = lambda trail: True,
) -> CaseCycleTime:
    """Per case of ``workflow`` that ``counts``: the ``end`` record's time - the case's first record's; cases
    counted apart when they are still open or ended another way."""
    durations: list[tuple[str, str, float]] = []  # (month ended, outcome, seconds)
    still_open = otherwise = 0
    for trail in case_trails(events).values():
        if trail[0].workflow != workflow or not counts(trail):
            continue
        finish = end(trail)
        if finish is None:
            closed = final_outcome(trail) is not None
            otherwise += closed
            still_open += not closed
            continue
        seconds = (finish.timestamp - trail[0].timestamp).total_seconds()
        durations.append((month_of(finish.timestamp.date()), finish.outcome, seconds))
    by_month: dict[str, list[float]] = defaultdict(list)
    by_outcome: dict[str, list[float]] = defaultdict(list)
    for month, outcome, seconds in durations:
        by_month[month].append(seconds)
        by_outcome[outcome].append(seconds)
    months = []
    for month, values in sorted(by_month.items()):
        stats = Stats.of(values)
        assert stats is not None
        months.append(
            CycleMonth(month=month, cases=stats.count, median_seconds=stats.median, mean_seconds=stats.mean)
        )
    return CaseCycleTime(
        available=bool(durations),
        note=f"{len(durations)} {workflow} case(s) from {start_label} to {end_label}"
        if durations
        else f"n/a: no {workflow} case on the trail has reached {end_label} yet",
        workflow=workflow,
        start=start_label,
        end=end_label,
        cases=len(durations),
        open=still_open,
        ended_otherwise=otherwise,
        stats=Stats.of(seconds for _, _, seconds in durations),
        by_month=months,
        by_outcome={k: s for k, v in sorted(by_outcome.items()) if (s := Stats.of(v)) is not None},
        durations=[seconds for _, _, seconds in durations],
    )


def setup_cycle_time(events: Sequence[Event]) -> CaseCycleTime:
    return case_cycle_time(
        events,
        "onboarding",
        _first("project.created"),
        start_label="case started",
        end_label="project created",
    )


def invoice_cycle_time(events: Sequence[Event]) -> CaseCycleTime:
    return case_cycle_time(
        events,
        "invoicing",
        _first("invoice.posted"),
        start_label="project case started",
        end_label="invoice posted",
        # A project's case (its billing checked), not the billing run's own case, which posts no invoice.
        counts=lambda trail: any(e.action == "billing.checked" for e in trail),
    )


def vendor_onboarding_cycle_time(events: Sequence[Event]) -> CaseCycleTime:
    return case_cycle_time(
        events,
        "vendor_approval",
        final_outcome,
        start_label="request received",
        end_label="outcome published",
    )


# -- reconciliation effort -------------------------------------------------------------------------------------


def _count(data: Mapping[str, Any], key: str) -> int:
    value = data.get(key)
    return int(value) if isinstance(value, int | float) and not isinstance(value, bool) else 0


def reconciliation_effort(events: Sequence[Event]) -> ReconciliationEffort:
    """Findings, what people were asked to review and decided, what closed, and how long a decision took."""
    compared = sorted(
        (e for e in events if e.action == "reconciliation.compared"), key=lambda e: (e.timestamp, e.seq)
    )
    period_of: dict[str, str] = {}  # run case -> period
    runs: dict[str, set[str]] = defaultdict(set)
    latest_findings: dict[str, Event] = {}
    sent: dict[str, int] = defaultdict(int)
    closed: dict[str, int] = defaultdict(int)
    found_at: dict[str, Event] = {}  # finding key -> the run that first sent it for review
    for e in compared:
        period = (text(e.data.get("period_start")) or month_of(e.timestamp.date()))[:7]
        period_of[e.case_id] = period
        runs[period].add(e.case_id)
        latest_findings[period] = e
        sent[period] += _count(e.data, "sent_for_review")
        changes = e.data.get("changes")
        closed[period] += _count(changes, "closed") if isinstance(changes, Mapping) else 0
        for key in e.data.get("reviews") or []:
            found_at.setdefault(str(key), e)
    for e in events:  # a run's summary has the findings as they stood at its end
        if e.action == "reconciliation.completed" and e.case_id in period_of:
            period = period_of[e.case_id]
            if e.timestamp >= latest_findings[period].timestamp:
                latest_findings[period] = e
    decided: dict[str, int] = defaultdict(int)
    settled: dict[str, int] = defaultdict(int)
    waits: dict[str, list[float]] = defaultdict(list)
    for e in events:
        if e.action != "reconciliation.finding_settled" or e.data.get("applied") is False:
            continue
        status = text(e.data.get("status"))
        if status not in DECIDED:
            continue
        # A finding is decided on a case of its own: it belongs to the period of the run that sent it for review.
        first = found_at.get(str(e.data.get("key")))
        period = period_of.get(first.case_id if first else e.case_id) or month_of(e.timestamp.date())
        decided[period] += 1
        settled[period] += status == "settled"
        if first is not None:
            waits[period].append((e.timestamp - first.timestamp).total_seconds())
    by_period = [
        ReconciliationPeriod(
            period=period,
            runs=len(runs[period]),
            findings=_count(latest_findings[period].data, "findings"),
            sent_for_review=sent[period],
            decided=decided[period],
            settled=settled[period],
            closed=closed[period],
            time_to_settle=Stats.of(waits[period]),
        )
        for period in sorted(runs)
    ]
    return ReconciliationEffort(
        available=bool(by_period),
        note=f"{sum(p.runs for p in by_period)} reconciliation run(s) over {len(by_period)} period(s)"
        if by_period
        else "n/a: no reconciliation.compared record on the trail (no reconciliation has run)",
        runs=sum(p.runs for p in by_period),
        findings=sum(p.findings for p in by_period),
        sent_for_review=sum(p.sent_for_review for p in by_period),
        decided=sum(p.decided for p in by_period),
        settled=sum(p.settled for p in by_period),
        closed=sum(p.closed for p in by_period),
        time_to_settle=Stats.of(seconds for values in waits.values() for seconds in values),
        by_period=by_period,
    )


# -- orchestrated share ----------------------------------------------------------------------------------------


def _orchestrated_groups(items: Iterable[tuple[str, bool]]) -> list[OrchestratedGroup]:
    grouped: dict[str, list[bool]] = defaultdict(list)
    for key, alone in items:
        grouped[key].append(alone)
    return [
        OrchestratedGroup(key=key, closed=len(v), orchestrated=sum(v), share=ratio(sum(v), len(v)))
        for key, v in sorted(grouped.items())
    ]


def orchestrated_share(events: Sequence[Event]) -> OrchestratedShare:
    """Closed cases that ran through their workflow alone: never resumed, never edited by hand."""
    closed: list[tuple[str, str, bool]] = []  # (workflow, month closed, orchestrated)
    for trail in case_trails(events).values():
        final = final_outcome(trail)
        if final is None:
            continue
        work = case_work(trail)
        alone = not any(e.action == "case.resumed" or is_manual_edit(e) for e in work)
        closed.append((trail[0].workflow, month_of(final.timestamp.date()), alone))
    orchestrated = sum(alone for _, _, alone in closed)
    return OrchestratedShare(
        available=bool(closed),
        note=f"{orchestrated} of {len(closed)} closed case(s) ran with no resume and no manual edit"
        if closed
        else "n/a: no case on the trail has published its outcome yet",
        closed=len(closed),
        orchestrated=orchestrated,
        share=ratio(orchestrated, len(closed)),
        by_workflow=_orchestrated_groups((w, alone) for w, _, alone in closed),
        by_month=_orchestrated_groups((m, alone) for _, m, alone in closed),
    )


# -- all of them -----------------------------------------------------------------------------------------------


def management_numbers(events: Sequence[Event], as_of: datetime | None) -> ManagementNumbers:
    """Every management number over the event log (all of it: the receivables and delivery metrics read the
    measurement jobs' records too), money as of ``as_of``'s date."""
    day = as_of.date() if as_of is not None else None
    return ManagementNumbers(
        dso=dso(events, day),
        aging=aging(events, day),
        days_to_pay=days_to_pay(events),
        billing_lag=billing_lag(events),
        utilization=utilization(events),
        realization=realization(events),
        wip=wip(events),
        leakage=leakage(events),
        billing_accuracy=billing_accuracy(events),
        setup_cycle_time=setup_cycle_time(events),
        invoice_cycle_time=invoice_cycle_time(events),
        vendor_onboarding_cycle_time=vendor_onboarding_cycle_time(events),
        reconciliation_effort=reconciliation_effort(events),
        orchestrated_share=orchestrated_share(events),
        timesheet_compliance=timesheet_compliance(events),
    )
