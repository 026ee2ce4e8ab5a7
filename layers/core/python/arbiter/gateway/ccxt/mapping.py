"""ccxt's unified structures turned into our models. A structure our models refuse (missing amount, unknown
status, negative fill) becomes a ``VenueResponseError`` naming the venue, the method and the field, with the
raw response's id for the logs; it is never swallowed."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal, InvalidOperation
from typing import Any

from pydantic import ValidationError

from arbiter.gateway.errors import GatewayError
from arbiter.models import Balance, Balances, Fee, Order, OrderAck, OrderBook, Ticker, Trade
from arbiter.models.order import fee_totals

# ccxt statuses, and the venues' own words that ccxt passes through, mapped onto ours.
STATUSES: Mapping[str, str] = {
    "open": "open",
    "closed": "closed",
    "canceled": "canceled",
    "cancelled": "canceled",
    "expired": "expired",
    "rejected": "rejected",
}


class VenueResponseError(GatewayError):
    def __init__(self, venue: str, method: str, field: str, problem: str, response_id: str | None) -> None:
        self.method, self.field, self.response_id = method, field, response_id
        super().__init__(f"{method}: {field}: {problem} (response id {response_id})", venue=venue)


def _decimal(value: Any) -> Decimal | None:
    if value is None or value == "":
        return None
    try:
        return Decimal(repr(value)) if isinstance(value, float) else Decimal(str(value))
    except InvalidOperation:
        return None


def _fees(raw: Mapping[str, Any]) -> tuple[Fee, ...]:
    fees = raw.get("fees") or ([raw["fee"]] if raw.get("fee") else [])
    found = []
    for fee in fees:
        cost = _decimal(fee.get("cost"))
        if cost is not None and fee.get("currency"):
            found.append(Fee(cost=cost, currency=fee["currency"]))
    return tuple(found)


def _refused(venue: str, method: str, raw: Mapping[str, Any], error: ValidationError) -> VenueResponseError:
    first = error.errors(include_url=False, include_input=False)[0]
    field = ".".join(str(p) for p in first["loc"]) or "response"
    return VenueResponseError(venue, method, field, first["msg"], str(raw.get("id")) if raw.get("id") else None)


def order_from_ccxt(venue: str, method: str, raw: Mapping[str, Any]) -> Order | OrderAck:
    """An order with its state, or only an acknowledgement when the venue said nothing about its state."""
    status = raw.get("status")
    if status is None:
        return OrderAck(
            venue=venue,
            exchange_order_id=raw.get("id"),
            client_order_id=raw.get("clientOrderId"),
            symbol=raw.get("symbol"),
            amount=_decimal(raw.get("amount")),
        )
    if str(status) not in STATUSES:
        raise VenueResponseError(venue, method, "status", f"unknown status {status!r}", raw.get("id"))
    amount, filled = _decimal(raw.get("amount")), _decimal(raw.get("filled"))
    remaining = _decimal(raw.get("remaining"))
    if remaining is None and amount is not None and filled is not None:
        remaining = amount - filled
    average = _decimal(raw.get("average"))
    if average is None and filled and _decimal(raw.get("cost")):
        average = _decimal(raw["cost"]) / filled  # type: ignore[operator]
    try:
        return Order.model_validate(
            {
                "venue": venue,
                "symbol": raw.get("symbol"),
                "side": raw.get("side"),
                "type": raw.get("type"),
                "time_in_force": raw.get("timeInForce") if raw.get("timeInForce") in {"GTC", "IOC", "FOK"} else None,
                "amount": amount,
                "price": _decimal(raw.get("price")) or None,
                "client_order_id": raw.get("clientOrderId"),
                "exchange_order_id": raw.get("id"),
                "status": STATUSES[str(status)],
                "filled": filled,
                "remaining": remaining,
                "average": average or None,
                "fees": _fees(raw),
                "timestamp": raw.get("timestamp"),
            }
        )
    except ValidationError as error:
        raise _refused(venue, method, raw, error) from None


def orders_from_ccxt(venue: str, method: str, raw: Sequence[Mapping[str, Any]]) -> list[Order | OrderAck]:
    return [order_from_ccxt(venue, method, item) for item in raw]


def trade_from_ccxt(venue: str, raw: Mapping[str, Any]) -> Trade:
    try:
        return Trade.model_validate(
            {
                "venue": venue,
                "symbol": raw.get("symbol"),
                "trade_id": raw.get("id"),
                "exchange_order_id": raw.get("order"),
                "side": raw.get("side"),
                "price": _decimal(raw.get("price")),
                "amount": _decimal(raw.get("amount")),
                "cost": _decimal(raw.get("cost")),
                "fees": _fees(raw),
                "taker": None if raw.get("takerOrMaker") is None else raw["takerOrMaker"] == "taker",
                "timestamp": raw.get("timestamp"),
            }
        )
    except ValidationError as error:
        raise _refused(venue, "fetchMyTrades", raw, error) from None


def balances_from_ccxt(venue: str, raw: Mapping[str, Any], received_at_ms: int) -> Balances:
    """ccxt's balance structure; its timestamp when the venue gave one, else when the answer arrived."""
    balances = {}
    for asset, entry in raw.items():
        if asset in {"info", "free", "used", "total", "timestamp", "datetime", "debt"} or not isinstance(entry, dict):
            continue
        free, used = _decimal(entry.get("free")), _decimal(entry.get("used"))
        if free is None and used is None:
            continue
        try:
            balances[asset] = Balance(asset=asset, free=free or Decimal(0), used=used or Decimal(0))
        except ValidationError as error:
            raise _refused(venue, "fetchBalance", {"id": asset}, error) from None
    return Balances(venue=venue, balances=balances, timestamp=raw.get("timestamp") or received_at_ms)


def order_book_from_ccxt(venue: str, raw: Mapping[str, Any], received_at_ms: int) -> OrderBook:
    """Some venues send no book timestamp (binance spot depth): those books are stamped when they arrived,
    which can only make them look younger by the request's round trip, never by more."""
    try:
        return OrderBook.from_ccxt(venue, {**raw, "timestamp": raw.get("timestamp") or received_at_ms})
    except ValidationError as error:
        raise _refused(venue, "fetchOrderBook", raw, error) from None


def ticker_from_ccxt(venue: str, raw: Mapping[str, Any], received_at_ms: int) -> Ticker:
    try:
        return Ticker.model_validate(
            {
                "venue": venue,
                "symbol": raw.get("symbol"),
                "bid": _decimal(raw.get("bid")) or None,
                "ask": _decimal(raw.get("ask")) or None,
                "last": _decimal(raw.get("last")) or None,
                "timestamp": raw.get("timestamp") or received_at_ms,
            }
        )
    except ValidationError as error:
        raise _refused(venue, "fetchTicker", raw, error) from None


def with_trades(order: Order, trades: Sequence[Trade]) -> Order:
    """The order as its own trades tell it: fees summed per currency over them, and where they show more filled
    than the order read did (the order read lags), the fill they show. Trades that lag behind the order read
    leave the fees of the trades seen so far: the next read then differs, so final reads keep reading until two
    agree. A trade of another order is a contradiction: refused, never counted."""
    if not trades:  # none listed yet: the order read is all there is
        return order
    foreign = [t.trade_id for t in trades if t.exchange_order_id not in (None, order.exchange_order_id)]
    if foreign:
        raise VenueResponseError(order.venue, "fetchOrderTrades", "order", "another order's trade", foreign[0])
    fees = fee_totals(fee for trade in trades for fee in trade.fees)
    update: dict[str, Any] = {"fees": tuple(Fee(cost=cost, currency=currency) for currency, cost in fees.items())}
    filled = sum((t.amount for t in trades), Decimal(0))
    if filled > order.filled and filled <= order.amount:
        cost = sum((t.cost for t in trades), Decimal(0))
        update |= {"filled": filled, "remaining": order.amount - filled, "average": cost / filled}
    return Order.model_validate({**order.model_dump(), **update})
