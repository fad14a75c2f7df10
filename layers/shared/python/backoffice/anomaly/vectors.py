"""numpy for the rules' whole-column filters, imported on first use.

The scorer's columns arrive as Python lists (decoded JSON). A filter over every line in Python costs a bytecode
loop per line; the same comparison over a numpy array costs a C loop, once the column is an array (one pass of
``np.fromiter``). The rules use numpy to find the few lines a check can fire on and keep their own Python for
those lines, so scores and sentences are unchanged. IEEE arithmetic is the same in numpy and in Python for
the operations used here (addition, subtraction, division, comparison, ``fmod``), element by element; numpy's
``log`` may differ from ``math.log`` in the last bit, so a filter on it keeps a margin and the rule tests
each line it lets through again with ``math.log``.

The columns the rules group by (workers, types, merchants, cities, dates, timestamps) are read once each into
codes (``factorized``; ``converted_codes`` for the values the builders convert anyway), kept with the columns
(``made_once``): grouping, lookups per distinct value and bin counts then run in numpy, a pass in C per rule
instead of a dict lookup per line. Duplicate keys are still made and compared in Python, but only for the
lines whose key may repeat (``maybe_repeated``).

numpy is imported inside ``numpy()``, not at module level: a handler that imports the package but does not
score never loads it (tens of milliseconds at a cold start).
"""

from __future__ import annotations

from array import array
from collections.abc import Callable, Collection, Sequence
from itertools import count
from typing import Any

# Group counts in numpy use a bin per possible group (np.bincount): at most this many bins per line, else the
# rules group in dicts.
MAX_BINS_PER_LINE = 8


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
    distinct values in order of first occurrence: one dict operation per value, then grouping in numpy."""
    np = numpy()
    # One pass in C: each value's first position (``setdefault``), the distinct values in order as the
    # dict's keys; their first positions then numbered in numpy.
    first: dict[Any, int] = {}
    firsts = np.fromiter(map(first.setdefault, values, count()), dtype=np.intp, count=len(values))
    number = np.empty(len(values), dtype=np.intp)
    number[np.fromiter(first.values(), dtype=np.intp, count=len(first))] = np.arange(len(first))
    return number[firsts], list(first)


def converted_codes(
    values: Sequence[Any],
    convert: Callable[[Any], Any],
    *,
    per_line: bool = True,
    coded: tuple[Any, list[Any]] | None = None,
) -> tuple[list[Any] | None, Any, list[Any]]:
    """``convert`` called once per distinct value (a batch holds a few dozen dates): the converted value of
    every line (``per_line``; else None), a code per line (an integer array) and the distinct converted
    values in order of first occurrence, as ``factorized`` of the converted values gives them. The column
    is read once, for the codes; the converted values per line are then picked in numpy by code.
    ``coded``: ``factorized(values)``, when the caller has it already."""
    np = numpy()
    raw_codes, raw = coded if coded is not None else factorized(values)
    converted = [convert(value) for value in raw]
    distinct = list(dict.fromkeys(converted))
    codes = raw_codes
    if len(distinct) < len(converted):  # two spellings of one value (text and a date): one code
        place = dict(zip(distinct, range(len(distinct)), strict=True))
        codes = np.fromiter(map(place.__getitem__, converted), dtype=np.intp, count=len(converted))[raw_codes]
    if not per_line:
        return None, codes, distinct
    return object_table(converted)[raw_codes].tolist(), codes, distinct


def object_table(values: Sequence[Any]) -> Any:
    """The values as a numpy array of objects, one element each (``np.array`` would unpack tuples)."""
    table = numpy().empty(len(values), dtype=object)
    for place, value in enumerate(values):
        table[place] = value
    return table


def made_once(derived: dict[str, Any], name: str, column: list[Any], make: Callable[[Any], Any]) -> Any:
    """``make(column)``, kept in ``derived`` under ``name`` with the column it was made of: made once for
    the rules that ask (a builder may have stored it already, from the values it read anyway), and made
    again for another column under that name."""
    cached = derived.get(name)
    if cached is None or cached[0] is not column:
        cached = derived[name] = (column, make(column))
    return cached[1]


def cached_codes(derived: dict[str, Any], name: str, column: list[Any]) -> tuple[Any, list[Any]]:
    """``factorized(column)``, made once (``made_once``)."""
    return made_once(derived, name, column, factorized)


def float_array(held: Any) -> Any:
    """A float64 array over the doubles of an ``array("d")``, without a copy."""
    np = numpy()
    return np.frombuffer(held, dtype=np.float64) if len(held) else np.empty(0, dtype=np.float64)


def whole_numbers(values: Sequence[int]) -> Any:
    """The whole numbers as an intp array, read in C (``array("q")``); a float or a text among them raises
    TypeError (``np.fromiter`` would truncate 1.5 to 1), one past 64 bits OverflowError."""
    np = numpy()
    if type(values) is list:
        try:  # codes 0 to 255 (most coded columns): read a byte each in C, several times the pace of "q"
            small = bytearray(values)
        except (TypeError, ValueError):  # a code above 255 (or no whole number: refused below)
            pass
        else:
            return np.frombuffer(small, dtype=np.uint8).astype(np.intp)
    held = array("q", values)
    return (
        np.frombuffer(held, dtype=np.int64).astype(np.intp, copy=False) if len(held) else np.empty(0, np.intp)
    )


def all_in_range(values: Any, low: float, high: float) -> bool:
    """True when every value of the float array is a number from low to high (NaN is not)."""
    np = numpy()
    return not len(values) or (
        not np.isnan(values).any() and float(values.min()) >= low and float(values.max()) <= high
    )


def float_bits(values: Any) -> Any:
    """The bits of each double of a float array as an integer, 0.0 and -0.0 alike: equal numbers, equal bits."""
    return (values + 0.0).view(numpy().int64)


def maybe_repeated(parts: Sequence[Any]) -> Any:
    """Per line (a numpy bool array): whether another line may have the same key, the key's parts given as
    integer arrays of one length (codes, or ``float_bits``). Equal parts always hash alike, so the lines of
    every repeated key are marked; some others are too, where two keys fall in one bucket (8 buckets a line:
    about one line in eight): the rule's own grouping of the marked lines tells them apart."""
    np = numpy()
    size = len(parts[0]) if parts else 0
    mixed = np.zeros(size, dtype=np.uint64)
    for part in parts:  # multiply and shift: wraps around in 64 bits, as a hash does
        mixed = (mixed ^ part.astype(np.uint64)) * np.uint64(0x9E3779B97F4A7C15)
        mixed ^= mixed >> np.uint64(29)
    buckets = (mixed % np.uint64(8 * size + 1)).astype(np.intp)
    return np.bincount(buckets, minlength=8 * size + 1)[buckets] > 1


def maybe_repeated_values(values: Sequence[Any], known: Collection[Any]) -> Any:
    """Per value (a numpy bool array): whether another of the values, or one of ``known``, may equal it. By
    hash into 8 buckets a value, as ``maybe_repeated``: equal values hash alike, so every repeated value and
    every value ``known`` has is marked; others by chance (about one in eight). For values that are text of
    their own per line (receipt checksums): a hash each, in C, where grouping all of them in a dict would
    insert each into a table of hundreds of thousands."""
    np = numpy()
    size = len(values)
    bins = np.uint64(8 * size + 1)
    hashes = np.fromiter(map(hash, values), dtype=np.int64, count=size).view(np.uint64)
    buckets = (hashes % bins).astype(np.intp)
    marked = np.bincount(buckets, minlength=int(bins))[buckets] > 1
    if known:
        known_hashes = np.fromiter(map(hash, known), dtype=np.int64, count=len(known)).view(np.uint64)
        seen = np.zeros(int(bins), dtype=bool)
        seen[(known_hashes % bins).astype(np.intp)] = True
        marked |= seen[buckets]
    return marked
