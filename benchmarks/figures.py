"""The one format for figures: ``bench <name> <value> <unit>``, timings as medians of repeated runs."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Figure:
    name: str
    value: float
    unit: str

    def line(self) -> str:
        return f"bench {self.name} {self.value:.6g} {self.unit}"


def median_seconds(action: Callable[[], object], *, repeats: int, warmup: int = 2) -> float:
    """Median wall time of ``action`` over ``repeats`` runs, after ``warmup`` runs that are not counted."""
    for _ in range(warmup):
        action()
    samples = []
    for _ in range(repeats):
        started = time.perf_counter()
        action()
        samples.append(time.perf_counter() - started)
    return statistics.median(samples)
