"""The one venue interface the rest of Arbiter sees. ``CcxtGateway`` (live and paper market data) and
``PaperVenue`` (local and paper fills) both satisfy it; errors are the typed ones in ``arbiter.gateway.errors``."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Protocol, runtime_checkable

from arbiter.models import Balances, Order, OrderBook, OrderRequest


@runtime_checkable
class VenueGateway(Protocol):
    venue: str

    @property
    def send_window_ms(self) -> int | None:
        """How long after a placement call starts a request it made may still execute at the venue (its retries
        and the venue's request expiry, e.g. binance's ``recvWindow``); None when the venue enforces no expiry,
        so that only its listing of the order can ever tell whether a send got through."""
        ...

    def place_order(self, request: OrderRequest) -> Order:
        """Send the order once; an uncertain outcome is resolved by its clientOrderId, never by a second send."""
        ...

    def cancel_order(self, client_order_id: str, symbol: str) -> Order:
        """Cancel if still open; the order's real state afterwards (an already final order is returned as is)."""
        ...

    def fetch_order(self, client_order_id: str, symbol: str) -> Order:
        """The order's state; ``OrderNotFoundError`` when the venue has no such order."""
        ...

    def find_order(self, client_order_id: str, symbol: str) -> Order | None:
        """The order's state, or None when the venue never received it."""
        ...

    def fetch_open_orders(self, symbol: str | None = None) -> list[Order]: ...

    def fetch_order_book(self, symbol: str, limit: int | None = None) -> OrderBook: ...

    def fetch_order_books(self, symbols: Iterable[str], limit: int | None = None) -> dict[str, OrderBook]: ...

    def fetch_balances(self) -> Balances: ...
