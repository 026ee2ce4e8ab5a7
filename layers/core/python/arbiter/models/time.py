"""Time as the domain sees it: milliseconds since the epoch, read from an injected clock (never the wall clock
directly, so every timing in a test is the test's own), and the UTC day the daily limits are kept by."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Protocol


class Clock(Protocol):
    def now_ms(self) -> int: ...


def utc_day(at_ms: int) -> str:
    return datetime.fromtimestamp(at_ms / 1000, tz=UTC).strftime("%Y-%m-%d")


Pause = Callable[[int], None]
"""Waits this many milliseconds: real time on AWS, simulated time locally (``ManualClock.advance``)."""


class ManualClock:
    """A clock that moves only when told: tests, and the local platform's simulated time."""

    def __init__(self, ms: int = 0) -> None:
        self.ms = ms

    def now_ms(self) -> int:
        return self.ms

    def advance(self, ms: int) -> None:
        self.ms += ms
