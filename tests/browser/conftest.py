"""The ``browser`` fixture: a headless Chromium per test (``chromium.py``)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.browser.chromium import chromium


@pytest.fixture
def browser() -> Iterator[Any]:
    with chromium() as driver:
        yield driver
