"""What every book source delivers: updates of whole books (the top levels, best first), stamped with the
venue's time and the time they arrived, in batches that keep only the newest update per book; and the health
of each venue's feed for the heartbeat."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from arbiter.models import OrderBook
from arbiter.models.heartbeat import FeedHealth

Level = Sequence[float]
"""``[price, amount]`` as ccxt delivers it (a venue may append a count)."""


@dataclass(frozen=True, slots=True)
class BookUpdate:
    venue: str
    symbol: str
    bids: Sequence[Level]
    asks: Sequence[Level]
    venue_ms: int | None
    """The venue's own time of the book (Binance's event time ``E``); None when the venue sends none."""
    arrived_ms: int
    """When the book reached this process, on the injected clock."""
    exact: Callable[[], OrderBook] | None = None
    """The exact Decimal book, where the source has it (the simulator); else it is built from the levels."""

    @property
    def timestamp(self) -> int:
        """The age a book is judged by: the older of the venue's stamp and its arrival, so that neither a venue
        clock running ahead nor a book delayed in transit makes an old quote look young."""
        return self.arrived_ms if self.venue_ms is None else min(self.venue_ms, self.arrived_ms)


@dataclass
class VenueCounters:
    """A venue's health as it is counted; ``report`` turns it into ``FeedHealth``."""

    venue: str
    books: int = 0
    reconnects: int = 0
    resyncs: int = 0
    rest_snapshots: int = 0
    dropped: int = 0
    last_arrival_ms: int | None = None
    down: set[str] = field(default_factory=set)
    failed: set[str] = field(default_factory=set)

    def report(self, now_ms: int) -> FeedHealth:
        return FeedHealth(
            venue=self.venue,
            connected=not self.down and self.last_arrival_ms is not None,
            last_message_age_ms=None if self.last_arrival_ms is None else now_ms - self.last_arrival_ms,
            books=self.books,
            reconnects=self.reconnects,
            resyncs=self.resyncs,
            rest_snapshots=self.rest_snapshots,
            dropped=self.dropped,
            failed_symbols=tuple(sorted(self.failed)),
        )


class UpdateQueue:
    """Newest update per book, waiting to be read: a burst on one book costs one evaluation, and memory stays
    bounded by the number of books however far the reader falls behind."""

    def __init__(self) -> None:
        self._pending: dict[tuple[str, str], BookUpdate] = {}
        self._ready = asyncio.Event()
        self.published = 0
        """Updates received (including those a newer one replaced before they were read)."""

    def publish(self, update: BookUpdate) -> None:
        self._pending[(update.venue, update.symbol)] = update
        self.published += 1
        self._ready.set()

    async def next_batch(self, timeout_s: float) -> list[BookUpdate]:
        """Every pending update, waiting up to ``timeout_s`` for the first; [] when none came."""
        if not self._pending:
            try:
                await asyncio.wait_for(self._ready.wait(), timeout_s)
            except TimeoutError:
                return []
        batch = list(self._pending.values())
        self._pending = {}
        self._ready.clear()
        return batch


class BookSource(Protocol):
    """A venue set's books, followed concurrently."""

    async def start(self) -> None:
        """Subscribe to every book (returns once the subscriptions are under way)."""

    async def next_batch(self, timeout_s: float) -> list[BookUpdate]: ...

    def health(self, now_ms: int) -> Mapping[str, FeedHealth]: ...

    async def close(self) -> None: ...
