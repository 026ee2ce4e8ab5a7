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
from typing import Any

from aws_lambda_powertools.metrics.functions import is_metrics_disabled
from aws_lambda_powertools.metrics.provider.cloudwatch_emf.cloudwatch import AmazonCloudWatchEMFProvider

from arbiter.monitoring.catalog import EXECUTIONS_REFUSED, RATE_LIMITED, VENUE_RATE_LIMITED, Metric

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
