"""Small inline-SVG charts for the report: a histogram, horizontal bars and median-to-p90 ranges.

Each function returns an ``<svg>`` element as text the report embeds as ``Markup``, sized in pixels with a matching
viewBox, with a ``<title>`` for screen readers and tooltips on the marks. ``chart_geometry`` places the marks; the
templates ``intelligence/<chart>.svg.j2`` draw them through ``backoffice.html``, which escapes every text given.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from backoffice.html import render
from backoffice.intelligence.chart_geometry import (
    ACCENT,
    DURATIONS,
    GRID,
    INK,
    MUTED,
    Bar,
    Range,
    Scale,
    bar_chart_geometry,
    histogram_geometry,
    notice,
    range_chart_geometry,
)
from backoffice.intelligence.chart_scales import nice_step, wrap
from backoffice.intelligence.chart_trend import Point, trend_geometry

# ``Bar`` and ``Range`` are the charts' inputs; ``wrap`` is read by the local console.
__all__ = [
    "Bar",
    "Point",
    "Range",
    "Scale",
    "bar_chart",
    "draw",
    "histogram",
    "nothing_to_show",
    "range_chart",
    "trend_chart",
    "wrap",
]

COLORS = {"ink": INK, "muted": MUTED, "grid": GRID, "accent": ACCENT}


def draw(template: str, **context: Any) -> str:
    """The SVG template ``intelligence/<template>.svg.j2`` rendered, every text in ``context`` escaped."""
    return render(f"intelligence/{template}.svg.j2", colors=COLORS, **context)


def nothing_to_show(message: str, *, title: str, width: float, height: float, baseline: float) -> str:
    """A chart with no marks (the process map's too): the sentence that says why."""
    return draw("chart_notice", title=title, chart=notice(width, height, baseline, message))


def histogram(
    values: Sequence[float],
    *,
    title: str,
    markers: Sequence[tuple[str, float]] = (),
    width: float = 560,
    height: float = 250,
    color: str = ACCENT,
    scale: Scale = DURATIONS,
    empty: str = "No closed cases yet.",
) -> str:
    """A distribution: items per bin, with vertical markers (median, p90); cycle times unless ``scale`` says."""
    if not values:
        return nothing_to_show(empty, title=title, width=width, height=60, baseline=34)
    chart = histogram_geometry(values, markers, width=width, height=height, color=color, scale=scale)
    return draw("histogram", title=title, chart=chart)


def trend_chart(
    points: Sequence[Point],
    fmt: Callable[[float], str],
    *,
    title: str,
    width: float = 560,
    height: float = 220,
    color: str = ACCENT,
    reference: tuple[str, float] | None = None,
    steps: Callable[[float, int], float] = nice_step,
) -> str:
    """A value per month as columns (DSO, utilization, WIP), with an optional reference line (a target)."""
    if not any(p.value is not None for p in points):
        return nothing_to_show("Nothing measured yet.", title=title, width=width, height=44, baseline=26)
    chart = trend_geometry(
        points, fmt, width=width, height=height, color=color, reference=reference, steps=steps
    )
    return draw("trend_chart", title=title, chart=chart)


def bar_chart(
    bars: Sequence[Bar], *, title: str, width: float = 560, label_width: float = 210, row: float = 26
) -> str:
    """Horizontal bars, one per row: label, bar, value text."""
    if not bars:
        return nothing_to_show("Nothing to show.", title=title, width=width, height=44, baseline=26)
    chart = bar_chart_geometry(bars, width=width, label_width=label_width, row=row)
    return draw("bar_chart", title=title, chart=chart)


def range_chart(
    rows: Sequence[Range], *, title: str, width: float = 560, label_width: float = 200, row: float = 30
) -> str:
    """Median as a bar, the 90th percentile as a whisker, on a shared duration axis."""
    if not rows:
        return nothing_to_show("No decisions yet.", title=title, width=width, height=44, baseline=26)
    chart = range_chart_geometry(rows, width=width, label_width=label_width, row=row)
    return draw("range_chart", title=title, chart=chart)
