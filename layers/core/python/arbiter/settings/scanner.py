"""Settings of the scanner: the universe it follows, how it is sharded, and how each run holds its shard."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, field_validator

from arbiter.models.common import Symbol, VenueId


class ScannerSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    universe: dict[VenueId, tuple[Symbol, ...]] = Field(
        default_factory=dict,
        description='books followed per venue, e.g. {"binance": ["BTC/USDT", "ETH/USDT"]}; required when deployed',
    )
    shards: int = Field(default=1, ge=1, le=64, description="the universe split by base asset into this many")
    depth: int = Field(default=20, ge=1, le=100, description="levels per side followed and sized against")
    run_ms: int = Field(
        default=65_000,
        ge=1_000,
        description="how long one invocation follows its shard: past the next minute's invocation, which then "
        "warms up and takes over when this one stops",
    )
    stop_margin_ms: int = Field(default=3_000, ge=0, description="stop this long before the Lambda's timeout")
    lease_ms: int = Field(default=15_000, ge=1_000, description="a lease not renewed for this long is free")
    heartbeat_ms: int = Field(
        default=5_000, ge=1_000, description="how often the lease holder stores its heartbeat (feeds' health)"
    )
    handover_window_ms: int = Field(
        default=10_000,
        ge=0,
        description="an invocation finding a lease that ends within this long warms up and takes over; else exits",
    )
    route_cooldown_ms: int = Field(default=30_000, ge=0, description="no second start on the same legs this soon")
    state_refresh_ms: int = Field(
        default=1_000, ge=1, le=1_000, description="kill switch, limits and running executions read at most this often"
    )
    usd_read_ahead_ms: int = Field(
        default=60_000,
        ge=1_000,
        description="an asset the shard's own books cannot value (another shard's, a fee asset) is valued from the "
        "venues' books read ahead this often",
    )
    max_starts_per_tick: int = Field(default=2, ge=1, le=50)
    opportunity_retention_days: int = Field(default=30, ge=1, le=3650)
    state_machine_arn: str | None = Field(
        default=None, pattern=r"^arn:[a-z-]+:states:", description="the arbitrage state machine executions start on"
    )

    @field_validator("universe")
    @classmethod
    def _books_listed(cls, universe: dict[str, tuple[str, ...]]) -> dict[str, tuple[str, ...]]:
        for venue, symbols in universe.items():
            if not symbols:
                raise ValueError(f"{venue}: no symbols")
            repeated = sorted({s for s in symbols if symbols.count(s) > 1})
            if repeated:
                raise ValueError(f"{venue}: repeated symbols {', '.join(repeated)}")
        return universe
