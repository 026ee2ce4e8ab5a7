"""The metrics a local run emitted: the handlers' EMF documents, received in-process (nothing is printed) and
stamped with the platform's simulated clock, as data points the alarm evaluator reads."""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from arbiter.local.lambda_invoke import LambdaHandler
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

    def record_aws(self, namespace: str, name: str, dimensions: Mapping[str, str], value: float = 1) -> None:
        """A data point of AWS's own metrics, which the local runtime plays the part of (a Lambda error, a
        failed execution), so the platform alarms can be evaluated locally too."""
        point = DataPoint(namespace, name, dict(dimensions), self.clock.now_ms(), value)
        with self._lock:
            self.points.append(point)

    def counting_errors(self, function: str, handler: LambdaHandler) -> LambdaHandler:
        """``handler``, counting what it raises as Lambda's ``Errors`` metric of ``function``."""

        def run(event: dict[str, Any], context: Any) -> Any:
            try:
                return handler(event, context)
            except Exception:
                self.record_aws("AWS/Lambda", "Errors", {"FunctionName": function})
                raise

        return run

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
