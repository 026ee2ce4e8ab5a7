"""How the handlers emit metrics: every data point is a metric of ``arbiter.monitoring.catalog``, serialised by
Powertools' CloudWatch EMF provider as one document with exactly that metric's dimensions (one shared Metrics
object would put one dimension set on all of them). On Lambda the document goes to stdout, where CloudWatch
reads EMF; a process that installs a sink (the local platform) receives the documents instead, and nothing is
printed."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Mapping
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools.metrics.functions import is_metrics_disabled
from aws_lambda_powertools.metrics.provider.cloudwatch_emf.cloudwatch import AmazonCloudWatchEMFProvider

from arbiter.monitoring.catalog import (
    BOOK_AGE_P50,
    BOOK_AGE_P99,
    EXECUTIONS_REFUSED,
    FEED_CONNECTED,
    FEED_RECONNECTS,
    OPPORTUNITIES_DETECTED,
    RATE_LIMITED,
    SCANNER_HEARTBEAT,
    SCANNER_HEARTBEATS,
    SCANNER_REFUSED,
    SCANNER_STARTS,
    SCORING_BY_MODEL,
    TICK_TO_START,
    UPDATES_PROCESSED,
    VENUE_RATE_LIMITED,
    Metric,
)
from arbiter.scoring.scorer import ScoringStatus

if TYPE_CHECKING:  # the feeds (and the detector's numpy under them) load only in the scanner's function
    from arbiter.models.heartbeat import FeedHealth

EmfSink = Callable[[Mapping[str, Any]], None]

_sink: EmfSink | None = None
_lock = threading.Lock()


def install_sink(sink: EmfSink | None) -> None:
    """Send every EMF document to ``sink`` instead of stdout (None: back to stdout)."""
    global _sink  # the process's one metrics destination, set at the edge
    _sink = sink


def emit(metric: Metric, value: float, **dimensions: str) -> None:
    """One data point of ``metric``; ``dimensions`` gives its open dimensions their values."""
    provider = AmazonCloudWatchEMFProvider(namespace=metric.namespace)
    provider.add_metric(name=metric.name, unit=metric.unit.value, value=value)
    for name, dimension in metric.series_dimensions(**dimensions).items():
        provider.add_dimension(name=name, value=dimension)
    document = provider.serialize_metric_set()
    sink = _sink
    if sink is not None:
        with _lock:  # saga tasks may run in several threads of one local process
            sink(document)
    elif not is_metrics_disabled():
        print(json.dumps(document, separators=(",", ":")))  # noqa: T201 - stdout is how Lambda ships EMF


class PowertoolsRefusalMetrics:
    """``arbiter.risk.engine.RefusalMetrics`` as CloudWatch metrics: ``ExecutionsRefused`` with the reason code
    as a dimension, so a dashboard or an alarm can follow each rule. ``service`` names the component that asked
    the risk engine (the catalog must declare its series)."""

    def __init__(self, service: str = EXECUTIONS_REFUSED.service) -> None:
        self.metric = replace(EXECUTIONS_REFUSED, service=service)

    def refused(self, code: str) -> None:
        emit(self.metric, 1, reason=code)


def record_rate_limited(venue: str) -> None:
    """The gateway's ``on_rate_limited``: one call to ``venue`` ended rate limited."""
    emit(VENUE_RATE_LIMITED, 1, venue=venue)
    emit(RATE_LIMITED, 1)


class PowertoolsScannerMetrics:
    """``arbiter.scanner.ScannerMetrics`` as CloudWatch metrics, each a series the catalog declares."""

    def __init__(self) -> None:
        self._reconnects: dict[str, int] = {}

    def detected(self, count: int) -> None:
        emit(OPPORTUNITIES_DETECTED, count)

    def started(self, tick_to_start_ms: float) -> None:
        emit(SCANNER_STARTS, 1)
        emit(TICK_TO_START, tick_to_start_ms)

    def refused(self, reason: str) -> None:
        emit(SCANNER_REFUSED, 1, reason=reason)

    def updates(self, count: int) -> None:
        emit(UPDATES_PROCESSED, count)

    def book_ages(self, venue: str, p50_ms: float, p99_ms: float) -> None:
        emit(BOOK_AGE_P50, p50_ms, venue=venue)
        emit(BOOK_AGE_P99, p99_ms, venue=venue)

    def heartbeat(self, shard: str, health: Mapping[str, FeedHealth], scoring: ScoringStatus | None = None) -> None:
        emit(SCANNER_HEARTBEAT, 1, shard=shard)
        emit(SCANNER_HEARTBEATS, 1)
        if scoring is not None:
            emit(SCORING_BY_MODEL, float(scoring.by_model))
        for venue, feed in health.items():
            new = feed.reconnects - self._reconnects.get(venue, 0)
            self._reconnects[venue] = feed.reconnects
            emit(FEED_RECONNECTS, new, venue=venue)
            emit(FEED_CONNECTED, float(feed.connected), venue=venue)
