"""The process-intelligence report as one self-contained HTML page: inline CSS and SVG, no scripts, no fetches."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime

from backoffice.intelligence import charts
from backoffice.intelligence.charts import Bar, Range, esc
from backoffice.intelligence.metrics import CycleTime, ProcessMap, Report, TurnaroundGroup, WorkflowSummary
from backoffice.intelligence.process_map_svg import legend, process_map_svg
from backoffice.intelligence.stats import Stats, format_duration, format_percent

EXCEPTION_COLORS = {"blocked": "#ef4444", "approval": "#f59e0b", "event": "#8b5cf6"}

CSS = """
*{box-sizing:border-box}
body{margin:0;background:#f3f4f6;color:#1f2937;font:14px/1.45 system-ui,-apple-system,'Segoe UI',Roboto,'Helvetica Neue',Arial,sans-serif}
header{background:#111827;color:#f9fafb;padding:26px 0 44px}
.wrap{max-width:1180px;margin:0 auto;padding:0 24px}
h1{margin:0 0 4px;font-size:24px;font-weight:700;letter-spacing:-.01em}
header p{margin:0;color:#9ca3af}
h2{font-size:17px;margin:0 0 2px}
h3{font-size:14px;margin:18px 0 6px;color:#374151}
.lead{color:#6b7280;margin:0 0 14px;font-size:13px}
.kpis{display:grid;grid-template-columns:repeat(4,1fr);gap:12px;margin:-18px 0 18px}
.kpi{background:#fff;border-radius:10px;padding:14px 16px;box-shadow:0 1px 2px rgba(0,0,0,.06),0 1px 6px rgba(0,0,0,.04)}
.kpi .label{font-size:12px;color:#6b7280;text-transform:uppercase;letter-spacing:.04em}
.kpi .value{font-size:26px;font-weight:700;margin:2px 0 0;font-variant-numeric:tabular-nums}
.kpi .sub{font-size:12px;color:#6b7280}
.card{background:#fff;border-radius:10px;padding:18px 20px;margin:0 0 18px;box-shadow:0 1px 2px rgba(0,0,0,.06),0 1px 6px rgba(0,0,0,.04)}
.grid2{display:grid;grid-template-columns:1fr 1fr;gap:18px}
.grid32{display:grid;grid-template-columns:3fr 2fr;gap:18px}
.id{white-space:nowrap;font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:12px}
.scroll{overflow-x:auto;border:1px solid #e5e7eb;border-radius:8px;background:#fcfcfd}
table{border-collapse:collapse;width:100%;font-size:13px;font-variant-numeric:tabular-nums}
th{text-align:left;font-weight:600;color:#6b7280;font-size:12px;border-bottom:1px solid #e5e7eb;padding:6px 8px}
td{border-bottom:1px solid #f1f5f9;padding:6px 8px;vertical-align:top}
td.num,th.num{text-align:right;white-space:nowrap}
td.why{color:#6b7280;font-size:12px;max-width:420px}
.tag{display:inline-block;border-radius:9px;padding:0 7px;font-size:11px;font-weight:600;background:#eef2ff;color:#3730a3}
.tag.bad{background:#fef2f2;color:#b91c1c}.tag.good{background:#ecfdf5;color:#047857}.tag.wait{background:#fffbeb;color:#92400e}
.legend{display:flex;flex-wrap:wrap;gap:14px;margin:8px 0 10px;font-size:12px;color:#4b5563}
.key{display:inline-flex;align-items:center;gap:5px}
.path{font-size:12px;color:#374151}
.path span{white-space:nowrap}
.na{color:#9ca3af}
dl{display:grid;grid-template-columns:170px 1fr;gap:6px 16px;margin:0;font-size:13px}
dt{font-weight:600}dd{margin:0;color:#4b5563}
footer{color:#9ca3af;font-size:12px;padding:4px 0 30px}
svg.chart{max-width:100%;height:auto}
@media (max-width:900px){.kpis{grid-template-columns:repeat(2,1fr)}.grid2,.grid32{grid-template-columns:1fr}}
"""

DEFINITIONS = (
    ("Case", "A case id in the audit trail. A rejected event is a case that never ran."),
    ("Cycle time", "Last published outcome minus the case's first record; open cases are counted apart."),
    ("Approval turnaround", "A decision's time minus the time of the request it answers."),
    (
        "Exception",
        "A failure outcome (by error name), a refused approval attempt, an expired approval, a rejected event.",
    ),
    ("Exception rate", "Cases with at least one exception / all cases."),
    ("First-pass yield", "Cases with no exception, no rework and no manual edit / all cases."),
    ("Rework", "The same step and action done again in a case (after a resume, a retry); % of all events."),
    ("Wait", "Time between consecutive records, charged to the step that recorded the later one."),
    ("Billing lag", "Invoice date minus work date, for records carrying both."),
    (
        "DSO",
        "Receivables / credit sales \u00d7 days. Cash freed by cutting DSO by d days = d \u00d7 revenue / 365.",
    ),
)


def _fmt_time(moment: datetime | None) -> str:
    return moment.strftime("%Y-%m-%d %H:%M UTC") if moment else "n/a"


def _table(headers: Sequence[str], rows: Iterable[Sequence[str]], numeric: Sequence[int] = ()) -> str:
    head = "".join(
        f'<th class="num">{esc(h)}</th>' if i in numeric else f"<th>{esc(h)}</th>"
        for i, h in enumerate(headers)
    )
    body = []
    for row in rows:
        cells = "".join(
            f'<td class="num">{c}</td>' if i in numeric else f"<td>{c}</td>" for i, c in enumerate(row)
        )
        body.append(f"<tr>{cells}</tr>")
    if not body:
        body.append(f'<tr><td colspan="{len(headers)}" class="na">none</td></tr>')
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def _kpi(label: str, value: str, sub: str) -> str:
    return f'<div class="kpi"><div class="label">{esc(label)}</div><div class="value">{esc(value)}</div><div class="sub">{esc(sub)}</div></div>'


def _main_workflow(report: Report) -> WorkflowSummary | None:
    return max(report.workflows, key=lambda w: (w.cases, w.workflow), default=None)


def _kpis(report: Report) -> str:
    main = _main_workflow(report)
    cycle = main.cycle.stats if main else None
    approvals = report.approvals
    lag = report.billing_lag
    top_wait = next(iter(report.waits.by_stage), None)
    tiles = [
        _kpi("Cases", str(report.cases), f"{report.open_cases} open · {report.events} events"),
        _kpi(
            f"Median cycle · {main.workflow}" if main else "Median cycle time",
            format_duration(cycle.median) if cycle else "n/a",
            f"p90 {format_duration(cycle.p90)} · {cycle.count} closed" if cycle else "no closed case",
        ),
        _kpi(
            "Exception rate",
            format_percent(report.exceptions.rate),
            f"{report.exceptions.cases_with_exception} of {report.exceptions.cases} cases",
        ),
        _kpi(
            "First-pass yield",
            format_percent(report.first_pass.rate),
            f"{report.first_pass.first_pass} of {report.first_pass.cases} cases untouched",
        ),
        _kpi(
            "Approval turnaround",
            format_duration(approvals.overall.median) if approvals.overall else "n/a",
            f"median · p90 {format_duration(approvals.overall.p90)} · {approvals.pending} pending"
            if approvals.overall
            else f"{approvals.pending} pending",
        ),
        _kpi(
            "Rework",
            format_percent(report.rework.rate),
            f"{report.rework.rework} repeats in {report.rework.cases_with_rework} case(s)",
        ),
        _kpi(
            "Billing lag",
            f"{lag.stats.median:.0f} d" if lag.stats else "n/a",
            f"median · p90 {lag.stats.p90:.0f} d · {lag.items} items"
            if lag.stats
            else "no work/invoice dates",
        ),
        _kpi(
            "Most waiting in",
            format_percent(top_wait.share) if top_wait else "n/a",
            f"{top_wait.stage} ({top_wait.workflow})" if top_wait else "no waits",
        ),
    ]
    return f'<section class="kpis">{"".join(tiles)}</section>'


def _process_map_section(pm: ProcessMap) -> str:
    variants = _table(
        ["Cases", "Share", "Path"],
        (
            [
                str(v.cases),
                format_percent(v.share),
                '<div class="path">' + " → ".join(f"<span>{esc(a)}</span>" for a in v.activities) + "</div>",
            ]
            for v in pm.variants
        ),
        numeric=(0, 1),
    )
    return (
        f'<section class="card"><h2>Process map · {esc(pm.workflow)}</h2>'
        f'<p class="lead">Observed paths of {pm.cases} case(s): each box is an activity (events in its corner), each '
        "arrow a directly-follows transition with the number of times it happened; columns follow the activities' "
        "average position in their cases, loops back run under the boxes.</p>"
        f'<div class="legend">{legend()}</div>'
        f'<div class="scroll">{process_map_svg(pm)}</div>'
        f"<h3>Most common paths</h3>{variants}</section>"
    )


def _cycle_section(cycle: CycleTime, summary: WorkflowSummary) -> str:
    stats = cycle.stats
    markers = [("median", stats.median), ("p90", stats.p90)] if stats else []
    chart = charts.histogram(
        cycle.durations, title=f"cycle-time distribution of {cycle.workflow}", markers=markers
    )
    rows = [["all closed", *_stat_cells(stats)]]
    rows += [[esc(outcome), *_stat_cells(s)] for outcome, s in cycle.by_outcome.items()]
    table = _table(["Outcome", "Cases", "Median", "p90", "Max"], rows, numeric=(1, 2, 3, 4))
    open_note = (
        f"{cycle.open} open case(s), oldest {format_duration(cycle.open_age.max)}, median age {format_duration(cycle.open_age.median)}"
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
    return (
        f'<section class="card"><h2>Cycle time · {esc(cycle.workflow)}</h2>'
        f'<p class="lead">From the first record of a case to its published outcome. {esc(open_note)}.</p>'
        f'<div class="grid2"><div>{chart}</div><div>{table}<h3>Cases</h3>{facts}</div></div></section>'
    )


def _stat_cells(stats: Stats | None) -> list[str]:
    if stats is None:
        return ["0", "n/a", "n/a", "n/a"]
    return [
        str(stats.count),
        format_duration(stats.median),
        format_duration(stats.p90),
        format_duration(stats.max),
    ]


def _exceptions_section(report: Report) -> str:
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
        (
            [
                esc(r.rule),
                str(r.cases),
                str(r.occurrences),
                esc(", ".join(r.workflows)),
                f'<span class="why">{esc(r.example)}</span>',
            ]
            for r in ex.rules
        ),
        numeric=(1, 2),
    )
    return (
        '<section class="card"><h2>Exceptions by rule</h2>'
        f'<p class="lead">{ex.cases_with_exception} of {ex.cases} cases ({format_percent(ex.rate)}) met at least one '
        "exception. Red: the error that blocked a case; amber: approvals refused or expired; violet: events rejected "
        f"at intake.</p>{chart}<h3>Details</h3>{table}</section>"
    )


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


def _approvals_section(report: Report) -> str:
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
                esc(g.key),
                esc(g.workflow),
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
    return (
        '<section class="card"><h2>Approval turnaround</h2>'
        f'<p class="lead">From the request to each decision: {a.requests} request(s), {a.decisions} decision(s), '
        f"{a.pending} pending, {a.reminders} reminder(s), {a.expired} expired, {a.escalated} escalated. "
        "Bars show the median, whiskers the 90th percentile.</p>"
        f'<div class="grid2"><div><h3>Per approval level</h3>{by_level}</div>'
        f"<div><h3>Per approver</h3>{by_approver}</div></div><h3>Per workflow step</h3>{table}</section>"
    )


def _waits_section(report: Report) -> str:
    w = report.waits
    charts_by_workflow = []
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
        charts_by_workflow.append(f"<h3>{esc(workflow)}</h3>{chart}")
    top = _table(
        ["Case", "Workflow", "Waited", "Until", "After"],
        (
            [
                f'<span class="id">{esc(t.case_id)}</span>',
                esc(t.workflow),
                format_duration(t.seconds),
                esc(t.before or ""),
                esc(t.after),
            ]
            for t in w.top
        ),
        numeric=(2,),
    )
    now = _table(
        ["Case", "Workflow", "Waiting for", "Since", "Last activity"],
        (
            [
                f'<span class="id">{esc(t.case_id)}</span>',
                esc(t.workflow),
                format_duration(t.seconds),
                _fmt_time(t.since),
                esc(t.after),
            ]
            for t in w.waiting_now
        ),
        numeric=(2,),
    )
    return (
        '<section class="card"><h2>Where cases wait</h2>'
        '<p class="lead">Time between consecutive records, charged to the step that recorded the later one: its share '
        "of the workflow's waiting time, the total, the median and how often.</p>"
        f"{''.join(charts_by_workflow)}<h3>Longest waits</h3>{top}"
        f"<h3>Open cases waiting now (as of {_fmt_time(report.as_of)})</h3>{now}</section>"
    )


def _quality_section(report: Report) -> str:
    rw = report.rework
    rework_table = _table(
        ["Step", "Action", "Workflow", "Repeats", "Cases"],
        (
            [esc(i.stage), f"<code>{esc(i.action)}</code>", esc(i.workflow), str(i.repeats), str(i.cases)]
            for i in rw.items[:12]
        ),
        numeric=(3, 4),
    )
    lag = report.billing_lag
    if lag.stats:
        lag_html = _table(
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
    else:
        lag_html = f'<p class="na">{esc(lag.note)}</p>'
    fpy = report.first_pass
    return (
        '<section class="card"><h2>Rework, first-pass yield and billing lag</h2>'
        f'<p class="lead">First-pass yield {format_percent(fpy.rate)} ({fpy.first_pass} of {fpy.cases} cases with no '
        f"exception, rework or manual edit). Rework {format_percent(rw.rate)}: {rw.rework} repeated activities out "
        f"of {rw.activities}.</p>"
        f'<div class="grid32"><div><h3>Work done again</h3>{rework_table}</div>'
        f"<div><h3>Billing lag (invoice date \u2212 work date)</h3>{lag_html}</div></div></section>"
    )


def _definitions() -> str:
    items = "".join(f"<dt>{esc(term)}</dt><dd>{esc(text)}</dd>" for term, text in DEFINITIONS)
    return f'<section class="card"><h2>Definitions</h2><p class="lead">As in DOMAIN.md section 6.</p><dl>{items}</dl></section>'


def render_html(report: Report, *, title: str = "Process intelligence") -> str:
    """The whole report as one HTML document with no external resources."""
    summaries = {w.workflow: w for w in report.workflows}
    period = f"{_fmt_time(report.first_event_at)} → {_fmt_time(report.as_of)}"
    workflows = ", ".join(w.workflow for w in report.workflows) or "none"
    sections = [_kpis(report)]
    # The busiest workflow first.
    maps = sorted(report.process_maps, key=lambda pm: (-pm.cases, pm.workflow))
    sections += [_process_map_section(pm) for pm in maps if pm.workflow in summaries]
    by_size = sorted(report.workflows, key=lambda w: (-w.cases, w.workflow))
    sections += [_cycle_section(w.cycle, w) for w in by_size]
    sections += [_exceptions_section(report), _approvals_section(report), _waits_section(report)]
    sections += [_quality_section(report), _definitions()]
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{esc(title)}</title><style>{CSS}</style></head><body>"
        f'<header><div class="wrap"><h1>{esc(title)}</h1>'
        f"<p>From the audit trail · {report.events} events · {report.cases} cases · workflows: {esc(workflows)} · "
        f"{esc(period)}</p></div></header>"
        f'<main class="wrap">{"".join(sections)}</main>'
        f'<footer class="wrap">Generated from hash-chained audit records; figures as of {_fmt_time(report.as_of)}.</footer>'
        "</body></html>\n"
    )
