"""A circuit breaker per venue, its state shared by every invocation through a store with conditional
writes: closed (calls flow, failures counted), open (calls refused until ``open_ms`` has passed), half-open
(one probe call; success closes, failure opens again). Exactly one invocation wins each transition.

The probe holds a lease of ``probe_lease_ms``: an invocation that dies mid-probe (timeout, crash) reports
nothing, so once its lease lapses another invocation takes the probe over instead of the breaker staying
half-open for ever. The lease outlasts a call's whole retry budget (the settings check it), so a live probe
is never overtaken."""

from __future__ import annotations

from pydantic import Field

from arbiter.models.common import ValueModel
from arbiter.settings import GatewaySettings
from arbiter.storage.breakers import BreakerPosition, BreakerState, BreakerStore


class BreakerSettings(ValueModel):
    failure_threshold: int = Field(default=5, ge=1)
    open_ms: int = Field(default=30_000, ge=1)
    probe_lease_ms: int = Field(default=20_000, ge=1)

    @classmethod
    def from_settings(cls, settings: GatewaySettings) -> BreakerSettings:
        return cls(
            failure_threshold=settings.breaker_failure_threshold,
            open_ms=settings.breaker_open_ms,
            probe_lease_ms=settings.breaker_probe_lease_ms,
        )


class CircuitBreaker:
    def __init__(self, store: BreakerStore, settings: BreakerSettings) -> None:
        self.store, self.settings = store, settings

    def _move(self, current: BreakerState, **changes: object) -> bool:
        return self.store.replace(current.model_copy(update={**changes, "version": current.version + 1}))

    def allow(self, venue: str, now_ms: int) -> bool:
        """May this invocation call the venue now? Only the invocation that half-opens the breaker probes, or
        takes over a probe whose lease lapsed; the conditional write lets exactly one of them win."""
        state = self.store.get(venue)
        if state.position is BreakerPosition.CLOSED:
            return True
        waited = now_ms - state.changed_at_ms
        if state.position is BreakerPosition.OPEN and waited >= self.settings.open_ms:
            return self._move(state, position=BreakerPosition.HALF_OPEN, changed_at_ms=now_ms)
        if state.position is BreakerPosition.HALF_OPEN and waited >= self.settings.probe_lease_ms:
            return self._move(state, changed_at_ms=now_ms)
        return False

    def record_success(self, venue: str, now_ms: int) -> None:
        state = self.store.get(venue)
        if state.position is not BreakerPosition.CLOSED or state.failures:
            self._move(state, position=BreakerPosition.CLOSED, failures=0, changed_at_ms=now_ms)

    def record_failure(self, venue: str, now_ms: int) -> None:
        for _ in range(10):  # lost races are re-read: every failure counts
            state = self.store.get(venue)
            failures = state.failures + 1
            opens = state.position is BreakerPosition.HALF_OPEN or failures >= self.settings.failure_threshold
            position = BreakerPosition.OPEN if opens else state.position
            changed = now_ms if opens else state.changed_at_ms
            if self._move(state, position=position, failures=failures, changed_at_ms=changed):
                return

    def is_open(self, venue: str) -> bool:
        return self.store.get(venue).position is not BreakerPosition.CLOSED

    def health(self, venues: list[str]) -> dict[str, BreakerState]:
        return {venue: self.store.get(venue) for venue in venues}
