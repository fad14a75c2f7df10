"""The scorer's output on generated samples is exactly what it was before the scoring path was optimized.

``golden_scores.json`` holds, per scenario, every flagged line (id, kind, score, reasons, review) and the number
of lines, computed with the code as it stood before the throughput work (and regenerated when the scoring
changed on purpose: policy violations and a fitted signal model replaced the noisy-OR of fixed weights; then
issue 25's blind spots were fixed and the labelled generator made harder). The scenarios score with
``GOLDEN_MODEL``, a signal model pinned here, so that refitting the shipped model changes no golden score (its slopes equal its offsets: each signal adds its weight times its strength).
Speed-ups must leave every score and every sentence unchanged; a change in behaviour is a deliberate act that
regenerates the file:

    .venv/bin/python tests/unit/anomaly/test_anomaly_golden.py --write

The scenarios go through the paths a speed-up might touch: the sample firm's policy (the firm's digit
profile), the defaults (Benford's law), a policy with every knob turned (two-digit Benford, a split window,
foreign currencies with and without a rate, the firm's own holidays, capped types kept in), rows spelled as
JSON with unreadable ones among them, canonical models through ``score_lines``, rows in no order with a
history of the same days, and facts that are missing, text, not numbers or NaN.
"""

from __future__ import annotations

import hashlib
import json
import random
import sys
from collections.abc import Callable
from datetime import date
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from backoffice.anomaly import AnomalyHistory, AnomalyPolicy, ScoredLine, score_lines, score_rows
from backoffice.anomaly.generator import (
    GeneratedFirm,
    expense_entry_of,
    generate_sample_firm,
    sample_firm_policy,
    time_entry_of,
)
from backoffice.anomaly.signal_model import CurvePoint, SignalModel

GOLDEN = Path(__file__).with_name("golden_scores.json")
SEED, WORKERS, HISTORY_DAYS = 11, 24, 90
# Each signal adds its weight times its strength: the offset and the slope per unit past 1 are the same.
GOLDEN_WEIGHTS = {
    "duplicate_merchant_charge": 3.0,
    "round_amount": 1.5,
    "round_endings": 1.5,
    "weekend_or_holiday": 1.0,
    "identical_hours": 2.0,
    "late_entry": 2.0,
    "benford": 2.0,
    "consecutive_receipts": 3.5,
    "amount_outlier": 3.0,
    "hours_outlier": 3.0,
}
GOLDEN_MODEL = SignalModel(
    intercept=-3.0,
    offsets=GOLDEN_WEIGHTS,
    slopes=GOLDEN_WEIGHTS,
    trained_on="pinned for the golden scores",
    trained_at=date(2026, 12, 7),
    training_lines=0,
    training_positives=0,
    held_back_lines=0,
    held_back_positives=0,
    curve=[
        CurvePoint(threshold=0.8, precision=0.95, recall=0.5, lines=10),
        CurvePoint(threshold=0.5, precision=0.9, recall=0.8, lines=20),
        CurvePoint(threshold=0.2, precision=0.6, recall=1.0, lines=40),
    ],
)


@cache
def firm() -> GeneratedFirm:
    policy = sample_firm_policy(benford_min_lines=100, benford_mad_limit=0.05, signal_model=GOLDEN_MODEL)
    return generate_sample_firm(seed=SEED, n_workers=WORKERS, history_days=HISTORY_DAYS, policy=policy)


def _history(
    sample: GeneratedFirm, policy: AnomalyPolicy, expense_rows: list[dict[str, Any]]
) -> AnomalyHistory:
    return AnomalyHistory.from_rows(
        sample.history_time_rows, expense_rows, policy=policy, worker_roles=sample.worker_roles()
    )


def _sample_policy() -> list[ScoredLine]:
    sample = firm()
    history = _history(sample, sample.policy, sample.history_expense_rows)
    return score_rows(
        sample.time_rows, sample.expense_rows, history, sample.policy, worker_roles=sample.worker_roles()
    )


def _default_policy() -> list[ScoredLine]:
    sample = firm()
    policy = AnomalyPolicy(benford_min_lines=50, benford_mad_limit=0.04, signal_model=GOLDEN_MODEL)
    history = _history(sample, policy, sample.history_expense_rows)
    return score_rows(
        sample.time_rows, sample.expense_rows, history, policy, worker_roles=sample.worker_roles()
    )


def _in_other_currencies(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    # Every seventh line in euros, every eleventh in pounds, every thirteenth in yen (no rate: NaN base).
    changed = []
    for number, row in enumerate(rows):
        currency = (
            "JPY" if number % 13 == 0 else "GBP" if number % 11 == 0 else "EUR" if number % 7 == 0 else None
        )
        changed.append(row if currency is None else {**row, "currency": currency})
    return changed


def _every_knob_turned() -> list[ScoredLine]:
    sample = firm()
    policy = AnomalyPolicy.model_validate(
        {
            "fx_rates": {"EUR": 1.1, "GBP": 1.3},
            "merchant_match_min_amount": 10,
            "split_limit": 60,
            "split_window_days": 2,
            "split_skip_types": ["parking"],
            "round_amount_modulus": 10,
            "round_endings_min_lines": 5,
            "round_endings_share": 0.3,
            "receipt_required_at": 50,
            "receipt_always_types": ["lodging", "airfare"],
            "receipt_date_tolerance_days": 0,
            "tip_max_share": 0.2,
            "lodging_per_night_by_city": {"Boston": 150.0, "New York": 250.0},
            "mie_per_day": 60,
            "mie_per_day_by_city": {"Boston": 70.0},
            "per_attendee_limits": {"meals": 40.0, "client_entertainment": 90.0, "conference": 300.0},
            "max_daily_hours": 10,
            "flag_weekends": False,
            "extra_holidays": {"2026-10-16": "Firm retreat", "2026-12-24": "Christmas Eve"},
            "identical_hours_min_days": 5,
            "late_entry_days": 10,
            "benford_test": "first_two_digits",
            "benford_min_lines": 50,
            "benford_mad_limit": 0.006,
            "benford_min_amount": 5,
            "benford_skip_capped_types": False,
            "consecutive_receipts_min": 2,
            "consecutive_receipts_min_span_days": 1,
            "robust_z_threshold": 2.5,
            "own_history_min_lines": 5,
            "peer_group_min_lines": 8,
            "outlier_min_ratio": 1.8,
            "outliers_skip_capped_types": False,
            "checks_off": ["round_endings"],
            "violations": ["duplicate_expense", "receipt_missing", "daily_hours", "sanctioned_above_claimed"],
            "target_precision": 0.95,
            "signal_model": GOLDEN_MODEL,
        }
    )
    history = _history(sample, policy, _in_other_currencies(sample.history_expense_rows))
    return score_rows(
        sample.time_rows,
        _in_other_currencies(sample.expense_rows),
        history,
        policy,
        worker_roles=sample.worker_roles(),
    )


def _as_json(row: dict[str, Any]) -> dict[str, Any]:
    spelled: dict[str, Any] = {}
    for key, value in row.items():
        if isinstance(value, date):  # datetime too
            spelled[key] = value.isoformat()
        elif isinstance(value, float) and key in ("amount", "receipt_amount", "tip_amount"):
            spelled[key] = f"{value:.2f}"
        elif isinstance(value, float) and key in ("hours", "sanctioned_amount"):
            spelled[key] = Decimal(str(value))
        else:
            spelled[key] = value
    return spelled


def _json_rows_with_unreadable_ones() -> list[ScoredLine]:
    sample = firm()
    time_rows = [_as_json(row) for row in sample.time_rows]
    expense_rows = [_as_json(row) for row in sample.expense_rows]
    time_rows[5] = {**time_rows[5], "hours": 25}
    time_rows[40] = {key: value for key, value in time_rows[40].items() if key != "work_date"}
    expense_rows[3] = {**expense_rows[3], "amount": "-12.00"}
    expense_rows[30] = {**expense_rows[30], "expense_date": "the day before"}
    expense_rows[60] = {**expense_rows[60], "attendees": 0}
    history = _history(sample, sample.policy, sample.history_expense_rows)
    return score_rows(time_rows, expense_rows, history, sample.policy, worker_roles=sample.worker_roles())


def _models() -> list[ScoredLine]:
    sample = firm()
    time_entries = [time_entry_of(row) for row in sample.time_rows[:1800]]
    expenses = [expense_entry_of(row) for row in sample.expense_rows[:1800]]
    history = _history(sample, sample.policy, sample.history_expense_rows)
    return score_lines(
        time_entries,
        expenses,
        history,
        sample.policy,
        workers=sample.workers,
        line_facts=sample.line_facts(),
    )


def _shuffled_rows_and_history_of_the_same_days() -> list[ScoredLine]:
    # Rows in no particular order, and a history that holds some of the period's own lines (the same line
    # passed again is no duplicate) and copies of others under other ids (duplicates of a past claim).
    sample = firm()
    shuffle = random.Random(SEED).shuffle
    time_rows, expense_rows = list(sample.time_rows), list(sample.expense_rows)
    shuffle(time_rows)
    shuffle(expense_rows)
    past_time = [*sample.history_time_rows, *time_rows[:200]]
    past_time += [{**row, "id": f"OLD-{row['id']}"} for row in time_rows[200:300]]
    past_expenses = [*sample.history_expense_rows, *expense_rows[:200]]
    past_expenses += [{**row, "id": f"OLD-{row['id']}"} for row in expense_rows[200:300]]
    history = AnomalyHistory.from_rows(
        past_time, past_expenses, policy=sample.policy, worker_roles=sample.worker_roles()
    )
    return score_rows(time_rows, expense_rows, history, sample.policy, worker_roles=sample.worker_roles())


def _odd_facts(number: int, row: dict[str, Any]) -> dict[str, Any]:
    # Every fallback of the fast paths: a fact missing, written as text, not a number, NaN; a timestamp
    # missing; a receipt number with letters; a card id left empty.
    changes: dict[str, Any] = {}
    if number % 5 == 0:
        changes["receipt_amount"] = None if number % 10 == 0 else "n/a"
    if number % 7 == 0:
        changes["receipt_amount"] = float("nan")
    if number % 9 == 0:
        changes["sanctioned_amount"] = "approved" if number % 18 == 0 else str(row["amount"])
    if number % 11 == 0:
        changes["tip_amount"] = f"{row['amount'] * 0.3:.2f}"
    if number % 13 == 0 and row.get("receipt_number"):
        changes["receipt_number"] = f"R-{row['receipt_number']}"
    if number % 17 == 0:
        changes["card_id"] = ""
    if number % 19 == 0:
        changes["advance_amount"] = row["amount"] * 1.5
    return {**row, **changes}


def _odd_facts_and_missing_timestamps() -> list[ScoredLine]:
    sample = firm()
    time_rows = [
        {**row, "submitted_at": None} if number % 6 == 0 else row
        for number, row in enumerate(sample.time_rows)
    ]
    expense_rows = [_odd_facts(number, row) for number, row in enumerate(sample.expense_rows)]
    history = _history(sample, sample.policy, sample.history_expense_rows)
    return score_rows(time_rows, expense_rows, history, sample.policy, worker_roles=sample.worker_roles())


SCENARIOS: dict[str, Callable[[], list[ScoredLine]]] = {
    "sample_firm_policy": _sample_policy,
    "default_policy": _default_policy,
    "every_knob_turned": _every_knob_turned,
    "json_rows_with_unreadable_ones": _json_rows_with_unreadable_ones,
    "models": _models,
    "shuffled_rows_and_history_of_the_same_days": _shuffled_rows_and_history_of_the_same_days,
    "odd_facts_and_missing_timestamps": _odd_facts_and_missing_timestamps,
}


def flagged(scored: list[ScoredLine]) -> dict[str, Any]:
    """The scenario's record: how many lines, a digest of their ids and kinds in order, and each flagged
    line's id, kind, score and reasons. A reason is written once and referred to by its place in
    ``reasons``: a Benford finding is carried by every line of the set."""
    order = hashlib.sha256("\n".join(f"{line.kind}:{line.line_id}" for line in scored).encode()).hexdigest()
    reasons: dict[tuple[str, str, str], int] = {}
    lines = [
        [
            line.line_id,
            line.kind,
            line.score,
            [reasons.setdefault(reason, len(reasons)) for reason in line.reasons],
            line.review,
        ]
        for line in scored
        if line.score or line.reasons
    ]
    return {
        "lines": len(scored),
        "order": order,
        "reasons": [list(reason) for reason in reasons],
        "flagged": lines,
    }


def _readable(record: dict[str, Any]) -> list[list[Any]]:
    reasons = record["reasons"]
    return [[*line[:3], [reasons[place] for place in line[3]], *line[4:]] for line in record["flagged"]]


@cache
def golden() -> dict[str, Any]:
    return json.loads(GOLDEN.read_text(encoding="utf-8"))


@pytest.mark.parametrize("scenario", list(SCENARIOS))
def test_scores_and_reasons_are_exactly_those_recorded_before_the_optimization(scenario: str) -> None:
    # Given a generated sample and the scores recorded for it
    expected = golden()[scenario]
    # When it is scored now
    actual = flagged(SCENARIOS[scenario]())
    # Then every line comes back in the same order, and every flagged line has the same score and reasons
    assert (actual["lines"], actual["order"]) == (expected["lines"], expected["order"])
    got, recorded = _readable(actual), _readable(expected)
    assert len(got) == len(recorded)
    for line, recorded_line in zip(got, recorded, strict=True):
        assert line == recorded_line


def _write() -> None:
    record = {name: flagged(scenario()) for name, scenario in SCENARIOS.items()}
    with GOLDEN.open("w", encoding="utf-8") as out:
        out.write("{\n")
        for number, (name, found) in enumerate(record.items()):
            out.write(f"{json.dumps(name)}: {{\n")
            out.write(f'"lines": {found["lines"]}, "order": {json.dumps(found["order"])},\n')
            out.write('"reasons": [\n')
            out.write(",\n".join(json.dumps(reason, ensure_ascii=False) for reason in found["reasons"]))
            out.write('\n],\n"flagged": [\n')
            out.write(",\n".join(json.dumps(line, ensure_ascii=False) for line in found["flagged"]))
            out.write("\n]}" + (",\n" if number < len(record) - 1 else "\n"))
        out.write("}\n")


if __name__ == "__main__":
    if sys.argv[1:] != ["--write"]:
        sys.exit("usage: test_anomaly_golden.py --write  (records the current scores as the golden ones)")
    _write()
