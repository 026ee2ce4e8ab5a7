"""Orders as Arbiter intends them and as the venue reports them."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from decimal import Decimal
from enum import StrEnum

from pydantic import Field, model_validator

from arbiter.models.common import (
    Asset,
    FiniteDecimal,
    NonNegativeDecimal,
    PositiveDecimal,
    Side,
    Symbol,
    TimestampMs,
    ValueModel,
    VenueId,
)


class OrderStatus(StrEnum):
    """ccxt's unified order statuses, plus ``rejected`` for an order the venue refused outright."""

    OPEN = "open"
    CLOSED = "closed"
    CANCELED = "canceled"
    EXPIRED = "expired"
    REJECTED = "rejected"

    @property
    def is_final(self) -> bool:
        return self is not OrderStatus.OPEN


class OrderType(StrEnum):
    LIMIT = "limit"
    MARKET = "market"


class TimeInForce(StrEnum):
    GTC = "GTC"
    IOC = "IOC"
    FOK = "FOK"


class Fee(ValueModel):
    # Negative costs are rebates, which some venues pay to makers.
    cost: FiniteDecimal
    currency: Asset


def fee_totals(fees: Iterable[Fee]) -> dict[str, Decimal]:
    """Fees summed per currency, in the order the currencies first appear."""
    totals: dict[str, Decimal] = {}
    for fee in fees:
        totals[fee.currency] = totals.get(fee.currency, Decimal(0)) + fee.cost
    return totals


_CLIENT_ORDER_ID_NAMESPACE = uuid.UUID("6f1d7f0e-4c1b-5d2a-9b8e-a1b17e5a9d00")


def derive_client_order_id(execution_id: str, leg_index: int, attempt: int) -> str:
    """The one clientOrderId of an intent: the same (execution, leg, attempt) always gives the same id.

    A UUID fits every venue we target (binance allows 36 characters, coinbase and kraken expect a UUID),
    so a retried placement can always be looked up by the id it would have used.
    """
    if not execution_id:
        raise ValueError("execution_id: must not be empty")
    if leg_index < 0 or attempt < 0:
        raise ValueError(f"leg_index {leg_index} and attempt {attempt} must not be negative")
    return str(uuid.uuid5(_CLIENT_ORDER_ID_NAMESPACE, f"{execution_id}|{leg_index}|{attempt}"))


class OrderRequest(ValueModel):
    """What Arbiter asks a venue to do; amounts and prices already rounded to the market's precision."""

    venue: VenueId
    symbol: Symbol
    side: Side
    type: OrderType = OrderType.LIMIT
    time_in_force: TimeInForce = TimeInForce.IOC
    amount: PositiveDecimal
    price: PositiveDecimal | None
    client_order_id: str = Field(min_length=1, max_length=64)

    @model_validator(mode="after")
    def _limit_needs_price(self) -> OrderRequest:
        if self.type is OrderType.LIMIT and self.price is None:
            raise ValueError("price: a limit order needs a price")
        return self


class Order(ValueModel):
    """An order's state as the venue last reported it."""

    venue: VenueId
    symbol: Symbol
    side: Side
    type: OrderType
    time_in_force: TimeInForce | None = None
    amount: PositiveDecimal
    price: PositiveDecimal | None = None
    client_order_id: str | None = None
    exchange_order_id: str | None = None
    status: OrderStatus
    filled: NonNegativeDecimal
    remaining: NonNegativeDecimal
    average: PositiveDecimal | None = None
    fees: tuple[Fee, ...] = ()
    timestamp: TimestampMs | None = None

    @model_validator(mode="after")
    def _fills_add_up(self) -> Order:
        if self.filled > self.amount:
            raise ValueError(f"filled: {self.filled} exceeds amount {self.amount}")
        if self.remaining > self.amount:
            raise ValueError(f"remaining: {self.remaining} exceeds amount {self.amount}")
        if self.filled > 0 and self.average is None:
            raise ValueError("average: an order with a fill must carry its average price")
        return self

    @property
    def fees_by_currency(self) -> dict[str, Decimal]:
        """What the order was charged so far, per currency."""
        return fee_totals(self.fees)

    @property
    def cost(self) -> FiniteDecimal:
        """Quote amount exchanged so far (before fees)."""
        return self.filled * self.average if self.average is not None else FiniteDecimal(0)


class OrderIntent(ValueModel):
    """An order Arbiter is about to send, recorded before it is sent (invariant 1), so reconciliation can look
    up every clientOrderId the execution ever used, including those whose placement was never confirmed."""

    execution_id: str
    slot: int
    attempt: int
    client_order_id: str
    venue: VenueId
    symbol: Symbol
    side: Side
    amount: PositiveDecimal
    limit_price: PositiveDecimal

    def request(self) -> OrderRequest:
        return OrderRequest(
            venue=self.venue,
            symbol=self.symbol,
            side=self.side,
            amount=self.amount,
            price=self.limit_price,
            client_order_id=self.client_order_id,
        )


class SendState(StrEnum):
    """Where an intent is in its one send: ``recorded`` (not sent yet), ``sending`` (a request may reach the
    venue), ``sent`` (the venue answered: accepted or refused), ``abandoned`` (never sent, and now never will be)."""

    RECORDED = "recorded"
    SENDING = "sending"
    SENT = "sent"
    ABANDONED = "abandoned"


class IntentClaim(ValueModel):
    """The claim on an intent's one send, held by the call that recorded it. Only that call sends, and only before
    ``claim_until_ms``; nobody declares the intent unsent before then. Once sending, a venue that lists no such
    order proves it never executed only after ``expires_at_ms`` (the venue refuses a request that arrives later);
    without one, nothing but the venue's listing can ever tell."""

    client_order_id: str
    state: SendState
    claim_until_ms: TimestampMs
    expires_at_ms: TimestampMs | None = None
    refused: bool = False
    """Sent, and the venue answered no: no order exists."""

    def moved(
        self, state: SendState, at_ms: int, *, expires_at_ms: int | None = None, refused: bool = False
    ) -> IntentClaim | None:
        """The claim after moving to ``state`` at ``at_ms``; None where the protocol forbids the move: only the
        holder starts sending, before the claim's deadline; anyone abandons a claim never used, after it."""
        allowed = {
            (SendState.RECORDED, SendState.SENDING): at_ms < self.claim_until_ms,
            (SendState.RECORDED, SendState.ABANDONED): at_ms >= self.claim_until_ms,
            (SendState.SENDING, SendState.SENT): True,
        }
        if not allowed.get((self.state, state), False):
            return None
        expires = expires_at_ms if state is SendState.SENDING else self.expires_at_ms
        return self.model_copy(update={"state": state, "expires_at_ms": expires, "refused": refused})

    @property
    def never_executed(self) -> bool:
        """Known from the claim alone: nobody sent the intent (abandoned), or the venue refused it."""
        return self.state is SendState.ABANDONED or self.refused

    def proves_absent(self, at_ms: int) -> bool:
        """Does a venue that lists no such order prove, at ``at_ms``, that none exists or ever will?"""
        if self.never_executed:
            return True
        return self.state is not SendState.RECORDED and self.expires_at_ms is not None and at_ms > self.expires_at_ms


class OrderRecord(StrEnum):
    """What ``record_order`` did with a venue's report."""

    RECORDED = "recorded"
    UNCHANGED = "unchanged"
    REFUSED_STALE = "refused_stale"
    """Older than the recorded state (a late poll): kept out, and the refusal is an audit event."""
