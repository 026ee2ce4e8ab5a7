"""The paper venue: a matching simulator that behaves like a real venue for Arbiter's purposes.

Limit orders match against the current book (a buy lifts asks at or below its price, a sell hits bids at or
above it); IOC remainders expire, GTC remainders rest. Precision, minimum amount and minimum cost are enforced
as the venue would, balances are checked and moved (taker fee charged in the quote currency), a duplicate
clientOrderId is refused, and faults are injected per call from ``VenueFaults``. It serves local mode (books
from the simulated market model) and paper mode (books fetched from the real venue).

Its orders and balances live in a ``PaperLedger``: process memory by default, DynamoDB when several Lambdas
must see one paper venue. Each change is computed from the account it read and committed only if nobody changed
the account meanwhile; a lost race is recomputed against a fresh read, a bounded number of times. The ledger's
orders and this instance's placements in arrival order are the ground truth that tests assert the saga's
invariants against.
"""

from __future__ import annotations

import random
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Mapping
from decimal import Decimal
from typing import TypeVar

from tenacity import Retrying, retry_if_exception_type, stop_after_attempt, wait_random_exponential

from arbiter.gateway.errors import (
    InsufficientFundsError,
    InvalidOrderError,
    OrderNotFoundError,
    OrderRejectedError,
    RetryableGatewayError,
    VenueTimeoutError,
    VenueUnavailableError,
)
from arbiter.gateway.paper.faults import FaultRule, PlaceFault, VenueFaults
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
from arbiter.models.symbols import apply_trade
from arbiter.models.time import Clock
from arbiter.storage.paper_ledger import InMemoryPaperLedger, PaperAccount, PaperLedger

BookSource = Callable[[str], OrderBook]
"""Returns the venue's current book for a symbol."""

COMMIT_ATTEMPTS = 10
"""Reads and recomputations of one change before a lost race becomes ``PaperLedgerContentionError``."""

_T = TypeVar("_T")


class PaperLedgerContentionError(RetryableGatewayError):
    """Other invocations kept changing the paper venue's account while this one tried to commit; nothing of
    this request was written, so sending it again is safe."""


class _LostRaceError(Exception):
    """Another writer changed the account between this change's read and its commit."""


class _Funds:
    """A working copy of an account's balances while one change is computed."""

    def __init__(self, account: PaperAccount) -> None:
        self.free: defaultdict[str, Decimal] = defaultdict(Decimal, account.free)
        self.used: defaultdict[str, Decimal] = defaultdict(Decimal, account.used)

    def account(self, read: PaperAccount, resting: dict[str, str], accepted: int) -> PaperAccount:
        return PaperAccount(
            free={a: v for a, v in self.free.items() if v},
            used={a: v for a, v in self.used.items() if v},
            resting=resting,
            accepted=accepted,
            version=read.version + 1,
        )


class PaperVenue:
    def __init__(
        self,
        venue: str,
        markets: Mapping[str, Market],
        books: BookSource,
        balances: Mapping[str, Decimal],
        clock: Clock,
        faults: VenueFaults | None = None,
        ledger: PaperLedger | None = None,
        commit_attempts: int = COMMIT_ATTEMPTS,
    ) -> None:
        """``balances``: the opening free balances, in effect until the ledger's first commit."""
        self.venue = venue
        self.markets = dict(markets)
        self.books = books
        self.clock = clock
        self.faults = faults or VenueFaults()
        self.opening = dict(balances)
        self.ledger: PaperLedger = ledger if ledger is not None else InMemoryPaperLedger()
        if commit_attempts < 1:
            raise ValueError(f"commit_attempts: must be at least 1, got {commit_attempts}")
        self._retries = commit_attempts - 1
        self._retrying = Retrying(
            stop=stop_after_attempt(max(self._retries, 1)),
            wait=wait_random_exponential(multiplier=0.005, max=0.2),
            retry=retry_if_exception_type(_LostRaceError),
            reraise=True,
        )
        self.placements: list[str] = []
        """clientOrderIds in the order their placement reached the venue (accepted or not)."""
        self.arrivals: list[float] = []
        """``time.perf_counter()`` at each placement's arrival, parallel to ``placements``."""
        self.duplicate_submissions: list[str] = []
        """clientOrderIds sent again after the venue had accepted them (refused, as real venues do)."""
        self._calls = 0
        self._matched_rules: Counter[FaultRule] = Counter()
        self._cancel_failures_left = self.faults.cancel_failures
        self._acknowledged: dict[str, tuple[int, Order]] = {}
        """What reads serve while they lag (``read_lag_ms``): per order, when it changed and the state then
        acknowledged."""
        self._lock = threading.RLock()

    # -- state -------------------------------------------------------------------------------------------
    @property
    def send_window_ms(self) -> int:
        """A paper placement executes within its call, which its injected latency may stretch."""
        return self.faults.latency_ms

    @property
    def orders(self) -> dict[str, Order]:
        """Every order the venue accepted, by clientOrderId."""
        return self.ledger.all_orders()

    @property
    def free(self) -> defaultdict[str, Decimal]:
        return defaultdict(Decimal, self.ledger.account(self.opening).free)

    @property
    def used(self) -> defaultdict[str, Decimal]:
        return defaultdict(Decimal, self.ledger.account(self.opening).used)

    def set_free(self, balances: Mapping[str, Decimal]) -> None:
        """Set these assets' free balances (a paper deposit or withdrawal); other assets keep theirs."""

        def change() -> None:
            read = self.ledger.account(self.opening)
            funds = _Funds(read)
            funds.free.update(balances)
            if not self.ledger.commit(funds.account(read, dict(read.resting), read.accepted)):
                raise _LostRaceError

        with self._lock:
            self._committed(change, None, None)

    def _committed(self, change: Callable[[], _T], symbol: str | None, client_order_id: str | None) -> _T:
        """Run ``change`` (read, compute, conditional commit) until it commits without losing a race."""
        try:
            return change()  # the usual case, nobody raced: no retry machinery on the hot path
        except _LostRaceError:
            if not self._retries:
                raise self._contention(symbol, client_order_id) from None
        try:
            return self._retrying(change)
        except _LostRaceError:
            raise self._contention(symbol, client_order_id) from None

    def _contention(self, symbol: str | None, client_order_id: str | None) -> PaperLedgerContentionError:
        return PaperLedgerContentionError(
            "the paper account kept changing under this request; nothing was written",
            venue=self.venue,
            symbol=symbol,
            client_order_id=client_order_id,
        )

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
            # Drawn for the clientOrderId, not in arrival order: legs sent at once from several threads get the
            # same faults whichever arrives first, so a seeded run is the same run every time.
            key = f"{self.faults.seed}:{request.client_order_id}"
            draw, cumulative = random.Random(key).random(), 0.0  # noqa: S311 - fault injection, not cryptography
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
            order = self._committed(lambda: self._accept(request, fault), symbol, cid)
            if self.faults.read_lag_ms:
                unfilled = order.model_copy(
                    update={"status": OrderStatus.OPEN, "filled": Decimal(0), "remaining": order.amount,
                            "average": None, "fees": ()}
                )  # fmt: skip
                self._acknowledged[cid] = (self.clock.now_ms(), unfilled)
            if fault is PlaceFault.TIMEOUT_AFTER_ACCEPT:
                raise VenueTimeoutError("response lost after the venue accepted (injected)", venue=self.venue,
                                        symbol=symbol, client_order_id=cid)  # fmt: skip
            return order

    def _accept(self, request: OrderRequest, fault: PlaceFault | None) -> Order:
        cid, symbol = request.client_order_id, request.symbol
        if self.ledger.order(cid) is not None:
            self.duplicate_submissions.append(cid)
            raise InvalidOrderError("duplicate clientOrderId", venue=self.venue, symbol=symbol, client_order_id=cid)
        market = self._validated_market(request)
        price = request.price
        assert price is not None  # _validated_market refuses a limit order without price
        read = self.ledger.account(self.opening)
        funds = _Funds(read)
        self._reserve(funds, request, market, price)
        sweep = self._match(request, fault)
        order = self._book_fill(funds, request, market, price, sweep, fault, number=read.accepted + 1)
        resting = dict(read.resting)
        if order.status is OrderStatus.OPEN:
            resting[cid] = symbol
        if not self.ledger.commit(funds.account(read, resting, read.accepted + 1), order, new_order=True):
            raise _LostRaceError
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

    def _reserve(self, funds: _Funds, request: OrderRequest, market: Market, price: Decimal) -> None:
        asset, amount = self._commitment(request.side, market, request.amount, price)
        if funds.free[asset] < amount:
            raise InsufficientFundsError(
                f"needs {amount} {asset}, has {funds.free[asset]}",
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
        self,
        funds: _Funds,
        request: OrderRequest,
        market: Market,
        price: Decimal,
        sweep: Sweep,
        fault: PlaceFault | None,
        number: int,
    ) -> Order:
        fee = self._fee(request.side, market, sweep.filled, sweep.cost)
        if sweep.filled:
            _trade(funds, request.side, market, sweep.filled, sweep.cost, fee)
            if fault is PlaceFault.EXECUTED_TWICE:  # the hidden twin: in the balances, in no order listing
                _trade(funds, request.side, market, sweep.filled, sweep.cost, fee)
        remaining = request.amount - sweep.filled
        rests = remaining > 0 and (fault is PlaceFault.NO_FILL or request.time_in_force is TimeInForce.GTC)
        if rests:
            asset, locked = self._commitment(request.side, market, remaining, price)
            funds.free[asset] -= locked
            funds.used[asset] += locked
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
            exchange_order_id=f"{self.venue}-{number}",
            status=status,
            filled=sweep.filled,
            remaining=remaining,
            average=sweep.average,
            fees=(fee,) if sweep.filled else (),
            timestamp=self.clock.now_ms(),
        )

    def _fee(self, side: Side, market: Market, filled: Decimal, cost: Decimal) -> Fee:
        """The taker fee of a fill, in the currency the venue charges it in (the quote unless a fault says)."""
        faults = self.faults
        per_quote = faults.fee_currency_per_quote.get(market.quote) if faults.fee_currency else None
        if faults.fee_currency is not None and per_quote is not None:
            return Fee(cost=cost * market.taker_fee * per_quote, currency=faults.fee_currency)
        if faults.fee_in_received and side is Side.BUY:
            return Fee(cost=filled * market.taker_fee, currency=market.base)
        return Fee(cost=cost * market.taker_fee, currency=market.quote)

    def cancel_order(self, client_order_id: str, symbol: str) -> Order:
        self._call(symbol, client_order_id)
        with self._lock:
            order = self._known(client_order_id, symbol)
            if not order.status.is_final and self._cancel_failures_left != 0:
                self._cancel_failures_left -= 1 if self._cancel_failures_left > 0 else 0
                raise VenueUnavailableError(
                    "cancel failed (injected)", venue=self.venue, symbol=symbol, client_order_id=client_order_id
                )
            if self.faults.fill_at_cancel and order.status is OrderStatus.OPEN:
                acknowledged = order.model_copy(update={"status": OrderStatus.CANCELED})
                self._committed(lambda: self._fill_resting(client_order_id, symbol), symbol, client_order_id)
            else:
                acknowledged = self._committed(lambda: self._cancel(client_order_id, symbol), symbol, client_order_id)
            if self.faults.read_lag_ms:
                self._acknowledged[client_order_id] = (self.clock.now_ms(), acknowledged)
            return acknowledged

    def _known(self, client_order_id: str, symbol: str) -> Order:
        order = self.ledger.order(client_order_id)
        if order is None:
            raise OrderNotFoundError("no such order", venue=self.venue, symbol=symbol, client_order_id=client_order_id)
        return order

    def _cancel(self, client_order_id: str, symbol: str) -> Order:
        # The account first: its version guards the commit, so a cancel by another invocation after this read
        # loses this one the race; and the account's resting set says whether the order still holds funds.
        read = self.ledger.account(self.opening)
        order = self._known(client_order_id, symbol)
        if order.status is not OrderStatus.OPEN or client_order_id not in read.resting:
            return order  # already final: its real state, as "OrderNotFound on cancel" means on a real venue
        funds = _Funds(read)
        market = self.markets[order.symbol]
        assert order.price is not None
        asset, locked = self._commitment(order.side, market, order.remaining, order.price)
        funds.used[asset] -= locked
        funds.free[asset] += locked
        cancelled = order.model_copy(update={"status": OrderStatus.CANCELED})
        resting = {cid: s for cid, s in read.resting.items() if cid != client_order_id}
        if not self.ledger.commit(funds.account(read, resting, read.accepted), cancelled, new_order=False):
            raise _LostRaceError
        return cancelled

    def _fill_resting(self, client_order_id: str, symbol: str) -> Order:
        """The resting order's remainder fills at its limit price (fee in the quote asset), as a venue that
        matched it while the cancel was in flight."""
        read = self.ledger.account(self.opening)
        order = self._known(client_order_id, symbol)
        if order.status is not OrderStatus.OPEN or client_order_id not in read.resting:
            return order
        funds, market = _Funds(read), self.markets[order.symbol]
        assert order.price is not None
        asset, locked = self._commitment(order.side, market, order.remaining, order.price)
        funds.used[asset] -= locked
        funds.free[asset] += locked
        amount, cost = order.remaining, order.remaining * order.price
        fee = self._fee(order.side, market, amount, cost)
        _trade(funds, order.side, market, amount, cost, fee)
        total_cost = (order.average or order.price) * order.filled + cost
        filled = order.model_copy(
            update={
                "status": OrderStatus.CLOSED,
                "filled": order.amount,
                "remaining": Decimal(0),
                "average": total_cost / order.amount,
                "fees": (*order.fees, fee),
            }
        )
        resting = {cid: s for cid, s in read.resting.items() if cid != client_order_id}
        if not self.ledger.commit(funds.account(read, resting, read.accepted), filled, new_order=False):
            raise _LostRaceError
        return filled

    def find_order(self, client_order_id: str, symbol: str) -> Order | None:
        self._call(symbol, client_order_id)
        lagging = self._acknowledged.get(client_order_id)
        if lagging is not None and self.clock.now_ms() - lagging[0] < self.faults.read_lag_ms:
            return lagging[1]
        return self.ledger.order(client_order_id)

    def fetch_order(self, client_order_id: str, symbol: str) -> Order:
        order = self.find_order(client_order_id, symbol)
        if order is None:
            raise OrderNotFoundError("no such order", venue=self.venue, symbol=symbol, client_order_id=client_order_id)
        return order

    def fetch_open_orders(self, symbol: str | None = None) -> list[Order]:
        self._call(symbol)
        resting = self.ledger.account(self.opening).resting
        orders = self.ledger.orders(c for c, s in resting.items() if symbol in (None, s))
        return [o for o in orders if o.status is OrderStatus.OPEN]

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
        funds = _Funds(self.ledger.account(self.opening))
        assets = {a for a, v in funds.free.items() if v} | {a for a, v in funds.used.items() if v}
        return Balances(
            venue=self.venue,
            balances={
                a: Balance(asset=a, free=max(funds.free[a], Decimal(0)), used=funds.used[a]) for a in sorted(assets)
            },
            timestamp=self.clock.now_ms(),
        )


def _trade(funds: _Funds, side: Side, market: Market, filled: Decimal, cost: Decimal, fee: Fee) -> None:
    """A fill of ``filled`` base for ``cost`` quote, and its fee, applied to the account's free balances."""
    apply_trade(funds.free, market.symbol, side, filled, cost)
    funds.free[fee.currency] -= fee.cost
