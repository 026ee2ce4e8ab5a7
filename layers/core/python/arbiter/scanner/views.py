"""Views of shared state that a scanner reads at most twice per interval: the kill switch, the risk limits, the
running executions and today's P&L are read from DynamoDB ahead of the decisions, every half second, however
many opportunities a second brings; a decision never acts on a value older than the interval (an engaged kill
switch therefore stops new starts within a second)."""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping, Sequence
from decimal import Decimal
from typing import Generic, TypeVar

from arbiter.models import Execution
from arbiter.models.risk import KillSwitchState
from arbiter.models.time import Clock
from arbiter.risk.ports import ActiveExecutions, DailyPnl, KillSwitch

T = TypeVar("T")


class Refreshed(Generic[T]):
    """``read()`` again only when the last value is ``every_ms`` old (on the injected clock)."""

    def __init__(self, read: Callable[[], T], clock: Clock, every_ms: int) -> None:
        self._read, self.clock, self.every_ms = read, clock, every_ms
        self._value: T | None = None
        self._read_at: int | None = None
        self._lock = threading.Lock()
        self.reads = 0

    def get(self) -> T:
        now = self.clock.now_ms()
        with self._lock:
            if self._read_at is None or now - self._read_at >= self.every_ms or self._value is None:
                self._value, self._read_at = self._read(), now
                self.reads += 1
            return self._value

    def prefetch(self) -> None:
        """Read now if the value is half its interval old: done between batches, so that a decision, which reads
        only at the full interval, never waits for the read while the loop keeps prefetching (a value is then
        read at most twice an interval, and is never older than one)."""
        with self._lock:
            due = self._read_at is None or self.clock.now_ms() - self._read_at >= self.every_ms // 2
        if due:
            value = self._read()
            with self._lock:
                self._value, self._read_at = value, self.clock.now_ms()
                self.reads += 1

    def invalidate(self) -> None:
        with self._lock:
            self._read_at = None


class ThrottledKillSwitch:
    """The kill switch as the scanner sees it: state read at most every ``every_ms``; an engagement the risk
    engine makes goes straight to the store and is seen at once."""

    def __init__(self, switch: KillSwitch, clock: Clock, every_ms: int) -> None:
        self.switch = switch
        self._state = Refreshed(switch.state, clock, every_ms)

    def state(self) -> KillSwitchState:
        return self._state.get()

    def is_engaged(self) -> bool:
        return self._state.get().engaged

    def engage(self, reason: str, at_ms: int, expected_version: int | None = None) -> None:
        self.switch.engage(reason, at_ms, expected_version)
        self._state.invalidate()

    def disengage(self, reason: str, at_ms: int, *, expected_version: int) -> None:
        raise PermissionError("the scanner never disengages the kill switch")

    @property
    def reads(self) -> int:
        return self._state.reads

    def prefetch(self) -> None:
        self._state.prefetch()


class ThrottledExecutions:
    """Running executions (and today's P&L) read at most every ``every_ms``."""

    def __init__(self, executions: ActiveExecutions, pnl: DailyPnl, clock: Clock, every_ms: int) -> None:
        self._active = Refreshed(executions.active_executions, clock, every_ms)
        self._pnl = pnl
        self._realised: dict[str, Refreshed[Mapping[str, Decimal]]] = {}
        self.clock, self.every_ms = clock, every_ms

    def active_executions(self) -> Sequence[Execution]:
        return self._active.get()

    def prefetch(self, day: str) -> None:
        self._active.prefetch()
        self._view(day).prefetch()

    def _view(self, day: str) -> Refreshed[Mapping[str, Decimal]]:
        view = self._realised.get(day)
        if view is None:
            self._realised = {day: (view := Refreshed(lambda: self._pnl.realised(day), self.clock, self.every_ms))}
        return view

    def realised(self, day: str) -> Mapping[str, Decimal]:
        return self._view(day).get()
