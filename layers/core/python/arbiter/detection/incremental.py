"""Incremental detection: after some books change, re-screen and re-size only the pairs and cycles that
include them: the changed book's symbol (its best pair of venues is chosen again) and the cycles through the
book (the index's book -> cycles map); every other candidate keeps its last
size. A candidate whose books have since gone stale is dropped at read time. Equal to a full scan of the same
books (property-tested)."""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from arbiter.detection.books import BookSnapshot
from arbiter.detection.detector import Detector, Found, ScanResult


class IncrementalDetector:
    def __init__(self, detector: Detector) -> None:
        self.detector = detector
        index = detector.index
        self._pair_amount = np.zeros(len(index.pair_symbol))
        self._pair_profit = np.full(len(index.pair_symbol), np.nan)
        self._cycle_rung = np.zeros(len(index.cycles), dtype=np.int64)
        self._cycle_profit = np.full(len(index.cycles), np.nan)
        self.skipped: list[str] = []

    def full(self, books: BookSnapshot, now_ms: int) -> ScanResult:
        detector = self.detector
        self._pair_profit.fill(np.nan)
        self._cycle_profit.fill(np.nan)
        screening = detector.screen(books, now_ms)
        return self._record(books, now_ms, detector.size(books, screening))

    def update(self, books: BookSnapshot, now_ms: int, changed: Iterable[tuple[str, str]]) -> ScanResult:
        """``changed``: (venue, symbol) of the books that changed since the last evaluation; books of unknown
        markets are ignored (the snapshot reported them when they were added)."""
        index = self.detector.index
        flat = [b for v, s in changed if (b := index.book(v, s)) is not None]
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
        # A changed book can move any of its symbol's pairs in or out of best: the symbol is screened whole.
        for s in symbols.tolist():
            self._pair_profit[index.symbol_pairs_at[s] : index.symbol_pairs_at[s + 1]] = np.nan
        self._cycle_profit[cycles] = np.nan
        return self._record(books, now_ms, self.detector.size(books, screening))

    def _record(self, books: BookSnapshot, now_ms: int, found: Found) -> ScanResult:
        self._pair_amount[found.pairs] = found.pair_amount
        self._pair_profit[found.pairs] = found.pair_profit
        self._cycle_rung[found.cycles] = found.cycle_rung
        self._cycle_profit[found.cycles] = found.cycle_profit
        return self.result(books, now_ms)

    def result(self, books: BookSnapshot, now_ms: int) -> ScanResult:
        """Everything currently found, without candidates whose books are no longer fresh."""
        detector, index = self.detector, self.detector.index
        _, _, fresh = detector.top_rates(books, now_ms)
        n_s = len(index.symbols)
        pairs = np.flatnonzero(~np.isnan(self._pair_profit))
        s = index.pair_symbol[pairs]
        pairs = pairs[fresh[index.pair_buy[pairs] * n_s + s] & fresh[index.pair_sell[pairs] * n_s + s]]
        cycles = np.flatnonzero(~np.isnan(self._cycle_profit))
        cycles = cycles[fresh[index.cycle_books[cycles]].all(axis=1)]
        found = Found(
            pairs,
            self._pair_amount[pairs],
            self._pair_profit[pairs],
            cycles,
            self._cycle_rung[cycles],
            self._cycle_profit[cycles],
        )
        return ScanResult(detector, books, now_ms, found, fresh)
