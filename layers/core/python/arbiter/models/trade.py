"""What venues report besides orders: fills (trades), tickers, and the acknowledgement of a request."""

from __future__ import annotations

from decimal import Decimal

from arbiter.models.common import NonNegativeDecimal, PositiveDecimal, Side, Symbol, TimestampMs, ValueModel, VenueId
from arbiter.models.order import Fee


class Trade(ValueModel):
    venue: VenueId
    symbol: Symbol
    trade_id: str
    exchange_order_id: str | None = None
    side: Side
    price: PositiveDecimal
    amount: PositiveDecimal
    cost: NonNegativeDecimal
    fees: tuple[Fee, ...] = ()
    taker: bool | None = None
    timestamp: TimestampMs


class Ticker(ValueModel):
    venue: VenueId
    symbol: Symbol
    bid: PositiveDecimal | None = None
    ask: PositiveDecimal | None = None
    last: PositiveDecimal | None = None
    timestamp: TimestampMs


class OrderAck(ValueModel):
    """A venue's answer to a create or cancel that does not carry the order's state (kraken answers only with
    its id): the gateway fetches the order by its id before it reports anything about fills."""

    venue: VenueId
    exchange_order_id: str | None = None
    client_order_id: str | None = None
    symbol: Symbol | None = None
    amount: Decimal | None = None
