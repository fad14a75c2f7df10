"""Shared inputs of the process-intelligence tests: a hash-chained trail writer and a clock in hours."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest

from backoffice.intelligence.samples import TrailWriter

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


@pytest.fixture
def trail() -> TrailWriter:
    return TrailWriter()


@pytest.fixture
def at() -> Callable[[float], datetime]:
    """Hours after Monday 2 March 2026, 09:00 UTC."""
    return lambda hours: T0 + timedelta(hours=hours)
