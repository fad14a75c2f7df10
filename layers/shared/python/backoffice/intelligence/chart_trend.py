"""Where the marks of a trend chart go: one column per month, its value over it, an optional reference line.

The management numbers (DSO, utilization, realization, WIP, billing lag) are read month by month: a column chart
over the months shows their direction at a glance. Plain geometry; ``templates/trend_chart.svg.j2`` draws it.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from backoffice.intelligence.chart_geometry import ACCENT, INK, MUTED, Column, Label, Tick
from backoffice.intelligence.chart_scales import nice_step

MAX_LABELS = 12  # period labels under a trend's columns; beyond, every n-th


@dataclass(frozen=True)
class Point:
    """One month's value (``None``: nothing measured that month, drawn as a gap)."""

    label: str  # "2026-10"
    value: float | None


@dataclass(frozen=True)
class Reference:
    """A horizontal dashed line across the plot (a target, the firm's terms) and its label."""

    y: float
    left: float
    right: float
    label: Label


@dataclass(frozen=True)
class TrendChart:
    width: float
    height: float
    left: float
    right: float
    baseline: float
    color: str
    value_ticks: list[Tick]
    columns: list[Column]
    periods: list[Label]
    values: list[Label]
    reference: Reference | None


def month_label(month: str) -> str:
    """ "2026-10" as "Oct 26"; anything else as it is."""
    names = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
    parts = month.split("-")
    if (
        len(parts) in (2, 3)
        and all(p.isdigit() for p in parts)
        and len(parts[0]) == 4
        and 1 <= int(parts[1]) <= 12
    ):
        name = names[int(parts[1]) - 1]
        return f"{name} {parts[0][2:]}" if len(parts) == 2 else f"{int(parts[2])} {name}"
    return month


def trend_geometry(
    points: Sequence[Point],
    fmt: Callable[[float], str],
    *,
    width: float,
    height: float,
    color: str = ACCENT,
    reference: tuple[str, float] | None = None,
    steps: Callable[[float, int], float] = nice_step,
) -> TrendChart:
    """Columns per period (``points`` not empty), on an axis from 0 to a nice step above the largest value
    (``steps`` picks the step: ``chart_scales.duration_step`` for durations)."""
    left, right, top, bottom = 56, 12, 28, 34
    plot_w, plot_h = width - left - right, height - top - bottom
    values = [p.value for p in points if p.value is not None]
    peak = max([*values, reference[1] if reference else 0.0, 0.0])
    step = steps(peak, 4) if peak > 0 else 1.0
    y_max = step * math.ceil(peak / step) if peak > 0 else step
    if y_max <= peak:
        y_max += step

    def y(value: float) -> float:
        return top + plot_h - plot_h * max(value, 0.0) / y_max

    slot = plot_w / len(points)
    bar = min(46.0, slot * 0.62)
    ticks, tick = [], 0.0
    while tick <= y_max + 1e-9:
        text = fmt(tick) if tick else "0"
        ticks.append(Tick(y(tick), Label(left - 6, y(tick) + 4, text, size=10, fill=MUTED, anchor="end")))
        tick += step
    columns, periods, texts = [], [], []
    # Many periods (weeks): a label every few columns, and each value in its column's tooltip only.
    every = max(1, math.ceil(len(points) / MAX_LABELS))
    for i, point in enumerate(points):
        centre = left + slot * i + slot / 2
        shown = month_label(point.label)
        if i % every == 0:
            periods.append(Label(centre, top + plot_h + 16, shown, size=10, fill=MUTED, anchor="middle"))
        if point.value is None:
            if every == 1:
                texts.append(Label(centre, top + plot_h - 6, "n/a", size=10, fill=MUTED, anchor="middle"))
            continue
        columns.append(
            Column(
                centre - bar / 2,
                y(point.value),
                bar,
                top + plot_h - y(point.value),
                f"{shown}: {fmt(point.value)}",
            )
        )
        if every == 1:
            texts.append(
                Label(
                    centre,
                    y(point.value) - 5,
                    fmt(point.value),
                    size=10,
                    fill=INK,
                    anchor="middle",
                    halo=True,
                )
            )
    line = None
    if reference is not None:
        name, value = reference
        line = Reference(
            y(value),
            left,
            left + plot_w,
            # Over the plot's top right, clear of the columns and their values.
            Label(left + plot_w, top - 12, f"- - {name} {fmt(value)}", size=10, fill=INK, anchor="end"),
        )
    return TrendChart(
        width=width,
        height=height,
        left=left,
        right=left + plot_w,
        baseline=top + plot_h,
        color=color,
        value_ticks=ticks,
        columns=columns,
        periods=periods,
        values=texts,
        reference=line,
    )
