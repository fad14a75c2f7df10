"""``backoffice reconcile``'s period argument: a month, or a range of days, read as finance names periods."""

from __future__ import annotations

import argparse
from datetime import date

import pytest

from backoffice.cli.close import period


def test_a_month_is_its_first_to_its_last_day() -> None:
    assert period("2026-10") == (date(2026, 10, 1), date(2026, 10, 31))
    assert period("2028-02") == (date(2028, 2, 1), date(2028, 2, 29))


def test_a_range_of_days_is_taken_as_given() -> None:
    assert period("2026-10-01..2026-10-15") == (date(2026, 10, 1), date(2026, 10, 15))


@pytest.mark.parametrize("text", ["October", "2026-13", "2026-10-15..2026-10-01", "2026-10-01..soon"])
def test_anything_else_is_refused_with_the_forms_it_takes(text: str) -> None:
    with pytest.raises(argparse.ArgumentTypeError, match="2026-10"):
        period(text)
