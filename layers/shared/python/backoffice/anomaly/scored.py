"""What scoring returns (a score, reasons and whether a person must review, per line) and how rules add to it.

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
    score: float  # in [0, 1]: 1 for a policy violation, else the signal model's probability; 0 when nothing fired
    reasons: tuple[Reason, ...]
    review: bool = (
        False  # a person must look: a policy violation, or signals at or above the review threshold
    )
    # The signals' strengths the score came from (the model's features), for the reviewers' labels.
    features: tuple[tuple[str, float], ...] = ()

    @property
    def checks(self) -> frozenset[str]:
        return frozenset(reason.check for reason in self.reasons)

    def to_json_dict(self) -> dict[str, Any]:
        return {
            "line_id": self.line_id,
            "kind": self.kind,
            "score": self.score,
            "review": self.review,
            "reasons": [reason._asdict() for reason in self.reasons],
            "features": dict(self.features),
        }


class Flags:
    """The reasons of one kind of line, filled in by the rules, and each line's signal strengths.

    A rule adds a reason per line it fires on (``add``); a signal may say how far past its threshold the line
    is (``strength``: 1.0 at the threshold). ``scored_lines`` turns them into scores: 1 and review for a line
    with a policy violation, else the signal model's probability, reviewed at or above its threshold."""

    __slots__ = ("_violations", "reasons", "rule_of", "signals", "violating")

    def __init__(self, n_lines: int, policy: AnomalyPolicy) -> None:
        self.reasons: dict[int, list[Reason]] = {}
        self.signals: dict[int, dict[str, float]] = {}
        self.violating: set[int] = set()
        self._violations = {*policy.violations, INVALID_LINE}
        self.rule_of = {name: check.rule for name, check in CHECKS.items()}
        self.rule_of[INVALID_LINE] = "INPUT"

    def add(self, index: int, check: str, text: str, strength: float = 1.0) -> None:
        if check in self._violations:
            self.violating.add(index)
        else:
            found_signals = self.signals.setdefault(index, {})
            found_signals[check] = max(strength, found_signals.get(check, 0.0))
        reason = _new_tuple(Reason, (self.rule_of[check], check, text))  # the C path, not Reason(...)
        found = self.reasons.get(index)
        if found is None:
            self.reasons[index] = [reason]
        elif reason not in found:
            found.append(reason)

    def clear(self, index: int) -> None:
        """Forgets what was found on a line (an unreadable line is reported as that alone)."""
        self.reasons.pop(index, None)
        self.signals.pop(index, None)
        self.violating.discard(index)

    def scored_lines(
        self,
        line_ids: list[str],
        kind: LineKind,
        policy: AnomalyPolicy,
        unflagged: list[ScoredLine] | None = None,
    ) -> list[ScoredLine]:
        """A line per id, in order: ``unflagged`` (each line's ``ScoredLine`` before any check, when made
        already) with the flagged lines replaced."""
        lines = unflagged if unflagged is not None else unscored_lines(line_ids, kind)
        for index, line in self.flagged_lines(line_ids, kind, policy).items():
            lines[index] = line
        return lines

    def flagged_lines(
        self, line_ids: list[str], kind: LineKind, policy: AnomalyPolicy
    ) -> dict[int, ScoredLine]:
        """The ``ScoredLine`` of each line with a reason, by line index in ascending order: what a run that
        keeps only the flagged lines needs (every other line scores 0 with no reason)."""
        new = _new_tuple
        model = policy.model()
        threshold = model.threshold_for(policy.target_precision)
        # Lines share a few patterns of signals: each pattern's score and features are computed once. The key
        # keeps the signals' order, in which the model adds them up.
        outcomes: dict[tuple[tuple[str, float], ...], tuple[float, bool, tuple[tuple[str, float], ...]]] = {}
        found_lines: dict[int, ScoredLine] = {}
        reasons, signals_of, violating = self.reasons, self.signals, self.violating
        for index in sorted(reasons):
            signals = signals_of.get(index)
            pattern = tuple(signals.items()) if signals else ()
            outcome = outcomes.get(pattern)
            if outcome is None:
                features = tuple(sorted(pattern))
                score = round(model.probability(signals or {}), 4)
                outcome = outcomes[pattern] = (score, score >= threshold, features)
            if index in violating:
                found = (line_ids[index], kind, 1.0, tuple(reasons[index]), True, outcome[2])
            else:
                found = (line_ids[index], kind, outcome[0], tuple(reasons[index]), outcome[1], outcome[2])
            found_lines[index] = new(ScoredLine, found)
        return found_lines


_new_tuple = tuple.__new__


def unscored_lines(line_ids: Iterable[str], kind: LineKind) -> list[ScoredLine]:
    """A ``ScoredLine`` of score 0 and no reason per id. tuple.__new__ through map: the C path, a third of
    the cost of ScoredLine(...) a line."""
    return list(
        map(
            tuple.__new__,
            repeat(ScoredLine),
            zip(line_ids, repeat(kind), repeat(0.0), repeat(()), repeat(False), repeat(())),
        )
    )


class FlaggedLines(NamedTuple):
    """What a run scored, kept as its flagged lines only: the ids of every line of each kind (the run's own
    lists, not copies) and the ``ScoredLine`` of each flagged one by line index. A line not flagged scores 0
    with no reason, so ``all_lines`` gives the very list ``scoring.score_columns`` returns; a caller that
    keeps the flagged lines alone (the invoicing run) skips a ``ScoredLine`` per line."""

    time_ids: list[str]
    expense_ids: list[str]
    time: dict[int, ScoredLine]  # line index -> the flagged time line, indexes ascending
    expenses: dict[int, ScoredLine]

    @property
    def line_count(self) -> int:
        return len(self.time_ids) + len(self.expense_ids)

    def flagged(self) -> list[ScoredLine]:
        """The flagged lines, time lines first, each kind in input order."""
        return [*self.time.values(), *self.expenses.values()]

    def all_lines(self) -> list[ScoredLine]:
        """A ``ScoredLine`` per line, time lines first, each kind in input order."""
        lines = unscored_lines(self.time_ids, "time")
        for index, line in self.time.items():
            lines[index] = line
        expense_lines = unscored_lines(self.expense_ids, "expense")
        for index, line in self.expenses.items():
            expense_lines[index] = line
        return lines + expense_lines


def money(currency: str, amount: float) -> str:
    """``USD 1,212.00``: how a reviewer reads an amount in a reason."""
    return f"{currency} {amount:,.2f}"
