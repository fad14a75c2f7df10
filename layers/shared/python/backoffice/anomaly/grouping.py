"""Grouping a million lines by key, and the column helpers the rules share.

On one core what costs is memory as much as the interpreter: a dict of a million keys, or a float
allocated with its row, is a cache miss per line. So each key is hashed once (``map(first.setdefault,
keys, count())`` fills the dict and gives each position the first position of its key, in C), keys that
include a date are grouped a date at a time (``segments``: one day's dict stays in the cache), and floats
read from rows are copied next to each other (``compact_floats``). A filter of several conditions is best
left a list comprehension: on CPython 3.11 it beats a chain of ``map`` over ``operator`` functions.
"""

from __future__ import annotations

import gc
from array import array
from collections import Counter
from collections.abc import (
    Callable,
    Collection,
    Hashable,
    Iterable,
    Iterator,
    Mapping,
    MutableMapping,
    Sequence,
)
from contextlib import contextmanager, suppress
from itertools import compress, count, groupby, repeat
from operator import is_not, ne
from typing import Any, TypeVar

from backoffice.anomaly.vectors import float_array, lines_where, numpy

Key = TypeVar("Key", bound=Hashable)
Value = TypeVar("Value")


def first_positions(keys: Sequence[Key]) -> dict[Key, int]:
    """Each distinct key and the position of its first occurrence (keys in order of first occurrence)."""
    return first_of_each(keys)[0]


def first_of_each(keys: Iterable[Key]) -> tuple[dict[Key, int], list[int]]:
    """Each distinct key with the position of its first occurrence, and for every position the first
    position of its key: a group id per line, the group known by its first line."""
    first: dict[Key, int] = {}
    return first, list(map(first.setdefault, keys, count()))


def each_distinct_once(values: Sequence[Hashable], convert: Callable[[Any], Value]) -> list[Value]:
    """``convert`` of every value, called once per distinct value: a batch holds few distinct dates,
    submission times or rounded totals, and a dict lookup costs less than the conversion."""
    converted = {value: convert(value) for value in set(values)}
    return list(map(converted.__getitem__, values))


def where(flags: Iterable[Any]) -> list[int]:
    """The positions whose flag is true, picked in C."""
    return list(compress(count(), flags))


def present(column: Iterable[Any]) -> list[int]:
    """The positions whose value is not None."""
    if type(column) is list:
        # Counted and picked in C, without a call per value: ``count`` compares with == (no value a line
        # holds but None equals None), and when as many values are true as are not None, the true ones are
        # those (None is false; a 0.0 or an empty text among them makes the counts differ).
        missing = column.count(None)
        if missing == 0:
            return list(range(len(column)))
        found = where(column)
        if len(found) == len(column) - missing:
            return found
    return where(map(is_not, column, repeat(None)))


def compact_floats(values: Iterable[Any]) -> list[float]:
    """The values as floats, each a new object, made one after the other.

    A row's float was allocated when the row was, so a million of them lie scattered over the memory the
    rows take; every rule that reads the column would pay a cache miss a line to reach them (even to count
    a reference). Copied once through a C array, they sit together and later passes run from the cache."""
    if type(values) in (list, tuple):
        try:  # floats, ints and Decimals read as doubles in C, without a call of float() per value
            return array("d", values).tolist()
        except TypeError:  # text among them (a JSON spelling of a number): float() reads it
            pass
    return array("d", map(float, values)).tolist()


def compact_float_array(values: Iterable[Any]) -> tuple[list[float], Any]:
    """``compact_floats`` of the values, and the same doubles as a numpy array (for the rules' filters),
    both from one read."""
    held = None
    if type(values) in (list, tuple):
        with suppress(TypeError):  # text among them: float() reads it, as in ``compact_floats``
            held = array("d", values)
    if held is None:
        held = array("d", map(float, values))
    return held.tolist(), float_array(held)


def pick(column: Sequence[Value], positions: Iterable[int]) -> list[Value]:
    """The column's values at the positions."""
    if type(positions) is range and positions.step == 1 and type(column) is list:
        return column[positions.start : positions.stop]
    return [column[position] for position in positions]


def segments(parts: Sequence[Key]) -> list[tuple[Key, Sequence[int]]]:
    """Each distinct part (a date: few of them) with its positions in ascending order, parts in ascending
    order: ranges when each part's positions are contiguous (lines in date order), lists otherwise.

    Keys that include the part are then grouped a part at a time: a dict of the keys of one day fits in
    the CPU cache, where one of a million keys is a cache miss per key."""
    runs = [(part, len(list(group))) for part, group in groupby(parts)]
    found: list[tuple[Key, Sequence[int]]] = []
    if len({part for part, _ in runs}) == len(runs):
        start = 0
        for part, size in runs:
            found.append((part, range(start, start + size)))
            start += size
    else:
        part_of = first_of_each(parts)[1]
        order = sorted(range(len(part_of)), key=part_of.__getitem__)  # stable: in order within a part
        start = 0
        for group, size in sorted(Counter(part_of).items()):
            found.append((parts[group], order[start : start + size]))
            start += size
    found.sort(key=_part)
    return found


def _part(segment: tuple[Any, Sequence[int]]) -> Any:
    return segment[0]


def repeats(
    keys: Sequence[Key],
    ids: Sequence[str],
    history: Mapping[Key, Value],
    positions: Sequence[int] | None = None,
    history_id: Callable[[Value], str] | None = None,
    part: int | None = None,
    parts: Sequence[Any] | None = None,
    history_parts: Collection[Any] | None = None,
) -> list[tuple[int, int | Value]]:
    """(line index, original) for each line whose key came before: earlier in ``keys`` (the original is then
    that line's index) or in the history (the original is then the history's value for the key).

    ``positions`` maps a key's place to its line index when ``keys`` covers only some lines. A line whose
    history entry is itself (the same line passed again) is not a repeat; ``history_id`` reads the line id
    from a history value that is not the id itself. ``part`` names an element of the key tuples (the date)
    to group the keys by first: equal keys share it, and each group's dict stays small. ``parts``: that
    element of every key, when the caller has it as a column already (the dates), not read off the keys;
    ``history_parts``: that element of every history key, when the caller has them already.
    """
    line_of = positions if positions is not None else range(len(keys))
    found: list[tuple[int, int | Value]] = []
    groups: list[tuple[Any, Sequence[int]]]
    if part is None:
        groups = [(None, range(len(keys)))]
        in_history: Callable[[Any], bool] | None = None
    else:
        groups = segments([key[part] for key in keys] if parts is None else parts)  # type: ignore[index]
        # A group can repeat a past key only if the history has keys of its part (its day).
        if history_parts is None and history:
            history_parts = {key[part] for key in history}  # type: ignore[index]
        in_history = history_parts.__contains__ if history and history_parts is not None else None
    for group_part, places in groups:
        first: dict[Key, int] = {}
        firsts = list(map(first.setdefault, keys if part is None else pick(keys, places), places))
        if len(first) < len(firsts):
            later = _not_first(firsts, places)
            found.extend(
                (line_of[place], line_of[at])
                for place, at in zip(pick(places, later), pick(firsts, later), strict=True)
            )
        if history and (in_history is None or in_history(group_part)):
            for key in first.keys() & history.keys():
                line = line_of[first[key]]
                original = history[key]
                if (history_id(original) if history_id else original) != ids[line]:
                    found.append((line, original))
    return found


def _not_first(firsts: list[int], places: Sequence[int]) -> list[int]:
    """The places (indexes into ``places``) whose key's first position is not their own: compared in numpy
    for a large group (a day's keys), where a Python comparison per line would cost more."""
    if len(firsts) < 256:
        return where(map(ne, firsts, places))
    np = numpy()
    if type(places) is range and places.step == 1:
        own = np.arange(places.start, places.stop, dtype=np.intp)
    else:
        own = np.fromiter(places, dtype=np.intp, count=len(places))
    return lines_where(np.fromiter(firsts, dtype=np.intp, count=len(firsts)) != own)


def remember_firsts(
    keys: Sequence[Key],
    ids: Sequence[str],
    into: MutableMapping[Key, str],
    positions: Sequence[int] | None = None,
) -> None:
    """Adds each key not yet in ``into`` with the id of its first line: how a history learns keys."""
    line_of = positions if positions is not None else range(len(keys))
    for key, place in first_positions(keys).items():
        if key not in into:
            into[key] = ids[line_of[place]]


def group_positions(keys: Sequence[Key], positions: Sequence[int]) -> dict[Key, list[int]]:
    """Line indexes per key; ``positions[i]`` is the line of ``keys[i]``."""
    groups: dict[Key, list[int]] = {}
    for key, line in zip(keys, positions, strict=True):
        found = groups.get(key)
        if found is None:
            groups[key] = [line]
        else:
            found.append(line)
    return groups


@contextmanager
def collector_paused() -> Iterator[None]:
    """A run allocates millions of small objects that all live to its end; the cyclic collector would walk
    them again and again for nothing (none forms a cycle). Reference counting still frees them.

    What survives the run (a ``ScoredLine`` per line) is then long-lived: it goes straight to the oldest
    generation (``freeze`` then ``unfreeze``: two list splices, no walk), where the collector would move it
    after walking it twice; the first young collection after the run would otherwise walk a million tuples
    at once. Skipped when the application freezes objects itself, so as not to thaw them."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            if gc.get_freeze_count() == 0:
                gc.freeze()
                gc.unfreeze()
            gc.enable()
