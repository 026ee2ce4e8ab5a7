"""The metrics a local run emitted: the handlers' EMF documents, received in-process (nothing is printed) and
stamped with the platform's simulated clock, as data points the alarm evaluator reads."""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from arbiter.models.time import Clock
from arbiter.monitoring import DataPoint, emf_data_points
from arbiter.risk.ports import RefusalMetrics


@dataclass
class CapturedMetrics:
    clock: Clock
    points: list[DataPoint] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def receive(self, document: Mapping[str, Any]) -> None:
        """An ``arbiter_handlers.metrics.EmfSink``."""
        points = emf_data_points(document, at_ms=self.clock.now_ms())
        with self._lock:
            self.points.extend(points)

    def named(self, name: str) -> list[DataPoint]:
        return [p for p in self.points if p.name == name]


@dataclass(frozen=True)
class BothRefusalMetrics:
    """Refusals counted in memory (tests read the counts) and emitted as the deployed saga emits them."""

    first: RefusalMetrics
    second: RefusalMetrics

    def refused(self, code: str) -> None:
        self.first.refused(code)
        self.second.refused(code)
