"""Settings of the opportunity detector."""

from __future__ import annotations

from decimal import Decimal

from pydantic import BaseModel, ConfigDict, Field


class DetectionSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    max_cycle_length: int = Field(default=3, ge=3, le=3, description="hops per cycle (triangles for now)")
    max_quote_age_ms: int = Field(default=2_000, ge=1, description="older books are never used")
    max_notional: Decimal = Field(
        default=Decimal(2_000), gt=0, description="per opportunity, in USD (converted to its quote or start currency)"
    )
    min_profit: Decimal = Field(
        default=Decimal("0.01"), ge=0, description="in USD, after fees (opportunities are ranked by USD profit)"
    )
    profit_currencies: tuple[str, ...] = Field(
        default=("USDT", "USD", "USDC", "BTC", "ETH"), min_length=1, description="preferred start of a cycle, in order"
    )
