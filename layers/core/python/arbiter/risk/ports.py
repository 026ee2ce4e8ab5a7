"""What the risk controls need from the outside world, as small protocols; the stores in ``arbiter.storage``
and the handlers' metrics satisfy them structurally (neither imports this module)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Protocol

from arbiter.models import Execution
from arbiter.models.controls import Lock, PauseState
from arbiter.models.risk import KillSwitchState


class KillSwitch(Protocol):
    """The one kill switch: engaged automatically (incident, daily loss, breaker) or by hand, every change a new
    version; a change by hand names the version it saw, so it cannot silently undo one made meanwhile."""

    def state(self) -> KillSwitchState: ...

    def is_engaged(self) -> bool: ...

    def engage(self, reason: str, at_ms: int, expected_version: int | None = None) -> None: ...

    def disengage(self, reason: str, at_ms: int, *, expected_version: int) -> None: ...


class TradingControls(Protocol):
    """The operators' pause and locks: no incident, no kill switch, just no new execution (or none on a venue,
    a symbol or a route until a time)."""

    def pause_state(self) -> PauseState: ...

    def locks(self) -> Sequence[Lock]: ...


class ActiveExecutions(Protocol):
    def active_executions(self) -> Sequence[Execution]: ...


class DailyPnl(Protocol):
    def realised(self, day: str) -> Mapping[str, Decimal]: ...


class BreakerView(Protocol):
    def is_open(self, venue: str) -> bool: ...


class RefusalMetrics(Protocol):
    """The metrics port: one count per refusal reason code."""

    def refused(self, code: str) -> None: ...
