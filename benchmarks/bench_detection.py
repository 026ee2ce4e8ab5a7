"""Detection on 8 venues x 250 symbols x 20 levels per side, every triangle per venue, one core.

detection.full_scan_ms: median time of ``Detector.scan`` on one snapshot: screen every pair and cycle at the
top of book (numpy), walk the depth of every candidate that passes (numpy, floats) and rank them. The Decimal
``Opportunity`` models are built lazily, in rank order, when read: detection.emit_us is the median cost of one
(exact Decimal re-sizing from the books plus the pydantic model), detection.candidates the median number of
sized candidates per scan, so that the cost of reading all of them is emit_us x candidates.
detection.screen_ms: the screening alone. detection.incremental_us: median time of
``IncrementalDetector.update`` after one book changes.
detection.baseline_ms: Bellman-Ford over networkx graphs of -log(rate after fee) edges, one per venue, on the
same books (benchmarks/baseline_bellman_ford.py: one negative cycle per venue at most);
detection.baseline_ratio = baseline_ms / full_scan_ms.
detection.baseline_agreement: 1 when every profitable cycle (after fees, top of book) the baseline finds with
at most ``max_cycle_length`` hops is among the cycles our screening flags (same venue, same assets, same
direction), else 0 and the missing ones printed. Longer baseline cycles are outside what we search: they are
counted in detection.baseline_longer_cycles (over all ticks), not held against the agreement.
detection.pairs: directed (buy venue, sell venue, symbol) pairs compared at the top of book on every scan (the
best one per symbol is sized); detection.cycles: triangles screened (every triangle per venue, both ways)."""

from __future__ import annotations

import statistics
import time

from arbiter.detection import Detector, IncrementalDetector, OrderBookSet
from arbiter.detection.index import DetectionIndex
from arbiter.models import Side
from arbiter.models.symbols import base_and_quote
from arbiter.settings import DetectionSettings, SimulationSettings
from arbiter.simulation import FrameBooks, MarketModel
from benchmarks.baseline_bellman_ford import negative_cycles
from benchmarks.figures import Figure

UNIVERSE = SimulationSettings(
    seed=5, venues=tuple(f"sim{i}" for i in range(8)), symbols_per_venue=250, levels=20, dislocation_probability=0.01
)
TICKS = 15
REPEATS = 7
SETTINGS = DetectionSettings()


def _directed(assets: list[str]) -> tuple[str, ...]:
    """A cycle of assets in trading order, rotated to start at its smallest asset."""
    turn = assets.index(min(assets))
    return tuple(assets[turn:] + assets[:turn])


def _our_path(index: DetectionIndex, c: int) -> tuple[str, ...]:
    cycle, held, path = index.cycles[c], index.cycles[c].start, []
    for s, side in cycle.hops:
        path.append(held)
        base, quote = base_and_quote(index.symbols[s])
        held = base if side is Side.BUY else quote
    return _directed(path)


def run() -> list[Figure]:
    model = MarketModel.from_settings(UNIVERSE)
    first = FrameBooks(model.step())
    detector = Detector.for_snapshot(model.universe.catalog, first, SETTINGS)
    index = detector.index
    scans, screens, baselines, emits, candidates = [], [], [], [], []
    missing: list[str] = []
    longer = 0
    for _ in range(TICKS):
        frame = model.step()
        books = FrameBooks(frame)
        for _ in range(REPEATS):
            started = time.perf_counter()
            result = detector.scan(books, frame.clock_ms)
            scans.append(time.perf_counter() - started)
            started = time.perf_counter()
            screening = detector.screen(books, frame.clock_ms)
            screens.append(time.perf_counter() - started)
        candidates.append(result.candidates)
        started = time.perf_counter()
        emitted = len(result.opportunities)
        if emitted:
            emits.append((time.perf_counter() - started) / result.candidates)
        started = time.perf_counter()
        found = negative_cycles(index, books)
        baselines.append(time.perf_counter() - started)
        ours = {(int(index.cycle_venue[c]), _our_path(index, c)) for c in screening.cycles.tolist()}
        for venue, cycle in found.items():
            if len(cycle) > SETTINGS.max_cycle_length:
                longer += 1
            elif (venue, _directed(cycle)) not in ours:
                missing.append(f"tick {frame.tick_index} {index.venues[venue]}: {' -> '.join(cycle)}")
    for line in missing:
        print(f"baseline cycle not among ours: {line}")
    full, baseline = statistics.median(scans), statistics.median(baselines)
    incremental_s = _incremental(model)
    return [
        Figure("detection.full_scan_ms", full * 1000, "ms"),
        Figure("detection.screen_ms", statistics.median(screens) * 1000, "ms"),
        Figure("detection.candidates", statistics.median(candidates), "candidates"),
        Figure("detection.emit_us", statistics.median(emits) * 1e6 if emits else 0.0, "us"),
        Figure("detection.incremental_us", incremental_s * 1e6, "us"),
        Figure("detection.baseline_ms", baseline * 1000, "ms"),
        Figure("detection.baseline_ratio", baseline / full, "x"),
        Figure("detection.baseline_agreement", 0 if missing else 1, "bool"),
        Figure("detection.baseline_longer_cycles", longer, "cycles"),
        Figure("detection.cycles", len(index.cycles), "cycles"),
        Figure("detection.pairs", len(index.pair_symbol), "pairs"),
    ]


def _incremental(model: MarketModel) -> float:
    """Median time to re-evaluate after one book changes (the book's pairs and cycles re-screened and re-sized)."""
    frame, later = model.step(), model.step()
    books = OrderBookSet(frame.order_books(), frame.universe.venues, frame.universe.symbols)
    incremental = IncrementalDetector(Detector.for_snapshot(model.universe.catalog, books, SETTINGS))
    incremental.full(books, frame.clock_ms)
    keys = [(v, s) for v in frame.universe.venues for s in frame.universe.symbols if frame.universe.listed(v, s)]
    replacements = [
        later.order_book(v, s).model_copy(update={"timestamp": frame.clock_ms})
        for v, s in keys[:: max(len(keys) // 300, 1)]
    ]
    samples = []
    for book in replacements:
        books.replace(book)
        started = time.perf_counter()
        incremental.update(books, frame.clock_ms, [(book.venue, book.symbol)])
        samples.append(time.perf_counter() - started)
    return statistics.median(samples)
