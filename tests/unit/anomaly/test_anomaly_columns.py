"""Lines that arrive column-wise (``score_columns``) score exactly as the same lines given as rows.

Every golden scenario of ``test_anomaly_golden`` is run again with ``score_rows`` replaced by a function that
transposes the rows into one list per field, scores those with ``score_columns`` and checks the result
against ``score_rows`` itself; the output must also match the golden record. (The models scenario goes
through ``score_lines``, which reads models straight into columns.)
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import date
from typing import Any

import pytest
from test_anomaly_golden import SCENARIOS, firm, flagged, golden

from backoffice.anomaly import (
    AnomalyHistory,
    AnomalyPolicy,
    ScoredLine,
    coded_lists,
    expense_columns_of,
    expense_json_lists,
    flagged_in_columns,
    flagged_in_field_lists,
    score_columns,
    score_field_lists,
    score_lines,
    score_rows,
    time_columns_of,
    time_json_lists,
)
from backoffice.anomaly.generator import expense_entry_of, generate_sample_firm, lists_of, time_entry_of
from backoffice.anomaly.rows import EXPENSE_COLUMN_FIELDS, TIME_COLUMN_FIELDS

_score_rows = score_rows
_calls: list[int] = []


def _scored_column_wise(
    time_rows: Sequence[Mapping[str, Any]] = (),
    expense_rows: Sequence[Mapping[str, Any]] = (),
    history: AnomalyHistory | None = None,
    policy: AnomalyPolicy | None = None,
    *,
    worker_roles: Mapping[str, str] | None = None,
) -> list[ScoredLine]:
    # Built with another currency than the policy's on purpose: score_columns converts with the policy.
    times = time_columns_of(lists_of(time_rows, TIME_COLUMN_FIELDS), scored=True)
    expenses = expense_columns_of(lists_of(expense_rows, EXPENSE_COLUMN_FIELDS), "XXX", scored=True)
    column_wise = score_columns(times, expenses, history, policy, worker_roles=worker_roles)
    assert column_wise == _score_rows(time_rows, expense_rows, history, policy, worker_roles=worker_roles)
    # The columns scored again give the same lines, not the first call's list changed again.
    assert score_columns(times, expenses, history, policy, worker_roles=worker_roles) == column_wise
    _calls.append(len(column_wise))
    return column_wise


@pytest.mark.parametrize("scenario", list(SCENARIOS))
def test_column_wise_lines_score_exactly_as_rows_on_the_golden_scenarios(
    scenario: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a golden scenario whose rows are scored column-wise instead (models go column-wise anyway:
    # score_lines reads them straight into columns)
    monkeypatch.setattr("test_anomaly_golden.score_rows", _scored_column_wise)
    _calls.clear()
    # When it is scored
    actual = flagged(SCENARIOS[scenario]())
    assert _calls == ([] if scenario == "models" else [actual["lines"]])
    # Then every line has the recorded score and reasons (and the same as score_rows, checked on the way)
    expected = golden()[scenario]
    assert (actual["lines"], actual["order"]) == (expected["lines"], expected["order"])
    assert actual["flagged"] == expected["flagged"] and actual["reasons"] == expected["reasons"]


def _scored_from_a_coded_file(
    time_rows: Sequence[Mapping[str, Any]] = (),
    expense_rows: Sequence[Mapping[str, Any]] = (),
    history: AnomalyHistory | None = None,
    policy: AnomalyPolicy | None = None,
    *,
    worker_roles: Mapping[str, str] | None = None,
) -> list[ScoredLine]:
    # The lines as "Open billing period" writes them: a list per field, the grouped fields coded.
    times = time_columns_of(coded_lists(lists_of(time_rows, TIME_COLUMN_FIELDS)), scored=True)
    expenses = expense_columns_of(coded_lists(lists_of(expense_rows, EXPENSE_COLUMN_FIELDS)), scored=True)
    from_codes = score_columns(times, expenses, history, policy, worker_roles=worker_roles)
    assert from_codes == _score_rows(time_rows, expense_rows, history, policy, worker_roles=worker_roles)
    # The invoicing run's path, the flagged lines only (columns built without a ScoredLine per line): the
    # same flagged lines, and every other line scored 0 with no reason.
    flagged_only = flagged_in_columns(
        time_columns_of(coded_lists(lists_of(time_rows, TIME_COLUMN_FIELDS))),
        expense_columns_of(coded_lists(lists_of(expense_rows, EXPENSE_COLUMN_FIELDS))),
        history,
        policy,
        worker_roles=worker_roles,
    )
    assert flagged_only.flagged() == [line for line in from_codes if line.reasons]
    assert flagged_only.all_lines() == from_codes and flagged_only.line_count == len(from_codes)
    _calls.append(len(from_codes))
    return from_codes


@pytest.mark.parametrize("scenario", [name for name in SCENARIOS if name != "models"])
def test_a_coded_lines_file_scores_exactly_as_rows_on_the_golden_scenarios(
    scenario: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a golden scenario whose rows are scored from coded columns (unreadable and unsorted rows too)
    monkeypatch.setattr("test_anomaly_golden.score_rows", _scored_from_a_coded_file)
    _calls.clear()
    # When it is scored
    actual = flagged(SCENARIOS[scenario]())
    assert _calls == [actual["lines"]]
    # Then every line has the recorded score and reasons (and the same as score_rows, checked on the way)
    expected = golden()[scenario]
    assert (actual["lines"], actual["order"]) == (expected["lines"], expected["order"])
    assert actual["flagged"] == expected["flagged"] and actual["reasons"] == expected["reasons"]


def test_a_whole_generated_firm_scores_alike_from_rows_lists_and_a_coded_file() -> None:
    # Given every line of a generated firm of 120 workers over a quarter (about 23,000 lines) with the month
    # before as history, as the period's lines file holds them (JSON form), once plain and once with the
    # grouped fields coded
    sample = generate_sample_firm(seed=7, n_workers=120, history_days=31)
    history = sample.history()
    plain = {
        "time": json.loads(json.dumps(lists_of(sample.time_rows, TIME_COLUMN_FIELDS), default=str)),
        "expenses": json.loads(json.dumps(lists_of(sample.expense_rows, EXPENSE_COLUMN_FIELDS), default=str)),
    }
    coded = json.loads(json.dumps({kind: coded_lists(lists) for kind, lists in plain.items()}))
    assert type(coded["time"]["worker_id"]) is dict and type(coded["expenses"]["merchant"]) is dict
    # When each is scored
    by_rows = score_rows(
        sample.time_rows, sample.expense_rows, history, sample.policy, worker_roles=sample.worker_roles()
    )
    from_plain = score_field_lists(
        plain["time"], plain["expenses"], history, sample.policy, workers=sample.workers
    )
    from_codes = score_field_lists(
        coded["time"], coded["expenses"], history, sample.policy, workers=sample.workers
    )
    flagged_only = flagged_in_field_lists(
        coded["time"], coded["expenses"], history, sample.policy, workers=sample.workers
    )
    # Then every line (flagged or not) has the same score, reasons, review and features on every path
    assert len(by_rows) == len(sample.time_rows) + len(sample.expense_rows) > 20_000
    assert from_codes == from_plain == by_rows == flagged_only.all_lines()
    assert flagged_only.flagged() == [line for line in by_rows if line.reasons]
    assert sum(1 for line in by_rows if line.reasons) > 500


def test_codes_in_another_order_score_alike_and_codes_that_do_not_fit_are_refused() -> None:
    # Given a firm's expense lines coded, then with their values listed in reverse (codes to match)
    sample = firm()
    lists = lists_of(sample.expense_rows[:3000], EXPENSE_COLUMN_FIELDS)
    coded = coded_lists(lists)
    reordered = dict(coded)
    for name in ("worker_id", "expense_type", "expense_date"):
        values, codes = coded[name]["values"], coded[name]["codes"]
        last = len(values) - 1
        reordered[name] = {"values": values[::-1], "codes": [last - code for code in codes]}
    # When each is scored / Then alike, and as the plain lists
    expected = score_field_lists(None, lists, sample.history(), sample.policy, workers=sample.workers)
    assert (
        score_field_lists(None, reordered, sample.history(), sample.policy, workers=sample.workers)
        == expected
    )
    assert score_field_lists(None, coded, sample.history(), sample.policy, workers=sample.workers) == expected
    # And a code past its values, or a coded column without its values, is refused with what is wrong
    broken = dict(coded) | {"city": {"values": ["Austin"], "codes": [0, 1] + [0] * (len(lists["id"]) - 2)}}
    with pytest.raises(ValueError, match="coded column city: a code outside its 1 values"):
        expense_columns_of(broken)
    halves = dict(coded) | {"city": coded["city"] | {"codes": [0.5] * len(lists["id"])}}
    with pytest.raises(ValueError, match="coded column city: codes must be whole numbers"):
        expense_columns_of(halves)
    with pytest.raises(ValueError, match="coded column worker_id needs values and codes"):
        expense_columns_of(dict(coded) | {"worker_id": {"codes": coded["worker_id"]["codes"]}})


def test_an_unreadable_line_in_a_coded_file_is_reported_as_in_a_plain_one() -> None:
    # Given time lines coded, one on a date that is no date
    lists = {
        "id": ["T1", "T2", "T3"],
        "worker_id": ["W1", "W2", "W1"],
        "project_id": ["P1", "P1", "P1"],
        "activity_type": ["work"] * 3,
        "work_date": ["2026-10-05", "2026-13-45", "2026-10-06"],
        "hours": [8.0, 8.0, 7.5],
    }
    # When scored from the coded form / Then as from the plain form: that line at 1.0, with why
    scored = score_field_lists(coded_lists(lists))
    assert scored == score_field_lists(lists)
    assert scored[1].score == 1.0 and scored[1].reasons[0].text.startswith("INPUT time entry T2 cannot")
    # And a column with a value that cannot be hashed is written as it came, not coded
    odd = coded_lists(lists | {"worker_id": ["W1", ["W2"], "W1"]})
    assert odd["worker_id"] == ["W1", ["W2"], "W1"] and type(odd["work_date"]) is dict


def test_lists_of_different_lengths_or_unknown_fields_are_refused() -> None:
    # Given column-wise time lines, one list short, and expense lines with a misspelt field
    times: dict[str, list[Any]] = {
        "id": ["T1", "T2"],
        "worker_id": ["W1", "W1"],
        "project_id": ["P1", "P1"],
        "activity_type": ["work", "work"],
        "work_date": [date(2026, 10, 5), date(2026, 10, 6)],
        "hours": [8.0],
    }
    expenses: dict[str, list[Any]] = {
        "id": ["E1"],
        "worker_id": ["W1"],
        "expense_date": ["2026-10-05"],
        "expense_type": ["meals"],
        "amount": [12.5],
        "currency": ["USD"],
        "reciept_sha256": ["abc"],
    }
    # When they are read / Then each is refused with what is wrong
    with pytest.raises(ValueError, match="different lengths"):
        time_columns_of(times)
    with pytest.raises(ValueError, match="unknown expense columns: reciept_sha256"):
        expense_columns_of(expenses)
    with pytest.raises(ValueError, match="without hours"):
        time_columns_of({name: values for name, values in times.items() if name != "hours"})


def test_lines_in_their_json_form_score_as_the_models_and_as_recorded() -> None:
    # Given the golden models scenario's lines as the period's lines file holds them: each model's JSON
    # form, a list per field, the receipt facts on the expense itself (no facts passed beside it)
    sample = firm()
    time_entries = [time_entry_of(row) for row in sample.time_rows[:1800]]
    expenses = [expense_entry_of(row) for row in sample.expense_rows[:1800]]
    history = AnomalyHistory.from_rows(
        sample.history_time_rows,
        sample.history_expense_rows,
        policy=sample.policy,
        worker_roles=sample.worker_roles(),
    )
    time_bodies = [entry.to_json_dict() for entry in time_entries]
    expense_bodies = [entry.to_json_dict() for entry in expenses]
    time_lists = json.loads(json.dumps(time_json_lists(time_bodies)))
    expense_lists = json.loads(json.dumps(expense_json_lists(expense_bodies)))
    # When they are scored without a model per line
    from_json = score_field_lists(time_lists, expense_lists, history, sample.policy, workers=sample.workers)
    # Then every line scores as the models do, and as the golden record of the models scenario says
    assert from_json == score_lines(time_entries, expenses, history, sample.policy, workers=sample.workers)
    actual, expected = flagged(from_json), golden()["models"]
    assert (actual["lines"], actual["order"]) == (expected["lines"], expected["order"])
    assert actual["flagged"] == expected["flagged"] and actual["reasons"] == expected["reasons"]
    # And the receipt facts count: the expense model carries them, so TE4 and TE9 fire from it alone
    fired = {reason.rule for line in from_json for reason in line.reasons}
    assert {"TE4", "TE9"} <= fired


def test_a_lines_file_keeps_numbers_as_numbers_and_impossible_values_for_the_scorer_to_report() -> None:
    # Given time lines in their JSON form: hours as decimal text, one negative, one that is no number
    bodies = [
        {
            "id": "T1",
            "worker_id": "W1",
            "project_id": "P1",
            "activity_type": "work",
            "work_date": "2026-10-05",
        }
        | {"hours": hours, "submitted_at": "2026-10-06T09:00:00Z"}
        for hours in ("7.50", "-3", "seven")
    ]
    bodies = [body | {"id": f"T{number}"} for number, body in enumerate(bodies, 1)]
    # When they are kept a list per field
    lists = time_json_lists(bodies)
    # Then hours are numbers where they are numbers, the rest kept as it came
    assert lists["hours"] == [7.5, -3.0, "seven"]
    # And scoring them reports the impossible lines, each with what is wrong, and scores the good one
    scored = {line.line_id: line for line in score_field_lists(json.loads(json.dumps(lists)))}
    assert scored["T1"].score == 0.0
    for line_id in ("T2", "T3"):
        assert scored[line_id].score == 1.0
        assert f"INPUT time entry {line_id} cannot be reviewed" in scored[line_id].reasons[0].text
