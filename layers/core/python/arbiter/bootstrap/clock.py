"""The wall clock, read only here at the edge: the domain is given a ``Clock`` and never reaches for the time."""

from __future__ import annotations

import time


def real_pause(ms: int) -> None:
    time.sleep(ms / 1000)


class WallClock:
    def now_ms(self) -> int:
        return time.time_ns() // 1_000_000
