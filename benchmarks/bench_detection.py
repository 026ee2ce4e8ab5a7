"""Detection on 8 venues x 250 symbols x 20 levels per side, one core.

detection.full_scan_ms: median time of a full scan (screen every pair and cycle with numpy, then size every
candidate exactly through depth in Decimal). detection.screen_ms: the screening alone. detection.baseline_ms:
Bellman-Ford over networkx graphs, one per venue, on the same books (benchmarks/baseline_bellman_ford.py);
detection.baseline_ratio = baseline / full scan. detection.baseline_agreement: 1 when every profitable cycle
the baseline finds is among the cycles our screening flags, else 0 (the missing ones are printed)."""

from __future__ import annotations

import statistics
import time

from arbiter.detection import Detector, FrameBooks, IncrementalDetector, OrderBookSet
from arbiter.execution.exposure import base_and_quote
from arbiter.settings import DetectionSettings, SimulationSettings
from arbiter.simulation import MarketModel
from benchmarks.baseline_bellman_ford import negative_cycles
from benchmarks.figures import Figure

UNIVERSE = SimulationSettings(
    seed=5, venues=tuple(f"sim{i}" for i in range(8)), symbols_per_venue=250, levels=20, dislocation_probability=0.01
)
TICKS = 15


def run() -> list[Figure]:
    model = MarketModel.from_settings(UNIVERSE)
    first = FrameBooks(model.step())
    detector = Detector.for_snapshot(model.universe.catalog, first, DetectionSettings())
    scans, screens, baselines = [], [], []
    missing: list[str] = []
    for _ in range(TICKS):
        frame = model.step()
        books = FrameBooks(frame)
        started = time.perf_counter()
        detector.scan(books, frame.clock_ms)
        scans.append(time.perf_counter() - started)
        started = time.perf_counter()
        screening = detector.screen(books, frame.clock_ms)
        screens.append(time.perf_counter() - started)
        started = time.perf_counter()
        found = negative_cycles(detector.index, books)
        baselines.append(time.perf_counter() - started)
        ours = {
            (
                detector.index.cycles[c].venue,
                frozenset(
                    a for s, _ in detector.index.cycles[c].hops for a in base_and_quote(detector.index.symbols[s])
                ),
            )
            for c in screening.cycles
        }
        for venue, cycle in found.items():
            if (venue, frozenset(cycle)) not in ours:
                missing.append(f"tick {frame.tick_index} {detector.index.venues[venue]}: {' -> '.join(cycle)}")
    for line in missing:
        print(f"baseline cycle not among ours: {line}")
    full, baseline = statistics.median(scans), statistics.median(baselines)
    incremental_s = _incremental(model)
    return [
        Figure("detection.full_scan_ms", full * 1000, "ms"),
        Figure("detection.screen_ms", statistics.median(screens) * 1000, "ms"),
        Figure("detection.incremental_us", incremental_s * 1e6, "us"),
        Figure("detection.baseline_ms", baseline * 1000, "ms"),
        Figure("detection.baseline_ratio", baseline / full, "x"),
        Figure("detection.baseline_agreement", 0 if missing else 1, "bool"),
        Figure("detection.cycles", len(detector.index.cycles), "cycles"),
        Figure("detection.pairs", len(detector.index.pair_symbol), "pairs"),
    ]


def _incremental(model: MarketModel) -> float:
    """Median time to re-evaluate after one book changes (the book's pairs and cycles re-screened and re-sized)."""
    frame, later = model.step(), model.step()
    books = OrderBookSet(frame.order_books(), frame.universe.venues, frame.universe.symbols)
    incremental = IncrementalDetector(Detector.for_snapshot(model.universe.catalog, books, DetectionSettings()))
    incremental.full(books, frame.clock_ms)
    keys = [(v, s) for v in frame.universe.venues for s in frame.universe.symbols if frame.universe.listed(v, s)]
    replacements = [later.order_book(v, s).model_copy(update={"timestamp": frame.clock_ms}) for v, s in keys[:200]]
    samples = []
    for book in replacements:
        books.replace(book)
        started = time.perf_counter()
        incremental.update(books, frame.clock_ms, [(book.venue, book.symbol)])
        samples.append(time.perf_counter() - started)
    return statistics.median(samples)
