"""How each venue's ccxt implementation carries our clientOrderId and finds an order by it (ccxt 4.5.90, read
in its source; the HTTP-level tests in tests/integration/gateway/test_venue_order_ids.py run real ccxt against them).

- binance: ``clientOrderId`` becomes ``newClientOrderId`` on create; ``fetch_order(None, symbol,
  {"clientOrderId": ...})`` asks for ``origClientOrderId``.
- coinbase: ``create_order`` omits ``clientOrderId`` and sends its own ``client_order_id`` ("ccxt-<uuid>");
  only a ``client_order_id`` param overrides it (the request is extended with the remaining params). Get Order
  needs the venue's order id, so an order is found by its id in the recent order list.
- kraken: ``clientOrderId`` becomes ``cl_ord_id`` on create, but ``fetch_order`` sends it as ``userref`` (an
  integer field) next to a ``txid`` of None; the open and closed order lists filter by ``cl_ord_id``.

- trades: binance's order read has no fees; the order's trades (``fetch_order_trades``, myTrades by orderId)
  carry each fill's commission, in whatever currency it was charged (BNB with the fee discount).
- expiry: binance refuses a signed request that arrives more than ``recvWindow`` ms after its timestamp, and
  kraken an AddOrder past its ``deadline`` (an RFC 3339 time, between 2 s and 60 s ahead; ccxt passes the
  param through to the request), so once the expiry has passed since a send, a lookup that misses the order
  proves it never executed. Coinbase has no request expiry: there a miss after a possible send stays
  unconfirmed, and only the venue's listing can ever settle it.

A venue missing here has no verified clientOrderId handling, so the gateway refuses to trade on it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum


class Lookup(StrEnum):
    FETCH_ORDER = "fetch_order"
    """``fetch_order(None, symbol, {lookup_param: cid})``: the venue answers for one clientOrderId."""
    OPEN_THEN_CLOSED = "open_then_closed"
    """``fetch_open_orders`` then ``fetch_closed_orders`` with ``{lookup_param: cid}``, matched on clientOrderId."""
    RECENT_ORDERS = "recent_orders"
    """``fetch_orders(symbol, limit=recent_limit)``, matched on clientOrderId: the venue filters by nothing better."""


@dataclass(frozen=True)
class VenueOrderIds:
    send_param: str
    """The ``create_order`` param that reaches the venue as its client order id."""
    lookup: Lookup
    lookup_param: str | None = None
    recent_limit: int = 100
    expiry_param: str | None = None
    """The ``create_order`` param by which the venue refuses a request that reaches it too late (its value:
    ``expiry_ms``); without one, a lookup that misses an order that may have been sent is never conclusive."""
    expiry_ms: int = 5_000
    expiry_as_deadline: bool = False
    """The param is a time (RFC 3339, as kraken's ``deadline``) rather than a window in milliseconds."""
    order_trades: bool = False
    """Read an order's trades (``fetch_order_trades``) whenever it has filled: the venue's order read carries no
    fees (binance's GET order has no commission), so only its trades tell what the order cost."""

    def expiry_value(self, now_ms: int) -> int | str:
        """The expiry param's value for a request signed at ``now_ms``."""
        if not self.expiry_as_deadline:
            return self.expiry_ms
        deadline = datetime.fromtimestamp((now_ms + self.expiry_ms) / 1000, tz=UTC)
        return deadline.isoformat(timespec="milliseconds").replace("+00:00", "Z")


VENUE_ORDER_IDS: Mapping[str, VenueOrderIds] = {
    "binance": VenueOrderIds(
        send_param="clientOrderId",
        lookup=Lookup.FETCH_ORDER,
        lookup_param="clientOrderId",
        expiry_param="recvWindow",
        order_trades=True,
    ),
    "coinbase": VenueOrderIds(send_param="client_order_id", lookup=Lookup.RECENT_ORDERS),
    "kraken": VenueOrderIds(
        send_param="clientOrderId",
        lookup=Lookup.OPEN_THEN_CLOSED,
        lookup_param="clientOrderId",
        expiry_param="deadline",
        expiry_as_deadline=True,
    ),
}


class UnsupportedVenueError(ValueError):
    pass


def order_ids_for(venue: str) -> VenueOrderIds:
    try:
        return VENUE_ORDER_IDS[venue]
    except KeyError:
        raise UnsupportedVenueError(
            f"venue: {venue!r} has no verified clientOrderId handling (known: {', '.join(sorted(VENUE_ORDER_IDS))})"
        ) from None
