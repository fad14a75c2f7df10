"""Small inline-SVG charts for the report: a histogram, horizontal bars, median-to-p90 ranges and a process map.

Each function returns an ``<svg>`` element as text, sized in pixels with a matching viewBox, with a ``<title>`` for
screen readers and tooltips on the marks. Text widths are estimated from character counts (no font metrics in a
pure function), with room to spare.
"""

from __future__ import annotations

import math
import textwrap
from collections.abc import Sequence
from dataclasses import dataclass
from html import escape

from backoffice.intelligence.stats import format_duration

FONT = "system-ui, -apple-system, 'Segoe UI', Roboto, 'Helvetica Neue', Arial, sans-serif"
INK, MUTED, GRID, ACCENT = "#1f2937", "#6b7280", "#e5e7eb", "#2563eb"
HALO = ' stroke="#fff" stroke-width="3" paint-order="stroke"'  # keeps a label readable over lines and bars

# Nice durations (seconds) for bin edges and axis ticks.
DURATION_LADDER = (
    1, 2, 5, 10, 15, 30,
    60, 120, 300, 600, 900, 1800,
    3600, 7200, 10800, 21600, 43200,
    86400, 172800, 259200, 604800, 1209600, 2592000, 5184000, 7776000,
)  # fmt: skip

CATEGORY_STYLE = {
    # category: (fill, stroke, label colour)
    "start": ("#eff6ff", "#3b82f6", "#1d4ed8"),
    "work": ("#f8fafc", "#94a3b8", "#334155"),
    "approval": ("#fffbeb", "#f59e0b", "#92400e"),
    "exception": ("#fef2f2", "#ef4444", "#b91c1c"),
    "success": ("#ecfdf5", "#10b981", "#047857"),
    "intake": ("#f5f3ff", "#8b5cf6", "#6d28d9"),
}


def esc(text: object) -> str:
    return escape(str(text), quote=True)


def svg_root(width: float, height: float, title: str, body: Sequence[str], css_class: str = "chart") -> str:
    return (
        f'<svg class="{css_class}" xmlns="http://www.w3.org/2000/svg" width="{width:.0f}" height="{height:.0f}" '
        f'viewBox="0 0 {width:.0f} {height:.0f}" role="img" font-family="{esc(FONT)}">'
        f"<title>{esc(title)}</title>{''.join(body)}</svg>"
    )


def svg_text(
    x: float,
    y: float,
    text: object,
    *,
    size: float = 11,
    fill: str = INK,
    anchor: str = "start",
    weight: int = 400,
    extra: str = "",
) -> str:
    return (
        f'<text x="{x:.1f}" y="{y:.1f}" font-size="{size}" fill="{fill}" text-anchor="{anchor}"'
        f"{f' font-weight={chr(34)}{weight}{chr(34)}' if weight != 400 else ''}{extra}>{esc(text)}</text>"
    )


def text_width(text: str, size: float) -> float:
    return len(text) * size * 0.58


def wrap(text: str, max_chars: int, max_lines: int) -> list[str]:
    """Word wrap to at most ``max_lines`` lines; text that does not fit ends in an ellipsis after its last whole
    word. A word longer than a line is cut with an ellipsis rather than broken across two."""
    lines = textwrap.wrap(
        text, max_chars, max_lines=max_lines, placeholder="…", break_long_words=False, break_on_hyphens=False
    )
    return [ln if len(ln) <= max_chars else ln[: max_chars - 1].rstrip() + "…" for ln in lines]


def nice_step(span: float, target: int = 5) -> float:
    """A 1-2-5 step that splits ``span`` into about ``target`` intervals."""
    if span <= 0:
        return 1.0
    raw = span / target
    power = 10 ** math.floor(math.log10(raw))
    for factor in (1, 2, 5, 10):
        if raw <= factor * power:
            return float(factor * power)
    return float(10 * power)


def duration_step(span: float, target: int = 5) -> float:
    for step in DURATION_LADDER:
        if span / step <= target:
            return float(step)
    return nice_step(span, target)


# -- histogram --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Bins:
    edges: list[float]
    counts: list[int]
    spaced: str  # "linear" or "ladder"


def duration_bins(values: Sequence[float], max_bins: int = 12) -> Bins:
    """Equal-width bins when the sample spans one scale; otherwise nice, roughly log-spaced duration bins."""
    ordered = sorted(values)
    top = ordered[-1] if ordered else 0.0
    median = ordered[len(ordered) // 2] if ordered else 0.0
    if top <= 0:
        edges = [0.0, 1.0]
        spaced = "linear"
    elif top > 20 * max(median, 1e-9):
        low = max((s for s in DURATION_LADDER if s <= ordered[0]), default=0)
        high = min((s for s in DURATION_LADDER if s > top), default=top * 2)
        edges = ([0.0] if low == 0 else []) + [float(s) for s in DURATION_LADDER if max(low, 1) <= s <= high]
        if edges[-1] <= top:
            edges.append(float(high))
        while len(edges) - 1 > max_bins:
            edges = edges[::2] + ([edges[-1]] if len(edges) % 2 == 0 else [])
        spaced = "ladder"
    else:
        step = duration_step(top, max_bins)
        edges = [step * i for i in range(int(top // step) + 2)]
        spaced = "linear"
    counts = [0] * (len(edges) - 1)
    for value in ordered:
        index = next((i for i in range(len(edges) - 1) if value < edges[i + 1]), len(edges) - 2)
        counts[index] += 1
    return Bins(edges, counts, spaced)


def _bin_position(bins: Bins, value: float) -> float:
    """Where ``value`` falls, in bin units (bins are drawn equally wide whatever their span)."""
    for i in range(len(bins.edges) - 1):
        low, high = bins.edges[i], bins.edges[i + 1]
        if value < high or i == len(bins.edges) - 2:
            return i + min(max((value - low) / (high - low), 0.0), 1.0)
    return float(len(bins.edges) - 1)


def histogram(
    values: Sequence[float],
    *,
    title: str,
    markers: Sequence[tuple[str, float]] = (),
    width: float = 560,
    height: float = 250,
    color: str = ACCENT,
) -> str:
    """Cycle-time distribution: cases per duration bin, with vertical markers (median, p90)."""
    if not values:
        return svg_root(width, 60, title, [svg_text(12, 34, "No closed cases yet.", fill=MUTED)])
    bins = duration_bins(values)
    left, right, top, bottom = 44, 16, 40, 52
    plot_w, plot_h = width - left - right, height - top - bottom
    n = len(bins.counts)
    bar_w = plot_w / n
    peak = max(bins.counts)
    step = max(1.0, nice_step(peak, 4))
    y_max = step * math.ceil(peak / step)
    if y_max <= peak:
        y_max += step  # headroom for the count over the tallest bar
    body: list[str] = []
    y_value = 0.0
    while y_value <= y_max + 1e-9:
        y = top + plot_h - plot_h * y_value / y_max
        body.append(f'<line x1="{left}" x2="{left + plot_w:.1f}" y1="{y:.1f}" y2="{y:.1f}" stroke="{GRID}"/>')
        body.append(svg_text(left - 6, y + 4, f"{y_value:.0f}", size=10, fill=MUTED, anchor="end"))
        y_value += step
    counts: list[str] = []  # drawn last, over the median and p90 lines
    for i, count in enumerate(bins.counts):
        x = left + i * bar_w
        h = plot_h * count / y_max
        label = (
            f"{format_duration(bins.edges[i])} \u2013 {format_duration(bins.edges[i + 1])}: {count} case(s)"
        )
        if count:
            body.append(
                f'<rect x="{x + 2:.1f}" y="{top + plot_h - h:.1f}" width="{bar_w - 4:.1f}" height="{h:.1f}" '
                f'rx="2" fill="{color}" fill-opacity="0.85"><title>{esc(label)}</title></rect>'
            )
            counts.append(
                svg_text(
                    x + bar_w / 2,
                    top + plot_h - h - 4,
                    count,
                    size=10,
                    fill=MUTED,
                    anchor="middle",
                    extra=HALO,
                )
            )
    every = max(1, math.ceil((n + 1) / 8))
    for i, edge in enumerate(bins.edges):
        if i % every and i != len(bins.edges) - 1:
            continue
        x = left + i * bar_w
        body.append(
            f'<line x1="{x:.1f}" x2="{x:.1f}" y1="{top + plot_h}" y2="{top + plot_h + 4}" stroke="{MUTED}"/>'
        )
        body.append(
            svg_text(
                x,
                top + plot_h + 16,
                format_duration(edge) if edge else "0",
                size=10,
                fill=MUTED,
                anchor="middle",
            )
        )
    body.append(
        f'<line x1="{left}" x2="{left + plot_w:.1f}" y1="{top + plot_h}" y2="{top + plot_h}" stroke="{MUTED}"/>'
    )
    caption = "cycle time" + (" (bins widen with duration)" if bins.spaced == "ladder" else "")
    body.append(svg_text(left + plot_w / 2, height - 10, caption, size=10, fill=MUTED, anchor="middle"))
    body.append(svg_text(left - 6, top - 8, "cases", size=10, fill=MUTED, anchor="end"))
    for j, (name, value) in enumerate(markers):
        x = left + _bin_position(bins, value) * bar_w
        label_y = top - 22 + 13 * j
        body.append(
            f'<line x1="{x:.1f}" x2="{x:.1f}" y1="{label_y + 3:.1f}" y2="{top + plot_h}" stroke="{INK}" '
            f'stroke-dasharray="4 3" stroke-width="1.2"/>'
        )
        label = f"{name} {format_duration(value)}"
        anchor = "end" if x > left + plot_w * 0.7 else "start"
        body.append(
            svg_text(
                x + (-5 if anchor == "end" else 5),
                label_y,
                label,
                size=10.5,
                fill=INK,
                anchor=anchor,
                weight=600,
                extra=HALO,
            )
        )
    body.extend(counts)
    return svg_root(width, height, title, body)


# -- horizontal bars --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Bar:
    label: str
    value: float
    text: str
    color: str = ACCENT
    tooltip: str = ""


def bar_chart(
    bars: Sequence[Bar], *, title: str, width: float = 560, label_width: float = 210, row: float = 26
) -> str:
    """Horizontal bars, one per row: label, bar, value text."""
    if not bars:
        return svg_root(width, 44, title, [svg_text(12, 26, "Nothing to show.", fill=MUTED)])
    top = 8
    text_room = max(text_width(b.text, 11) for b in bars) + 12
    plot_w = max(60.0, width - label_width - text_room - 8)
    peak = max(b.value for b in bars) or 1.0
    body: list[str] = []
    max_chars = int((label_width - 10) / (11 * 0.58))
    for i, b in enumerate(bars):
        y = top + i * row
        w = max(2.0, plot_w * b.value / peak) if b.value else 0.0
        label = b.label if len(b.label) <= max_chars else b.label[: max_chars - 1] + "…"
        body.append(
            svg_text(
                label_width - 10, y + row / 2 + 4, label, anchor="end", extra=f' data-full="{esc(b.label)}"'
            )
        )
        body.append(
            f'<rect x="{label_width}" y="{y + 5:.1f}" width="{w:.1f}" height="{row - 10:.1f}" rx="3" '
            f'fill="{b.color}"><title>{esc(b.tooltip or f"{b.label}: {b.text}")}</title></rect>'
        )
        body.append(svg_text(label_width + w + 6, y + row / 2 + 4, b.text, fill=MUTED))
    return svg_root(width, top * 2 + row * len(bars), title, body)


@dataclass(frozen=True)
class Range:
    label: str
    median: float
    p90: float
    count: int
    sublabel: str = ""


def range_chart(
    rows: Sequence[Range], *, title: str, width: float = 560, label_width: float = 200, row: float = 30
) -> str:
    """Median as a bar, the 90th percentile as a whisker, on a shared duration axis."""
    if not rows:
        return svg_root(width, 44, title, [svg_text(12, 26, "No decisions yet.", fill=MUTED)])
    top, axis_h = 6, 22
    texts = [f"{format_duration(r.median)} · p90 {format_duration(r.p90)} · n={r.count}" for r in rows]
    text_room = max(text_width(t, 10.5) for t in texts) + 14
    plot_w = max(80.0, width - label_width - text_room)
    peak = max(r.p90 for r in rows) or 1.0
    step = duration_step(peak, 4)
    scale_max = step * math.ceil(peak / step)
    height = top + row * len(rows) + axis_h
    body: list[str] = []
    tick = 0.0
    while tick <= scale_max + 1e-9:
        x = label_width + plot_w * tick / scale_max
        body.append(
            f'<line x1="{x:.1f}" x2="{x:.1f}" y1="{top}" y2="{top + row * len(rows)}" stroke="{GRID}"/>'
        )
        body.append(
            svg_text(
                x, height - 6, format_duration(tick) if tick else "0", size=10, fill=MUTED, anchor="middle"
            )
        )
        tick += step
    max_chars = int((label_width - 10) / (11 * 0.58))
    for i, (r, text) in enumerate(zip(rows, texts, strict=True)):
        y = top + i * row
        mid = y + row / 2
        x_med = label_width + plot_w * r.median / scale_max
        x_p90 = label_width + plot_w * r.p90 / scale_max
        label = r.label if len(r.label) <= max_chars else r.label[: max_chars - 1] + "…"
        body.append(svg_text(label_width - 10, mid + (0 if r.sublabel else 4), label, anchor="end"))
        if r.sublabel:
            body.append(svg_text(label_width - 10, mid + 12, r.sublabel, size=9.5, fill=MUTED, anchor="end"))
        body.append(
            f'<rect x="{label_width}" y="{mid - 7:.1f}" width="{max(2.0, x_med - label_width):.1f}" height="14" rx="3" '
            f'fill="{ACCENT}" fill-opacity="0.85"><title>{esc(r.label)}: median {esc(format_duration(r.median))}, '
            f"p90 {esc(format_duration(r.p90))}, {r.count} decision(s)</title></rect>"
        )
        body.append(
            f'<line x1="{x_med:.1f}" x2="{x_p90:.1f}" y1="{mid:.1f}" y2="{mid:.1f}" stroke="{INK}" stroke-width="1.4"/>'
        )
        body.append(
            f'<line x1="{x_p90:.1f}" x2="{x_p90:.1f}" y1="{mid - 6:.1f}" y2="{mid + 6:.1f}" stroke="{INK}" stroke-width="1.4"/>'
        )
        body.append(svg_text(max(x_p90, x_med) + 8, mid + 4, text, size=10.5, fill=MUTED))
    return svg_root(width, height, title, body)
