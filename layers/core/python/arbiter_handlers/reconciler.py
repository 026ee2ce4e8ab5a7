"""The scheduled reconciler's handler: one sweep per EventBridge Scheduler invocation (every minute).

Powertools: JSON logs, X-Ray tracing, EMF metrics (incidents raised, venues left unverified). The function runs
one at a time (reserved concurrency 1): a sweep that outlasts its minute is never overlapped by the next."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import BaseModel, ConfigDict

from arbiter.reconcile.sweep import SweepReport
from arbiter_handlers.metrics import NAMESPACE, drop_if_disabled
from arbiter_handlers.wiring import scheduled_reconciler

logger = Logger(service="reconciler")
tracer = Tracer(service="reconciler")
metrics = Metrics(namespace=NAMESPACE, service="reconciler")


class ScheduledEvent(BaseModel):
    """What EventBridge Scheduler sends: the sweep needs nothing from it, whatever its fields."""

    model_config = ConfigDict(extra="allow", frozen=True)


class SweepResult(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    verified: tuple[str, ...]
    skipped: dict[str, str]
    venue_incidents: tuple[str, ...]
    execution_incidents: tuple[str, ...]
    reread: int

    @classmethod
    def of(cls, report: SweepReport) -> SweepResult:
        return cls(
            verified=tuple(report.verified),
            skipped=dict(report.skipped),
            venue_incidents=tuple(incident.venue for incident in report.incidents),
            execution_incidents=tuple(report.execution_incidents),
            reread=len(report.reread),
        )


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    ScheduledEvent.model_validate(event)
    result = SweepResult.of(scheduled_reconciler().sweep())
    incidents = len(result.venue_incidents) + len(result.execution_incidents)
    metrics.add_metric(name="ReconcilerIncidents", unit=MetricUnit.Count, value=incidents)
    metrics.add_metric(name="ReconcilerVenuesUnverified", unit=MetricUnit.Count, value=len(result.skipped))
    drop_if_disabled(metrics)
    if incidents:
        logger.error("reconciler raised incidents", extra=result.model_dump(mode="json"))
    return result.model_dump(mode="json")
