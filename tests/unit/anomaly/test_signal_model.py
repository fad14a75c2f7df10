"""The signal model: fitted from labelled lines, its threshold read from held-back figures, refitted on reviewers'
decisions with before/after figures; and the labels a settled review stores."""

from __future__ import annotations

import json
import random
from datetime import UTC, date, datetime
from pathlib import Path

import boto3
import pytest
from moto import mock_aws

from backoffice.anomaly import CHECKS, AnomalyPolicy
from backoffice.anomaly import evaluation as ev
from backoffice.anomaly.labels import LABELS_PREFIX, ReviewLabel, ReviewLabels, decision_counts
from backoffice.anomaly.retraining import held_back_figures, retrain, signal_lines
from backoffice.anomaly.signal_model import (
    CurvePoint,
    LabelledLine,
    SignalModel,
    fit_signal_model,
    is_held_back,
    precision_recall_curve,
    save,
)
from backoffice.cli.main import main

TODAY = date(2026, 12, 7)


def model(
    intercept: float = 0.0,
    curve: list[CurvePoint] | None = None,
    slopes: dict[str, float] | None = None,
    **offsets: float,
) -> SignalModel:
    return SignalModel(
        intercept=intercept,
        offsets=offsets,
        slopes=slopes or {},
        trained_on="test",
        trained_at=TODAY,
        training_lines=0,
        training_positives=0,
        held_back_lines=0,
        held_back_positives=0,
        curve=curve or [],
    )


def lines_from(true_model: SignalModel, n: int, seed: int = 1) -> list[LabelledLine]:
    """Lines whose problems are drawn from ``true_model``: round amounts alone rarely real, with a late entry
    mostly real, an outlier's strength raising the odds."""
    rng = random.Random(seed)
    made = []
    for number in range(n):
        features = {"round_amount": 1.0}
        if rng.random() < 0.4:
            features["late_entry"] = 1.0
        if rng.random() < 0.3:
            features["amount_outlier"] = rng.choice((1.0, 2.0, 3.0))
        made.append(LabelledLine(f"L-{number}", features, rng.random() < true_model.probability(features)))
    return made


TRUE_MODEL = model(-2.0, slopes={"amount_outlier": 0.8}, round_amount=0.5, late_entry=2.5, amount_outlier=1.0)


def test_the_fit_recovers_the_coefficients_the_lines_were_drawn_from() -> None:
    # Given 20,000 lines whose problems follow a known logistic model
    lines = lines_from(TRUE_MODEL, 20_000)
    # When the model is fitted on them
    fitted = fit_signal_model(lines, trained_on="drawn", trained_at=TODAY, penalty=0.0)
    # Then intercept + round_amount (always together), the offsets and the outlier's slope come back within
    # sampling error
    assert fitted.intercept + fitted.offsets["round_amount"] == pytest.approx(-1.5, abs=0.15)
    assert fitted.offsets["late_entry"] == pytest.approx(2.5, abs=0.2)
    assert fitted.offsets["amount_outlier"] == pytest.approx(1.0, abs=0.25)
    assert fitted.slopes == {"amount_outlier": pytest.approx(0.8, abs=0.2)}
    # And it records what it was fitted on, and its figures on the held-back lines
    assert fitted.training_lines + fitted.held_back_lines == len(lines)
    assert 0.25 < fitted.held_back_lines / len(lines) < 0.35
    assert fitted.curve and fitted.curve[-1].recall == 1.0


def test_a_stronger_signal_never_scores_lower_even_when_the_labels_say_so() -> None:
    # Given lines where, by chance, the further past its threshold an outlier is, the less often it was real
    lines = [
        LabelledLine(f"L-{n}", {"amount_outlier": strength}, n % 10 < round(8 - 2 * strength))
        for n in range(600)
        for strength in (1.0, 2.0, 3.0)
    ]
    # When the model is fitted
    fitted = fit_signal_model(lines, trained_on="odd", trained_at=TODAY)
    # Then the slope is held at zero rather than fitted below it: strength never lowers the score
    assert fitted.slopes.get("amount_outlier", 0.0) == 0.0
    low, high = (fitted.probability({"amount_outlier": s}) for s in (1.0, 3.0))
    assert high >= low


def test_the_held_back_lines_are_chosen_by_line_id_the_same_every_time() -> None:
    ids = [f"TE-{n}" for n in range(1000)]
    first = [is_held_back(line_id, 0.3) for line_id in ids]
    assert first == [is_held_back(line_id, 0.3) for line_id in ids]
    assert 250 < sum(first) < 350


def test_the_review_threshold_is_the_lowest_that_reaches_the_target_precision() -> None:
    # Given held-back figures at four thresholds
    curve = [
        CurvePoint(threshold=0.9, precision=1.0, recall=0.2, lines=2),
        CurvePoint(threshold=0.7, precision=0.95, recall=0.6, lines=6),
        CurvePoint(threshold=0.5, precision=0.91, recall=0.8, lines=9),
        CurvePoint(threshold=0.2, precision=0.5, recall=1.0, lines=20),
    ]
    found = model(curve=curve)
    # Then a 90 % target sends everything from 0.5 up (the most found at that precision), 95 % from 0.7
    assert found.threshold_for(0.9) == 0.5 and found.threshold_for(0.95) == 0.7
    # And a target no threshold reaches falls back to the most precise one, a model without figures to 1
    assert found.threshold_for(0.99) == 0.9 == found.threshold_for(1.0)
    assert model().threshold_for(0.9) == 1.0


def test_a_signal_the_model_was_not_fitted_with_adds_nothing() -> None:
    fitted = model(-1.0, slopes={"round_amount": 1.0}, round_amount=2.0)
    assert fitted.probability({"round_amount": 1.0, "new_check": 5.0}) == fitted.probability(
        {"round_amount": 1.0}
    )


def test_the_precision_recall_curve_counts_ties_once() -> None:
    lines = [
        LabelledLine("a", {"x": 1.0}, True),
        LabelledLine("b", {"x": 1.0}, False),
        LabelledLine("c", {}, True),
    ]
    curve = precision_recall_curve(model(0.0, x=1.0), lines)
    assert [(p.lines, p.precision, p.recall) for p in curve] == [(2, 0.5, 0.5), (3, 0.6667, 1.0)]


def test_the_shipped_model_loads_and_says_what_it_was_fitted_on(tmp_path: Path) -> None:
    shipped = SignalModel.shipped()
    assert shipped.trained_on and shipped.training_lines > 0
    assert AnomalyPolicy().model() == shipped
    save(shipped, tmp_path / "model.json")
    assert SignalModel.model_validate_json((tmp_path / "model.json").read_text()) == shipped


# -- reviewers' decisions ---------------------------------------------------------------------------------------


def label(
    line_id: str, checks: list[str], features: dict[str, float], decision: str = "approved"
) -> ReviewLabel:
    return ReviewLabel.model_validate(
        {
            "line_id": line_id,
            "kind": "expense",
            "project_id": "P-1",
            "period_start": "2026-10-01",
            "run_case_id": "billing-2026-10",
            "checks": checks,
            "rules": sorted(
                {"round_amount": "TE3", "receipt_missing": "TE4", "late_entry": "TE7"}[c] for c in checks
            ),
            "features": features,
            "score": 0.7,
            "decision": decision,
            "decided_at": datetime(2026, 11, 3, tzinfo=UTC),
        }
    )


def test_only_signal_lines_without_a_violation_teach_the_model() -> None:
    # Given a round amount, a missing receipt with a round amount, and a missing receipt alone, all decided
    labels = [
        label("EX-1", ["round_amount"], {"round_amount": 1.0}, "written_off"),
        label("EX-2", ["receipt_missing", "round_amount"], {"round_amount": 1.0}, "sent_back"),
        label("EX-3", ["receipt_missing"], {}, "sent_back"),
    ]
    # Then only the first is a line the model decides on, and it counts as a real problem
    lines = signal_lines(labels, AnomalyPolicy().violations)
    assert [(line.line_id, line.is_problem) for line in lines] == [("billing-2026-10:expense:EX-1", True)]
    # And per rule, the decisions count what the reviewers confirmed and cleared
    labels.append(label("EX-4", ["round_amount"], {"round_amount": 1.0}))
    assert decision_counts(labels) == {
        "TE3": {"confirmed": 2, "cleared": 1},
        "TE4": {"confirmed": 2, "cleared": 0},
    }


def test_a_refit_on_decisions_shows_both_models_on_the_same_held_back_lines() -> None:
    # Given a current model that sends every round amount, and reviewers who clear most lone round amounts
    current = model(
        3.0, round_amount=0.0, curve=[CurvePoint(threshold=0.9, precision=0.9, recall=1.0, lines=1)]
    )
    lines = lines_from(TRUE_MODEL, 3000, seed=5)
    # When the model is refitted on their decisions
    retrained = retrain(lines, current, target_precision=0.9, trained_on="decisions", trained_at=TODAY)
    # Then both are measured on the same held-back lines, and the new one is far more precise at its threshold
    before, after = retrained.before, retrained.after
    assert before.lines == after.lines == retrained.model.held_back_lines > 0
    assert before.precision < 0.6 and after.precision >= 0.85
    assert after.sent < before.sent
    assert held_back_figures(retrained.model, lines[:10], 0.9).lines == 10


@mock_aws
def test_labels_are_one_file_per_project_and_run_and_a_retry_writes_the_same_file() -> None:
    # Given the documents bucket
    s3 = boto3.client("s3", region_name="us-east-1")
    s3.create_bucket(Bucket="documents")
    store = ReviewLabels(s3, "documents")
    decided = [label("EX-1", ["round_amount"], {"round_amount": 1.0}, "written_off")]
    # When a review's labels are put twice (a retried step)
    key = store.put(decided)
    assert store.put(decided) == key and store.put([]) is None
    # Then one file holds them, and they read back as written
    listed = s3.list_objects_v2(Bucket="documents", Prefix=f"{LABELS_PREFIX}/")["Contents"]
    assert [item["Key"] for item in listed] == [f"{LABELS_PREFIX}/2026-10-01/P-1/billing-2026-10.json"]
    assert list(store.read_all()) == decided


# -- the command --------------------------------------------------------------------------------------------------


def test_retrain_refuses_too_few_decisions_and_refits_on_enough(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given a file of 400 decided round-amount lines, most of them cleared
    rng = random.Random(3)
    labels = [
        label(
            f"EX-{n}",
            ["round_amount", "late_entry"] if n % 3 == 0 else ["round_amount"],
            {"round_amount": 1.0, "late_entry": 1.0} if n % 3 == 0 else {"round_amount": 1.0},
            "written_off" if (n % 3 == 0 or rng.random() < 0.2) else "approved",
        ).to_json_dict()
        for n in range(400)
    ]
    path = tmp_path / "labels.json"
    path.write_text(json.dumps({"labels": labels}))
    out = tmp_path / "model.json"
    # When retrain asks for more decisions than there are / Then it refuses and writes nothing
    assert main(["anomaly", "retrain", "--labels", str(path), "--min-labels", "500", "--out", str(out)]) == 1
    assert "fewer than 500" in capsys.readouterr().err and not out.exists()
    # When it has enough / Then it writes a model fitted on them and prints both models' held-back figures
    assert main(["anomaly", "retrain", "--labels", str(path), "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "before" in printed and "after" in printed and "late_entry" in printed
    refitted = SignalModel.model_validate_json(out.read_text())
    assert refitted.trained_on.startswith("reviewer decisions (400 signal lines")
    assert refitted.offsets["late_entry"] > 1.0


def test_the_shipped_model_is_what_fitting_on_the_labelled_generator_gives() -> None:
    # Given the model shipped in the package / When it is fitted again from the generator's training firms
    shipped = SignalModel.shipped()
    refitted = ev.fit_on_generator(trained_at=shipped.trained_at)
    # Then it is the same model, to the figures: nobody edited the file by hand
    assert refitted == shipped
    assert all(slope >= 0 for slope in shipped.slopes.values())


def test_anomaly_eval_prints_the_figures_per_check_and_rule_and_exits_by_the_floors(
    capsys: pytest.CaptureFixture[str],
) -> None:
    # Given the shipped model / When `backoffice anomaly eval --json` runs on the evaluation firm
    code = main(["anomaly", "eval", "--json"])
    figures = json.loads(capsys.readouterr().out)
    # Then every check and rule is reported with recall and precision at review, and the exit code says
    # whether all meet the floors
    assert set(figures["checks"]) == set(CHECKS) and "TE11" in figures["rules"]
    assert figures["model"]["trained_on"] == SignalModel.shipped().trained_on
    assert code == (1 if figures["below_floors"] else 0)
    assert figures["below_floors"] == [
        name for name, found in {**figures["checks"], **figures["rules"]}.items() if not found["meets_floors"]
    ]


def test_the_commands_defaults_are_the_scorers_own() -> None:
    # The command module names them itself so that `backoffice --help` does not import the scorer
    from backoffice.anomaly.retraining import MIN_LABELS
    from backoffice.cli import anomaly as command

    assert (command.EVALUATION_SEED, command.MIN_LABELS) == (ev.EVALUATION_SEED, MIN_LABELS)
