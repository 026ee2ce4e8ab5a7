"""Powertools implementations of the domain's metrics ports."""

from __future__ import annotations

from aws_lambda_powertools import Metrics
from aws_lambda_powertools.metrics import MetricUnit, single_metric
from aws_lambda_powertools.metrics.functions import is_metrics_disabled

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


def drop_if_disabled(metrics: Metrics) -> None:
    """Powertools (3.x) keeps disabled metrics and prints them anyway once 100 values pile up: a local run would
    then spill metric JSON onto the terminal. Call after adding a handler's metrics; nothing is lost, they were
    disabled."""
    if is_metrics_disabled():
        metrics.clear_metrics()
