"""Risk limits and the versioned configuration that carries them."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated

from pydantic import Field

from arbiter.models.common import Asset, TimestampMs, ValueModel

PositiveAmount = Annotated[Decimal, Field(gt=0, allow_inf_nan=False)]


class RiskLimits(ValueModel):
    """Amounts are in USD terms (stablecoin quotes count one for one). Quote age, balance age and the balance
    reserve are start-up settings (``ExecutionSettings``), checked in Prepare before these limits."""

    max_notional_per_execution: PositiveAmount = Decimal(5_000)
    max_notional_per_venue: PositiveAmount = Decimal(25_000)
    max_concurrent_executions: int = Field(default=4, ge=1, le=1_000)
    daily_loss_limit: PositiveAmount = Decimal(500)
    max_asset_exposure: dict[Asset, PositiveAmount] = Field(
        default_factory=dict, description="largest absolute position per asset the platform may hold"
    )
    min_profit_bps: Annotated[Decimal, Field(ge=0, allow_inf_nan=False)] = Decimal(2)
    min_profit_abs: Annotated[Decimal, Field(ge=0, allow_inf_nan=False)] = Decimal("0.05")


class VersionedConfiguration(ValueModel):
    version: int = Field(ge=1)
    risk_limits: RiskLimits = RiskLimits()
    strategy: dict[str, str] = Field(default_factory=dict, description="strategy parameters, by name")
    updated_at: TimestampMs
    updated_by: str = Field(min_length=1, max_length=128)


class KillSwitchState(ValueModel):
    engaged: bool = False
    reason: str = ""
    version: int = Field(default=0, ge=0)
    """0: never changed."""
    at_ms: int = Field(default=0, ge=0)
