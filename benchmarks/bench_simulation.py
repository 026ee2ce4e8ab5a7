"""sim.books_per_s: simulated book snapshots produced per second on one core (8 venues x 250 symbols x 20
levels per side). The same run also times materialising validated ``OrderBook`` models, the slow path
that only the demo and the paper venue use, and reports the ratio between the two."""

from __future__ import annotations

from arbiter.settings import SimulationSettings
from arbiter.simulation import MarketModel
from benchmarks.figures import Figure, median_seconds

UNIVERSE = SimulationSettings(seed=1, venues=tuple(f"sim{i}" for i in range(8)), symbols_per_venue=250, levels=20)


def run() -> list[Figure]:
    model = MarketModel.from_settings(UNIVERSE)
    books = model.step().book_count
    step_s = median_seconds(model.step, repeats=50)
    frame = model.step()
    sample = [(v, s) for v in frame.universe.venues[:2] for s in frame.universe.symbols[:50]]
    models_s = median_seconds(lambda: [frame.order_book(v, s) for v, s in sample], repeats=5, warmup=1)
    books_per_s = books / step_s
    models_per_s = len(sample) / models_s
    return [
        Figure("sim.books_per_s", books_per_s, "books/s"),
        Figure("sim.books_per_tick", books, "books"),
        Figure("sim.order_book_models_per_s", models_per_s, "books/s"),
        Figure("sim.arrays_vs_models_ratio", books_per_s / models_per_s, "x"),
    ]
