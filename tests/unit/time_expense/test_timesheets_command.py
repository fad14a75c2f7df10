"""``backoffice timesheets remind``: the week and time it takes, and what it asks the deployed function and prints."""

from __future__ import annotations

import argparse

import pytest

from backoffice.cli.main import build_parser
from backoffice.cli.timesheets import cmd_remind, moment, week
from tests.deployed_job import DeployedJob

RESULT = {
    "as_of": "2026-11-12T14:15:00+00:00",
    "weeks": [
        {
            "week_start": "2026-11-02",
            "due_at": "2026-11-09T09:00:00-05:00",
            "escalate_at": "2026-11-12T09:00:00-05:00",
            "expected": 39,
            "missing": ["W-015", "W-022"],
            "short": ["W-018"],
            "reminded": [],
            "escalated": ["W-015", "W-018"],
            "summaries": [],
        }
    ],
}


def test_the_week_is_a_date_and_the_time_has_an_offset() -> None:
    assert week("2026-11-02") == "2026-11-02"
    assert moment("2026-11-12T09:15Z") == "2026-11-12T09:15:00+00:00"
    with pytest.raises(argparse.ArgumentTypeError, match="not a date"):
        week("next week")
    with pytest.raises(argparse.ArgumentTypeError, match="no offset"):
        moment("2026-11-12T09:15")


def test_remind_asks_the_function_for_the_week_as_at_the_time_as_the_operator(
    capsys: pytest.CaptureFixture[str],
) -> None:
    # Given an operator replaying the week of 2 November as at the escalation run
    args = build_parser().parse_args(
        [
            "timesheets",
            "remind",
            "--week",
            "2026-11-02",
            "--as-of",
            "2026-11-12T09:15-05:00",
            "--as",
            "ops@firm.example",
        ]
    )
    runtime = DeployedJob(RESULT, "us-east-1")
    # When it runs against the deployed stack
    assert cmd_remind(args, runtime) == 0
    # Then the function got the week, the time and who asked, and the operator reads what was sent
    assert runtime.sent == {
        "function": "arn:aws:lambda:us-east-1:123456789012:function:remind_missing_timesheets",
        "week": "2026-11-02",
        "as_of": "2026-11-12T09:15:00-05:00",
        "requested_by": "ops@firm.example",
    }
    printed = capsys.readouterr().out
    assert (
        "week of 2026-11-02 (due 2026-11-09T09:00:00-05:00): 39 people expected, 2 missing, 1 short"
        in printed
    )
    assert "escalated: W-015, W-018" in printed and "reminded:  nobody new" in printed
