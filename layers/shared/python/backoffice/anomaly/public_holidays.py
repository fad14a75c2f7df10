"""US federal public holidays, computed: no calendar package to ship in the Lambda layer.

The eleven holidays of 5 U.S.C. 6103(a), with the observance rule federal offices follow (Executive Order
11582): a holiday on a Saturday is observed the Friday before, one on a Sunday the Monday after. Both the
actual and the observed date count as a holiday: time recorded on either is time a reviewer should see.
"""

from __future__ import annotations

from datetime import date, timedelta
from functools import lru_cache

_MONDAY, _THURSDAY = 0, 3


def nth_weekday(year: int, month: int, weekday: int, n: int) -> date:
    """The n-th ``weekday`` (0 = Monday) of the month; n = -1 for the last one."""
    if n > 0:
        first = date(year, month, 1)
        return first + timedelta(days=(weekday - first.weekday()) % 7 + 7 * (n - 1))
    next_month = date(year + month // 12, month % 12 + 1, 1)
    last = next_month - timedelta(days=1)
    return last - timedelta(days=(last.weekday() - weekday) % 7)


def _observed(day: date) -> date:
    if day.weekday() == 5:
        return day - timedelta(days=1)
    if day.weekday() == 6:
        return day + timedelta(days=1)
    return day


@lru_cache(maxsize=64)
def us_federal_holidays(year: int) -> dict[date, str]:
    """Every date in ``year`` that is a US federal holiday or the observed day of one, with its name.

    New Year's Day of the next year observed on Friday 31 December belongs to this year's list.
    """
    fixed = {
        date(year, 1, 1): "New Year's Day",
        date(year, 7, 4): "Independence Day",
        date(year, 11, 11): "Veterans Day",
        date(year, 12, 25): "Christmas Day",
    }
    if year >= 2021:
        fixed[date(year, 6, 19)] = "Juneteenth National Independence Day"
    holidays: dict[date, str] = {}
    for day, name in fixed.items():
        holidays[day] = name
        observed = _observed(day)
        if observed != day and observed.year == year:
            holidays[observed] = f"{name} (observed)"
    if _observed(date(year + 1, 1, 1)).year == year:
        holidays[date(year, 12, 31)] = "New Year's Day (observed)"
    holidays[nth_weekday(year, 1, _MONDAY, 3)] = "Birthday of Martin Luther King, Jr."
    holidays[nth_weekday(year, 2, _MONDAY, 3)] = "Washington's Birthday"
    holidays[nth_weekday(year, 5, _MONDAY, -1)] = "Memorial Day"
    holidays[nth_weekday(year, 9, _MONDAY, 1)] = "Labor Day"
    holidays[nth_weekday(year, 10, _MONDAY, 2)] = "Columbus Day"
    holidays[nth_weekday(year, 11, _THURSDAY, 4)] = "Thanksgiving Day"
    return holidays


def public_holiday_name(
    day: date, calendar: str = "us_federal", extra: dict[date, str] | None = None
) -> str | None:
    """The holiday's name when ``day`` is one in the calendar (or the firm's ``extra`` days), else None."""
    if extra and day in extra:
        return extra[day]
    if calendar == "us_federal":
        return us_federal_holidays(day.year).get(day)
    return None
