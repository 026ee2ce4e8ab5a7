"""The paper venue: a matching simulator that behaves like a real venue for Arbiter's purposes.

Limit orders match against the current book (a buy lifts asks at or below its price, a sell hits bids at or
above it); IOC remainders expire, GTC remainders rest. Precision, minimum amount and minimum cost are enforced
as the venue would, balances are checked and moved (taker fee charged in the quote currency), a duplicate
clientOrderId is refused, and faults are injected per call from ``VenueFaults``. It serves local mode (books
from the simulated market model) and paper mode (books fetched from the real venue).

Its state (orders by clientOrderId, placements in arrival order, balances) is the ground truth that tests
assert the saga's invariants against.
"""

from __future__ import annotations

import random
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Mapping
from decimal import Decimal

from arbiter.gateway.errors import (
    InsufficientFundsError,
    InvalidOrderError,
    OrderNotFoundError,
    OrderRejectedError,
    VenueTimeoutError,
    VenueUnavailableError,
)
from arbiter.gateway.faults import FaultRule, PlaceFault, VenueFaults
from arbiter.markets import round_amount, round_price
from arbiter.models import (
    Balance,
    Balances,
    Fee,
    Market,
    Order,
    OrderBook,
    OrderRequest,
    OrderStatus,
    OrderType,
    Side,
    TimeInForce,
)
from arbiter.models.order_book import Sweep

BookSource = Callable[[str], OrderBook]
"""Returns the venue's current book for a symbol."""


class PaperVenue:
    def __init__(
        self,
        venue: str,
        markets: Mapping[str, Market],
        books: BookSource,
        balances: Mapping[str, Decimal],
        clock: Callable[[], int],
        faults: VenueFaults | None = None,
    ) -> None:
        self.venue = venue
        self.markets = dict(markets)
        self.books = books
        self.clock = clock
        self.faults = faults or VenueFaults()
        self.free: dict[str, Decimal] = defaultdict(Decimal, balances)
        self.used: dict[str, Decimal] = defaultdict(Decimal)
        self.orders: dict[str, Order] = {}
        self.placements: list[str] = []
        """clientOrderIds in the order their placement reached the venue (accepted or not)."""
        self.arrivals: list[float] = []
        """``time.perf_counter()`` at each placement's arrival, parallel to ``placements``."""
        self.duplicate_submissions: list[str] = []
        """clientOrderIds sent again after the venue had accepted them (refused, as real venues do)."""
        self._calls = 0
        self._matched_rules: Counter[FaultRule] = Counter()
        self._cancel_failures_left = self.faults.cancel_failures
        self._random = random.Random(self.faults.seed)  # noqa: S311 - fault injection, not cryptography
        self._lock = threading.RLock()

    # -- faults ------------------------------------------------------------------------------------------
    def _call(self, symbol: str | None = None, client_order_id: str | None = None) -> None:
        """Count an API call and fail it when the configured outage covers it."""
        if self.faults.latency_ms:
            time.sleep(self.faults.latency_ms / 1000)
        with self._lock:
            call, self._calls = self._calls, self._calls + 1
        start, length = self.faults.outage_from_call, self.faults.outage_calls
        if start is not None and call >= start and (length is None or call < start + length):
            raise VenueUnavailableError(
                "venue unavailable (injected outage)", venue=self.venue, symbol=symbol, client_order_id=client_order_id
            )

    def _place_fault(self, request: OrderRequest) -> PlaceFault | None:
        """Every matching rule counts this placement; the first whose turn it is fires."""
        fired = None
        for rule in self.faults.place:
            if rule.symbol not in (None, request.symbol) or rule.side not in (None, request.side):
                continue
            if self._matched_rules[rule] == rule.nth and fired is None:
                fired = rule.fault
            self._matched_rules[rule] += 1
        if fired is None and self.faults.fault_rates:
            draw, cumulative = self._random.random(), 0.0
            for fault, rate in self.faults.fault_rates.items():
                cumulative += rate
                if draw < cumulative:
                    return fault
        return fired

    # -- orders ------------------------------------------------------------------------------------------
    def place_order(self, request: OrderRequest) -> Order:
        cid, symbol = request.client_order_id, request.symbol
        self._call(symbol, cid)
        with self._lock:
            self.placements.append(cid)
            self.arrivals.append(time.perf_counter())
            fault = self._place_fault(request)
            if fault is PlaceFault.TIMEOUT_BEFORE_ACCEPT:
                raise VenueTimeoutError("request timed out (injected, never reached the venue)", venue=self.venue,
                                        symbol=symbol, client_order_id=cid)  # fmt: skip
            if fault is PlaceFault.REJECT:
                raise OrderRejectedError("order rejected (injected)", venue=self.venue, symbol=symbol,
                                         client_order_id=cid)  # fmt: skip
            if cid in self.orders:
                self.duplicate_submissions.append(cid)
                raise InvalidOrderError("duplicate clientOrderId", venue=self.venue, symbol=symbol, client_order_id=cid)
            market = self._validated_market(request)
            price = request.price
            assert price is not None  # _validated_market refuses a limit order without price
            self._reserve(request, market, price)
            sweep = self._match(request, fault)
            order = self._book_fill(request, market, price, sweep, fault)
            self.orders[cid] = order
            if fault is PlaceFault.TIMEOUT_AFTER_ACCEPT:
                raise VenueTimeoutError("response lost after the venue accepted (injected)", venue=self.venue,
                                        symbol=symbol, client_order_id=cid)  # fmt: skip
            return order

    def _validated_market(self, request: OrderRequest) -> Market:
        cid, symbol = request.client_order_id, request.symbol
        market = self.markets.get(symbol)
        if market is None:
            raise InvalidOrderError("unknown market", venue=self.venue, symbol=symbol, client_order_id=cid)
        if request.type is not OrderType.LIMIT or request.price is None:
            raise InvalidOrderError(
                "only limit orders are accepted", venue=self.venue, symbol=symbol, client_order_id=cid
            )
        problems = []
        if round_amount(market, request.amount) != request.amount:
            problems.append(f"amount {request.amount} is off precision {market.amount_precision}")
        if round_price(market, request.price) != request.price:
            problems.append(f"price {request.price} is off precision {market.price_precision}")
        if market.min_amount is not None and request.amount < market.min_amount:
            problems.append(f"amount {request.amount} below minimum {market.min_amount}")
        if market.min_cost is not None and request.amount * request.price < market.min_cost:
            problems.append(f"cost {request.amount * request.price} below minimum {market.min_cost}")
        if problems:
            raise InvalidOrderError("; ".join(problems), venue=self.venue, symbol=symbol, client_order_id=cid)
        return market

    def _reserve(self, request: OrderRequest, market: Market, price: Decimal) -> None:
        asset, amount = self._commitment(request.side, market, request.amount, price)
        if self.free[asset] < amount:
            raise InsufficientFundsError(
                f"needs {amount} {asset}, has {self.free[asset]}",
                venue=self.venue,
                symbol=request.symbol,
                client_order_id=request.client_order_id,
            )

    @staticmethod
    def _commitment(side: Side, market: Market, amount: Decimal, price: Decimal) -> tuple[str, Decimal]:
        if side is Side.BUY:
            return market.quote, amount * price * (1 + market.taker_fee)
        return market.base, amount

    def _match(self, request: OrderRequest, fault: PlaceFault | None) -> Sweep:
        if fault is PlaceFault.NO_FILL:
            return Sweep(side=request.side, filled=Decimal(0), cost=Decimal(0))
        sweep = self.books(request.symbol).sweep(request.side, request.amount, request.price)
        if fault is PlaceFault.PARTIAL_FILL and sweep.filled:
            market = self.markets[request.symbol]
            wanted = round_amount(market, sweep.filled * self.faults.partial_fill_ratio)
            sweep = self.books(request.symbol).sweep(request.side, wanted, request.price)
        return sweep

    def _book_fill(
        self, request: OrderRequest, market: Market, price: Decimal, sweep: Sweep, fault: PlaceFault | None
    ) -> Order:
        fee = sweep.cost * market.taker_fee
        if sweep.filled:
            if request.side is Side.BUY:
                self.free[market.base] += sweep.filled
                self.free[market.quote] -= sweep.cost + fee
            else:
                self.free[market.base] -= sweep.filled
                self.free[market.quote] += sweep.cost - fee
        remaining = request.amount - sweep.filled
        rests = remaining > 0 and (fault is PlaceFault.NO_FILL or request.time_in_force is TimeInForce.GTC)
        if rests:
            asset, locked = self._commitment(request.side, market, remaining, price)
            self.free[asset] -= locked
            self.used[asset] += locked
            status = OrderStatus.OPEN
        else:
            status = OrderStatus.CLOSED if remaining == 0 else OrderStatus.CANCELED
        return Order(
            venue=self.venue,
            symbol=request.symbol,
            side=request.side,
            type=request.type,
            time_in_force=request.time_in_force,
            amount=request.amount,
            price=price,
            client_order_id=request.client_order_id,
            exchange_order_id=f"{self.venue}-{len(self.orders) + 1}",
            status=status,
            filled=sweep.filled,
            remaining=remaining,
            average=sweep.average,
            fees=(Fee(cost=fee, currency=market.quote),) if sweep.filled else (),
            timestamp=self.clock(),
        )

    def cancel_order(self, client_order_id: str, symbol: str) -> Order:
        self._call(symbol, client_order_id)
        with self._lock:
            order = self.orders.get(client_order_id)
            if order is None:
                raise OrderNotFoundError(
                    "no such order", venue=self.venue, symbol=symbol, client_order_id=client_order_id
                )
            if not order.status.is_final and self._cancel_failures_left != 0:
                self._cancel_failures_left -= 1 if self._cancel_failures_left > 0 else 0
                raise VenueUnavailableError(
                    "cancel failed (injected)", venue=self.venue, symbol=symbol, client_order_id=client_order_id
                )
            if order.status is OrderStatus.OPEN:
                market = self.markets[order.symbol]
                assert order.price is not None
                asset, locked = self._commitment(order.side, market, order.remaining, order.price)
                self.used[asset] -= locked
                self.free[asset] += locked
                order = order.model_copy(update={"status": OrderStatus.CANCELED})
                self.orders[client_order_id] = order
            return order  # already final: its real state, as "OrderNotFound on cancel" means on a real venue

    def find_order(self, client_order_id: str, symbol: str) -> Order | None:
        self._call(symbol, client_order_id)
        return self.orders.get(client_order_id)

    def fetch_order(self, client_order_id: str, symbol: str) -> Order:
        order = self.find_order(client_order_id, symbol)
        if order is None:
            raise OrderNotFoundError("no such order", venue=self.venue, symbol=symbol, client_order_id=client_order_id)
        return order

    def fetch_open_orders(self, symbol: str | None = None) -> list[Order]:
        self._call(symbol)
        return [o for o in self.orders.values() if o.status is OrderStatus.OPEN and symbol in (None, o.symbol)]

    def fetch_order_book(self, symbol: str, limit: int | None = None) -> OrderBook:
        self._call(symbol)
        book = self.books(symbol)
        if self.faults.stale_book_ms:
            book = book.model_copy(update={"timestamp": book.timestamp - self.faults.stale_book_ms})
        if limit is not None:
            book = book.model_copy(update={"bids": book.bids[:limit], "asks": book.asks[:limit]})
        return book

    def fetch_order_books(self, symbols: Iterable[str], limit: int | None = None) -> dict[str, OrderBook]:
        return {symbol: self.fetch_order_book(symbol, limit) for symbol in symbols}

    def fetch_balances(self) -> Balances:
        self._call()
        with self._lock:
            assets = {a for a, v in self.free.items() if v} | {a for a, v in self.used.items() if v}
            return Balances(
                venue=self.venue,
                balances={
                    a: Balance(asset=a, free=max(self.free[a], Decimal(0)), used=self.used[a]) for a in sorted(assets)
                },
                timestamp=self.clock(),
            )
