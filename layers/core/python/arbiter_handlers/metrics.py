"""Powertools implementations of the domain's metrics ports."""

from __future__ import annotations

from collections.abc import Mapping

from aws_lambda_powertools import Metrics
from aws_lambda_powertools.metrics import MetricUnit, single_metric
from aws_lambda_powertools.metrics.functions import is_metrics_disabled

from arbiter.marketdata import FeedHealth

NAMESPACE = "Arbiter"


class PowertoolsRefusalMetrics:
    """``arbiter.risk.engine.RefusalMetrics`` as CloudWatch metrics (EMF): ``ExecutionsRefused`` with the reason
    code as a dimension, so a dashboard or an alarm can follow each rule."""

    def __init__(self, namespace: str = NAMESPACE, service: str = "saga") -> None:
        self.namespace, self.service = namespace, service

    def refused(self, code: str) -> None:
        # A metric of its own per refusal: dimensions added to the handler's Metrics would apply to all of them.
        with single_metric(
            name="ExecutionsRefused",
            unit=MetricUnit.Count,
            value=1,
            namespace=self.namespace,
            default_dimensions={"service": self.service},
        ) as metric:
            metric.add_dimension(name="reason", value=code)


class PowertoolsScannerMetrics:
    """``arbiter.scanner.ScannerMetrics`` as CloudWatch metrics (EMF), one metric object per dimension set."""

    def __init__(self, namespace: str = NAMESPACE, service: str = "scanner") -> None:
        self.namespace, self.service = namespace, service
        self._reconnects: dict[str, int] = {}

    def _emit(self, name: str, value: float, unit: MetricUnit, **dimensions: str) -> None:
        with single_metric(
            name=name,
            unit=unit,
            value=value,
            namespace=self.namespace,
            default_dimensions={"service": self.service},
        ) as metric:
            for key, dimension in dimensions.items():
                metric.add_dimension(name=key, value=dimension)

    def detected(self, count: int) -> None:
        self._emit("OpportunitiesDetected", count, MetricUnit.Count)

    def started(self, tick_to_start_ms: float) -> None:
        self._emit("ExecutionsStarted", 1, MetricUnit.Count)
        self._emit("TickToStart", tick_to_start_ms, MetricUnit.Milliseconds)

    def refused(self, reason: str) -> None:
        self._emit("ExecutionsRefused", 1, MetricUnit.Count, reason=reason)

    def updates(self, count: int) -> None:
        self._emit("UpdatesProcessed", count, MetricUnit.Count)

    def book_ages(self, venue: str, p50_ms: float, p99_ms: float) -> None:
        self._emit("BookAgeP50", p50_ms, MetricUnit.Milliseconds, venue=venue)
        self._emit("BookAgeP99", p99_ms, MetricUnit.Milliseconds, venue=venue)

    def heartbeat(self, shard: str, health: Mapping[str, FeedHealth]) -> None:
        self._emit("Heartbeat", 1, MetricUnit.Count, shard=shard)
        for venue, feed in health.items():
            new = feed.reconnects - self._reconnects.get(venue, 0)
            self._reconnects[venue] = feed.reconnects
            self._emit("FeedReconnects", new, MetricUnit.Count, venue=venue)
            self._emit("FeedConnected", float(feed.connected), MetricUnit.Count, venue=venue)


def drop_if_disabled(metrics: Metrics) -> None:
    """Powertools (3.x) keeps disabled metrics and prints them anyway once 100 values pile up: a local run would
    then spill metric JSON onto the terminal. Call after adding a handler's metrics; nothing is lost, they were
    disabled."""
    if is_metrics_disabled():
        metrics.clear_metrics()
