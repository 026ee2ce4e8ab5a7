"""In-memory stand-ins for the saga's ports, recording everything so tests can assert from their own state."""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from arbiter.models import (
    Balance,
    Balances,
    Fee,
    Order,
    OrderBook,
    OrderRequest,
    OrderStatus,
    OrderType,
    Side,
)


class VenueDown(Exception):  # noqa: N818 - named as venues name it
    pass


@dataclass
class Clock:
    now: int = 1_700_000_000_000

    def now_ms(self) -> int:
        return self.now


@dataclass
class Alerts:
    published: list[tuple[str, Mapping[str, Any]]] = field(default_factory=list)

    def publish(self, subject: str, message: Mapping[str, Any]) -> None:
        self.published.append((subject, message))


@dataclass
class ScriptedVenue:
    """A venue that fills IOC limit orders against a fixed book, with faults scripted per clientOrderId order
    of arrival. Its ``orders`` and ``placements`` are the ground truth tests assert on."""

    venue: str
    books: dict[str, OrderBook]
    balances: dict[str, Decimal]
    taker_fee: Decimal = Decimal("0.001")
    reject_symbols: set[str] = field(default_factory=set)
    fill_ratio: Decimal = Decimal(1)
    rest_ids: set[str] = field(default_factory=set)
    """Orders the venue leaves open unfilled (as a venue that ignores IOC would)."""
    timeout_after_accept: set[str] = field(default_factory=set)
    cancel_failures: int = 0
    down: bool = False
    orders: dict[str, Order] = field(default_factory=dict)
    placements: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def _check_up(self) -> None:
        if self.down:
            raise VenueDown(self.venue)

    def place_order(self, request: OrderRequest) -> Order:
        self._check_up()
        with self.lock:
            self.placements.append(request.client_order_id)
            if request.client_order_id in self.orders:
                raise AssertionError(f"duplicate clientOrderId {request.client_order_id}")
            if request.symbol in self.reject_symbols:
                raise ValueError(f"{self.venue} rejected {request.symbol}")
            assert request.price is not None
            sweep = self.books[request.symbol].sweep(request.side, request.amount * self.fill_ratio, request.price)
            resting = request.client_order_id in self.rest_ids
            if resting:
                sweep = sweep.model_copy(update={"filled": Decimal(0), "cost": Decimal(0), "worst_price": None})
            status = OrderStatus.OPEN if resting else OrderStatus.CLOSED
            if status is OrderStatus.CLOSED and sweep.filled < request.amount:
                status = OrderStatus.CANCELED  # IOC remainder expires
            order = Order(
                venue=self.venue,
                symbol=request.symbol,
                side=request.side,
                type=OrderType.LIMIT,
                amount=request.amount,
                price=request.price,
                client_order_id=request.client_order_id,
                exchange_order_id=f"x-{len(self.orders)}",
                status=status,
                filled=sweep.filled,
                remaining=request.amount - sweep.filled,
                average=sweep.average,
                fees=(Fee(cost=sweep.cost * self.taker_fee, currency=request.symbol.split("/")[1]),)
                if sweep.filled
                else (),
            )
            self.orders[request.client_order_id] = order
            if request.client_order_id in self.timeout_after_accept:
                raise TimeoutError("accepted, but the response was lost")
            return order

    def find_order(self, client_order_id: str, symbol: str) -> Order | None:
        self._check_up()
        return self.orders.get(client_order_id)

    def fetch_order(self, client_order_id: str, symbol: str) -> Order:
        order = self.find_order(client_order_id, symbol)
        if order is None:
            raise KeyError(client_order_id)
        return order

    def cancel_order(self, client_order_id: str, symbol: str) -> Order:
        self._check_up()
        with self.lock:
            if self.cancel_failures > 0:
                self.cancel_failures -= 1
                raise VenueDown(f"{self.venue} cancel failed")
            order = self.orders[client_order_id]
            if order.status is OrderStatus.OPEN:
                order = order.model_copy(update={"status": OrderStatus.CANCELED})
                self.orders[client_order_id] = order
            return order

    def fetch_order_book(self, symbol: str, limit: int | None = None) -> OrderBook:
        self._check_up()
        return self.books[symbol]

    def fetch_balances(self) -> Balances:
        self._check_up()
        return Balances(
            venue=self.venue,
            balances={a: Balance(asset=a, free=v) for a, v in self.balances.items()},
            timestamp=Clock().now,
        )

    def open_orders(self) -> list[Order]:
        return [o for o in self.orders.values() if o.status is OrderStatus.OPEN]


def side_of(text: str) -> Side:
    return Side(text)
