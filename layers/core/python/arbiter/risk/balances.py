"""Balances fetched through the gateway and cached with their age: the risk checks never act on balances
older than the limit, and a venue that cannot answer leaves the cache stale rather than guessed."""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable
from typing import Protocol

from arbiter.models import Balances
from arbiter.models.time import Clock

logger = logging.getLogger(__name__)


class BalanceSource(Protocol):
    venue: str

    def fetch_balances(self) -> Balances: ...


class StaleBalancesError(RuntimeError):
    def __init__(self, venue: str, age_ms: int | None, limit_ms: int) -> None:
        self.venue, self.age_ms, self.limit_ms = venue, age_ms, limit_ms
        known = "none fetched" if age_ms is None else f"{age_ms} ms old"
        super().__init__(f"{venue}: balances {known}, limit {limit_ms} ms")


class BalanceCache:
    def __init__(self, clock: Clock, max_age_ms: int, refresh_after_ms: int | None = None) -> None:
        self.clock, self.max_age_ms = clock, max_age_ms
        self.refresh_after_ms = refresh_after_ms if refresh_after_ms is not None else max_age_ms // 2
        self._cached: dict[str, Balances] = {}
        self._lock = threading.Lock()

    def get(self, source: BalanceSource) -> Balances:
        """Fresh enough balances for ``source``'s venue, fetching when the cached ones are getting old."""
        now = self.clock.now_ms()
        cached = self._refreshed(source, now)
        if cached is None or cached.age_ms(now) > self.max_age_ms:
            raise StaleBalancesError(source.venue, None if cached is None else cached.age_ms(now), self.max_age_ms)
        return cached

    def prefetch(self, sources: Iterable[BalanceSource]) -> None:
        """Refresh the balances that are getting old, ahead of the decisions that need them (the scanner does
        this off its event loop, so a venue's slow answer never holds up the books)."""
        now = self.clock.now_ms()
        for source in sources:
            self._refreshed(source, now)

    def _refreshed(self, source: BalanceSource, now: int) -> Balances | None:
        with self._lock:
            cached = self._cached.get(source.venue)
        if cached is None or cached.age_ms(now) > self.refresh_after_ms:
            try:
                cached = source.fetch_balances()
            except Exception as error:  # noqa: BLE001 - the cached value, if still fresh, is used; else refused
                logger.warning("%s: balances not refreshed: %s", source.venue, type(error).__name__)
            else:
                with self._lock:
                    self._cached[source.venue] = cached
        return cached
