"""A simulated market's frame seen as the detector's book snapshot: the simulator feeds the same scan as live
books do, and detection never knows the simulator exists."""

from __future__ import annotations

import numpy as np

from arbiter.models import OrderBook
from arbiter.simulation.market_model import BookFrame


class FrameBooks:
    """A simulated ``BookFrame`` seen as a snapshot (views on the frame's arrays, no copy)."""

    def __init__(self, frame: BookFrame) -> None:
        self.frame = frame
        self.venues, self.symbols = frame.universe.venues, frame.universe.symbols
        levels = frame.bid_ticks.shape[-1]
        self.prices = np.concatenate([frame.ask_prices.reshape(-1, levels), frame.bid_prices.reshape(-1, levels)])
        self.amounts = np.concatenate([frame.ask_sizes.reshape(-1, levels), frame.bid_sizes.reshape(-1, levels)])
        count = len(self.prices) // 2
        self.top_prices, self.top_amounts = self.prices[:, 0].copy(), self.amounts[:, 0].copy()
        self.ask_prices, self.bid_prices = self.prices[:count], self.prices[count:]
        self.ask_amounts, self.bid_amounts = self.amounts[:count], self.amounts[count:]
        self.timestamps = np.where(frame.listed, frame.timestamps, 0).reshape(-1)
        self.rejected: list[str] = []
        self._books: dict[tuple[str, str], OrderBook] = {}

    def order_book(self, venue: str, symbol: str) -> OrderBook:
        """The exact book, built once per frame (several opportunities may read the same book)."""
        key = (venue, symbol)
        if key not in self._books:
            self._books[key] = self.frame.order_book(venue, symbol)
        return self._books[key]
