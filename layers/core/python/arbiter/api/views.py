"""The API's requests and answers as pydantic models: the routes validate against them and the OpenAPI document
is generated from them, so the contract and the code cannot drift apart."""

from __future__ import annotations

from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from arbiter.models import Execution, ExecutionStatus, Opportunity, Order, OrderIntent
from arbiter.models.common import Asset, TimestampMs, VenueId
from arbiter.models.controls import Lock, LockScope, PauseState
from arbiter.models.heartbeat import FeedHealth
from arbiter.models.risk import KillSwitchState, RiskLimits
from arbiter.storage.audit import AuditEvent
from arbiter.storage.breakers import BreakerPosition

Reason = Annotated[str, Field(min_length=1, max_length=500, description="why, in words people will read later")]
Cursor = Annotated[str, Field(min_length=1, max_length=400, description="next_cursor of the previous page")]


class View(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


# -- requests -------------------------------------------------------------------------------------------------
class ReasonRequest(View):
    reason: Reason


class ReleaseRequest(View):
    reason: Reason
    version: int = Field(ge=0, description="the kill switch version the caller saw (GET /v1/health)")


class LockRequest(View):
    scope: LockScope
    target: str = Field(
        min_length=1,
        max_length=400,
        description="a venue id, a unified symbol (BTC/USDT), or a route: legs' venue:symbol joined by '>'",
    )
    until_ms: TimestampMs
    reason: Reason


class ResolveRequest(View):
    note: str = Field(min_length=1, max_length=2000, description="what was found and done")


class RiskLimitsUpdate(View):
    version: int = Field(ge=1, description="the version this change is based on")
    risk_limits: RiskLimits


class StrategiesUpdate(View):
    version: int = Field(ge=1, description="the version this change is based on")
    parameters: dict[Annotated[str, Field(min_length=1, max_length=64)], Annotated[str, Field(max_length=256)]] = Field(
        description="strategy parameters to set, by name (the others keep their values)"
    )


# -- answers --------------------------------------------------------------------------------------------------
class ErrorBody(View):
    error: str
    message: str
    fields: list[str] = Field(default_factory=list, description="the request fields at fault")
    current: dict[str, object] | None = Field(default=None, description="on a conflict: the current state")
    detail: list[dict[str, object]] = Field(
        default_factory=list, description="each problem's location, message and type (FastAPI's shape)"
    )


class RiskConfig(View):
    version: int
    risk_limits: RiskLimits
    updated_at: int
    updated_by: str


class StrategiesConfig(View):
    version: int
    parameters: dict[str, str]
    updated_at: int
    updated_by: str


class LockList(View):
    locks: list[Lock]


class ExecutionSummary(View):
    execution_id: str
    status: ExecutionStatus
    kind: str
    route: str
    created_at: int
    updated_at: int
    expected_profit: Decimal
    profit_currency: Asset
    reason: str | None


class ExecutionPage(View):
    items: list[ExecutionSummary]
    next_cursor: str | None = Field(description="pass as cursor for the next page; null on the last")


class OrderView(View):
    intent: OrderIntent
    order: Order | None = Field(description="the last state a venue reported; null if none ever did")


class ChainVerdict(View):
    intact: bool
    events: int
    first_broken_link: int | None
    truncated: bool


class Resolution(View):
    note: str
    by: str
    at_ms: int


class ExecutionDetail(View):
    execution: Execution
    orders: list[OrderView]
    fees: dict[str, Decimal] = Field(description="fees paid, per currency")
    pnl: dict[str, Decimal] = Field(description="realised P&L per asset, as recorded")
    audit: list[AuditEvent]
    chain: ChainVerdict
    resolution: Resolution | None


class OpportunityPage(View):
    items: list[Opportunity]
    next_cursor: str | None


class RefusalCount(View):
    code: str = Field(description="the risk rule or check that refused (the Refused event's code)")
    executions: int


class OpportunityOutcomes(View):
    """What became of the opportunities over a range: how many were seen, how their executions ended, and why
    the refused ones were refused."""

    from_ms: int
    to_ms: int
    seen: int = Field(description="opportunities the scanner kept over the range")
    executions: dict[str, int] = Field(description="executions created over the range, per status")
    refused_by_reason: list[RefusalCount] = Field(description="refused executions per refusal code, most first")


class Incident(View):
    execution_id: str
    reason: str | None
    route: str
    created_at: int
    updated_at: int
    resolved: bool
    resolution: Resolution | None


class IncidentPage(View):
    items: list[Incident]
    next_cursor: str | None


class VenueBalances(View):
    venue: VenueId
    balances: dict[str, Decimal] = Field(description="free plus in orders, per asset, at the last verified sweep")
    verified_at_ms: int | None
    age_ms: int | None = Field(description="how old the verified balances are; null if never verified")
    attempted_at_ms: int | None
    error: str | None


class BalanceList(View):
    venues: list[VenueBalances]


class PnlGrouping(StrEnum):
    DAY = "day"
    VENUE = "venue"
    ASSET = "asset"


class PnlRow(View):
    key: str = Field(description="the day (YYYY-MM-DD), the venue or the asset")
    pnl: dict[str, Decimal]
    executions: int | None = Field(description="executions counted in the row (by venue only)")


class PnlReport(View):
    from_ms: int
    to_ms: int
    by: PnlGrouping
    rows: list[PnlRow]


class VenueHealth(View):
    venue: VenueId
    breaker: BreakerPosition | None
    breaker_failures: int | None
    verified_at_ms: int | None
    last_attempt_ms: int | None
    error: str | None
    unreadable_since_ms: int | None


class Health(View):
    status: Literal["ok", "degraded"] = Field(description="degraded: some parts could not be read (see missing)")
    as_of_ms: int = Field(description="the platform's clock when this was read: ages are measured from it")
    trading: Literal["active", "paused", "halted", "unknown"]
    kill_switch: KillSwitchState | None
    pause: PauseState | None
    active_locks: int | None
    venues: list[VenueHealth]
    reconciler_last_sweep_ms: int | None
    last_incident: Incident | None
    scanner_shards: dict[str, int] | None = Field(description="last heartbeat per scanner shard (ms)")
    scanner_feeds: dict[str, list[FeedHealth]] | None = Field(
        description="per scanner shard, each venue's feed as its last heartbeat reported it"
    )
    scanner_scoring: dict[str, str | None] | None = Field(
        default=None, description="per scanner shard, how it ranks: by the live model, or why by expected profit"
    )
    missing: list[str] = Field(description="each part that could not be read, and why")
