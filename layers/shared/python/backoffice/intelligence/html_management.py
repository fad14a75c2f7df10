"""The management numbers' part of the HTML report: a card per number, and charts by month, client and practice.

What a finance or operations lead reads first: receivables (DSO, aging, days to pay), delivery and margin
(utilization, realization, WIP, leakage), billing (lag, accuracy, invoice cycle time) and how the cases ran (setup and
vendor onboarding cycle times, reconciliation effort, the share run through the workflows alone). Every figure is
``report.management``'s, defined once in ``report.glossary``; a number with nothing behind it shows its ``note``.
Charts are SVG the chart modules build and escape, handed to the template as ``Markup``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from decimal import Decimal
from typing import Any

from markupsafe import Markup

from backoffice.intelligence import charts
from backoffice.intelligence.chart_geometry import linear_scale
from backoffice.intelligence.chart_scales import duration_step
from backoffice.intelligence.charts import Bar, Point
from backoffice.intelligence.management import CaseCycleTime, ManagementNumbers
from backoffice.intelligence.stats import Stats, format_duration, format_percent

GOOD, WARN, BAD, NEUTRAL = "#10b981", "#f59e0b", "#ef4444", "#2563eb"
AGING_COLORS = {"current": GOOD, "1-30": "#84cc16", "31-60": WARN, "61-90": "#f97316", "90+": BAD}
WIP_COLORS = {"0-30": GOOD, "31-60": WARN, "61-90": "#f97316", "90+": BAD}
HALF = 550  # a chart in one of two columns
FULL = 1130


def money(value: Decimal | float | None) -> str:
    """Reporting-currency amounts as a reader scans them: 4.37M, 377.6k, 950."""
    if value is None:
        return "n/a"
    amount = float(value)
    for size, suffix in ((1e6, "M"), (1e3, "k")):
        if abs(amount) >= size:
            return f"{amount / size:,.2f}{suffix}" if size == 1e6 else f"{amount / size:,.1f}{suffix}"
    return f"{amount:,.0f}"


def days(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.1f} d" if value < 10 else f"{value:.0f} d"


def _share(value: float) -> str:
    return f"{value * 100:.0f}%"


def _card(key: str, label: str, value: str, sub: str, available: bool) -> dict[str, Any]:
    return {"key": key, "label": label, "value": value if available else "n/a", "sub": sub}


def _cycle_card(key: str, label: str, cycle: CaseCycleTime) -> dict[str, Any]:
    stats = cycle.stats
    sub = f"median · p90 {format_duration(stats.p90)} · {stats.count} case(s)" if stats else cycle.note
    return _card(key, label, format_duration(stats.median) if stats else "n/a", sub, stats is not None)


def cards(m: ManagementNumbers) -> list[dict[str, Any]]:
    """One card per management number, in the order a reader asks about them."""
    r, a, d, lag = m.dso, m.aging, m.days_to_pay, m.billing_lag
    past_due = sum((v for k, v in a.buckets.items() if k != "current"), Decimal(0))
    u, re_, w, lk, acc = m.utilization, m.realization, m.wip, m.leakage, m.billing_accuracy
    rec, orch = m.reconciliation_effort, m.orchestrated_share
    return [
        _card(
            "dso",
            "DSO (count-back)",
            days(r.count_back),
            f"simple {days(r.simple)} · receivables {money(r.receivables_base)}",
            r.count_back is not None,
        ),
        _card(
            "aging",
            "Past due",
            money(past_due),
            f"{format_percent(float(past_due / a.open_base) if a.open_base else None)} of {money(a.open_base)} "
            f"open on {a.invoices} invoice(s)",
            a.available,
        ),
        _card(
            "days_to_pay",
            "Days to pay",
            days(d.stats.median) if d.stats else "n/a",
            f"median · {format_percent(d.paid_late_share)} paid late · {d.invoices} invoice(s)",
            d.stats is not None,
        ),
        _card(
            "billing_lag",
            "Billing lag",
            days(lag.stats.median) if lag.stats else "n/a",
            f"period end → posted · median · p90 {days(lag.stats.p90)}" if lag.stats else lag.note,
            lag.stats is not None,
        ),
        _card(
            "utilization",
            "Utilization",
            format_percent(u.utilization),
            f"{u.billable_hours:,.0f} of {u.available_hours:,.0f} h · {u.workers} people",
            u.utilization is not None,
        ),
        _card(
            "realization",
            "Realization",
            format_percent(re_.realization),
            f"billed {money(re_.time_billed_base)} of {money(re_.time_standard_base)} at the card",
            re_.realization is not None,
        ),
        _card(
            "wip",
            "WIP (approved, unbilled)",
            money(w.wip_base),
            f"{w.projects} project(s) at {w.as_of} · 90+ d {money(w.aging.get('90+'))}",
            w.available,
        ),
        _card(
            "leakage",
            "Leakage",
            money(lk.total_base),
            f"{format_percent(lk.share_of_standard)} of standard · write-offs {money(lk.write_off_base)}",
            lk.available,
        ),
        _card(
            "billing_accuracy",
            "Billing accuracy",
            format_percent(acc.accuracy),
            f"{acc.accurate} of {acc.posted} invoices never credited",
            acc.accuracy is not None,
        ),
        _cycle_card("invoice_cycle_time", "Invoice cycle time", m.invoice_cycle_time),
        _cycle_card("setup_cycle_time", "Project setup", m.setup_cycle_time),
        _cycle_card("vendor_onboarding_cycle_time", "Vendor onboarding", m.vendor_onboarding_cycle_time),
        _card(
            "reconciliation_effort",
            "Reconciliation",
            f"{rec.findings}",
            f"findings · {rec.decided} decided, median "
            f"{format_duration(rec.time_to_settle.median) if rec.time_to_settle else 'n/a'} to a decision",
            rec.available,
        ),
        _card(
            "orchestrated_share",
            "Run by the workflows",
            format_percent(orch.share),
            f"{orch.orchestrated} of {orch.closed} closed cases, no resume or edit by hand",
            orch.share is not None,
        ),
        _card(
            "timesheet_compliance",
            "Late timesheets",
            format_percent(m.timesheet_compliance.late_rate),
            f"{m.timesheet_compliance.reminded} of {m.timesheet_compliance.expected} worker-weeks reminded · "
            f"{m.timesheet_compliance.escalated} escalated",
            m.timesheet_compliance.late_rate is not None,
        ),
    ]


Panel = tuple[str, Markup]  # a chart's caption and the chart (SVG the chart module built and escaped)


def headline(m: ManagementNumbers, count: int = 9) -> str:
    """The first cards as one line, for a terminal: ``DSO (count-back) 32 d · Past due 839.2k · ...``."""
    return " · ".join(f"{c['label']} {c['value']}" for c in cards(m)[:count])


def _trend(points: Sequence[Point], fmt: Callable[[float], str], title: str, **kw: Any) -> Panel:
    return title, Markup(charts.trend_chart(points, fmt, title=title, width=HALF, **kw))


def _bars(bars: Sequence[Bar], title: str, label_width: float = 170) -> Panel:
    return title, Markup(charts.bar_chart(bars, title=title, width=HALF, label_width=label_width))


def _histogram(values: Sequence[float], title: str, **kw: Any) -> Panel:
    return title, Markup(charts.histogram(values, title=title, width=HALF, **kw))


def _stats_days(stats: Stats | None) -> str:
    return f"median {days(stats.median)} · p90 {days(stats.p90)}" if stats else "n/a"


def receivables(m: ManagementNumbers) -> dict[str, Any]:
    r, a, d = m.dso, m.aging, m.days_to_pay
    slowest = sorted(d.by_client, key=lambda c: -c.stats.median)[:10]
    return {
        "note": f"{r.note}. {a.note}.",
        "dso": _trend(
            [Point(x.month, x.count_back) for x in r.by_month],
            days,
            "DSO (count-back) at each month end",
        ),
        "aging": _bars(
            [
                Bar(label=k, value=float(v), text=money(v), color=AGING_COLORS.get(k, NEUTRAL))
                for k, v in a.buckets.items()
            ],
            f"receivables by days past due at {a.as_of}",
            label_width=90,
        ),
        "days_to_pay": _histogram(
            d.days,
            "days from invoice to payment in full",
            markers=[("median", d.stats.median), ("p90", d.stats.p90)] if d.stats else [],
            scale=linear_scale(lambda v: f"{v:.0f} d", "days to pay", "invoices"),
            empty="No invoice paid in full yet.",
        ),
        "slowest": _bars(
            [
                Bar(
                    label=c.client_id,
                    value=c.stats.median,
                    text=f"{days(c.stats.median)} · {format_percent(c.paid_late_share)} late",
                    color=BAD if c.stats.median > 60 else WARN if c.stats.median > 40 else GOOD,
                )
                for c in slowest
            ],
            "slowest payers (median days to pay)",
            label_width=110,
        ),
    }


def delivery(m: ManagementNumbers) -> dict[str, Any]:
    u, re_, w, lk = m.utilization, m.realization, m.wip, m.leakage
    lowest = sorted(
        (c for c in re_.by_client if c.realization is not None), key=lambda c: c.realization or 0.0
    )[:10]
    return {
        "note": f"{u.note}. {re_.note}. {w.note}. {lk.note}.",
        "utilization": _trend(
            [Point(g.key, g.utilization) for g in u.by_month], _share, "utilization by month"
        ),
        "by_practice": _bars(
            [
                Bar(
                    label=g.key,
                    value=g.utilization or 0.0,
                    text=f"{format_percent(g.utilization)} · {g.workers}",
                )
                for g in u.by_practice
            ],
            "utilization by practice (people)",
        ),
        "people": _histogram(
            [v * 100 for v in u.distribution],
            "people by utilization over the months measured",
            scale=linear_scale(lambda v: f"{v:.0f}%", "utilization", "people"),
            empty="Nobody measured yet.",
        ),
        "realization": _trend(
            [Point(g.key, g.realization) for g in re_.by_month], _share, "realization by month posted"
        ),
        "lowest": _bars(
            [
                Bar(
                    label=c.key,
                    value=c.realization or 0.0,
                    text=f"{format_percent(c.realization)} · {money(c.time_standard_base)}",
                    color=BAD
                    if (c.realization or 0) < 0.9
                    else WARN
                    if (c.realization or 0) < 0.95
                    else GOOD,
                )
                for c in lowest
            ],
            "lowest realization by client",
            label_width=110,
        ),
        "wip": _trend([Point(g.key, float(g.wip_base)) for g in w.by_month], money, "WIP at each month end"),
        "wip_aging": _bars(
            [
                Bar(label=k, value=float(v), text=money(v), color=WIP_COLORS.get(k, NEUTRAL))
                for k, v in w.aging.items()
            ],
            f"WIP by age at {w.as_of}",
            label_width=90,
        ),
        "leakage_rules": _bars(
            [
                Bar(
                    label=g.rule,
                    value=float(g.value_base),
                    text=f"{money(g.value_base)} · {g.lines} line(s)",
                    color=BAD,
                )
                for g in lk.by_rule
            ],
            "written off at exception reviews, by rule",
            label_width=110,
        ),
        "leakage_months": _trend(
            [Point(g.month, float(g.write_off_base + g.write_down_base)) for g in lk.by_month],
            money,
            "leakage by billing period (write-offs + write-downs)",
            color=BAD,
        ),
    }


def billing(m: ManagementNumbers) -> dict[str, Any]:
    lag, acc, inv = m.billing_lag, m.billing_accuracy, m.invoice_cycle_time
    return {
        "note": f"{lag.note}. {acc.note}. {inv.note}.",
        "lag": _trend(
            [Point(g.month, g.median) for g in lag.by_month], days, "billing lag by month (median)"
        ),
        "accuracy": _trend(
            [Point(g.month, g.accuracy) for g in acc.by_month],
            _share,
            "invoices never credited, by month posted",
        ),
        "cycle": _trend(
            [Point(g.month, g.median_seconds) for g in inv.by_month],
            format_duration,
            "invoice cycle time by month (median)",
            steps=duration_step,
        ),
        "lag_stats": _stats_days(lag.stats),
    }


def operations(m: ManagementNumbers) -> dict[str, Any]:
    setup, vendor, rec, orch = (
        m.setup_cycle_time,
        m.vendor_onboarding_cycle_time,
        m.reconciliation_effort,
        m.orchestrated_share,
    )
    late = m.timesheet_compliance
    return {
        "note": f"{setup.note}. {vendor.note}. {rec.note}. {orch.note}. {late.note}.",
        "late_by_practice": _bars(
            [
                Bar(
                    label=g.key,
                    value=g.late_rate or 0.0,
                    text=f"{format_percent(g.late_rate)} · {g.reminded} of {g.expected} · {g.escalated} escalated",
                    color=BAD if (g.late_rate or 0) > 0.15 else WARN if (g.late_rate or 0) > 0.05 else GOOD,
                )
                for g in late.by_practice
            ],
            "late timesheets by practice (worker-weeks reminded)",
        ),
        "late_by_week": _trend(
            [Point(g.key, g.late_rate) for g in late.by_week], _share, "late timesheets by week"
        ),
        "setup": _trend(
            [Point(g.month, g.median_seconds) for g in setup.by_month],
            format_duration,
            "project setup: won to project ready (median)",
            steps=duration_step,
        ),
        "vendor": _trend(
            [Point(g.month, g.median_seconds) for g in vendor.by_month],
            format_duration,
            "vendor onboarding: request to outcome (median)",
            steps=duration_step,
        ),
        "orchestrated": _bars(
            [
                Bar(
                    label=g.key,
                    value=g.share or 0.0,
                    text=f"{format_percent(g.share)} · {g.orchestrated} of {g.closed}",
                    color=GOOD,
                )
                for g in orch.by_workflow
            ],
            "closed cases run by the workflows alone",
        ),
        "reconciliation": [
            [
                p.period,
                str(p.runs),
                str(p.findings),
                str(p.sent_for_review),
                str(p.decided),
                str(p.settled),
                str(p.closed),
                format_duration(p.time_to_settle.median) if p.time_to_settle else "n/a",
            ]
            for p in rec.by_period
        ],
    }
