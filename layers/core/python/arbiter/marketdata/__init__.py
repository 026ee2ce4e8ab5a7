"""Live order books: book sources (ccxt.pro websockets with a REST fallback, or the simulated market), each book
stamped with the venue's time and its arrival, per-venue feed health, and the snapshot the detector reads."""

from arbiter.marketdata.books import LiveBooks
from arbiter.marketdata.feed import BookSource, BookUpdate, UpdateQueue

__all__ = ["BookSource", "BookUpdate", "LiveBooks", "UpdateQueue"]
