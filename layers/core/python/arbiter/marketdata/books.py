"""The detector's snapshot of live books: each update is checked and written into the arrays in floats (the
hot path), and the exact Decimal book is built only when an opportunity on it is emitted."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np

from arbiter.detection import OrderBookSet
from arbiter.detection.books import NO_ASK
from arbiter.detection.index import FloatArray
from arbiter.marketdata.feed import BookUpdate
from arbiter.models import OrderBook


class LiveBooks(OrderBookSet):
    """An ``OrderBookSet`` fed by ``BookUpdate``s. An update that is malformed (a level that is not a positive
    finite [price, amount], sides out of order, a crossed book), older than the book it would replace, or for
    a market outside the snapshot is dropped and counted in ``dropped`` by reason; the book keeps its last good
    state (and ages out if no good one follows)."""

    def __init__(self, venues: Sequence[str], symbols: Sequence[str], levels: int) -> None:
        super().__init__((), venues, symbols, levels)
        self._updates: dict[tuple[str, str], BookUpdate] = {}
        self.dropped: dict[str, int] = {}

    def apply(self, update: BookUpdate) -> bool:
        """Write one update; False when it was dropped."""
        v, s = self._venue_pos.get(update.venue), self._symbol_pos.get(update.symbol)
        if v is None or s is None:
            return self._drop("unknown_market")
        b, depth = v * len(self.symbols) + s, self.bid_prices.shape[1]
        timestamp = update.timestamp
        if timestamp < self.timestamps[b]:
            return self._drop("out_of_order")
        try:
            bids = _levels(update.bids, depth, descending=True)
            asks = _levels(update.asks, depth, descending=False)
        except (TypeError, ValueError, IndexError):
            return self._drop("malformed")
        if bids is None or asks is None or (len(bids) and len(asks) and bids[0, 0] >= asks[0, 0]):
            return self._drop("malformed")
        count = len(self.timestamps)
        self.bid_prices[b] = 0.0
        self.bid_amounts[b] = 0.0
        self.ask_prices[b] = NO_ASK
        self.ask_amounts[b] = 0.0
        self.bid_prices[b, : len(bids)] = bids[:, 0]
        self.bid_amounts[b, : len(bids)] = bids[:, 1]
        self.ask_prices[b, : len(asks)] = asks[:, 0]
        self.ask_amounts[b, : len(asks)] = asks[:, 1]
        self.timestamps[b] = timestamp
        for row in (b, b + count):
            self.top_prices[row], self.top_amounts[row] = self.prices[row, 0], self.amounts[row, 0]
        self._updates[(update.venue, update.symbol)] = update
        self._books.pop((update.venue, update.symbol), None)
        return True

    def apply_all(self, updates: Iterable[BookUpdate]) -> list[tuple[str, str]]:
        """Write every update; the (venue, symbol) of those taken."""
        return [(u.venue, u.symbol) for u in updates if self.apply(u)]

    def update_of(self, venue: str, symbol: str) -> BookUpdate | None:
        return self._updates.get((venue, symbol))

    def order_book(self, venue: str, symbol: str) -> OrderBook:
        key = (venue, symbol)
        book = self._books.get(key)
        if book is None:
            update = self._updates[key]
            if update.exact is not None:
                book = update.exact().model_copy(update={"timestamp": update.timestamp})
            else:
                book = OrderBook.model_validate(
                    {
                        "venue": venue,
                        "symbol": symbol,
                        "bids": update.bids,
                        "asks": update.asks,
                        "timestamp": update.timestamp,
                    }
                )
            self._books[key] = book
        return book

    def _drop(self, reason: str) -> bool:
        self.dropped[reason] = self.dropped.get(reason, 0) + 1
        return False


def _levels(levels: Sequence[Sequence[float]], depth: int, *, descending: bool) -> FloatArray | None:
    """The first ``depth`` levels as an [n, 2] float array; None when one is not a positive finite price and
    amount, or the prices are not strictly in the side's order."""
    if not levels:
        return np.zeros((0, 2))
    found: FloatArray = np.array([(level[0], level[1]) for level in levels[:depth]], dtype=float)
    if not (np.isfinite(found).all() and (found > 0).all()):
        return None
    steps = np.diff(found[:, 0])
    if len(steps) and not ((steps < 0).all() if descending else (steps > 0).all()):
        return None
    return found
