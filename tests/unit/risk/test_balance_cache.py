from __future__ import annotations

from decimal import Decimal

import pytest

from arbiter.models import Balance, Balances
from arbiter.models.time import ManualClock
from arbiter.risk.balances import BalanceCache, StaleBalancesError


class Venue:
    venue = "alpha"

    def __init__(self) -> None:
        self.calls, self.down, self.reported_at = 0, False, 1_000

    def fetch_balances(self) -> Balances:
        self.calls += 1
        if self.down:
            raise ConnectionError("down")
        return Balances(
            venue="alpha", balances={"USDT": Balance(asset="USDT", free=Decimal(5))}, timestamp=self.reported_at
        )


def test_balances_are_cached_refreshed_with_age_and_refused_when_too_old() -> None:
    clock = ManualClock(1_000)
    venue, cache = Venue(), BalanceCache(clock, max_age_ms=10_000, refresh_after_ms=5_000)
    assert cache.get(venue).free("USDT") == 5
    clock.ms = 4_000
    cache.get(venue)
    assert venue.calls == 1  # fresh enough: served from the cache
    clock.ms, venue.down = 8_000, True
    assert cache.get(venue).age_ms(clock.ms) == 7_000  # refresh failed, the cached value is still within the limit
    clock.ms = 12_000
    with pytest.raises(StaleBalancesError, match="alpha: balances 11000 ms old, limit 10000 ms"):
        cache.get(venue)
    venue.down, venue.reported_at = False, 12_000
    assert cache.get(venue).age_ms(clock.ms) == 0


def test_a_venue_that_never_answered_has_no_balances() -> None:
    venue = Venue()
    venue.down = True
    with pytest.raises(StaleBalancesError, match="none fetched"):
        BalanceCache(ManualClock(1_000), max_age_ms=10_000).get(venue)


def test_prefetch_refreshes_only_what_is_getting_old_so_a_decision_never_waits_for_the_venue() -> None:
    clock = ManualClock(1_000)
    venue, cache = Venue(), BalanceCache(clock, max_age_ms=10_000, refresh_after_ms=5_000)
    cache.prefetch([venue])
    assert venue.calls == 1
    clock.ms = 4_000
    cache.prefetch([venue])
    assert venue.calls == 1  # still fresh: not fetched again
    clock.ms, venue.reported_at = 7_000, 7_000
    cache.prefetch([venue])
    assert venue.calls == 2
    assert cache.get(venue).age_ms(clock.ms) == 0
    assert venue.calls == 2  # the decision read the prefetched balances
    venue.down, clock.ms = True, 18_000
    cache.prefetch([venue])  # a venue that cannot answer: nothing raised here, the decision refuses
    with pytest.raises(StaleBalancesError):
        cache.get(venue)
