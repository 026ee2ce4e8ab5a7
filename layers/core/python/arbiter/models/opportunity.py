"""An arbitrage opportunity: the legs to trade together, what they should earn, and the quotes behind them."""

from __future__ import annotations

import hashlib
from enum import StrEnum
from typing import Any

from pydantic import Field, computed_field, model_validator

from arbiter.models.common import (
    Asset,
    FiniteDecimal,
    PositiveDecimal,
    Side,
    Symbol,
    TimestampMs,
    ValueModel,
    VenueId,
)


class OpportunityKind(StrEnum):
    CROSS_VENUE = "cross_venue"
    CYCLE = "cycle"


class Leg(ValueModel):
    venue: VenueId
    symbol: Symbol
    side: Side
    amount: PositiveDecimal = Field(description="base amount, rounded to the market's amount precision")
    limit_price: PositiveDecimal = Field(description="worst price walked in the book, rounded to precision")


class QuoteStamp(ValueModel):
    """The book a leg was sized on, identified by venue, symbol and the book's own timestamp."""

    venue: VenueId
    symbol: Symbol
    timestamp: TimestampMs


class Opportunity(ValueModel):
    kind: OpportunityKind
    legs: tuple[Leg, ...] = Field(min_length=2)
    expected_profit: FiniteDecimal
    profit_currency: Asset
    quotes: tuple[QuoteStamp, ...] = Field(min_length=1)
    detected_at: TimestampMs

    @model_validator(mode="before")
    @classmethod
    def _check_serialised_id(cls, data: Any) -> Any:
        # A serialised opportunity carries its derived id; it must still match the legs and quotes it names.
        if isinstance(data, dict) and "id" in data:
            data = dict(data)
            claimed = data.pop("id")
            derived = cls.model_validate(data).id
            if claimed != derived:
                raise ValueError(f"id: {claimed!r} does not match the legs and quotes (expected {derived!r})")
        return data

    @model_validator(mode="after")
    def _quotes_cover_legs(self) -> Opportunity:
        quoted = {(q.venue, q.symbol) for q in self.quotes}
        for i, leg in enumerate(self.legs):
            if (leg.venue, leg.symbol) not in quoted:
                raise ValueError(f"legs[{i}]: no quote for {leg.venue} {leg.symbol}")
        return self

    @computed_field  # type: ignore[prop-decorator]
    @property
    def id(self) -> str:
        """Deterministic: the same legs sized on the same quotes are the same opportunity (used as the
        Step Functions execution name, which de-duplicates starts)."""
        digest = hashlib.sha256()
        for leg in self.legs:
            digest.update(f"{leg.venue}|{leg.symbol}|{leg.side}|{leg.amount}|{leg.limit_price};".encode())
        for quote in sorted(self.quotes, key=lambda q: (q.venue, q.symbol)):
            digest.update(f"{quote.venue}|{quote.symbol}|{quote.timestamp};".encode())
        return f"{self.kind.value[:5]}-{digest.hexdigest()[:32]}"

    @property
    def oldest_quote_ms(self) -> int:
        return min(q.timestamp for q in self.quotes)

    def quote_age_ms(self, now_ms: int) -> int:
        return now_ms - self.oldest_quote_ms
