"""Settings of the arbitrage saga."""

from __future__ import annotations

from decimal import Decimal

from pydantic import BaseModel, ConfigDict, Field


class ExecutionSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    max_quote_age_ms: int = Field(default=2_000, ge=1, description="older quotes are never traded on")
    max_balance_age_ms: int = Field(default=10_000, ge=1, description="older balances are never trusted")
    fill_deadline_ms: int = Field(default=5_000, ge=0, description="after placement, time allowed to fill")
    poll_seconds: int = Field(default=1, ge=0, description="wait between fill polls (0 in local mode)")
    slippage_cap: Decimal = Field(
        default=Decimal("0.005"), gt=0, lt=Decimal("0.1"), description="worst compensation price vs the leg"
    )
    exposure_tolerance: Decimal = Field(
        default=Decimal(1), ge=0, description="exposure worth less than this many US dollars is dust"
    )
    max_compensation_rounds: int = Field(default=2, ge=1, le=5)
    execution_slots: int | None = Field(
        default=None,
        ge=1,
        le=1_000,
        description="hard cap on executions running at once, held by the journal itself (a conditional counter "
        "taken when an execution starts placing and given back when it ends), so it holds even if Prepare's risk "
        "check is bypassed or raced; none: only the risk limit max_concurrent_executions applies",
    )
    settle_delay_ms: int = Field(
        default=2_000, ge=0, le=20_000, description="wait between two reads of an order before they may agree"
    )
    settle_budget_ms: int = Field(
        default=16_000,
        ge=0,
        le=60_000,
        description="time allowed for an order's reads to agree (and an unsent intent to be proven so) before it "
        "counts as unsettled; it covers a send's window on a venue with a request expiry (retries + recvWindow)",
    )
    send_claim_ms: int = Field(
        default=5_000,
        ge=100,
        le=60_000,
        description="the call that recorded an intent must start sending it within this; after it, the intent "
        "may be declared never sent",
    )
    cancel_budget_ms: int = Field(
        default=8_000,
        ge=0,
        le=30_000,
        description="time a step keeps retrying a cancel that fails retryably (an outage of a few calls) before "
        "it records the failure and leaves the order to the next step",
    )
    cancel_retry_ms: int = Field(default=1_000, ge=10, le=10_000, description="wait between two tries of a cancel")
    max_unsent_rounds: int = Field(
        default=3,
        ge=0,
        le=5,
        description="compensation rounds whose every order provably never reached its venue, allowed on top of "
        "max_compensation_rounds (a transient timeout before accept does not use up a round)",
    )
    max_progress_rounds: int = Field(
        default=3,
        ge=0,
        le=5,
        description="compensation rounds that shrank the open position (a flattening order partly filled), allowed "
        "on top of max_compensation_rounds: a round that makes progress is not a failed round",
    )
    balance_reserve: Decimal = Field(
        default=Decimal("0.0"), ge=0, lt=1, description="fraction of each balance never committed"
    )
