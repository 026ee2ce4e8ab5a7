"""A tradable market on one venue: identity, precision, limits and fees (built from ccxt's market dict)."""

from __future__ import annotations

from decimal import Decimal
from enum import IntEnum
from typing import Annotated

from pydantic import Field, model_validator

from arbiter.models.common import Asset, NonNegativeDecimal, PositiveDecimal, Symbol, ValueModel, VenueId


class PrecisionMode(IntEnum):
    """ccxt's precision modes; the values are ccxt's own constants (``ccxt.TICK_SIZE`` is 4)."""

    DECIMAL_PLACES = 2
    SIGNIFICANT_DIGITS = 3
    TICK_SIZE = 4


# A taker fee at or above 10 % is a parsing accident, not a venue's price list.
TakerFee = Annotated[Decimal, Field(ge=0, lt=Decimal("0.1"), allow_inf_nan=False)]
# Maker fees may be negative: some venues pay a rebate to liquidity makers.
MakerFee = Annotated[Decimal, Field(gt=Decimal("-0.01"), lt=Decimal("0.1"), allow_inf_nan=False)]


class Market(ValueModel):
    venue: VenueId
    symbol: Symbol
    exchange_id: str = Field(min_length=1, description="the venue's own market id (ccxt 'id')")
    base: Asset
    quote: Asset
    spot: bool
    active: bool = True
    precision_mode: PrecisionMode
    amount_precision: PositiveDecimal
    price_precision: PositiveDecimal
    min_amount: NonNegativeDecimal | None = None
    max_amount: PositiveDecimal | None = None
    min_price: NonNegativeDecimal | None = None
    max_price: PositiveDecimal | None = None
    min_cost: NonNegativeDecimal | None = None
    max_cost: PositiveDecimal | None = None
    taker_fee: TakerFee
    maker_fee: MakerFee
    fee_tier_volume: NonNegativeDecimal | None = None

    @model_validator(mode="after")
    def _check_consistency(self) -> Market:
        if self.precision_mode is not PrecisionMode.TICK_SIZE:
            for name in ("amount_precision", "price_precision"):
                value: Decimal = getattr(self, name)
                if value != value.to_integral_value():
                    raise ValueError(f"{name}: {value} is not a whole number of digits ({self.precision_mode.name})")
        for low, high in (("min_amount", "max_amount"), ("min_price", "max_price"), ("min_cost", "max_cost")):
            lo, hi = getattr(self, low), getattr(self, high)
            if lo is not None and hi is not None and lo > hi:
                raise ValueError(f"{low}: {lo} is above {high} {hi}")
        expected_prefix = f"{self.base}/{self.quote}"
        if not self.symbol.startswith(expected_prefix):
            raise ValueError(f"symbol: {self.symbol!r} does not match base {self.base!r} and quote {self.quote!r}")
        return self

    @property
    def key(self) -> tuple[str, str]:
        return (self.venue, self.symbol)
