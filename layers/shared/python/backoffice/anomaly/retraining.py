"""Refitting the signal model on reviewers' decisions, and what it changes, on lines neither model was fitted on.

``backoffice anomaly retrain`` reads the labels (``labels.ReviewLabels``), keeps the lines the model decides on
(signals only: a line with a policy violation goes to review whatever the model says, so its decision teaches
the model nothing), fits a new model on all but a stable held-back share (by line id) and measures the current
model and the new one on that share, each at its own threshold for the policy's target precision.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date

from backoffice.anomaly.labels import ReviewLabel
from backoffice.anomaly.signal_model import (
    DEFAULT_HELD_BACK_SHARE,
    LabelledLine,
    SignalModel,
    fit_signal_model,
    is_held_back,
    precision_recall_curve,
)

# Below this many decided signal lines a refit says more about chance than about the firm.
MIN_LABELS = 200


@dataclass(frozen=True)
class HeldBackFigures:
    """A model on the held-back lines: at ``threshold``, ``sent`` lines went to review, ``precision`` of them
    were real problems and ``recall`` of the ``problems`` were sent."""

    threshold: float
    lines: int
    problems: int
    sent: int
    precision: float
    recall: float


@dataclass(frozen=True)
class Retrained:
    model: SignalModel
    before: HeldBackFigures
    after: HeldBackFigures


def signal_lines(labels: Iterable[ReviewLabel], violations: Iterable[str]) -> list[LabelledLine]:
    """The decided lines the signal model is about: signals fired, no policy violation among the checks."""
    violating = set(violations)
    return [
        LabelledLine(f"{label.run_case_id}:{label.kind}:{label.line_id}", label.features, label.is_problem)
        for label in labels
        if label.features and not violating.intersection(label.checks)
    ]


def held_back_figures(
    model: SignalModel, lines: Sequence[LabelledLine], target_precision: float
) -> HeldBackFigures:
    """How ``model`` does on ``lines`` at its own threshold for ``target_precision``."""
    threshold = model.threshold_for(target_precision)
    problems = sum(line.is_problem for line in lines)
    sent = [line for line in lines if model.probability(line.features) >= threshold]
    found = sum(line.is_problem for line in sent)
    return HeldBackFigures(
        threshold=threshold,
        lines=len(lines),
        problems=problems,
        sent=len(sent),
        precision=found / len(sent) if sent else 0.0,
        recall=found / problems if problems else 0.0,
    )


def retrain(
    lines: Sequence[LabelledLine],
    current: SignalModel,
    *,
    target_precision: float,
    trained_on: str,
    trained_at: date,
    held_back_share: float = DEFAULT_HELD_BACK_SHARE,
) -> Retrained:
    """A new model fitted on ``lines`` but the held-back share, and both models' figures on that share."""
    model = fit_signal_model(
        lines, trained_on=trained_on, trained_at=trained_at, held_back_share=held_back_share
    )
    held_back = [line for line in lines if is_held_back(line.line_id, held_back_share)]
    if not held_back:
        raise ValueError(f"none of the {len(lines)} lines is held back: too few to compare the models")
    # The current model's figures are its own on these lines, not the ones it was shipped with.
    current = current.model_copy(update={"curve": precision_recall_curve(current, held_back)})
    return Retrained(
        model=model,
        before=held_back_figures(current, held_back, target_precision),
        after=held_back_figures(model, held_back, target_precision),
    )


def comparison_table(retrained: Retrained) -> str:
    rows = [
        f"{'':7} {'threshold':>9} {'lines':>6} {'problems':>8} {'sent':>6} {'precision':>9} {'recall':>7}"
    ]
    for name, figures in (("before", retrained.before), ("after", retrained.after)):
        rows.append(
            f"{name:7} {figures.threshold:9.4f} {figures.lines:6d} {figures.problems:8d} {figures.sent:6d} "
            f"{figures.precision:9.3f} {figures.recall:7.3f}"
        )
    return "\n".join(rows)
