"""The books a scan reads: every book's depth as preallocated float arrays (flat book x level) for screening
and depth walking, and the exact Decimal books for the opportunities finally emitted."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Protocol

import numpy as np

from arbiter.detection.index import FloatArray, IntArray
from arbiter.models import OrderBook

NO_ASK = 1e300
"""Price of an ask level beyond a book's depth: finite, so that zero amount times it stays zero."""


class BookSnapshot(Protocol):
    """Flat book = venue * len(symbols) + symbol. Levels beyond a book's depth have amount 0 (and price 0 for
    bids, ``NO_ASK`` for asks). ``prices`` and ``amounts`` hold both sides, asks in rows [0, B) and bids in
    [B, 2B), so that one gather serves candidates that take from either side; the per-side arrays are views on
    them."""

    venues: tuple[str, ...]
    symbols: tuple[str, ...]
    prices: FloatArray  # [2B, L]
    amounts: FloatArray  # [2B, L]
    top_prices: FloatArray  # [2B] level 0 of ``prices``, kept contiguous for the screen
    top_amounts: FloatArray
    bid_prices: FloatArray  # [B, L], descending
    bid_amounts: FloatArray
    ask_prices: FloatArray  # [B, L], ascending
    ask_amounts: FloatArray
    timestamps: IntArray  # [B]; 0 where there is no book
    rejected: list[str]
    """Books refused when they were added (unknown market), one reason each."""

    def order_book(self, venue: str, symbol: str) -> OrderBook: ...


def best_prices(books: BookSnapshot) -> tuple[FloatArray, FloatArray]:
    """Best bid and ask as [V, S] arrays, NaN where there is no book (for the baseline and the reports)."""
    shape = (len(books.venues), len(books.symbols))
    present = (books.timestamps > 0) & (books.bid_amounts[:, 0] > 0) & (books.ask_amounts[:, 0] > 0)
    bids = np.where(present, books.bid_prices[:, 0], np.nan).reshape(shape)
    asks = np.where(present, books.ask_prices[:, 0], np.nan).reshape(shape)
    return bids, asks


class OrderBookSet:
    """Order book models (recorded files, a venue's fetch) seen as a snapshot; ``replace`` rewrites one book's
    rows in place. Depth beyond ``levels`` is left out of the arrays (sizing never walks it)."""

    def __init__(
        self, books: Iterable[OrderBook], venues: Sequence[str], symbols: Sequence[str], levels: int | None = None
    ) -> None:
        self.venues, self.symbols = tuple(venues), tuple(symbols)
        given = list(books)
        if levels is None:
            levels = max((max(len(b.bids), len(b.asks)) for b in given), default=1)
        self._venue_pos = {v: i for i, v in enumerate(self.venues)}
        self._symbol_pos = {s: i for i, s in enumerate(self.symbols)}
        count, depth = len(self.venues) * len(self.symbols), max(levels, 1)
        self.prices, self.amounts = np.zeros((2 * count, depth)), np.zeros((2 * count, depth))
        self.prices[:count] = NO_ASK
        self.top_prices, self.top_amounts = self.prices[:, 0].copy(), self.amounts[:, 0].copy()
        self.ask_prices, self.bid_prices = self.prices[:count], self.prices[count:]
        self.ask_amounts, self.bid_amounts = self.amounts[:count], self.amounts[count:]
        self.timestamps = np.zeros(count, dtype=np.int64)
        self.rejected: list[str] = []
        self._books: dict[tuple[str, str], OrderBook] = {}
        for book in given:
            self.replace(book)

    def order_book(self, venue: str, symbol: str) -> OrderBook:
        return self._books[(venue, symbol)]

    def replace(self, book: OrderBook) -> bool:
        """A book changed: the snapshot now shows the new one. False (and the reason in ``rejected``) when the
        snapshot has no such venue or symbol."""
        v, s = self._venue_pos.get(book.venue), self._symbol_pos.get(book.symbol)
        if v is None or s is None:
            self.rejected.append(f"{book.venue} {book.symbol}: unknown market, book ignored")
            return False
        b, depth, count = v * len(self.symbols) + s, self.bid_prices.shape[1], len(self.timestamps)
        self._books[(book.venue, book.symbol)] = book
        bids, asks = book.bids[:depth], book.asks[:depth]
        self.bid_prices[b] = 0.0
        self.bid_amounts[b] = 0.0
        self.ask_prices[b] = NO_ASK
        self.ask_amounts[b] = 0.0
        if bids:
            self.bid_prices[b, : len(bids)] = [float(level.price) for level in bids]
            self.bid_amounts[b, : len(bids)] = [float(level.amount) for level in bids]
        if asks:
            self.ask_prices[b, : len(asks)] = [float(level.price) for level in asks]
            self.ask_amounts[b, : len(asks)] = [float(level.amount) for level in asks]
        self.timestamps[b] = book.timestamp
        for row in (b, b + count):
            self.top_prices[row], self.top_amounts[row] = self.prices[row, 0], self.amounts[row, 0]
        return True
