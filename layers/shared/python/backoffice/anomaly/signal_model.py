"""The signal model: how likely a reviewer finds a real problem on a line, given the statistical signals it trips.

A logistic model over the signals a line trips: each signal adds its own offset to the log-odds when it fires,
and a slope times how far past its threshold it is (its strength minus 1: a strength is 1.0 at the check's own
threshold). Slopes are never negative, so a stronger signal never scores lower (a fit that wants one below zero
gets that slope at zero and is refitted). Fitted by penalised maximum likelihood on labelled lines: the labelled generator's until enough reviewer decisions exist, then the reviewers' own
(``backoffice anomaly retrain``). The model keeps what it was fitted on and when, and its precision and recall on
lines held back from the fit at each threshold, from which the review threshold for a target precision is read:
the threshold is chosen from figures, never hand-picked.

Policy violations are not scored here: they always go to review (``policy.AnomalyPolicy.violations``).
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from functools import cache
from pathlib import Path

from pydantic import ConfigDict, Field

from backoffice.models.envelope import JsonModel

SHIPPED_MODEL = Path(__file__).with_name("signal_model.json")
# Ridge penalty on the coefficients (not the intercept): keeps a signal seen on a handful of lines from
# getting an infinite weight when all of them happen to share a label.
DEFAULT_PENALTY = 1.0
DEFAULT_HELD_BACK_SHARE = 0.3
_MAX_ITERATIONS = 50
_TOLERANCE = 1e-9


class CurvePoint(JsonModel):
    """Sending every signal line scoring ``threshold`` or more to review found ``recall`` of the real problems
    among the held-back lines, and ``precision`` of the lines sent were real (``lines`` sent)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    threshold: float = Field(ge=0, le=1)
    precision: float = Field(ge=0, le=1)
    recall: float = Field(ge=0, le=1)
    lines: int = Field(ge=0)


class SignalModel(JsonModel):
    """A fitted logistic model over signal strengths, with what it was fitted on and its held-back figures."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    intercept: float
    offsets: dict[str, float]  # what a signal adds to the log-odds when it fires
    slopes: dict[str, float] = Field(default_factory=dict)  # per unit of strength past 1; never negative
    trained_on: str  # "labelled generator seed 2026 ..." or "reviewer decisions 2026-01 to 2026-10"
    trained_at: date
    training_lines: int = Field(ge=0)
    training_positives: int = Field(ge=0)
    held_back_lines: int = Field(ge=0)
    held_back_positives: int = Field(ge=0)
    penalty: float = Field(default=DEFAULT_PENALTY, ge=0)
    curve: list[CurvePoint] = Field(default_factory=list)  # by threshold, highest first

    @staticmethod
    def shipped() -> SignalModel:
        """The model shipped with the package (``signal_model.json``, fitted on the labelled generator)."""
        return _shipped()

    def probability(self, features: Mapping[str, float]) -> float:
        """P(a reviewer finds a real problem | these signal strengths). A signal the model was not fitted with
        adds nothing (a firm's new check counts once the model is refitted with it)."""
        offsets, slopes = self.offsets, self.slopes
        z = self.intercept
        for name, strength in features.items():
            z += offsets.get(name, 0.0) + slopes.get(name, 0.0) * max(strength - 1.0, 0.0)
        return _sigmoid(z)

    def threshold_for(self, target_precision: float) -> float:
        """The review threshold: the lowest held-back threshold whose precision reaches the target (the most
        found at that precision); when none does, the most precise one. 1.0 when the model has no figures."""
        reaching = [point for point in self.curve if point.precision >= target_precision]
        if reaching:
            return min(point.threshold for point in reaching)
        if not self.curve:
            return 1.0
        return max(self.curve, key=lambda point: (point.precision, point.threshold)).threshold

    def figures_at(self, threshold: float) -> CurvePoint | None:
        """The held-back figures of the lowest curve threshold at or above ``threshold``."""
        at_or_above = [point for point in self.curve if point.threshold >= threshold]
        return min(at_or_above, key=lambda point: point.threshold) if at_or_above else None

    def explained(self) -> list[str]:
        """What each signal adds to the log-odds, strongest first: what ``backoffice anomaly retrain`` prints."""
        ranked = sorted(self.offsets.items(), key=lambda item: -abs(item[1]))
        return [
            f"{name}: {offset:+.3f} when it fires, {self.slopes.get(name, 0.0):+.3f} per unit past its threshold"
            for name, offset in ranked
        ]


@dataclass(frozen=True)
class LabelledLine:
    """A line's signal strengths and whether a real problem was found on it (a reviewer rejected or wrote it
    off; an anomaly the generator injected). ``line_id`` decides which lines are held back, stably."""

    line_id: str
    features: Mapping[str, float]
    is_problem: bool


def fit_signal_model(
    lines: Sequence[LabelledLine],
    *,
    trained_on: str,
    trained_at: date,
    penalty: float = DEFAULT_PENALTY,
    held_back_share: float = DEFAULT_HELD_BACK_SHARE,
) -> SignalModel:
    """Fits the model on the lines not held back (a stable share by line id) and measures it on the rest."""
    if not lines:
        raise ValueError("no labelled lines to fit the signal model on")
    training = [line for line in lines if not is_held_back(line.line_id, held_back_share)]
    held_back = [line for line in lines if is_held_back(line.line_id, held_back_share)]
    if not training or not any(line.is_problem for line in training):
        raise ValueError(
            f"{len(training)} training lines, {sum(line.is_problem for line in training)} with a problem: "
            "a model needs both kinds"
        )
    intercept, offsets, slopes = _fit_monotone(training, penalty)
    model = SignalModel(
        intercept=round(intercept, 6),
        offsets={name: round(value, 6) for name, value in offsets.items()},
        slopes={name: round(value, 6) for name, value in slopes.items()},
        trained_on=trained_on,
        trained_at=trained_at,
        training_lines=len(training),
        training_positives=sum(line.is_problem for line in training),
        held_back_lines=len(held_back),
        held_back_positives=sum(line.is_problem for line in held_back),
        penalty=penalty,
    )
    return model.model_copy(update={"curve": precision_recall_curve(model, held_back or training)})


def is_held_back(line_id: str, share: float) -> bool:
    """Whether a line is held back from fitting: a hash of its id, so the split is stable across refits."""
    digest = hashlib.blake2b(line_id.encode(), digest_size=4).digest()
    return int.from_bytes(digest, "big") / 2**32 < share


def precision_recall_curve(model: SignalModel, lines: Iterable[LabelledLine]) -> list[CurvePoint]:
    """Precision and recall at each distinct probability the model gives the lines, highest threshold first."""
    scored = sorted(((model.probability(line.features), line.is_problem) for line in lines), reverse=True)
    problems = sum(is_problem for _, is_problem in scored)
    points: list[CurvePoint] = []
    found = 0
    for sent, (probability, is_problem) in enumerate(scored, start=1):
        found += is_problem
        last_of_threshold = sent == len(scored) or scored[sent][0] < probability
        if last_of_threshold:
            points.append(
                CurvePoint(
                    threshold=round(probability, 6),
                    precision=round(found / sent, 4),
                    recall=round(found / problems, 4) if problems else 0.0,
                    lines=sent,
                )
            )
    return points


def save(model: SignalModel, path: Path) -> None:
    path.write_text(json.dumps(model.to_json_dict(), indent=2, sort_keys=True) + "\n")


@cache
def _shipped() -> SignalModel:
    return SignalModel.model_validate_json(SHIPPED_MODEL.read_text())


def _sigmoid(z: float) -> float:
    if z >= 0:
        return 1.0 / (1.0 + math.exp(-z))
    e = math.exp(z)
    return e / (1.0 + e)


def _fit_monotone(
    lines: Sequence[LabelledLine], penalty: float
) -> tuple[float, dict[str, float], dict[str, float]]:
    """The intercept, offsets and slopes; a slope the fit puts below zero is held at zero and the rest refitted."""
    names = sorted({name for line in lines for name in line.features})
    # A slope only where some line's strength differs from 1: otherwise it is the offset under another name.
    sloped = sorted({name for line in lines for name, value in line.features.items() if value > 1.0})
    while True:
        columns = [*((name, False) for name in names), *((name, True) for name in sloped)]
        intercept, weights = _fit(lines, columns, penalty)
        found = dict(zip(columns, weights, strict=True))
        negative = [name for name in sloped if found[(name, True)] < 0.0]
        if not negative:
            offsets = {name: found[(name, False)] for name in names}
            slopes = {name: found[(name, True)] for name in sloped}
            return intercept, offsets, slopes
        sloped = [name for name in sloped if name not in negative]


def _fit(
    lines: Sequence[LabelledLine], columns: Sequence[tuple[str, bool]], penalty: float
) -> tuple[float, list[float]]:
    """Penalised logistic regression by Newton's method on the distinct feature rows (lines with the same
    strengths are one row with a count: signal lines repeat a few patterns, so the fit is quick). A column is a
    signal's offset (``(name, False)``: 1 when it fired) or its slope (``(name, True)``: strength past 1)."""
    rows: dict[tuple[float, ...], list[int]] = {}
    for line in lines:
        key = (1.0, *(_column_value(line.features, name, sloped) for name, sloped in columns))
        tally = rows.setdefault(key, [0, 0])
        tally[0] += 1
        tally[1] += line.is_problem
    size = len(columns) + 1
    beta = [0.0] * size
    for _ in range(_MAX_ITERATIONS):
        gradient = [0.0] * size
        hessian = [[0.0] * size for _ in range(size)]
        for x, (count, positives) in rows.items():
            p = _sigmoid(sum(b * v for b, v in zip(beta, x, strict=True)))
            residual = positives - count * p
            w = count * p * (1.0 - p)
            for i in range(size):
                if x[i] == 0.0:
                    continue
                gradient[i] += residual * x[i]
                row = hessian[i]
                wxi = w * x[i]
                for j in range(size):
                    if x[j] != 0.0:
                        row[j] += wxi * x[j]
        for i in range(1, size):  # the ridge: not on the intercept
            gradient[i] -= penalty * beta[i]
            hessian[i][i] += penalty
        step = _solve(hessian, gradient)
        beta = [b + s for b, s in zip(beta, step, strict=True)]
        if max(abs(s) for s in step) < _TOLERANCE:
            break
    return beta[0], beta[1:]


def _column_value(features: Mapping[str, float], name: str, sloped: bool) -> float:
    if name not in features:
        return 0.0
    return round(max(features[name] - 1.0, 0.0), 6) if sloped else 1.0


def _solve(matrix: list[list[float]], vector: list[float]) -> list[float]:
    """x with matrix @ x = vector, by Gaussian elimination with partial pivoting (the matrix is small)."""
    n = len(vector)
    a = [[*row, value] for row, value in zip(matrix, vector, strict=True)]
    for column in range(n):
        pivot = max(range(column, n), key=lambda r: abs(a[r][column]))
        if abs(a[pivot][column]) < 1e-12:
            a[pivot][column] = 1e-12  # a signal no line has: its coefficient stays put
        a[column], a[pivot] = a[pivot], a[column]
        for r in range(column + 1, n):
            factor = a[r][column] / a[column][column]
            if factor:
                for c in range(column, n + 1):
                    a[r][c] -= factor * a[column][c]
    x = [0.0] * n
    for r in range(n - 1, -1, -1):
        x[r] = (a[r][n] - sum(a[r][c] * x[c] for c in range(r + 1, n))) / a[r][r]
    return x
