"""Balances of one account on one venue, as the venue reported them at a point in time."""

from __future__ import annotations

from decimal import Decimal

from pydantic import Field, model_validator

from arbiter.models.common import Asset, NonNegativeDecimal, TimestampMs, ValueModel, VenueId


class Balance(ValueModel):
    asset: Asset
    free: NonNegativeDecimal
    used: NonNegativeDecimal = Decimal(0)

    @property
    def total(self) -> Decimal:
        return self.free + self.used


class Balances(ValueModel):
    venue: VenueId
    balances: dict[Asset, Balance] = Field(default_factory=dict)
    timestamp: TimestampMs = Field(description="when the venue reported these balances (UTC ms)")

    @model_validator(mode="after")
    def _keys_match_assets(self) -> Balances:
        for key, balance in self.balances.items():
            if key != balance.asset:
                raise ValueError(f"balances[{key!r}]: holds the balance of {balance.asset!r}")
        return self

    def free(self, asset: str) -> Decimal:
        balance = self.balances.get(asset)
        return balance.free if balance is not None else Decimal(0)

    def age_ms(self, now_ms: int) -> int:
        return now_ms - self.timestamp
