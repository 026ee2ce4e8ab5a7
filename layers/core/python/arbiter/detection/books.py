"""The books a scan reads: top of book as arrays for screening, exact Decimal books for sizing."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Protocol

import numpy as np

from arbiter.detection.index import FloatArray, IntArray
from arbiter.models import OrderBook
from arbiter.simulation import BookFrame


class BookSnapshot(Protocol):
    venues: tuple[str, ...]
    symbols: tuple[str, ...]
    best_bids: FloatArray  # [V, S]; NaN where there is no book
    best_asks: FloatArray
    timestamps: IntArray  # [V, S]; 0 where there is no book

    def order_book(self, venue: str, symbol: str) -> OrderBook: ...


class FrameBooks:
    """A simulated ``BookFrame`` seen as a snapshot."""

    def __init__(self, frame: BookFrame) -> None:
        self.frame = frame
        self.venues, self.symbols = frame.universe.venues, frame.universe.symbols
        self.best_bids = np.where(frame.listed, frame.bid_prices[..., 0], np.nan)
        self.best_asks = np.where(frame.listed, frame.ask_prices[..., 0], np.nan)
        self.timestamps = frame.timestamps

    def order_book(self, venue: str, symbol: str) -> OrderBook:
        return self.frame.order_book(venue, symbol)


class OrderBookSet:
    """Order book models (recorded files, a venue's fetch) seen as a snapshot."""

    def __init__(self, books: Iterable[OrderBook], venues: Sequence[str], symbols: Sequence[str]) -> None:
        self.venues, self.symbols = tuple(venues), tuple(symbols)
        shape = (len(self.venues), len(self.symbols))
        self.best_bids, self.best_asks = np.full(shape, np.nan), np.full(shape, np.nan)
        self.timestamps = np.zeros(shape, dtype=np.int64)
        self._books: dict[tuple[str, str], OrderBook] = {}
        for book in books:
            if book.venue not in self.venues or book.symbol not in self.symbols:
                continue
            v, s = self.venues.index(book.venue), self.symbols.index(book.symbol)
            self._books[(book.venue, book.symbol)] = book
            self.best_bids[v, s] = float(book.bids[0].price) if book.bids else np.nan
            self.best_asks[v, s] = float(book.asks[0].price) if book.asks else np.nan
            self.timestamps[v, s] = book.timestamp

    def order_book(self, venue: str, symbol: str) -> OrderBook:
        return self._books[(venue, symbol)]

    def replace(self, book: OrderBook) -> None:
        """A book changed: the snapshot now shows the new one."""
        v, s = self.venues.index(book.venue), self.symbols.index(book.symbol)
        self._books[(book.venue, book.symbol)] = book
        self.best_bids[v, s] = float(book.bids[0].price) if book.bids else np.nan
        self.best_asks[v, s] = float(book.asks[0].price) if book.asks else np.nan
        self.timestamps[v, s] = book.timestamp
