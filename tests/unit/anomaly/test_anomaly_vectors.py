"""The scorer's numpy filters find the lines its Python checks would, and numpy loads only when lines are scored.

The rules find their candidate lines in numpy (``backoffice.anomaly.vectors``) and keep their own Python for
those: the golden scenarios hold the scores and sentences. These tests hold the edges the generated firms
rarely reach: leading digits at powers of ten and beyond a double's exact integers, group counts on a batch
too varied for a bin per group, and a cold start that never scores.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections import Counter
from typing import Any

import pytest

from backoffice.anomaly import AnomalyPolicy, expense_columns_of
from backoffice.anomaly import expense_rules as rules
from backoffice.anomaly.benford import leading_digits


def expense_lists(amounts: list[float], types: list[str] | None = None) -> dict[str, list[Any]]:
    count = len(amounts)
    return {
        "id": [f"E{line}" for line in range(count)],
        "worker_id": [f"W{line % 7}" for line in range(count)],
        "expense_date": ["2026-10-06"] * count,
        "expense_type": types or ["supplies"] * count,
        "amount": amounts,
        "currency": ["USD"] * count,
    }


@pytest.mark.parametrize("test", ["first_digit", "first_two_digits"])
def test_leading_digits_are_those_of_the_whole_amount_at_every_magnitude(test: str) -> None:
    # Given amounts at and around powers of ten, with cents, and some too large for a double to hold exactly
    amounts = [10.0, 10.5, 19.99, 99.99, 100.0, 999.99, 1000.0, 1234.56, 99999.99, 1e6, 7.5e14, 2.0**53 - 1]
    policy = AnomalyPolicy(benford_test=test, benford_skip_capped_types=False)  # type: ignore[arg-type]
    width = 1 if test == "first_digit" else 2
    for batch in (amounts, [*amounts, 2.0**60]):  # the second past 2**53: read through text, as before
        columns = expense_columns_of(expense_lists(batch))
        # When the leading digits are read
        positions, digits = rules.leading_digits_of(columns, policy)
        # Then every amount has those of its whole part, as Benford's test defines them
        assert positions == list(range(len(batch)))
        assert digits == [leading_digits(amount, width) for amount in batch]


def test_round_counts_are_the_same_when_the_batch_is_too_varied_for_a_bin_per_group(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Given a batch of workers and types, some amounts whole and ending in 0 or 5
    amounts = [10.0, 12.5, 15.0, 20.0, 7.0, 100.0, 33.0, 45.0] * 5
    types = ["meals", "taxi", "supplies", "parking"] * 10
    lists = expense_lists(amounts, types)
    # When they are counted in numpy, and with no bin to spare (the fallback)
    counted = rules.collect_round_endings(expense_columns_of(lists))
    monkeypatch.setattr(rules, "_MAX_BINS_PER_LINE", -1_000_000)
    fallback = rules.collect_round_endings(expense_columns_of(lists))
    # Then both give each (worker, type) its lines and its round lines, as counted one by one
    keys = list(zip(lists["worker_id"], types, strict=True))
    lines = Counter(keys)
    rounds = Counter(key for key, amount in zip(keys, amounts, strict=True) if amount % 5 == 0)
    expected = {key: [lines[key], rounds[key]] for key in lines}
    assert counted == fallback == expected


def test_a_cold_start_that_does_not_score_does_not_load_numpy() -> None:
    # Given a fresh interpreter importing the scorer and the invoicing steps, as the scoring handler does
    script = (
        "import json, sys\n"
        "import backoffice.anomaly, backoffice.invoicing.steps\n"
        "before = 'numpy' in sys.modules\n"
        "from backoffice.anomaly import score_field_lists\n"
        "score_field_lists({'id': ['T1'], 'worker_id': ['W1'], 'project_id': ['P1'],\n"
        "    'activity_type': ['consulting'], 'work_date': ['2026-10-06'], 'hours': [8.0]}, None)\n"
        "print(json.dumps([before, 'numpy' in sys.modules]))\n"
    )
    # When it imports them, then scores a line
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    # Then numpy is loaded by the scoring, not by the import
    assert json.loads(result.stdout) == [False, True]
