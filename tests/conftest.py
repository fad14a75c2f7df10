"""Shared fixtures. Integration tests run the real ASL on moto's engine with the real handlers in-process."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest


@pytest.fixture
def runtime() -> Iterator[object]:
    from backoffice.local.runtime import LocalRuntime

    # The engine logs each Fail state as an exception; the tests assert on outcomes instead.
    logging.getLogger("moto").setLevel(logging.CRITICAL)
    with LocalRuntime(retry_time_scale=0.001) as rt:
        yield rt
