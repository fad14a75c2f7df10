"""numpy for the rules' whole-column filters, imported on first use.

The scorer's columns arrive as Python lists (decoded JSON). A filter over every line in Python costs a bytecode
loop per line; the same comparison over a numpy array costs a C loop, once the column is an array (one pass of
``np.fromiter``). The rules use numpy to find the few lines a check can fire on and keep their own Python for
those lines, so scores and sentences are unchanged. IEEE arithmetic is the same in numpy and in Python for
the operations used here (subtraction, comparison, ``fmod``), element by element.

numpy is imported inside ``numpy()``, not at module level: a handler that imports the package but does not
score never loads it (tens of milliseconds at a cold start).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any


def numpy() -> Any:
    """numpy, imported on the first call."""
    import numpy as np

    return np


def floats(values: Sequence[float]) -> Any:
    """The values as a float64 array."""
    np = numpy()
    return np.fromiter(values, dtype=np.float64, count=len(values))


def lines_where(mask: Any) -> list[int]:
    """The positions where the boolean array is true, as a list of ints."""
    return numpy().flatnonzero(mask).tolist()


def factorized(values: Sequence[Any]) -> tuple[Any, list[Any]]:
    """A code per value (the place of the value among the distinct values) as an integer array, and the
    distinct values in order of first occurrence: a dict lookup per value, then grouping in numpy."""
    np = numpy()
    distinct = list(dict.fromkeys(values))
    code = {value: place for place, value in enumerate(distinct)}
    return np.fromiter(map(code.__getitem__, values), dtype=np.intp, count=len(values)), distinct
