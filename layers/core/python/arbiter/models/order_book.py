"""Order books as they are traded on: sorted, uncrossed, positive, timestamped."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from pydantic import field_validator, model_validator

from arbiter.models.common import (
    NonNegativeDecimal,
    PositiveDecimal,
    Side,
    Symbol,
    TimestampMs,
    ValueModel,
    VenueId,
)


class BookLevel(ValueModel):
    price: PositiveDecimal
    amount: PositiveDecimal

    @model_validator(mode="before")
    @classmethod
    def _from_ccxt_pair(cls, data: Any) -> Any:
        # ccxt sends levels as [price, amount] (some venues add a count or an id as a third item).
        if isinstance(data, Sequence) and not isinstance(data, str):
            if len(data) < 2:
                raise ValueError(f"a level needs [price, amount], got {list(data)!r}")
            return {"price": _exact(data[0]), "amount": _exact(data[1])}
        return data


def _exact(value: Any) -> Any:
    # A float from ccxt's JSON parsing becomes the Decimal of its shortest repr, never its binary expansion.
    return Decimal(repr(value)) if isinstance(value, float) else value


class Sweep(ValueModel):
    """What taking liquidity from one side of a book would give: base filled, quote paid or received."""

    side: Side
    filled: NonNegativeDecimal
    cost: NonNegativeDecimal
    worst_price: PositiveDecimal | None = None

    @property
    def average(self) -> Decimal | None:
        return self.cost / self.filled if self.filled else None


class OrderBook(ValueModel):
    venue: VenueId
    symbol: Symbol
    bids: tuple[BookLevel, ...]
    asks: tuple[BookLevel, ...]
    timestamp: TimestampMs

    @field_validator("bids")
    @classmethod
    def _bids_descending(cls, bids: tuple[BookLevel, ...]) -> tuple[BookLevel, ...]:
        for i in range(1, len(bids)):
            if bids[i].price >= bids[i - 1].price:
                raise ValueError(
                    f"bids[{i}].price {bids[i].price} is not below bids[{i - 1}].price {bids[i - 1].price}: "
                    "bids must be sorted best (highest) first with distinct prices"
                )
        return bids

    @field_validator("asks")
    @classmethod
    def _asks_ascending(cls, asks: tuple[BookLevel, ...]) -> tuple[BookLevel, ...]:
        for i in range(1, len(asks)):
            if asks[i].price <= asks[i - 1].price:
                raise ValueError(
                    f"asks[{i}].price {asks[i].price} is not above asks[{i - 1}].price {asks[i - 1].price}: "
                    "asks must be sorted best (lowest) first with distinct prices"
                )
        return asks

    @model_validator(mode="after")
    def _not_crossed(self) -> OrderBook:
        if self.bids and self.asks and self.bids[0].price >= self.asks[0].price:
            raise ValueError(
                f"bids[0].price {self.bids[0].price} >= asks[0].price {self.asks[0].price}: the book is crossed"
            )
        return self

    @property
    def best_bid(self) -> BookLevel | None:
        return self.bids[0] if self.bids else None

    @property
    def best_ask(self) -> BookLevel | None:
        return self.asks[0] if self.asks else None

    def sweep(self, side: Side, amount: Decimal, limit_price: Decimal | None = None) -> Sweep:
        """Take up to ``amount`` (base) as a taker: a buy lifts asks at or below ``limit_price``, a sell hits
        bids at or above it. The book itself is not changed."""
        levels = self.asks if side is Side.BUY else self.bids
        remaining, cost, worst = amount, Decimal(0), None
        for level in levels:
            if remaining <= 0:
                break
            if limit_price is not None and (
                level.price > limit_price if side is Side.BUY else level.price < limit_price
            ):
                break
            take = min(remaining, level.amount)
            remaining -= take
            cost += take * level.price
            worst = level.price
        return Sweep(side=side, filled=amount - remaining, cost=cost, worst_price=worst)

    def age_ms(self, now_ms: int) -> int:
        return now_ms - self.timestamp

    @classmethod
    def from_ccxt(cls, venue: str, raw: dict[str, Any]) -> OrderBook:
        """Build from ccxt's ``fetch_order_book`` result; ccxt's own timestamp is required, never invented."""
        return cls.model_validate(
            {
                "venue": venue,
                "symbol": raw.get("symbol"),
                "bids": raw.get("bids"),
                "asks": raw.get("asks"),
                "timestamp": raw.get("timestamp"),
            }
        )
