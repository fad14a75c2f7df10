"""The scorer's numpy filters find the lines its Python checks would, and numpy loads only when lines are scored.

The rules find their candidate lines in numpy (``backoffice.anomaly.vectors``) and keep their own Python for
those: the golden scenarios hold the scores and sentences. These tests hold the edges the generated firms
rarely reach: leading digits at powers of ten and beyond a double's exact integers, group counts on a batch
too varied for a bin per group, and a cold start that never scores.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
from collections import Counter
from datetime import date, timedelta
from typing import Any

import pytest

from backoffice.anomaly import (
    AnomalyPolicy,
    expense_columns_of,
    grouping,
    time_columns_of,
    time_rules,
    vectors,
)
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


def test_factorized_codes_number_the_distinct_values_in_order_of_first_occurrence() -> None:
    # Given a column with repeats, None among them, and an empty one
    values = ["b", "a", None, "b", "c", "a", None]
    # When it is coded
    codes, distinct = vectors.factorized(values)
    # Then each value has the place of its first occurrence among the distinct values
    assert distinct == ["b", "a", None, "c"]
    assert codes.tolist() == [0, 1, 2, 0, 3, 1, 2]
    empty_codes, empty_distinct = vectors.factorized([])
    assert empty_codes.tolist() == [] and empty_distinct == []


def test_converted_codes_read_each_distinct_value_once_and_merge_two_spellings_of_one_value() -> None:
    # Given dates as ISO text and as dates, one day spelt both ways
    values = ["2026-10-06", date(2026, 10, 7), "2026-10-07", "2026-10-06"]
    read: list[Any] = []

    def as_day(value: Any) -> date:
        read.append(value)
        return value if isinstance(value, date) else date.fromisoformat(value)

    # When they are converted with their codes
    per_line, codes, distinct = vectors.converted_codes(values, as_day)
    # Then each spelling is read once, and the codes are those of the converted values
    assert read == ["2026-10-06", date(2026, 10, 7), "2026-10-07"]
    assert per_line == [date(2026, 10, 6), date(2026, 10, 7), date(2026, 10, 7), date(2026, 10, 6)]
    assert distinct == [date(2026, 10, 6), date(2026, 10, 7)]
    assert codes.tolist() == [0, 1, 1, 0]
    assert vectors.converted_codes(values, as_day, per_line=False)[0] is None


def test_what_a_rule_derives_is_made_once_per_column_and_again_for_another_column() -> None:
    # Given a store of derived values and two columns of the same values
    derived: dict[str, Any] = {}
    first, second = ["W1", "W2", "W1"], ["W1", "W2", "W1"]
    # When the codes are asked twice for the first column, then for the second
    once = vectors.cached_codes(derived, "codes", first)
    again = vectors.cached_codes(derived, "codes", first)
    other = vectors.cached_codes(derived, "codes", second)
    # Then the first column's are made once, and the second column gets codes of its own
    assert once is again
    assert other is not once and other[0].tolist() == once[0].tolist()


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        ([], True),
        ([0.0, 24.0, 7.5], True),
        ([0.0, math.nan], False),
        ([-0.5, 3.0], False),
        ([3.0, math.inf], False),
    ],
)
def test_hours_in_range_are_checked_on_the_array_as_on_the_list(values: list[float], expected: bool) -> None:
    # Given hours read into compact floats and an array over the same doubles
    compact, array = grouping.compact_float_array(values)
    # When they are checked from 0 to 24
    # Then NaN and values outside are refused, and the array holds the list's values
    assert vectors.all_in_range(array, 0.0, 24.0) is expected
    assert [repr(value) for value in array.tolist()] == [repr(value) for value in compact]


def test_compact_float_array_reads_numbers_spelt_as_text() -> None:
    # Given hours as numbers and as text, as a JSON file may spell them
    # When they are read
    compact, array = grouping.compact_float_array([7.5, 8, "0.25"])
    # Then both forms hold the same doubles
    assert compact == [7.5, 8.0, 0.25] and array.tolist() == compact


@pytest.mark.parametrize(
    "column",
    [["a", None, "b"], ["a", "b"], [None, None], [0.0, None, "", 5.0, None], [], ["", "x"]],
)
def test_present_finds_every_value_that_is_not_none_even_a_false_one(column: list[Any]) -> None:
    # Given a column with missing values, and values that are false without being missing (0.0, "")
    # When the present values are found
    # Then they are the positions of the values that are not None
    assert grouping.present(column) == [place for place, value in enumerate(column) if value is not None]


def test_repeats_in_a_large_group_are_those_found_one_by_one() -> None:
    # Given a day of 1,000 keys (more than the numpy threshold), some repeated, in no order
    keys = [(f"W{(place * 37) % 300}", date(2026, 10, 6), float(place % 7)) for place in range(1000)]
    ids = [f"T{place}" for place in range(1000)]
    # When the repeats are found
    found = grouping.repeats(keys, ids, {}, part=1, parts=[key[1] for key in keys])
    # Then each later line of a key points to the key's first line
    first: dict[Any, int] = {}
    expected = [(place, first.setdefault(key, place)) for place, key in enumerate(keys)]
    assert sorted(found) == sorted((line, at) for line, at in expected if line != at)


def test_worker_days_are_the_same_found_in_numpy_or_a_date_at_a_time(monkeypatch: pytest.MonkeyPatch) -> None:
    # Given time lines of several workers over days, not in date order, some workers on one day twice
    days = [date(2026, 10, 6) + timedelta(days=place % 5) for place in range(60)]
    lists: dict[str, list[Any]] = {
        "id": [f"T{place}" for place in range(60)],
        "worker_id": [f"W{(place * 7) % 4}" for place in range(60)],
        "project_id": ["P1"] * 60,
        "activity_type": ["consulting"] * 60,
        "work_date": [day.isoformat() for day in reversed(days)],
        "hours": [0.25 * (place % 17) for place in range(60)],
    }
    # When the worker-days are found from the codes, and with no bin to spare (a date at a time)
    coded = time_rules.WorkerDays(time_columns_of(lists))
    monkeypatch.setattr(vectors, "MAX_BINS_PER_LINE", -1_000_000)
    by_date = time_rules.WorkerDays(time_columns_of(lists))
    # Then both give every line its day, the days in the same order and the same totals
    assert coded.day_of_line == by_date.day_of_line
    assert coded.days == by_date.days
    assert coded.totals == by_date.totals
    assert coded.day_workers()[0] == by_date.day_workers()[0]


def test_digit_counts_are_the_same_in_numpy_and_counted_line_by_line(monkeypatch: pytest.MonkeyPatch) -> None:
    # Given expenses of several workers, merchants (one missing) and types
    amounts = [12.5, 230.0, 47.1, 18.0, 99.9, 310.4, 21.0, 15.75] * 6
    types = ["meals", "taxi", "supplies", "lodging"] * 12
    lists = expense_lists(amounts, types)
    lists["merchant"] = [None if place % 11 == 0 else f"M{place % 3}" for place in range(len(amounts))]
    policy = AnomalyPolicy(benford_skip_capped_types=False)
    counted = {}
    for label, fallback in (("numpy", False), ("one by one", True)):
        if fallback:
            monkeypatch.setattr(rules, "_MAX_BINS_PER_LINE", -1_000_000)
        columns = expense_columns_of(lists)
        # When the digits are counted per worker, per merchant (some only) and per type
        counted[label] = [
            list(rules.collect_digits(columns, policy, columns.workers).items()),
            list(rules.collect_digits(columns, policy, columns.merchants, {"M1", "M2"}).items()),
            list(rules.collect_digits(columns, policy, None).items()),
        ]
    # Then both give the same counts, keyed in the same order (the order the firm's profile adds them in)
    assert counted["numpy"] == counted["one by one"]


def test_receipt_numbers_too_large_for_numpy_find_their_neighbours_as_small_ones_do() -> None:
    # Given receipt numbers in the batch and in the history, some beyond 64 bits
    large = 2**70
    history = {"M1": [(99, date(2026, 9, 1), "E0", -1)]}
    for base in (1000, large):
        numbers = [base, base + 1, base + 5, 98, base + 7]
        # When the numbers with a neighbour are found
        places, past = rules._numbers_with_neighbours(numbers, history)
        # Then they are those with a number one above or below, in the batch or the history
        assert places == [0, 1, 3]
        assert past("M1") == history["M1"] and past("M2") == []


def test_lines_that_may_repeat_a_key_include_every_line_of_a_repeated_key() -> None:
    # Given 5,000 keys of a worker code, a date code and an amount, some repeated, one amount as 0.0 and -0.0
    np = vectors.numpy()
    workers = np.array([(place * 7919) % 1300 for place in range(5000)], dtype=np.intp)
    dates = np.array([(place * 31) % 90 for place in range(5000)], dtype=np.intp)
    amounts = np.array([float((place * 13) % 500) for place in range(5000)])
    amounts[0], amounts[4999] = 0.0, -0.0
    workers[4999], dates[4999] = workers[0], dates[0]
    # When the lines that may repeat a key are marked
    marked = vectors.maybe_repeated([workers, dates, vectors.float_bits(amounts)])
    # Then every line whose key another line has is among them, and most others are not
    keys = list(zip(workers.tolist(), dates.tolist(), (amounts + 0.0).tolist(), strict=True))
    repeated = Counter(keys)
    assert all(marked[place] for place, key in enumerate(keys) if repeated[key] > 1)
    assert marked[0] and marked[4999]
    assert marked.sum() < 2 * sum(1 for key in keys if repeated[key] > 1) + 1000
    assert vectors.maybe_repeated([np.zeros(0, dtype=np.intp)]).tolist() == []


def test_values_that_may_repeat_include_every_repeated_value_and_every_known_one() -> None:
    # Given 20,000 receipt checksums, some repeated within the batch and some already in the history
    checksums = [f"{(place * 2654435761) % 2**40:064x}" for place in range(20_000)]
    for place in range(0, 20_000, 97):
        checksums[place + 1 if place + 1 < 20_000 else place] = checksums[place]
    known = {checksums[place] for place in range(5, 20_000, 1013)} | {"not in the batch"}
    # When the values that may repeat are marked
    marked = vectors.maybe_repeated_values(checksums, known)
    # Then every value another one equals, and every value the history has, is marked, and most others not
    repeated = Counter(checksums)
    must = [place for place, value in enumerate(checksums) if repeated[value] > 1 or value in known]
    assert all(marked[place] for place in must)
    assert marked.sum() < len(must) + 20_000 // 4
    assert vectors.maybe_repeated_values([], known).tolist() == []


def test_fact_amounts_read_in_numpy_are_those_read_one_by_one() -> None:
    # Given receipt amounts of every kind a line may hold: missing, a number, a whole number, text, 0
    lists = expense_lists([10.0, 20.0, 30.0, 40.0, 50.0, 60.0])
    lists["receipt_amount"] = [None, 12.5, 20, "31.5", 0.0, None]
    columns = expense_columns_of(lists)
    # When they are read as an array and as the lines that have one
    found = rules._given_numbers(columns, "receipt_amount")
    # Then the lines and amounts are those of the line-by-line reading, and a NaN among them is left to it
    expected = rules._present_number_array(columns.fact("receipt_amount"))
    assert found[:2] == expected[:2] == ([1, 2, 3, 4], [12.5, 20.0, 31.5, 0.0])
    lists["receipt_amount"] = [None, math.nan, 20, None, None, None]
    assert rules._fact_array(expense_columns_of(lists), "receipt_amount") is None
