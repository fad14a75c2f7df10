"""How a caller of the local runtime waits for something it cannot be told about: it asks again after a pause that
starts short and lengthens.

The runtime's engine, handlers and whoever waits on them share one interpreter (and, in the tests, two cores between
three workers). A fixed 20-50 ms poll spent most of a core on asking: one look at every workflow's running
executions is about twenty AWS calls. Short first pauses keep a quick answer quick; the longer later ones leave the
CPU to the work being waited for.
"""

from __future__ import annotations

import time

FIRST_PAUSE = 0.03  # seconds
LONGEST_PAUSE = 0.25
GROWTH = 1.5


class Pauses:
    """``pause()`` sleeps, each time a little longer (``first`` growing by half up to ``longest`` seconds)."""

    def __init__(self, first: float = FIRST_PAUSE, longest: float = LONGEST_PAUSE) -> None:
        self.next, self.longest = first, longest

    def __call__(self) -> None:
        time.sleep(self.next)
        self.next = min(self.next * GROWTH, self.longest)


__all__ = ["Pauses"]
