"""A recording as a local market (``arbiter replay``): the scanner receives the recorded books in their order,
each ``added_latency_ms`` after it arrived in the recording, on a simulated clock that follows the recorded
arrivals; the paper venues fill against the newest book recorded by then (the market has moved on during the
added latency)."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from pathlib import Path

from arbiter.marketdata.feed import BookUpdate, VenueCounters
from arbiter.marketdata.recording import RecordingHeader, read_recording
from arbiter.markets import market_from_ccxt
from arbiter.models import Market, OrderBook
from arbiter.models.heartbeat import FeedHealth
from arbiter.models.time import ManualClock

USD_PEGGED = {"USD": 1.0, "USDT": 1.0, "USDC": 1.0}
IDLE_STEP_MS = 1_000
"""How far the clock moves on each ask once the recording is played out (the scanner's run then ends)."""


def reference_prices(books: Mapping[tuple[str, str], OrderBook]) -> dict[str, float]:
    """USD prices from the books' mid prices: USD-pegged quotes first, then across until nothing is left."""
    prices = dict(USD_PEGGED)
    changed = True
    while changed:
        changed = False
        for (_, symbol), book in sorted(books.items()):
            base, quote = symbol.split("/")
            if not book.bids or not book.asks:
                continue
            mid = float((book.bids[0].price + book.asks[0].price) / 2)
            if quote in prices and base not in prices:
                prices[base], changed = mid * prices[quote], True
            elif base in prices and quote not in prices and mid > 0:
                prices[quote], changed = prices[base] / mid, True
    return prices


def _order_book(update: BookUpdate, at_ms: int) -> OrderBook:
    return OrderBook.from_ccxt(
        update.venue,
        {
            "symbol": update.symbol,
            "bids": [[repr(float(p)), repr(float(a))] for p, a, *_ in update.bids],
            "asks": [[repr(float(p)), repr(float(a))] for p, a, *_ in update.asks],
            "timestamp": at_ms,
        },
    )


class ReplayFeed:
    """The book source a replay's scanner follows (one for every shard, from where the last run left it)."""

    def __init__(self, market: ReplayMarket, clock: ManualClock) -> None:
        self.market, self.clock = market, clock
        self.followed: set[tuple[str, str]] = {(v, s) for v, symbols in market.listed.items() for s in symbols}
        self.counters = {venue: VenueCounters(venue, books=len(s)) for venue, s in market.listed.items()}

    async def start(self) -> None:
        return None

    async def next_batch(self, timeout_s: float) -> list[BookUpdate]:
        batch = self.market.next_batch(self.clock, self.counters)
        return [u for u in batch if (u.venue, u.symbol) in self.followed]

    def health(self, now_ms: int) -> dict[str, FeedHealth]:
        return {venue: counters.report(now_ms) for venue, counters in self.counters.items()}

    async def close(self) -> None:
        return None


class ReplayMarket:
    def __init__(self, path: Path, added_latency_ms: int = 0) -> None:
        if added_latency_ms < 0:
            raise ValueError(f"added_latency_ms: must be at least 0, got {added_latency_ms}")
        header, books = read_recording(path)
        self.header: RecordingHeader = header
        self.added_latency_ms = added_latency_ms
        self.markets: dict[tuple[str, str], Market] = {
            (venue, symbol): market_from_ccxt(venue, raw, header.precision_modes[venue])
            for venue, markets in header.venues.items()
            for symbol, raw in markets.items()
        }
        self.listed = {venue: tuple(sorted(markets)) for venue, markets in header.venues.items()}
        self._books: Iterator[BookUpdate] = books
        self._ahead: BookUpdate | None = next(self._books, None)
        self.start_ms = (self._ahead.arrived_ms if self._ahead else header.started_at_ms) + added_latency_ms
        self.current: dict[tuple[str, str], OrderBook] = {}
        self._pending: list[BookUpdate] = []
        """Books the venues already trade on that the scanner has not received yet (the added latency)."""
        self._read_until(self.start_ms)
        self.prices_usd = reference_prices(self.current)
        self._before_step: Callable[[], None] | None = None
        self.delivered = 0
        self._feed: ReplayFeed | None = None

    def _read_until(self, at_ms: int) -> None:
        """Every recorded book that arrived by ``at_ms`` becomes the venues' current book."""
        while self._ahead is not None and self._ahead.arrived_ms <= at_ms:
            update = self._ahead
            self.current[(update.venue, update.symbol)] = _order_book(update, update.venue_ms or update.arrived_ms)
            self._pending.append(update)
            self._ahead = next(self._books, None)

    def next_batch(self, clock: ManualClock, counters: Mapping[str, VenueCounters]) -> list[BookUpdate]:
        if self._before_step is not None:
            self._before_step()
        if not self._pending:
            if self._ahead is None:
                clock.ms += IDLE_STEP_MS
                return []
            self._read_until(self._ahead.arrived_ms)
        arrival = self._pending[0].arrived_ms
        batch = [u for u in self._pending if u.arrived_ms == arrival]
        self._pending = self._pending[len(batch) :]
        clock.ms = max(clock.ms, arrival + self.added_latency_ms)
        self._read_until(clock.ms)
        delivered = [
            BookUpdate(u.venue, u.symbol, u.bids, u.asks, u.venue_ms, arrival + self.added_latency_ms) for u in batch
        ]
        for update in delivered:
            counters[update.venue].last_arrival_ms = update.arrived_ms
        self.delivered += len(delivered)
        return delivered

    def book(self, venue: str, symbol: str) -> OrderBook:
        found = self.current.get((venue, symbol))
        if found is None:
            raise LookupError(f"{venue} {symbol}: no book recorded yet")
        return found

    def source(self, clock: ManualClock, followed: Mapping[str, tuple[str, ...]]) -> ReplayFeed:
        if self._feed is None:
            self._feed = ReplayFeed(self, clock)
        self._feed.followed = {(venue, symbol) for venue, symbols in followed.items() for symbol in symbols}
        return self._feed

    def set_before_step(self, hook: Callable[[], None] | None) -> None:
        self._before_step = hook

    @property
    def exhausted(self) -> bool:
        return self._ahead is None and not self._pending
