"""What operators set by hand to steer the platform without an incident: a pause (no new execution starts) and
locks that keep a venue, a symbol or a route out of new executions until a time, as Freqtrade's pair locks."""

from __future__ import annotations

from enum import StrEnum

from pydantic import Field

from arbiter.models.common import TimestampMs, ValueModel
from arbiter.models.opportunity import Opportunity


def route_of(opportunity: Opportunity) -> str:
    """The route an opportunity trades: its legs' ``venue:symbol`` in order, ``>`` between them."""
    return ">".join(f"{leg.venue}:{leg.symbol}" for leg in opportunity.legs)


class PauseState(ValueModel):
    paused: bool = False
    reason: str = ""
    by: str = ""
    """Who paused or resumed (the caller's identity)."""
    version: int = Field(default=0, ge=0)
    """0: never changed."""
    at_ms: int = Field(default=0, ge=0)


class LockScope(StrEnum):
    VENUE = "venue"
    SYMBOL = "symbol"
    """A unified symbol on every venue (``BTC/USDT``)."""
    ROUTE = "route"
    """One route exactly, as ``route_of`` names it."""


class Lock(ValueModel):
    lock_id: str = Field(min_length=1, max_length=80, pattern=r"^[A-Za-z0-9_-]+$")
    scope: LockScope
    target: str = Field(min_length=1, max_length=400)
    until_ms: TimestampMs
    reason: str = Field(min_length=1, max_length=500)
    by: str = Field(min_length=1, max_length=256)
    created_at_ms: TimestampMs

    def active(self, now_ms: int) -> bool:
        return now_ms < self.until_ms

    def blocks(self, opportunity: Opportunity, now_ms: int) -> bool:
        if not self.active(now_ms):
            return False
        if self.scope is LockScope.VENUE:
            return any(leg.venue == self.target for leg in opportunity.legs)
        if self.scope is LockScope.SYMBOL:
            return any(leg.symbol == self.target for leg in opportunity.legs)
        return route_of(opportunity) == self.target
