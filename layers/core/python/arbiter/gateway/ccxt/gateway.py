"""The gateway over ccxt (sync flavour: a Lambda handles one event at a time and the saga sends legs from
threads; ccxt's sync exchanges keep its per-process rate limiter, and no event loop has to live across our
synchronous domain code).

Failure policy (tenacity): only ccxt's NetworkError family is retried (RequestTimeout, ExchangeNotAvailable,
DDoSProtection, RateLimitExceeded), with exponential backoff and full jitter, at most ``attempts`` tries and
``budget_s`` seconds; then a typed retryable error reaches the caller. Everything else is final and never
retried (InsufficientFunds, InvalidOrder, BadSymbol, AuthenticationError, PermissionDenied). A placement whose
outcome is uncertain (a network error after the request may have left) is never simply sent again: the order
is first looked up by its clientOrderId, and only an answer of "no such order" allows another send. Once the
venue has acknowledged an order it is never sent again, by this call or a later one: its state is read by the
venue's order id, and a read that fails is reported as ``OrderUnconfirmedError``.

Every request that reaches the venue, retries and lookups included, takes a token from the venue's shared rate
budget. How each venue carries the clientOrderId lives in ``arbiter.gateway.venues``.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, TypeVar

import ccxt
from tenacity import Retrying, retry_if_exception_type, stop_after_attempt, stop_after_delay, wait_exponential_jitter

from arbiter.gateway.ccxt.mapping import (
    VenueResponseError,
    balances_from_ccxt,
    order_book_from_ccxt,
    order_from_ccxt,
    trade_from_ccxt,
    with_trades,
)
from arbiter.gateway.ccxt.venues import VENUE_ORDER_IDS, Lookup, VenueOrderIds
from arbiter.gateway.errors import (
    AmbiguousOrderError,
    FinalGatewayError,
    GatewayError,
    InsufficientFundsError,
    InvalidOrderError,
    OrderNotFoundError,
    OrderRejectedError,
    OrderUnconfirmedError,
    RateLimitedError,
    RetryableGatewayError,
    VenueTimeoutError,
    VenueUnavailableError,
)
from arbiter.gateway.resilience.breaker import CircuitBreaker
from arbiter.gateway.resilience.rate_limit import SharedRateLimiter
from arbiter.markets import round_amount, round_price
from arbiter.models import Balances, Market, Order, OrderAck, OrderBook, OrderRequest
from arbiter.models.time import Clock
from arbiter.settings import GatewaySettings

T = TypeVar("T")
logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int = 4
    initial_s: float = 0.2
    max_wait_s: float = 2.0
    budget_s: float = 8.0

    @classmethod
    def from_settings(cls, settings: GatewaySettings) -> RetryPolicy:
        return cls(
            attempts=settings.retry_attempts,
            initial_s=settings.retry_initial_s,
            max_wait_s=settings.retry_max_wait_s,
            budget_s=settings.retry_budget_s,
        )


class AuthenticationFailedError(FinalGatewayError):
    pass


def _typed(error: Exception, venue: str, symbol: str | None, cid: str | None) -> GatewayError:
    name = type(error).__name__
    kind, message = _classify(error)
    return kind(f"{message} ({name})", venue=venue, symbol=symbol, client_order_id=cid)


def _classify(error: Exception) -> tuple[type[GatewayError], str]:
    if isinstance(error, ccxt.RateLimitExceeded | ccxt.DDoSProtection):
        return RateLimitedError, "rate limited after retries"
    if isinstance(error, ccxt.RequestTimeout):
        return VenueTimeoutError, "timed out after retries"
    if isinstance(error, ccxt.NetworkError):
        return VenueUnavailableError, "unreachable after retries"
    if isinstance(error, ccxt.BadResponse):  # the request may have been carried out: nothing is known
        return VenueUnavailableError, "answer unreadable, outcome unknown"
    if isinstance(error, ccxt.InsufficientFunds):
        return InsufficientFundsError, "insufficient funds"
    if isinstance(error, ccxt.OrderNotFound):
        return OrderNotFoundError, "no such order"
    if isinstance(error, ccxt.InvalidOrder | ccxt.BadSymbol | ccxt.BadRequest):
        return InvalidOrderError, "refused as invalid"
    if isinstance(error, ccxt.AuthenticationError | ccxt.PermissionDenied | ccxt.AccountSuspended):
        return AuthenticationFailedError, "credentials refused"
    return OrderRejectedError, "refused"


CLOCK_SKEW_MARGIN_MS = 1_000
"""Allowance for our clock running behind the venue's when it judges a request's expiry."""

SENT_MEMORY = 10_000
"""clientOrderIds this process sent, kept so a later call never sends one again (oldest forgotten first)."""


class CcxtGateway:
    def __init__(
        self,
        exchange: Any,
        markets: Mapping[str, Market],
        clock: Clock,
        policy: RetryPolicy = RetryPolicy(),
        sleep: Callable[[float], None] = time.sleep,
        breaker: CircuitBreaker | None = None,
        limiter: SharedRateLimiter | None = None,
        order_ids: VenueOrderIds | None = None,
        on_rate_limited: Callable[[str], None] | None = None,
    ) -> None:
        self.exchange = exchange  # a ccxt.Exchange (ccxt ships no type stubs)
        self.venue = str(exchange.id)
        self.order_ids = order_ids or VENUE_ORDER_IDS.get(self.venue)
        """None: market data and balances only; orders are refused (no verified clientOrderId handling)."""
        self.markets = dict(markets)
        self.clock = clock
        self.policy = policy
        self._sleep = sleep
        self.breaker = breaker
        self.limiter = limiter
        self.on_rate_limited = on_rate_limited
        """Told the venue each time a call ends rate limited (the venue's answer after retries, or the shared
        budget exhausted): the handlers count it as a metric."""
        self._sent: OrderedDict[str, str | None] = OrderedDict()
        self._sent_at: dict[str, int] = {}
        """When each clientOrderId's last request may have reached the venue (for the venue's request expiry)."""
        """clientOrderId -> the venue's order id once acknowledged; None while the outcome is unknown."""
        self._sent_lock = threading.Lock()
        self._local = threading.local()  # per thread: the saga sends legs from threads through one gateway

    @property
    def send_window_ms(self) -> int | None:
        """Every attempt of a placement starts within the retry budget (token waits included), and the venue
        refuses each one that arrives after its expiry."""
        ids = self.order_ids
        if ids is None or ids.expiry_param is None:
            return None
        return int(self.policy.budget_s * 1000) + ids.expiry_ms + CLOCK_SKEW_MARGIN_MS

    def _retrying(self) -> Retrying:
        return Retrying(
            retry=retry_if_exception_type(ccxt.NetworkError),
            wait=wait_exponential_jitter(
                multiplier=self.policy.initial_s, max=self.policy.max_wait_s, jitter=self.policy.initial_s
            ),
            stop=stop_after_attempt(self.policy.attempts) | stop_after_delay(self.policy.budget_s),
            sleep=self._sleep,
            reraise=True,
        )

    def _call(self, action: Callable[[], T], symbol: str | None = None, cid: str | None = None) -> T:
        self._local.token_wait_s = 0.0  # one budget for all of this call's token waits, retries included
        breaker, now = self.breaker, self.clock.now_ms()
        if breaker is not None and not breaker.allow(self.venue, now):
            raise VenueUnavailableError("circuit breaker open", venue=self.venue, symbol=symbol, client_order_id=cid)
        try:
            for attempt in self._retrying():
                with attempt:
                    result = action()
                    if breaker is not None:
                        breaker.record_success(self.venue, self.clock.now_ms())
                    return result
        except VenueResponseError as error:  # logged with the raw response's id, then raised: never swallowed
            where = {"venue": error.venue, "method": error.method, "field": error.field}
            logger.error("venue response refused by our models", extra={**where, "response_id": error.response_id})
            raise
        except ccxt.NetworkError as error:
            if breaker is not None:  # retries ran out: one failure for the venue
                breaker.record_failure(self.venue, self.clock.now_ms())
            if isinstance(error, ccxt.RateLimitExceeded | ccxt.DDoSProtection):
                self._rate_limited()
            raise _typed(error, self.venue, symbol, cid) from None
        except ccxt.BaseError as error:  # the venue answered: it is up, the request was refused
            if breaker is not None:
                breaker.record_success(self.venue, self.clock.now_ms())
            raise _typed(error, self.venue, symbol, cid) from None
        raise AssertionError("unreachable: tenacity either returns or raises")  # pragma: no cover

    def _request(self, method: str, *args: Any, symbol: str | None = None, cid: str | None = None) -> Any:
        """One request to the venue; like every other, it first takes a token from the shared budget."""
        self._await_token(symbol, cid)
        return getattr(self.exchange, method)(*args)

    def _await_token(self, symbol: str | None, cid: str | None) -> None:
        """Wait for the venue's shared rate budget; a call's waits together stay within the retry budget (so a
        call's length is bounded, which the breaker's probe lease relies on); beyond it, refuse typed."""
        if self.limiter is None:
            return
        waited: float = getattr(self._local, "token_wait_s", 0.0)
        while (wait := self.limiter.try_acquire(self.venue, self.clock.now_ms())) > 0:
            if waited + wait > self.policy.budget_s:
                self._rate_limited()
                raise RateLimitedError(
                    "shared rate budget exhausted", venue=self.venue, symbol=symbol, client_order_id=cid
                )
            self._sleep(wait)
            waited += wait
            self._local.token_wait_s = waited

    def _rate_limited(self) -> None:
        if self.on_rate_limited is not None:
            self.on_rate_limited(self.venue)

    def _ids(self, symbol: str, cid: str) -> VenueOrderIds:
        if self.order_ids is None:
            raise InvalidOrderError(
                "no verified clientOrderId handling for this venue: an uncertain placement could not be resolved",
                venue=self.venue,
                symbol=symbol,
                client_order_id=cid,
            )
        return self.order_ids

    def _remember(self, cid: str, exchange_order_id: str | None) -> None:
        with self._sent_lock:
            if exchange_order_id is None and self._sent.get(cid) is not None:
                return  # an acknowledgement is never forgotten in favour of "unknown"
            self._sent[cid] = exchange_order_id
            if exchange_order_id is None:
                self._sent_at[cid] = self.clock.now_ms()
            self._sent.move_to_end(cid)
            while len(self._sent) > SENT_MEMORY:
                forgotten, _ = self._sent.popitem(last=False)
                self._sent_at.pop(forgotten, None)

    def _sent_as(self, cid: str) -> tuple[bool, str | None]:
        with self._sent_lock:
            return cid in self._sent, self._sent.get(cid)

    # -- orders ------------------------------------------------------------------------------------------
    def place_order(self, request: OrderRequest) -> Order:
        cid, symbol = request.client_order_id, request.symbol
        self._ids(symbol, cid)
        price = self._checked_price(request)
        sent, exchange_order_id = self._sent_as(cid)
        if sent and exchange_order_id is not None:  # acknowledged before: read it, never send it again
            return self._confirm(exchange_order_id, cid, symbol)
        outcome = self._call(lambda: self._send_attempt(request, price), symbol, cid)
        if isinstance(outcome, Order):
            return outcome
        return self._confirm(outcome.exchange_order_id, cid, symbol)

    def _checked_price(self, request: OrderRequest) -> Decimal:
        cid, symbol = request.client_order_id, request.symbol
        market = self.markets.get(symbol)
        if market is None:
            raise InvalidOrderError("unknown market", venue=self.venue, symbol=symbol, client_order_id=cid)
        price = request.price
        if price is None or round_amount(market, request.amount) != request.amount:
            raise InvalidOrderError("amount off precision", venue=self.venue, symbol=symbol, client_order_id=cid)
        if round_price(market, price) != price:
            raise InvalidOrderError("price off precision", venue=self.venue, symbol=symbol, client_order_id=cid)
        return price

    def _send_attempt(self, request: OrderRequest, price: Decimal) -> Order | OrderAck:
        """One try of a placement: when an earlier try (or call) may have reached the venue, ask it first."""
        cid, symbol = request.client_order_id, request.symbol
        ids = self._ids(symbol, cid)
        if self._sent_as(cid)[0]:
            raw = self._lookup_raw(cid, symbol)
            if raw is not None:
                found = self._mapped(raw, "fetchOrder", cid)
                self._remember(cid, found.exchange_order_id)
                return found
            # A venue may list an order late: a miss is no proof the earlier request never arrived, and a second
            # send under the same id is accepted once the first is closed. Only after the venue's request expiry
            # has passed, and a second lookup misses too, is the miss conclusive.
            if not self._expired(cid, ids) or self._lookup_raw(cid, symbol) is not None:
                raise OrderUnconfirmedError(
                    "sent before and not listed (yet): it may still have reached the venue; look it up later",
                    venue=self.venue,
                    symbol=symbol,
                    client_order_id=cid,
                )
        params: dict[str, Any] = {ids.send_param: cid, "timeInForce": request.time_in_force.value}
        if ids.expiry_param is not None:
            params[ids.expiry_param] = ids.expiry_value(self.clock.now_ms())
        self._await_token(symbol, cid)
        self._remember(cid, None)  # from here on the request may reach the venue even if no answer comes back
        try:
            raw = self.exchange.create_order(
                symbol, request.type.value, request.side.value, float(request.amount), float(price), params
            )
        except ccxt.DuplicateOrderId:  # an earlier send got through after all: that order is the one
            raw = self._lookup_raw(cid, symbol)
            if raw is None:
                raise OrderUnconfirmedError(
                    "the venue has this clientOrderId but does not list it yet: look it up, never resend",
                    venue=self.venue,
                    symbol=symbol,
                    client_order_id=cid,
                ) from None
            found = self._mapped(raw, "fetchOrder", cid)
            self._remember(cid, found.exchange_order_id)
            return found
        placed = self._mapped(raw, "createOrder", cid)
        self._remember(cid, placed.exchange_order_id)
        return placed

    def _expired(self, cid: str, ids: VenueOrderIds) -> bool:
        """Has the venue's request expiry passed since the last request that may have reached it?"""
        with self._sent_lock:
            sent_at = self._sent_at.get(cid)
        return ids.expiry_param is not None and sent_at is not None and self.clock.now_ms() > sent_at + ids.expiry_ms

    def _mapped(self, raw: Any, method: str, cid: str) -> Order | OrderAck:
        mapped = order_from_ccxt(self.venue, method, raw)
        if mapped.client_order_id is None:  # some answers do not echo it; the order is ours all the same
            return mapped.model_copy(update={"client_order_id": cid})
        return mapped

    def _confirm(self, exchange_order_id: str | None, cid: str, symbol: str) -> Order:
        """The state of an acknowledged order. Failing to read it never leads to a second send."""

        def unconfirmed(why: str) -> OrderUnconfirmedError:
            return OrderUnconfirmedError(
                f"acknowledged as {exchange_order_id}, {why}: look it up, never resend",
                venue=self.venue,
                symbol=symbol,
                client_order_id=cid,
                exchange_order_id=exchange_order_id,
            )

        try:
            order = self._call(lambda: self._read(exchange_order_id, cid, symbol), symbol, cid)
        except RetryableGatewayError as error:
            raise unconfirmed(f"state unreadable ({error})") from None
        if order is None:
            raise unconfirmed("not found yet")
        return order

    def _read(self, exchange_order_id: str | None, cid: str, symbol: str) -> Order | None:
        """An order by the venue's id when we have it (every venue serves that), else by our clientOrderId."""
        if exchange_order_id is None:
            raw = self._lookup_raw(cid, symbol)
        else:
            try:
                raw = self._request("fetch_order", exchange_order_id, symbol, symbol=symbol, cid=cid)
            except ccxt.OrderNotFound:
                raw = None
        if raw is None:
            return None
        mapped = self._mapped(raw, "fetchOrder", cid)
        if not isinstance(mapped, Order):
            raise OrderNotFoundError(
                "the venue knows the order but not its state", venue=self.venue, symbol=symbol, client_order_id=cid
            )
        ids = self.order_ids
        if ids is not None and ids.order_trades and mapped.filled > 0 and mapped.exchange_order_id is not None:
            raw_trades = self._request("fetch_order_trades", mapped.exchange_order_id, symbol, symbol=symbol, cid=cid)
            return with_trades(mapped, [trade_from_ccxt(self.venue, t) for t in raw_trades])
        return mapped

    def _lookup_raw(self, cid: str, symbol: str) -> Any | None:
        """The venue's order for our clientOrderId, found the way this venue allows (see ``venues``)."""
        ids = self._ids(symbol, cid)
        if ids.lookup is Lookup.FETCH_ORDER:
            try:
                return self._request("fetch_order", None, symbol, {ids.lookup_param: cid}, symbol=symbol, cid=cid)
            except ccxt.OrderNotFound:
                return None
        if ids.lookup is Lookup.OPEN_THEN_CLOSED:
            # Open first: an order closing between the two requests is then found in the closed list.
            for method in ("fetch_open_orders", "fetch_closed_orders"):
                raw = self._request(method, symbol, None, None, {ids.lookup_param: cid}, symbol=symbol, cid=cid)
                if (found := self._only_order(raw, cid, symbol)) is not None:
                    return found
            return None
        raw = self._request("fetch_orders", symbol, None, ids.recent_limit, symbol=symbol, cid=cid)
        return self._only_order(raw, cid, symbol)

    def _only_order(self, orders: Iterable[Any], cid: str, symbol: str) -> Any | None:
        """The one order listed under ``cid``; two under one id are an incident, never a choice."""
        found = [order for order in orders if order.get("clientOrderId") == cid]
        if len(found) > 1:
            ids = ", ".join(str(order.get("id")) for order in found)
            raise AmbiguousOrderError(
                f"{len(found)} orders under one clientOrderId ({ids})",
                venue=self.venue,
                symbol=symbol,
                client_order_id=cid,
            )
        return found[0] if found else None

    def find_order(self, client_order_id: str, symbol: str) -> Order | None:
        exchange_order_id = self._sent_as(client_order_id)[1]
        return self._call(lambda: self._read(exchange_order_id, client_order_id, symbol), symbol, client_order_id)

    def fetch_order(self, client_order_id: str, symbol: str) -> Order:
        order = self.find_order(client_order_id, symbol)
        if order is None:
            raise OrderNotFoundError("no such order", venue=self.venue, symbol=symbol, client_order_id=client_order_id)
        return order

    def cancel_order(self, client_order_id: str, symbol: str) -> Order:
        order = self.fetch_order(client_order_id, symbol)
        if order.status.is_final:
            return order

        def cancel() -> None:
            # By the venue's id, which every venue's cancel takes; OrderNotFound: already final, fetched below.
            with contextlib.suppress(ccxt.OrderNotFound):
                self._request("cancel_order", order.exchange_order_id, symbol, symbol=symbol, cid=client_order_id)

        self._call(cancel, symbol, client_order_id)
        return self.fetch_order(client_order_id, symbol)

    def fetch_open_orders(self, symbol: str | None = None) -> list[Order]:
        raw = self._call(lambda: self._request("fetch_open_orders", symbol, symbol=symbol), symbol)
        orders = []
        for item in raw:  # an entry without a state is refused, never dropped: reconciliation counts on this list
            mapped = order_from_ccxt(self.venue, "fetchOpenOrders", item)
            if not isinstance(mapped, Order):
                raise VenueResponseError(self.venue, "fetchOpenOrders", "status", "missing", mapped.exchange_order_id)
            orders.append(mapped)
        return orders

    # -- market data and balances ------------------------------------------------------------------------
    def fetch_order_book(self, symbol: str, limit: int | None = None) -> OrderBook:
        raw = self._call(lambda: self._request("fetch_order_book", symbol, limit, symbol=symbol), symbol)
        return order_book_from_ccxt(self.venue, raw, self.clock.now_ms())

    def fetch_order_books(self, symbols: Iterable[str], limit: int | None = None) -> dict[str, OrderBook]:
        return {symbol: self.fetch_order_book(symbol, limit) for symbol in symbols}

    def fetch_balances(self) -> Balances:
        raw = self._call(lambda: self._request("fetch_balance"))
        return balances_from_ccxt(self.venue, raw, self.clock.now_ms())
