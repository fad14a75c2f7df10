"""Reading the management numbers' inputs off audit records: money, dates, months, and the latest measurement.

The record contracts (R1-R6 of issue #20) carry amounts as decimal strings and dates as ISO strings; a record that
lacks a field or carries something unreadable gives ``None`` here, and the metric leaves that record out rather than
guess. Shared by ``receivables``, ``delivery`` and ``management``; no metric lives here.
"""

from __future__ import annotations

import calendar
from collections.abc import Callable, Hashable, Iterable
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any, TypeVar

from pydantic import ConfigDict

from backoffice.intelligence.events import Event
from backoffice.models.envelope import Model

ZERO = Decimal(0)
CENT = Decimal("0.01")
K = TypeVar("K", bound=Hashable)


class _Model(Model):
    model_config = ConfigDict(frozen=True)


def money(value: Any) -> Decimal | None:
    """A decimal amount from a record's decimal string (or number); None when absent or unreadable."""
    if value is None or value == "" or isinstance(value, bool):
        return None
    try:
        amount = Decimal(str(value))
    except (InvalidOperation, ValueError):
        return None
    return amount if amount.is_finite() else None


def number(value: Any) -> float | None:
    amount = money(value)
    return float(amount) if amount is not None else None


def as_date(value: Any) -> date | None:
    """A date from ``"2026-03-31"``, an ISO timestamp, or a date; None otherwise."""
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        try:
            return datetime.fromisoformat(value).date() if "T" in value else date.fromisoformat(value[:10])
        except ValueError:
            return None
    return None


def month_of(day: date) -> str:
    return f"{day.year:04d}-{day.month:02d}"


def month_start(day: date) -> date:
    return day.replace(day=1)


def month_end(day: date) -> date:
    return day.replace(day=calendar.monthrange(day.year, day.month)[1])


def months_between(first: date, last: date) -> list[date]:
    """The first day of every month from ``first``'s to ``last``'s, in order."""
    months, current = [], month_start(first)
    while current <= last:
        months.append(current)
        current = date.fromordinal(month_end(current).toordinal() + 1)
    return months


def text(value: Any) -> str | None:
    return str(value) if value not in (None, "") else None


def of_action(events: Iterable[Event], action: str) -> list[Event]:
    return [e for e in events if e.action == action]


def latest_per(events: Iterable[Event], key: Callable[[Event], K | None]) -> dict[K, Event]:
    """The newest event per key (by timestamp, then chain order): a re-measurement supersedes the one before."""
    latest: dict[K, Event] = {}
    for event in sorted(events, key=lambda e: (e.timestamp, e.case_id, e.seq)):
        found = key(event)
        if found is not None:
            latest[found] = event
    return latest


def share(part: Decimal | float, whole: Decimal | float) -> float | None:
    return float(part) / float(whole) if whole else None


def total(values: Iterable[Decimal]) -> Decimal:
    return sum(values, ZERO)
