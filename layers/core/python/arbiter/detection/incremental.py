"""Incremental detection: after some books change, re-screen and re-size only what includes them: the changed
book's symbol (its best pair of venues is chosen again among all of the symbol's pairs) and the cycles through
the book (the index's book -> cycles map). Every other candidate keeps its last size, with the timestamp of
its oldest quote: when that grows older than the maximum quote age, the candidate is left out of the result,
as a full scan would leave it out. Equal to a full scan of the same books (property-tested)."""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from arbiter.detection.books import BookSnapshot
from arbiter.detection.detector import Detector, Found, ScanResult
from arbiter.detection.index import IntArray

_NONE = np.iinfo(np.int64).min
"""Oldest-quote timestamp of a symbol or cycle with nothing found: older than any maximum age allows."""


class IncrementalDetector:
    def __init__(self, detector: Detector) -> None:
        self.detector = detector
        index = detector.index
        n_s = len(index.symbols)
        # At most one pair per symbol is found (its best), so pair state is kept per symbol.
        self._pair = np.zeros(n_s, dtype=np.int64)
        self._pair_amount = np.zeros(n_s)
        self._pair_profit = np.zeros(n_s)
        self._pair_oldest = np.full(n_s, _NONE)
        self._cycle_rung = np.zeros(len(index.cycles), dtype=np.int64)
        self._cycle_profit = np.zeros(len(index.cycles))
        self._cycle_oldest = np.full(len(index.cycles), _NONE)
        self._now = 0

    def full(self, books: BookSnapshot, now_ms: int) -> ScanResult:
        detector = self.detector
        self._pair_oldest.fill(_NONE)
        self._cycle_oldest.fill(_NONE)
        screening = detector.screen(books, now_ms)
        self._record(books, detector.size(books, screening))
        self._now = now_ms
        return self.result(books, now_ms)

    def update(self, books: BookSnapshot, now_ms: int, changed: Iterable[tuple[str, str]] = ()) -> ScanResult:
        """``changed``: (venue, symbol) of the books that changed since the last evaluation; books of unknown
        markets are ignored (the snapshot reported them when they were added). Books whose age crossed the
        maximum since then count as changed too: a symbol's best pair may move to another venue."""
        index = self.detector.index
        flat = [b for v, s in changed if (b := index.book(v, s)) is not None]
        flat.extend(self._crossed(books, now_ms).tolist())
        self._now = now_ms
        n_s = len(index.symbols)
        if len(flat) == 1:
            b = flat[0]
            symbols = np.array([b % n_s])
            cycles = index.book_cycles[index.book_cycles_at[b] : index.book_cycles_at[b + 1]]
        else:
            symbols = np.unique(np.array([b % n_s for b in flat], dtype=np.int64))
            cycles = np.unique(
                np.concatenate(
                    [index.book_cycles[index.book_cycles_at[b] : index.book_cycles_at[b + 1]] for b in flat]
                    or [np.zeros(0, dtype=np.int64)]
                )
            )
        screening = self.detector.screen_subset(books, now_ms, symbols, cycles)
        self._pair_oldest[symbols] = _NONE
        self._cycle_oldest[cycles] = _NONE
        self._record(books, self.detector.size(books, screening))
        return self.result(books, now_ms)

    def _crossed(self, books: BookSnapshot, now_ms: int) -> IntArray:
        """Books that went stale, or whose (future) timestamp came due, between the last evaluation and now."""
        if now_ms == self._now:
            return np.zeros(0, dtype=np.int64)
        ts, age = books.timestamps, self.detector.settings.max_quote_age_ms
        early, late = min(self._now, now_ms), max(self._now, now_ms)
        expired = (ts + age >= early) & (ts + age < late)
        expired |= (ts > early) & (ts <= late)
        expired &= ts > 0
        found: IntArray = expired.nonzero()[0]
        return found

    def _record(self, books: BookSnapshot, found: Found) -> None:
        index, ts = self.detector.index, books.timestamps
        n_s = len(index.symbols)
        pairs, cycles = found.pairs, found.cycles
        if len(pairs):
            s = index.pair_symbol[pairs]
            self._pair[s] = pairs
            self._pair_amount[s] = found.pair_amount
            self._pair_profit[s] = found.pair_profit
            self._pair_oldest[s] = np.minimum(ts[index.pair_buy[pairs] * n_s + s], ts[index.pair_sell[pairs] * n_s + s])
        if len(cycles):
            self._cycle_rung[cycles] = found.cycle_rung
            self._cycle_profit[cycles] = found.cycle_profit
            self._cycle_oldest[cycles] = ts[index.cycle_books[cycles]].min(axis=1)

    def result(self, books: BookSnapshot, now_ms: int) -> ScanResult:
        """Everything currently found whose quotes are all still young enough."""
        oldest_allowed = now_ms - self.detector.settings.max_quote_age_ms
        symbols: IntArray = (self._pair_oldest >= oldest_allowed).nonzero()[0]
        cycles: IntArray = (self._cycle_oldest >= oldest_allowed).nonzero()[0]
        found = Found(
            self._pair[symbols],
            self._pair_amount[symbols],
            self._pair_profit[symbols],
            cycles,
            self._cycle_rung[cycles],
            self._cycle_profit[cycles],
        )
        return ScanResult(self.detector, books, now_ms, found)
