"""In-memory stand-ins for the saga's ports, recording everything so tests can assert from their own state."""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from arbiter.models import (
    Balance,
    Balances,
    Execution,
    ExecutionStatus,
    Fee,
    Order,
    OrderBook,
    OrderIntent,
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
class Journal:
    executions: dict[str, Execution] = field(default_factory=dict)
    events: list[tuple[str, str, dict[str, Any]]] = field(default_factory=list)
    intents_by_id: dict[str, OrderIntent] = field(default_factory=dict)
    intent_recorded_at: dict[str, int] = field(default_factory=dict)
    orders: dict[str, Order] = field(default_factory=dict)
    pnl: dict[str, dict[str, Decimal]] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def create(self, execution: Execution) -> tuple[bool, Execution]:
        with self.lock:
            if execution.execution_id in self.executions:
                return False, self.executions[execution.execution_id]
            self.executions[execution.execution_id] = execution
            self.events.append((execution.execution_id, "created", {}))
            return True, execution

    def get(self, execution_id: str) -> Execution:
        return self.executions[execution_id]

    def set_status(self, execution_id: str, status: ExecutionStatus, at_ms: int, reason: str | None = None) -> None:
        with self.lock:
            current = self.executions[execution_id]
            self.executions[execution_id] = current.model_copy(
                update={"status": status, "updated_at": max(at_ms, current.created_at), "reason": reason}
            )
            self.events.append((execution_id, "status", {"status": status.value, "reason": reason}))

    def append_event(self, execution_id: str, kind: str, detail: Mapping[str, Any], at_ms: int) -> None:
        with self.lock:
            self.events.append((execution_id, kind, dict(detail)))

    def record_intent(self, intent: OrderIntent, at_ms: int) -> None:
        with self.lock:
            if intent.client_order_id not in self.intents_by_id:
                self.intents_by_id[intent.client_order_id] = intent
                self.intent_recorded_at[intent.client_order_id] = len(self.events)
                self.events.append((intent.execution_id, "intent", {"client_order_id": intent.client_order_id}))

    def intents(self, execution_id: str) -> Sequence[OrderIntent]:
        return [i for i in self.intents_by_id.values() if i.execution_id == execution_id]

    def record_order(self, execution_id: str, order: Order, at_ms: int) -> None:
        with self.lock:
            assert order.client_order_id is not None
            self.orders[order.client_order_id] = order

    def record_pnl(self, execution_id: str, pnl: Mapping[str, Decimal], at_ms: int) -> None:
        self.pnl[execution_id] = dict(pnl)


@dataclass
class KillSwitch:
    engaged: bool = False
    reasons: list[str] = field(default_factory=list)

    def is_engaged(self) -> bool:
        return self.engaged

    def engage(self, reason: str, at_ms: int) -> None:
        self.engaged = True
        self.reasons.append(reason)


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
