"""``backoffice delivery measure``: the month it takes, and what it asks the deployed function and prints."""

from __future__ import annotations

import argparse

import pytest

from backoffice.cli.delivery import cmd_measure, month
from backoffice.cli.main import build_parser
from tests.deployed_job import DeployedJob

RESULT = {
    "month": "2026-10",
    "case_id": "delivery-2026-10",
    "workers_measured": 150,
    "projects_with_wip": 41,
    "records_appended": 3,
    "currencies_without_rate": ["GBP"],
    "unknown_worker_entry_count": 0,
}


def test_the_month_is_yyyy_mm() -> None:
    assert month("2026-10") == "2026-10"
    with pytest.raises(argparse.ArgumentTypeError, match="YYYY-MM"):
        month("October")


def test_measure_asks_the_function_for_the_month_as_the_operator(capsys: pytest.CaptureFixture[str]) -> None:
    # Given the command line of an operator measuring October again
    args = build_parser().parse_args(
        ["delivery", "measure", "--month", "2026-10", "--as", "ops@firm.example"]
    )
    runtime = DeployedJob(RESULT)
    # When it runs against the deployed stack
    assert cmd_measure(args, runtime) == 0
    # Then the function got the month and who asked, and the operator reads what it did
    assert runtime.sent == {
        "function": "arn:aws:lambda:eu-west-1:123456789012:function:measure_delivery",
        "month": "2026-10",
        "requested_by": "ops@firm.example",
    }
    printed = capsys.readouterr().out
    assert (
        "150 people, 41 projects with work in progress; 3 record(s) appended to delivery-2026-10" in printed
    )
    assert "no rate to the reporting currency for GBP" in printed
