"""Summary statistics and readable durations, shared by the metrics and the report."""

from __future__ import annotations

import math
from collections.abc import Iterable

from pydantic import ConfigDict

from backoffice.models.envelope import Model


class Stats(Model):
    """Count, median, 90th percentile, mean, min and max of a sample (seconds for durations, days for billing lag).

    Percentiles interpolate linearly between the two nearest ranks (numpy's default), so the median of an even
    sample is the mean of its two middle values.
    """

    model_config = ConfigDict(frozen=True)

    count: int
    median: float
    p90: float
    mean: float
    min: float
    max: float

    @classmethod
    def of(cls, values: Iterable[float]) -> Stats | None:
        ordered = sorted(values)
        if not ordered:
            return None
        return cls(
            count=len(ordered),
            median=percentile(ordered, 0.5),
            p90=percentile(ordered, 0.9),
            mean=sum(ordered) / len(ordered),
            min=ordered[0],
            max=ordered[-1],
        )


def percentile(ordered: list[float], q: float) -> float:
    """The q-quantile (0..1) of an ascending list, interpolating between ranks."""
    if not ordered:
        raise ValueError("percentile of an empty sample")
    position = (len(ordered) - 1) * q
    low, high = math.floor(position), math.ceil(position)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def ratio(part: int, whole: int) -> float | None:
    return part / whole if whole else None


_UNITS = ((86400.0, "d"), (3600.0, "h"), (60.0, "min"), (1.0, "s"))


def format_duration(seconds: float | None) -> str:
    """``"42 s"``, ``"4.5 min"``, ``"3.2 h"``, ``"2.1 d"``: one unit, two significant figures below ten."""
    if seconds is None:
        return "n/a"
    if seconds < 1:
        return f"{seconds * 1000:.0f} ms"
    for size, unit in _UNITS:
        if seconds >= size:
            value = seconds / size
            shown = f"{value:.1f}" if value < 10 else f"{value:.0f}"
            return f"{shown.removesuffix('.0')} {unit}"
    return f"{seconds:.0f} s"


def format_percent(value: float | None) -> str:
    if value is None:
        return "n/a"
    if 0 < value < 0.001:
        return "<0.1%"
    return f"{value * 100:.1f}%" if value * 100 < 10 and value > 0 else f"{value * 100:.0f}%"
