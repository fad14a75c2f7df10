"""What scoring returns (a score and reasons per line) and how rules add to it.

``ScoredLine`` and ``Reason`` are named tuples, not pydantic models: a review run returns one per line, a
million in the benchmark, and building a tuple costs a fraction of validating a model. ``to_json_dict``
gives the shape a handler returns.
"""

from __future__ import annotations

from collections.abc import Iterable
from itertools import repeat
from typing import Any, Literal, NamedTuple

from backoffice.anomaly.policy import CHECKS, AnomalyPolicy

LineKind = Literal["time", "expense"]

# A line the scorer cannot read (no amount, a date that is not a date) goes to a person at the top score.
INVALID_LINE = "invalid_line"


class Reason(NamedTuple):
    """Why a line scored: the DOMAIN rule (``TE4``), the check (``receipt_missing``) and the sentence a
    reviewer reads, which starts with the rule (``"TE4 receipt missing for lodging USD 212.00"``)."""

    rule: str
    check: str
    text: str


class ScoredLine(NamedTuple):
    line_id: str
    kind: LineKind
    score: float  # in [0, 1]; 0 when no check fired
    reasons: tuple[Reason, ...]

    @property
    def checks(self) -> frozenset[str]:
        return frozenset(reason.check for reason in self.reasons)

    def to_json_dict(self) -> dict[str, Any]:
        return {
            "line_id": self.line_id,
            "kind": self.kind,
            "score": self.score,
            "reasons": [reason._asdict() for reason in self.reasons],
        }


class Flags:
    """The running noisy-OR product and the reasons of one kind of line, filled in by the rules."""

    __slots__ = ("_keep_factor", "keep", "reasons", "rule_of")

    def __init__(self, n_lines: int, policy: AnomalyPolicy) -> None:
        self.keep = [1.0] * n_lines  # product of (1 - weight) over the checks fired on the line
        self.reasons: dict[int, list[Reason]] = {}
        self._keep_factor = {name: 1.0 - weight for name, weight in policy.weights.items()}
        self._keep_factor[INVALID_LINE] = 0.0
        self.rule_of = {name: check.rule for name, check in CHECKS.items()}
        self.rule_of[INVALID_LINE] = "INPUT"

    def add(self, index: int, check: str, text: str) -> None:
        self.keep[index] *= self._keep_factor[check]
        reason = Reason(self.rule_of[check], check, text)
        found = self.reasons.get(index)
        if found is None:
            self.reasons[index] = [reason]
        elif reason not in found:
            found.append(reason)

    def scored_lines(
        self, line_ids: list[str], kind: LineKind, unflagged: list[ScoredLine] | None = None
    ) -> list[ScoredLine]:
        """A line per id, in order: ``unflagged`` (each line's ``ScoredLine`` before any check, when made
        already) with the flagged lines replaced."""
        new, keep = tuple.__new__, self.keep
        lines = unflagged if unflagged is not None else unscored_lines(line_ids, kind)
        for index, found in self.reasons.items():
            lines[index] = new(ScoredLine, (line_ids[index], kind, round(1.0 - keep[index], 4), tuple(found)))
        return lines


def unscored_lines(line_ids: Iterable[str], kind: LineKind) -> list[ScoredLine]:
    """A ``ScoredLine`` of score 0 and no reason per id. tuple.__new__ through map: the C path, a third of
    the cost of ScoredLine(...) a line."""
    return list(map(tuple.__new__, repeat(ScoredLine), zip(line_ids, repeat(kind), repeat(0.0), repeat(()))))


def money(currency: str, amount: float) -> str:
    """``USD 1,212.00``: how a reviewer reads an amount in a reason."""
    return f"{currency} {amount:,.2f}"
