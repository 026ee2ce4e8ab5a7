"""The scheduled reconciler's handler: one sweep per EventBridge Scheduler invocation (every minute).

Powertools: JSON logs, X-Ray tracing, EMF metrics (its heartbeat, incidents raised, venues left unverified, the
kill switch's position, the breakers' states). The function runs one at a time (reserved concurrency 1): a sweep
that outlasts its minute is never overlapped by the next."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import BaseModel, ConfigDict

from arbiter.monitoring.catalog import (
    BREAKERS_OPEN,
    KILL_SWITCH_ENGAGED,
    RECONCILER_INCIDENTS,
    RECONCILER_SWEEPS,
    RECONCILER_VENUES_UNVERIFIED,
    VENUE_BREAKER_OPEN,
)
from arbiter.reconcile.sweep import Reconciler, SweepReport
from arbiter.storage.breakers import BreakerPosition
from arbiter_handlers.metrics import emit
from arbiter_handlers.wiring import breaker_store, scheduled_reconciler

logger = Logger(service="reconciler")
tracer = Tracer(service="reconciler")


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


BALANCE_SYNC_FAILURES = ("unreadable", "malformed")
"""How ``SweepReport.skipped`` says a venue's balances could not be read (not merely postponed while it trades)."""


def balance_sync_failures(skipped: dict[str, str]) -> int:
    return sum(why.startswith(BALANCE_SYNC_FAILURES) for why in skipped.values())


def _platform_state(reconciler: Reconciler) -> None:
    """Read every minute, so an engaged kill switch or an open breaker is seen (and alarmed) whoever caused it."""
    emit(KILL_SWITCH_ENGAGED, int(reconciler.kill_switch.is_engaged()))
    breakers = breaker_store()
    open_venues = [v for v in sorted(reconciler.gateways) if breakers.get(v).position is BreakerPosition.OPEN]
    for venue in sorted(reconciler.gateways):
        emit(VENUE_BREAKER_OPEN, int(venue in open_venues), venue=venue)
    emit(BREAKERS_OPEN, len(open_venues))


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    ScheduledEvent.model_validate(event)
    reconciler = scheduled_reconciler()
    result = SweepResult.of(reconciler.sweep())
    incidents = len(result.venue_incidents) + len(result.execution_incidents)
    emit(RECONCILER_SWEEPS, 1)
    emit(RECONCILER_INCIDENTS, incidents)
    emit(RECONCILER_VENUES_UNVERIFIED, balance_sync_failures(result.skipped))
    try:
        _platform_state(reconciler)
    except Exception:  # the sweep ran and is reported; a gauge that cannot be read is logged
        logger.exception("kill switch or breaker states not read")
    if incidents:
        logger.error("reconciler raised incidents", extra=result.model_dump(mode="json"))
    return result.model_dump(mode="json")
