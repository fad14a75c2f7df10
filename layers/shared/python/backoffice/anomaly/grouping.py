"""Finding equal keys among a million lines without a Python loop per line where C can do it.

``dict(zip(keys, positions))`` and ``map(dict.__getitem__, keys)`` run inside the interpreter's C code;
the per-line Python loop that remains is a comparison of two integers. That is what keeps the duplicate
checks at a few hundred nanoseconds a line.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Mapping, MutableMapping, Sequence
from typing import TypeVar

Key = TypeVar("Key", bound=Hashable)
Value = TypeVar("Value")


def first_positions(keys: Sequence[Key]) -> dict[Key, int]:
    """Each distinct key and the position of its first occurrence."""
    n = len(keys)
    return dict(zip(reversed(keys), range(n - 1, -1, -1), strict=True))


def repeats(
    keys: Sequence[Key],
    ids: Sequence[str],
    history: Mapping[Key, Value],
    positions: Sequence[int] | None = None,
    history_id: Callable[[Value], str] | None = None,
) -> list[tuple[int, int | Value]]:
    """(line index, original) for each line whose key came before: earlier in ``keys`` (the original is then
    that line's index) or in the history (the original is then the history's value for the key).

    ``positions`` maps a key's place to its line index when ``keys`` covers only some lines. A line whose
    history entry is itself (the same line passed again) is not a repeat; ``history_id`` reads the line id
    from a history value that is not the id itself.
    """
    first = first_positions(keys)
    line_of = positions if positions is not None else range(len(keys))
    found: list[tuple[int, int | Value]] = []
    if len(first) < len(keys):
        firsts = list(map(first.__getitem__, keys))
        found = [(line_of[place], line_of[at]) for place, at in enumerate(firsts) if at != place]
    if history:
        for key in first.keys() & history.keys():
            line = line_of[first[key]]
            original = history[key]
            if (history_id(original) if history_id else original) != ids[line]:
                found.append((line, original))
    return found


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
