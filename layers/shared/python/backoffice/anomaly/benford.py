"""Benford's law tests on sets of amounts (TE8), with Nigrini's conformity cut-offs.

Amounts that arise naturally (many purchases of many sizes) have first digits distributed as
``P(d) = log10(1 + 1/d)``; invented amounts rarely do. The test is on a set of amounts (a worker's or a
merchant's), never on one line, and needs many of them: Nigrini (2012) suggests about 1,000.
"""

from __future__ import annotations

from collections.abc import Sequence
from math import log10
from typing import Literal

# P(first digit = d) for d = 1..9, and P(first two digits = dd) for dd = 10..99, indexed by the digit(s).
FIRST_DIGIT_P: tuple[float, ...] = (0.0, *(log10(1 + 1 / d) for d in range(1, 10)))
FIRST_TWO_DIGITS_P: tuple[float, ...] = (0.0,) * 10 + tuple(log10(1 + 1 / dd) for dd in range(10, 100))

# Mean absolute deviation cut-offs (Nigrini 2012, table 7.1): close, acceptable, marginally acceptable.
FIRST_DIGIT_CUTOFFS = (0.006, 0.012, 0.015)
FIRST_TWO_DIGITS_CUTOFFS = (0.0012, 0.0018, 0.0022)

Conformity = Literal["close", "acceptable", "marginal", "nonconformity"]


def leading_digits(amount: float, digits: int = 1) -> int:
    """The first one or two significant digits of a positive amount; 0 for amounts below ``10**(digits-1)``."""
    whole = int(amount)
    if whole < 10 ** (digits - 1):
        return 0
    return int(str(whole)[:digits])


def benford_mad(
    counts: Sequence[int],
    test: Literal["first_digit", "first_two_digits"] = "first_digit",
    expected: Sequence[float] | None = None,
) -> float:
    """Mean absolute deviation between observed proportions and Benford's (or ``expected``, indexed like
    ``counts``: by the digit or the two digits)."""
    if expected is None:
        expected = FIRST_DIGIT_P if test == "first_digit" else FIRST_TWO_DIGITS_P
    low = 1 if test == "first_digit" else 10
    bins = range(low, len(expected))
    total = sum(counts[d] for d in bins)
    if total == 0:
        return 0.0
    return sum(abs(counts[d] / total - expected[d]) for d in bins) / len(bins)


def conformity(mad: float, test: Literal["first_digit", "first_two_digits"] = "first_digit") -> Conformity:
    close, acceptable, marginal = FIRST_DIGIT_CUTOFFS if test == "first_digit" else FIRST_TWO_DIGITS_CUTOFFS
    if mad <= close:
        return "close"
    if mad <= acceptable:
        return "acceptable"
    if mad <= marginal:
        return "marginal"
    return "nonconformity"
