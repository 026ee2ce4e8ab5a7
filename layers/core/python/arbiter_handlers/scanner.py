"""The scanner's handler: one run of one shard per EventBridge Scheduler invocation (every minute, one schedule
per shard). The run holds the shard's lease until shortly before the function's timeout; an invocation that
finds the lease held (and not about to be handed over) returns at once.

Powertools: JSON logs, X-Ray tracing, EMF metrics (the scanner's own through ``PowertoolsScannerMetrics``)."""

from __future__ import annotations

import asyncio
from typing import Any

from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import BaseModel, ConfigDict, Field

from arbiter.models.heartbeat import FeedHealth
from arbiter.monitoring.catalog import SCANNER_RUNS
from arbiter.scanner import RunReport
from arbiter_handlers.metrics import emit
from arbiter_handlers.wiring import scanner_service

logger = Logger(service="scanner")
tracer = Tracer(service="scanner")


class ScanEvent(BaseModel):
    """What the shard's schedule sends (other fields EventBridge Scheduler may add are ignored)."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    shard: int = Field(ge=0, le=63)


class ScanResult(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    shard: str
    ran: bool
    reason: str
    ticks: int
    updates: int
    started: tuple[str, ...]
    refused: dict[str, int]
    health: dict[str, FeedHealth]
    scoring: str = ""
    """By which model the run ranked opportunities, or by expected profit and why."""

    @classmethod
    def of(cls, report: RunReport) -> ScanResult:
        return cls(
            shard=report.shard,
            ran=report.ran,
            reason=report.reason,
            ticks=report.ticks,
            updates=report.updates,
            started=tuple(report.started),
            refused=dict(report.refused),
            health=dict(report.health),
            scoring=report.scoring,
        )


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    request = ScanEvent.model_validate(event)
    service = scanner_service(request.shard)
    result = ScanResult.of(asyncio.run(service.run(context.get_remaining_time_in_millis())))
    emit(SCANNER_RUNS, int(result.ran))
    logger.info("scanner run ended", extra=result.model_dump(mode="json", exclude={"started"}))
    return result.model_dump(mode="json")
