"""Incremental detection: after some books change, re-screen and re-size only the pairs and cycles that
include them; every other candidate keeps its last result. Equal to a full scan of the same books (tested)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

import numpy as np

from arbiter.detection.books import BookSnapshot
from arbiter.detection.detector import Detector
from arbiter.detection.index import IntArray
from arbiter.models import Opportunity


class IncrementalDetector:
    def __init__(self, detector: Detector) -> None:
        self.detector = detector
        index = detector.index
        pairs: dict[tuple[int, int], list[int]] = defaultdict(list)
        for p, (s, buy, sell) in enumerate(zip(index.pair_symbol, index.pair_buy, index.pair_sell, strict=True)):
            pairs[(int(buy), int(s))].append(p)
            pairs[(int(sell), int(s))].append(p)
        cycles: dict[tuple[int, int], list[int]] = defaultdict(list)
        for c, (venue, symbols) in enumerate(zip(index.cycle_venue, index.cycle_symbol, strict=True)):
            for s in set(symbols.tolist()):
                cycles[(int(venue), s)].append(c)
        self._pairs_of = {book: np.array(found, dtype=np.int64) for book, found in pairs.items()}
        self._cycles_of = {book: np.array(found, dtype=np.int64) for book, found in cycles.items()}
        self._pairs: dict[int, Opportunity] = {}
        self._cycles: dict[int, Opportunity] = {}
        self.skipped: list[str] = []

    def full(self, books: BookSnapshot, now_ms: int) -> list[Opportunity]:
        index = self.detector.index
        self._pairs.clear()
        self._cycles.clear()
        return self._evaluate(books, now_ms, np.arange(len(index.pair_symbol)), np.arange(len(index.cycles)))

    def update(self, books: BookSnapshot, now_ms: int, changed: Iterable[tuple[str, str]]) -> list[Opportunity]:
        """``changed``: (venue, symbol) of the books that changed since the last evaluation."""
        index = self.detector.index
        empty = np.zeros(0, dtype=np.int64)
        keys = [(index.venues.index(v), index.symbols.index(s)) for v, s in changed]
        pairs = np.unique(np.concatenate([self._pairs_of.get(k, empty) for k in keys] or [empty]))
        cycles = np.unique(np.concatenate([self._cycles_of.get(k, empty) for k in keys] or [empty]))
        return self._evaluate(books, now_ms, pairs, cycles)

    def _evaluate(self, books: BookSnapshot, now_ms: int, pairs: IntArray, cycles: IntArray) -> list[Opportunity]:
        detector, self.skipped = self.detector, []
        for p in pairs.tolist():
            self._pairs.pop(p, None)
        for c in cycles.tolist():
            self._cycles.pop(c, None)
        screening = detector.screen(books, now_ms, pairs, cycles)
        for p in screening.pairs.tolist():
            if (found := detector.size_pair(books, p, now_ms, None, self.skipped)) is not None:
                self._pairs[p] = found
        for c in screening.cycles.tolist():
            if (found := detector.size_cycle(books, c, now_ms, None, self.skipped)) is not None:
                self._cycles[c] = found
        return self.opportunities()

    def opportunities(self) -> list[Opportunity]:
        found = [*self._pairs.values(), *self._cycles.values()]
        return sorted(found, key=lambda o: (o.expected_profit, o.id), reverse=True)
