"""The circuit breaker that keeps a connector from hammering a system that is down.

After ``failures`` consecutive failures the breaker opens and calls fail at once for ``reset_after_seconds``; then
one trial call decides whether it closes again. ``http.governor_for`` keeps one per system and process.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Literal


class CircuitOpen(Exception):
    def __init__(self, retry_in_seconds: float) -> None:
        super().__init__(f"circuit open; next trial in {retry_in_seconds:.0f} s")
        self.retry_in_seconds = retry_in_seconds


class CircuitBreaker:
    """Closed -> open after N consecutive failures -> after T seconds one trial call (half open) -> closed or open."""

    def __init__(
        self,
        failures: int = 5,
        reset_after_seconds: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.threshold = failures
        self.reset_after = reset_after_seconds
        self.clock = clock
        self._lock = threading.Lock()
        self._failures = 0
        self._opened_at: float | None = None
        self._trial_in_flight = False

    @property
    def state(self) -> Literal["closed", "open", "half_open"]:
        with self._lock:
            if self._opened_at is None:
                return "closed"
            if self.clock() - self._opened_at >= self.reset_after:
                return "half_open"
            return "open"

    def before_call(self) -> None:
        """Raises ``CircuitOpen`` when the call must not go out."""
        with self._lock:
            if self._opened_at is None:
                return
            waited = self.clock() - self._opened_at
            if waited < self.reset_after or self._trial_in_flight:
                raise CircuitOpen(max(self.reset_after - waited, 0.0))
            self._trial_in_flight = True

    def call_not_sent(self) -> None:
        """A call allowed by ``before_call`` did not go out: a trial it reserved is free again."""
        with self._lock:
            self._trial_in_flight = False

    def succeeded(self) -> None:
        with self._lock:
            self._failures, self._opened_at, self._trial_in_flight = 0, None, False

    def failed(self) -> None:
        with self._lock:
            self._failures += 1
            if self._trial_in_flight or self._failures >= self.threshold:
                self._opened_at = self.clock()
            self._trial_in_flight = False
