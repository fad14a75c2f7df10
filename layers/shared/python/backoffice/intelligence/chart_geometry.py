"""Where every mark of the report's charts goes: the histogram, horizontal bars and median-to-p90 ranges as data.

Plain functions from the values to coordinates, cut labels and tooltips (plain text); the SVG templates beside this
package (``intelligence/*.svg.j2``) draw them and escape every text on the way (``charts``).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from backoffice.intelligence.chart_scales import (
    Bins,
    bin_position,
    duration_bins,
    duration_step,
    linear_bins,
    nice_step,
    text_width,
)
from backoffice.intelligence.stats import format_duration

INK, MUTED, GRID, ACCENT = "#1f2937", "#6b7280", "#e5e7eb", "#2563eb"


@dataclass(frozen=True)
class Label:
    """A text on a chart. ``halo`` keeps it readable over lines and bars; ``full`` is the text before it was cut."""

    x: float
    y: float
    text: str
    size: float = 11
    fill: str = INK
    anchor: str = "start"
    weight: int = 400
    halo: bool = False
    full: str | None = None


@dataclass(frozen=True)
class Notice:
    """A chart with nothing to draw: its size and the sentence that says so."""

    width: float
    height: float
    label: Label


def notice(width: float, height: float, baseline: float, message: str) -> Notice:
    return Notice(width, height, Label(12, baseline, message, fill=MUTED))


def _cut(text: str, max_chars: int) -> str:
    return text if len(text) <= max_chars else text[: max_chars - 1] + "…"


def _label_chars(label_width: float) -> int:
    """How many characters of 11 px text fit left of the bars."""
    return int((label_width - 10) / (11 * 0.58))


# -- histogram --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Scale:
    """What a histogram counts along its axis: how to bin the values, write them, and name the axis and the items."""

    bins: Callable[[Sequence[float]], Bins]
    fmt: Callable[[float], str]
    caption: str
    unit: str


DURATIONS = Scale(duration_bins, format_duration, "cycle time", "cases")


def linear_scale(fmt: Callable[[float], str], caption: str, unit: str) -> Scale:
    """Equal-width bins on a 1-2-5 step (shares, days, amounts)."""
    return Scale(linear_bins, fmt, caption, unit)


@dataclass(frozen=True)
class Tick:
    """A grid line or axis tick at ``at`` (a y for counts, an x for durations) and its label."""

    at: float
    label: Label


@dataclass(frozen=True)
class Column:
    """One bin's bar: its box and the tooltip naming the bin."""

    x: float
    y: float
    width: float
    height: float
    tooltip: str


@dataclass(frozen=True)
class Marker:
    """A dashed vertical line at a duration (median, p90), from ``top`` down to the axis, with its label."""

    x: float
    top: float
    label: Label


@dataclass(frozen=True)
class Histogram:
    width: float
    height: float
    left: float  # the plot's edges and the y of its duration axis
    right: float
    baseline: float
    color: str
    count_ticks: list[Tick]
    columns: list[Column]
    duration_ticks: list[Tick]
    caption: Label
    count_title: Label
    markers: list[Marker]
    counts: list[Label]  # drawn last, over the median and p90 lines


@dataclass(frozen=True)
class _Plot:
    """The histogram's plot area and scales."""

    left: float
    top: float
    width: float
    height: float
    bar_width: float
    y_max: float

    @property
    def baseline(self) -> float:
        return self.top + self.height

    def y(self, count: float) -> float:
        return self.top + self.height - self.height * count / self.y_max


def histogram_geometry(
    values: Sequence[float],
    markers: Sequence[tuple[str, float]],
    *,
    width: float,
    height: float,
    color: str,
    scale: Scale | None = None,
) -> Histogram:
    """Items per bin (``values`` not empty), with vertical markers (median, p90). By default the values are
    durations (cases' cycle times); ``scale`` names another quantity (a share, days, money) and its bins."""
    scale = scale or DURATIONS
    bins = scale.bins(values)
    fmt = scale.fmt
    left, right, top, bottom = 44, 16, 40, 52
    plot_w, plot_h = width - left - right, height - top - bottom
    peak = max(bins.counts)
    step = max(1.0, nice_step(peak, 4))
    y_max = step * math.ceil(peak / step)
    if y_max <= peak:
        y_max += step  # headroom for the count over the tallest bar
    plot = _Plot(left, top, plot_w, plot_h, plot_w / len(bins.counts), y_max)
    caption = scale.caption + (" (bins widen with duration)" if bins.spaced == "ladder" else "")
    return Histogram(
        width=width,
        height=height,
        left=left,
        right=left + plot_w,
        baseline=plot.baseline,
        color=color,
        count_ticks=_count_ticks(plot, step),
        columns=_columns(plot, bins, fmt, scale.unit),
        duration_ticks=_duration_ticks(plot, bins, fmt),
        caption=Label(left + plot_w / 2, height - 10, caption, size=10, fill=MUTED, anchor="middle"),
        count_title=Label(4, top - 8, scale.unit, size=10, fill=MUTED),
        markers=[_marker(plot, bins, j, name, value, fmt) for j, (name, value) in enumerate(markers)],
        counts=[
            Label(x + plot.bar_width / 2, y - 4, str(count), size=10, fill=MUTED, anchor="middle", halo=True)
            for x, y, count in _tops(plot, bins)
        ],
    )


def _count_ticks(plot: _Plot, step: float) -> list[Tick]:
    ticks: list[Tick] = []
    y_value = 0.0
    while y_value <= plot.y_max + 1e-9:
        y = plot.y(y_value)
        ticks.append(
            Tick(y, Label(plot.left - 6, y + 4, f"{y_value:.0f}", size=10, fill=MUTED, anchor="end"))
        )
        y_value += step
    return ticks


def _tops(plot: _Plot, bins: Bins) -> list[tuple[float, float, int]]:
    """The left edge, top and count of every bin that has cases."""
    return [
        (plot.left + i * plot.bar_width, plot.y(count), count) for i, count in enumerate(bins.counts) if count
    ]


def _columns(plot: _Plot, bins: Bins, fmt: Callable[[float], str], unit: str) -> list[Column]:
    columns: list[Column] = []
    for i, count in enumerate(bins.counts):
        if not count:
            continue
        x = plot.left + i * plot.bar_width
        h = plot.height * count / plot.y_max
        tooltip = f"{fmt(bins.edges[i])} \u2013 {fmt(bins.edges[i + 1])}: {count} {unit}"
        columns.append(Column(x + 2, plot.baseline - h, plot.bar_width - 4, h, tooltip))
    return columns


def _duration_ticks(plot: _Plot, bins: Bins, fmt: Callable[[float], str]) -> list[Tick]:
    every = max(1, math.ceil((len(bins.counts) + 1) / 8))
    ticks: list[Tick] = []
    for i, edge in enumerate(bins.edges):
        if i % every and i != len(bins.edges) - 1:
            continue
        x = plot.left + i * plot.bar_width
        text = fmt(edge) if edge else "0"
        ticks.append(Tick(x, Label(x, plot.baseline + 16, text, size=10, fill=MUTED, anchor="middle")))
    return ticks


def _marker(
    plot: _Plot, bins: Bins, index: int, name: str, value: float, fmt: Callable[[float], str]
) -> Marker:
    x = plot.left + bin_position(bins, value) * plot.bar_width
    label_y = plot.top - 22 + 13 * index
    anchor = "end" if x > plot.left + plot.width * 0.7 else "start"
    label = Label(
        x + (-5 if anchor == "end" else 5),
        label_y,
        f"{name} {fmt(value)}",
        size=10.5,
        fill=INK,
        anchor=anchor,
        weight=600,
        halo=True,
    )
    return Marker(x, label_y + 3, label)


# -- horizontal bars --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Bar:
    label: str
    value: float
    text: str
    color: str = ACCENT
    tooltip: str = ""


@dataclass(frozen=True)
class BarRow:
    """One bar: its name (cut to fit, whole in ``full``) right-aligned before it, its box, its value after it."""

    name: Label
    x: float
    y: float
    width: float
    height: float
    color: str
    tooltip: str
    value: Label


@dataclass(frozen=True)
class BarChart:
    width: float
    height: float
    rows: list[BarRow]


def bar_chart_geometry(bars: Sequence[Bar], *, width: float, label_width: float, row: float) -> BarChart:
    """Horizontal bars (``bars`` not empty), one per row, scaled to the longest."""
    top = 8
    text_room = max(text_width(b.text, 11) for b in bars) + 12
    plot_w = max(60.0, width - label_width - text_room - 8)
    peak = max(b.value for b in bars) or 1.0
    max_chars = _label_chars(label_width)
    rows: list[BarRow] = []
    for i, b in enumerate(bars):
        y = top + i * row
        w = max(2.0, plot_w * b.value / peak) if b.value else 0.0
        rows.append(
            BarRow(
                name=Label(
                    label_width - 10, y + row / 2 + 4, _cut(b.label, max_chars), anchor="end", full=b.label
                ),
                x=label_width,
                y=y + 5,
                width=w,
                height=row - 10,
                color=b.color,
                tooltip=b.tooltip or f"{b.label}: {b.text}",
                value=Label(label_width + w + 6, y + row / 2 + 4, b.text, fill=MUTED),
            )
        )
    return BarChart(width, top * 2 + row * len(bars), rows)


# -- median-to-p90 ranges ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Range:
    label: str
    median: float
    p90: float
    count: int
    sublabel: str = ""


@dataclass(frozen=True)
class RangeRow:
    """One row: its name (and sublabel) before the plot, a bar to the median, a whisker to the p90, the values."""

    name: Label
    sublabel: Label | None
    x: float  # the bar's left edge, where the plot starts
    middle: float  # the row's vertical centre
    median_x: float
    p90_x: float
    tooltip: str
    value: Label

    @property
    def bar_width(self) -> float:
        return max(2.0, self.median_x - self.x)


@dataclass(frozen=True)
class RangeChart:
    width: float
    height: float
    top: float  # the plot's top and bottom, between which the duration grid lines run
    bottom: float
    ticks: list[Tick]
    rows: list[RangeRow]


def range_chart_geometry(
    rows: Sequence[Range], *, width: float, label_width: float, row: float
) -> RangeChart:
    """The median as a bar, the 90th percentile as a whisker (``rows`` not empty), on a shared duration axis."""
    top, axis_h = 6, 22
    texts = [f"{format_duration(r.median)} · p90 {format_duration(r.p90)} · n={r.count}" for r in rows]
    text_room = max(text_width(t, 10.5) for t in texts) + 14
    plot_w = max(80.0, width - label_width - text_room)
    peak = max(r.p90 for r in rows) or 1.0
    step = duration_step(peak, 4)
    scale_max = step * math.ceil(peak / step)
    height = top + row * len(rows) + axis_h
    ticks: list[Tick] = []
    tick = 0.0
    while tick <= scale_max + 1e-9:
        x = label_width + plot_w * tick / scale_max
        text = format_duration(tick) if tick else "0"
        ticks.append(Tick(x, Label(x, height - 6, text, size=10, fill=MUTED, anchor="middle")))
        tick += step
    max_chars = _label_chars(label_width)
    drawn: list[RangeRow] = []
    for i, (r, text) in enumerate(zip(rows, texts, strict=True)):
        mid = top + i * row + row / 2
        x_med = label_width + plot_w * r.median / scale_max
        x_p90 = label_width + plot_w * r.p90 / scale_max
        drawn.append(
            RangeRow(
                name=Label(
                    label_width - 10, mid + (0 if r.sublabel else 4), _cut(r.label, max_chars), anchor="end"
                ),
                sublabel=Label(label_width - 10, mid + 12, r.sublabel, size=9.5, fill=MUTED, anchor="end")
                if r.sublabel
                else None,
                x=label_width,
                middle=mid,
                median_x=x_med,
                p90_x=x_p90,
                tooltip=f"{r.label}: median {format_duration(r.median)}, p90 {format_duration(r.p90)}, "
                f"{r.count} decision(s)",
                value=Label(max(x_p90, x_med) + 8, mid + 4, text, size=10.5, fill=MUTED),
            )
        )
    return RangeChart(width, height, top, top + row * len(rows), ticks, drawn)
