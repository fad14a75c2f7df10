"""The scales of the report's charts: nice steps, duration bins, and text measured without font metrics.

Text widths are estimated from character counts (no font metrics in a pure function), with room to spare.
"""

from __future__ import annotations

import math
import textwrap
from collections.abc import Sequence
from dataclasses import dataclass

# Nice durations (seconds) for bin edges and axis ticks.
DURATION_LADDER = (
    1, 2, 5, 10, 15, 30,
    60, 120, 300, 600, 900, 1800,
    3600, 7200, 10800, 21600, 43200,
    86400, 172800, 259200, 604800, 1209600, 2592000, 5184000, 7776000,
)  # fmt: skip


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


def linear_bins(values: Sequence[float], max_bins: int = 12) -> Bins:
    """Equal-width bins on a 1-2-5 step from the step below the smallest value to past the largest."""
    ordered = sorted(values)
    low, high = (ordered[0], ordered[-1]) if ordered else (0.0, 1.0)
    step = nice_step(max(high - low, 1e-9), max_bins - 2)
    start = math.floor(low / step) * step
    edges = [start + step * i for i in range(int((high - start) // step) + 2)]
    counts = [0] * (len(edges) - 1)
    for value in ordered:
        counts[min(int((value - start) // step), len(counts) - 1)] += 1
    return Bins(edges, counts, "linear")


def bin_position(bins: Bins, value: float) -> float:
    """Where ``value`` falls, in bin units (bins are drawn equally wide whatever their span)."""
    for i in range(len(bins.edges) - 1):
        low, high = bins.edges[i], bins.edges[i + 1]
        if value < high or i == len(bins.edges) - 2:
            return i + min(max((value - low) / (high - low), 0.0), 1.0)
    return float(len(bins.edges) - 1)
