"""The process-intelligence report as one self-contained HTML page: inline CSS and SVG, no scripts, no fetches.

The page is ``intelligence/templates/report.html.j2`` (escaped by default, ``backoffice.html``); this module computes
what each section shows. The charts and the process map are SVG that ``charts`` and ``process_map_svg`` build and
escape themselves, handed to the template as ``Markup``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

from markupsafe import Markup

from backoffice.html import render
from backoffice.intelligence import charts, html_management
from backoffice.intelligence.charts import Bar, Range
from backoffice.intelligence.metrics import CycleTime, ProcessMap, Report, TurnaroundGroup, WorkflowSummary
from backoffice.intelligence.process_map_svg import legend, process_map_svg
from backoffice.intelligence.stats import Stats, format_duration, format_percent

EXCEPTION_COLORS = {"blocked": "#ef4444", "approval": "#f59e0b", "event": "#8b5cf6"}

DEFINITIONS = (
    ("Case", "A case id in the audit trail. A rejected event is a case that never ran."),
    ("Cycle time", "Last published outcome minus the case's first record; open cases are counted apart."),
    (
        "Exception",
        "A failure outcome (by error name), a refused approval attempt, an expired approval, a rejected event.",
    ),
    ("First-pass yield", "Cases with no exception, no rework and no manual edit / all cases."),
    ("Wait", "Time between consecutive records, charged to the step that recorded the later one."),
)


def _fmt_time(moment: datetime | None) -> str:
    return moment.strftime("%Y-%m-%d %H:%M UTC") if moment else "n/a"


def _table(
    headers: Sequence[str],
    rows: Iterable[Sequence[Any]],
    numeric: Sequence[int] = (),
    kinds: Mapping[int, str] | None = None,
) -> dict[str, Any]:
    """A table for the template's ``table`` macro; ``kinds`` marks columns shown as ``id``, ``code``, ``why`` or
    ``path`` (a list of activities)."""
    return {
        "headers": list(headers),
        "rows": [list(row) for row in rows],
        "numeric": frozenset(numeric),
        "kinds": dict(kinds or {}),
    }


def _main_workflow(report: Report) -> WorkflowSummary | None:
    return max(report.workflows, key=lambda w: (w.cases, w.workflow), default=None)


def _kpis(report: Report) -> list[tuple[str, str, str]]:
    main = _main_workflow(report)
    cycle = main.cycle.stats if main else None
    approvals = report.approvals
    top_wait = next(iter(report.waits.by_stage), None)
    return [
        ("Cases", str(report.cases), f"{report.open_cases} open · {report.events} events"),
        (
            f"Median cycle · {main.workflow}" if main else "Median cycle time",
            format_duration(cycle.median) if cycle else "n/a",
            f"p90 {format_duration(cycle.p90)} · {cycle.count} closed" if cycle else "no closed case",
        ),
        (
            "Exception rate",
            format_percent(report.exceptions.rate),
            f"{report.exceptions.cases_with_exception} of {report.exceptions.cases} cases",
        ),
        (
            "First-pass yield",
            format_percent(report.first_pass.rate),
            f"{report.first_pass.first_pass} of {report.first_pass.cases} cases untouched",
        ),
        (
            "Approval turnaround",
            format_duration(approvals.overall.median) if approvals.overall else "n/a",
            f"median · p90 {format_duration(approvals.overall.p90)} · {approvals.pending} pending"
            if approvals.overall
            else f"{approvals.pending} pending",
        ),
        (
            "Rework",
            format_percent(report.rework.rate),
            f"{report.rework.rework} repeats in {report.rework.cases_with_rework} case(s)",
        ),
        (
            "Approvals waiting",
            str(approvals.pending),
            f"{approvals.reminders} reminder(s) · {approvals.expired} expired · {approvals.escalated} escalated",
        ),
        (
            "Most waiting in",
            format_percent(top_wait.share) if top_wait else "n/a",
            f"{top_wait.stage} ({top_wait.workflow})" if top_wait else "no waits",
        ),
    ]


def _process_map_section(pm: ProcessMap) -> dict[str, Any]:
    return {
        "workflow": pm.workflow,
        "cases": pm.cases,
        # SVG the process-map module built, every text in it escaped there.
        "legend": Markup(legend()),
        "chart": Markup(process_map_svg(pm)),
        "variants": _table(
            ["Cases", "Share", "Path"],
            ([str(v.cases), format_percent(v.share), list(v.activities)] for v in pm.variants),
            numeric=(0, 1),
            kinds={2: "path"},
        ),
    }


def _cycle_section(cycle: CycleTime, summary: WorkflowSummary) -> dict[str, Any]:
    stats = cycle.stats
    markers = [("median", stats.median), ("p90", stats.p90)] if stats else []
    chart = charts.histogram(
        cycle.durations, title=f"cycle-time distribution of {cycle.workflow}", markers=markers
    )
    rows = [["all closed", *_stat_cells(stats)]]
    rows += [[outcome, *_stat_cells(s)] for outcome, s in cycle.by_outcome.items()]
    open_note = (
        f"{cycle.open} open case(s), oldest {format_duration(cycle.open_age.max)}, "
        f"median age {format_duration(cycle.open_age.median)}"
        if cycle.open_age
        else "No open case"
    )
    facts = _table(
        ["Cases", "Closed", "Open", "Rejected events", "Exception rate", "First-pass yield", "Rework"],
        [
            [
                str(summary.cases),
                str(cycle.closed),
                str(cycle.open),
                str(summary.rejected_events),
                format_percent(summary.exception_rate),
                format_percent(summary.first_pass_yield),
                format_percent(summary.rework_rate),
            ]
        ],
        numeric=(0, 1, 2, 3, 4, 5, 6),
    )
    return {
        "workflow": cycle.workflow,
        "open_note": open_note,
        "chart": Markup(chart),  # SVG the chart module built and escaped
        "table": _table(["Outcome", "Cases", "Median", "p90", "Max"], rows, numeric=(1, 2, 3, 4)),
        "facts": facts,
    }


def _stat_cells(stats: Stats | None) -> list[str]:
    if stats is None:
        return ["0", "n/a", "n/a", "n/a"]
    return [
        str(stats.count),
        format_duration(stats.median),
        format_duration(stats.p90),
        format_duration(stats.max),
    ]


def _exceptions_section(report: Report) -> dict[str, Any]:
    ex = report.exceptions
    bars = [
        Bar(
            label=r.rule,
            value=r.cases or r.occurrences,
            text=f"{r.cases} case(s) · {format_percent(r.share_of_cases)}"
            if r.cases
            else f"{r.occurrences} (no case)",
            color=EXCEPTION_COLORS.get(r.rule.split(" ")[0].rstrip(":"), "#64748b"),
        )
        for r in ex.rules
    ]
    chart = charts.bar_chart(bars, title="exceptions by rule", width=1130, label_width=300)
    table = _table(
        ["Rule", "Cases", "Occurrences", "Workflows", "Example reason"],
        ([r.rule, str(r.cases), str(r.occurrences), ", ".join(r.workflows), r.example] for r in ex.rules),
        numeric=(1, 2),
        kinds={4: "why"},
    )
    return {"summary": ex, "chart": Markup(chart), "table": table}


def _ranges(groups: Sequence[TurnaroundGroup], multi_workflow: bool) -> list[Range]:
    return [
        Range(
            label=g.key,
            median=g.stats.median,
            p90=g.stats.p90,
            count=g.decisions,
            sublabel=(f"{g.workflow} · " if multi_workflow else "")
            + f"{g.approved} approved, {g.rejected} rejected",
        )
        for g in groups
    ]


def _approvals_section(report: Report) -> dict[str, Any]:
    a = report.approvals
    multi = len({g.workflow for g in a.by_level}) > 1
    by_level = charts.range_chart(
        _ranges(a.by_level, multi), title="approval turnaround per level", width=550
    )
    by_approver = charts.range_chart(
        _ranges(a.by_approver, multi), title="approval turnaround per approver", width=550, label_width=215
    )
    table = _table(
        ["Step", "Workflow", "Decisions", "Approved", "Rejected", "Median", "p90", "Max"],
        (
            [
                g.key,
                g.workflow,
                str(g.decisions),
                str(g.approved),
                str(g.rejected),
                format_duration(g.stats.median),
                format_duration(g.stats.p90),
                format_duration(g.stats.max),
            ]
            for g in a.by_step
        ),
        numeric=(2, 3, 4, 5, 6, 7),
    )
    return {"summary": a, "by_level": Markup(by_level), "by_approver": Markup(by_approver), "table": table}


def _waits_section(report: Report) -> dict[str, Any]:
    w = report.waits
    charts_by_workflow: list[tuple[str, Markup]] = []
    busiest = sorted(report.workflows, key=lambda summary: (-summary.cases, summary.workflow))
    for workflow in [b.workflow for b in busiest if any(g.workflow == b.workflow for g in w.by_stage)]:
        groups = [g for g in w.by_stage if g.workflow == workflow][:8]
        bars = [
            Bar(
                label=g.stage,
                value=g.total_seconds,
                text=f"{format_percent(g.share)} · total {format_duration(g.total_seconds)} · "
                f"median {format_duration(g.stats.median)} · {g.waits}\u00d7",
                color="#0ea5e9",
            )
            for g in groups
        ]
        chart = charts.bar_chart(bars, title=f"where {workflow} cases wait", width=1130, label_width=300)
        charts_by_workflow.append((workflow, Markup(chart)))
    top = _table(
        ["Case", "Workflow", "Waited", "Until", "After"],
        ([t.case_id, t.workflow, format_duration(t.seconds), t.before or "", t.after] for t in w.top),
        numeric=(2,),
        kinds={0: "id"},
    )
    now = _table(
        ["Case", "Workflow", "Waiting for", "Since", "Last activity"],
        (
            [t.case_id, t.workflow, format_duration(t.seconds), _fmt_time(t.since), t.after]
            for t in w.waiting_now
        ),
        numeric=(2,),
        kinds={0: "id"},
    )
    return {"charts": charts_by_workflow, "top": top, "now": now}


def _quality_section(report: Report) -> dict[str, Any]:
    rw = report.rework
    rework = _table(
        ["Step", "Action", "Workflow", "Repeats", "Cases"],
        ([i.stage, i.action, i.workflow, str(i.repeats), str(i.cases)] for i in rw.items[:12]),
        numeric=(3, 4),
        kinds={1: "code"},
    )
    lag = report.billing_lag
    lag_table = (
        _table(
            ["Items", "Median", "p90", "Mean", "Max"],
            [
                [
                    str(lag.items),
                    f"{lag.stats.median:.0f} d",
                    f"{lag.stats.p90:.0f} d",
                    f"{lag.stats.mean:.1f} d",
                    f"{lag.stats.max:.0f} d",
                ]
            ],
            numeric=(0, 1, 2, 3, 4),
        )
        if lag.stats
        else None
    )
    agreement = report.scorer_agreement
    agreement_table = (
        _table(
            ["Rule", "Billing month", "Decided", "Confirmed", "Cleared", "Agreement"],
            (
                [
                    item.rule,
                    item.month,
                    str(item.decided),
                    str(item.confirmed),
                    str(item.cleared),
                    format_percent(item.agreement),
                ]
                for item in agreement.by_rule
            ),
            numeric=(2, 3, 4, 5),
            kinds={0: "code"},
        )
        if agreement.available
        else None
    )
    ai = report.ai_agreement
    ai_table = (
        _table(
            [
                "Use",
                "Model",
                "Suggestions",
                "Decided",
                "Approved",
                "Flagged",
                "Agreed",
                "Agreement",
                "Fell back",
            ],
            (
                [
                    item.use.replace("_", " "),
                    item.model,
                    str(item.suggestions),
                    str(item.decided),
                    str(item.approved),
                    str(item.flagged),
                    str(item.agreed) if item.agreement is not None else "n/a",
                    format_percent(item.agreement) if item.agreement is not None else "n/a",
                    str(item.fallbacks),
                ]
                for item in ai.by_use
            ),
            numeric=(2, 3, 4, 5, 6, 7, 8),
            kinds={1: "code"},
        )
        if ai.available
        else None
    )
    return {"rework": rework, "lag": lag_table, "agreement": agreement_table, "ai": ai_table}


def render_html(report: Report, *, title: str = "Process intelligence") -> str:
    """The whole report as one HTML document with no external resources."""
    summaries = {w.workflow: w for w in report.workflows}
    # The busiest workflow first.
    maps = sorted(report.process_maps, key=lambda pm: (-pm.cases, pm.workflow))
    by_size = sorted(report.workflows, key=lambda w: (-w.cases, w.workflow))
    page = render(
        "intelligence/report.html.j2",
        title=title,
        report=report,
        workflows=", ".join(w.workflow for w in report.workflows) or "none",
        period=f"{_fmt_time(report.first_event_at)} → {_fmt_time(report.as_of)}",
        kpis=_kpis(report),
        process_maps=[_process_map_section(pm) for pm in maps if pm.workflow in summaries],
        cycles=[_cycle_section(w.cycle, w) for w in by_size],
        exceptions=_exceptions_section(report),
        approvals=_approvals_section(report),
        waits=_waits_section(report),
        quality=_quality_section(report),
        management={
            "cards": html_management.cards(report.management),
            "receivables": html_management.receivables(report.management),
            "delivery": html_management.delivery(report.management),
            "billing": html_management.billing(report.management),
            "operations": html_management.operations(report.management),
        },
        glossary=report.glossary,
        definitions=DEFINITIONS,
        fmt_time=_fmt_time,
        percent=format_percent,
    )
    return page + "\n"
