"""The simulated market as a book source: each batch is one step of the seeded market model, on the simulated
clock (a ``ManualClock`` the feed advances by the model's tick), every listed book stamped with its simulated
venue time and arrival. Local mode and the tests follow simulated venues through the same interface as live
ones."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

from arbiter.marketdata.feed import BookUpdate, VenueCounters
from arbiter.models.heartbeat import FeedHealth
from arbiter.models.time import ManualClock
from arbiter.simulation import BookFrame, MarketModel


class SimulatedBookFeed:
    def __init__(
        self, model: MarketModel, clock: ManualClock, symbols: dict[str, tuple[str, ...]] | None = None
    ) -> None:
        """``symbols``: the books followed per venue (default: every listed book)."""
        self.model, self.clock = model, clock
        universe = model.universe
        listed = {venue: tuple(s for s in universe.symbols if universe.listed(venue, s)) for venue in universe.venues}
        self.symbols = {
            venue: tuple(s for s in (symbols or listed).get(venue, ()) if s in listed[venue])
            for venue in universe.venues
        }
        self.counters = {venue: VenueCounters(venue, books=len(s)) for venue, s in self.symbols.items()}
        self.frame: BookFrame | None = None
        self.before_step: Callable[[], None] | None = None
        """Called before every step (the demo lets the executions the last tick started end, and runs what is
        scheduled meanwhile, such as the reconciler)."""
        self._position = {symbol: s for s, symbol in enumerate(universe.symbols)}

    async def start(self) -> None:
        return None

    async def next_batch(self, timeout_s: float) -> list[BookUpdate]:
        """The next step of the market: simulated time moves one tick (``timeout_s`` is not waited)."""
        return self.step()

    def step(self) -> list[BookUpdate]:
        if self.before_step is not None:
            self.before_step()
        frame = self.frame = self.model.step()
        while frame.clock_ms < self.clock.ms:  # the market moved on while sagas waited on the simulated clock
            frame = self.frame = self.model.step()
        self.clock.ms = max(self.clock.ms, frame.clock_ms)
        universe, updates = frame.universe, []
        bid_prices, ask_prices, bid_sizes, ask_sizes = (
            frame.bid_prices,
            frame.ask_prices,
            frame.bid_sizes,
            frame.ask_sizes,
        )
        for v, venue in enumerate(universe.venues):
            for symbol in self.symbols[venue]:
                s = self._position[symbol]
                updates.append(
                    BookUpdate(
                        venue=venue,
                        symbol=symbol,
                        bids=list(zip(bid_prices[v, s].tolist(), bid_sizes[v, s].tolist(), strict=True)),
                        asks=list(zip(ask_prices[v, s].tolist(), ask_sizes[v, s].tolist(), strict=True)),
                        venue_ms=int(frame.timestamps[v, s]),
                        arrived_ms=self.clock.ms,
                        exact=partial(frame.order_book, venue, symbol),
                    )
                )
            self.counters[venue].last_arrival_ms = self.clock.ms
        return updates

    def health(self, now_ms: int) -> dict[str, FeedHealth]:
        return {venue: counters.report(now_ms) for venue, counters in self.counters.items()}

    async def close(self) -> None:
        return None
