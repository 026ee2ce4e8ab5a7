"""The gateway over ccxt (sync flavour: a Lambda handles one event at a time and the saga sends legs from
threads; ccxt's sync exchanges keep its per-process rate limiter, and no event loop has to live across our
synchronous domain code).

Failure policy (tenacity): only ccxt's NetworkError family is retried (RequestTimeout, ExchangeNotAvailable,
DDoSProtection, RateLimitExceeded), with exponential backoff and full jitter, at most ``attempts`` tries and
``budget_s`` seconds; then a typed retryable error reaches the caller. Everything else is final and never
retried (InsufficientFunds, InvalidOrder, BadSymbol, AuthenticationError, PermissionDenied). A placement whose
outcome is uncertain (a network error after the request may have left) is never simply sent again: the order
is first looked up by its clientOrderId, and only an answer of "no such order" allows another send.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

import ccxt
from tenacity import Retrying, retry_if_exception_type, stop_after_attempt, stop_after_delay, wait_exponential_jitter

from arbiter.gateway.ccxt_mapping import balances_from_ccxt, order_book_from_ccxt, order_from_ccxt
from arbiter.gateway.circuit_breaker import CircuitBreaker
from arbiter.gateway.errors import (
    FinalGatewayError,
    GatewayError,
    InsufficientFundsError,
    InvalidOrderError,
    OrderNotFoundError,
    OrderRejectedError,
    RateLimitedError,
    VenueTimeoutError,
    VenueUnavailableError,
)
from arbiter.gateway.rate_limit import SharedRateLimiter
from arbiter.markets import round_amount, round_price
from arbiter.models import Balances, Market, Order, OrderBook, OrderRequest
from arbiter.settings import GatewaySettings

T = TypeVar("T")


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
    if isinstance(error, ccxt.InsufficientFunds):
        return InsufficientFundsError, "insufficient funds"
    if isinstance(error, ccxt.OrderNotFound):
        return OrderNotFoundError, "no such order"
    if isinstance(error, ccxt.InvalidOrder | ccxt.BadSymbol | ccxt.BadRequest):
        return InvalidOrderError, "refused as invalid"
    if isinstance(error, ccxt.AuthenticationError | ccxt.PermissionDenied | ccxt.AccountSuspended):
        return AuthenticationFailedError, "credentials refused"
    return OrderRejectedError, "refused"


class CcxtGateway:
    def __init__(
        self,
        exchange: Any,
        markets: Mapping[str, Market],
        clock: Callable[[], int],
        policy: RetryPolicy = RetryPolicy(),
        sleep: Callable[[float], None] = time.sleep,
        breaker: CircuitBreaker | None = None,
        limiter: SharedRateLimiter | None = None,
    ) -> None:
        self.exchange = exchange  # a ccxt.Exchange (ccxt ships no type stubs)
        self.venue = str(exchange.id)
        self.markets = dict(markets)
        self.clock = clock
        self.policy = policy
        self._sleep = sleep
        self.breaker = breaker
        self.limiter = limiter

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
        breaker, now = self.breaker, self.clock()
        if breaker is not None and not breaker.allow(self.venue, now):
            raise VenueUnavailableError("circuit breaker open", venue=self.venue, symbol=symbol, client_order_id=cid)
        self._await_token(symbol, cid)
        try:
            for attempt in self._retrying():
                with attempt:
                    result = action()
                    if breaker is not None:
                        breaker.record_success(self.venue, self.clock())
                    return result
        except ccxt.NetworkError as error:
            if breaker is not None:  # retries ran out: one failure for the venue
                breaker.record_failure(self.venue, self.clock())
            raise _typed(error, self.venue, symbol, cid) from None
        except ccxt.BaseError as error:  # the venue answered: it is up, the request was refused
            if breaker is not None:
                breaker.record_success(self.venue, self.clock())
            raise _typed(error, self.venue, symbol, cid) from None
        raise AssertionError("unreachable: tenacity either returns or raises")  # pragma: no cover

    def _await_token(self, symbol: str | None, cid: str | None) -> None:
        """Wait for the venue's shared rate budget, within the retry budget; beyond it, refuse typed."""
        if self.limiter is None:
            return
        waited = 0.0
        while (wait := self.limiter.try_acquire(self.venue, self.clock())) > 0:
            if waited + wait > self.policy.budget_s:
                raise RateLimitedError(
                    "shared rate budget exhausted", venue=self.venue, symbol=symbol, client_order_id=cid
                )
            self._sleep(wait)
            waited += wait

    # -- orders ------------------------------------------------------------------------------------------
    def place_order(self, request: OrderRequest) -> Order:
        cid, symbol = request.client_order_id, request.symbol
        market = self.markets.get(symbol)
        if market is None:
            raise InvalidOrderError("unknown market", venue=self.venue, symbol=symbol, client_order_id=cid)
        price = request.price
        if price is None or round_amount(market, request.amount) != request.amount:
            raise InvalidOrderError("amount off precision", venue=self.venue, symbol=symbol, client_order_id=cid)
        if round_price(market, price) != price:
            raise InvalidOrderError("price off precision", venue=self.venue, symbol=symbol, client_order_id=cid)
        uncertain = False

        def attempt() -> Order:
            nonlocal uncertain
            if uncertain:  # the last send may have reached the venue: ask before sending again
                found = self._find_raw(cid, symbol)
                if found is not None:
                    return self._order(found, "fetchOrder", cid, symbol)
            params = {"clientOrderId": cid, "timeInForce": request.time_in_force.value}
            try:
                raw = self.exchange.create_order(
                    symbol, request.type.value, request.side.value, float(request.amount), float(price), params
                )
            except ccxt.NetworkError:
                uncertain = True
                raise
            return self._order(raw, "createOrder", cid, symbol)

        return self._call(attempt, symbol, cid)

    def _order(self, raw: Any, method: str, cid: str, symbol: str) -> Order:
        mapped = order_from_ccxt(self.venue, method, raw)
        if isinstance(mapped, Order):
            return mapped
        # Only an acknowledgement: the state comes from the venue's order record.
        return self.fetch_order(cid, symbol)

    def _find_raw(self, cid: str, symbol: str) -> Any | None:
        try:
            return self.exchange.fetch_order(None, symbol, {"clientOrderId": cid})
        except ccxt.OrderNotFound:
            return None

    def find_order(self, client_order_id: str, symbol: str) -> Order | None:
        raw = self._call(lambda: self._find_raw(client_order_id, symbol), symbol, client_order_id)
        if raw is None:
            return None
        mapped = order_from_ccxt(self.venue, "fetchOrder", raw)
        if not isinstance(mapped, Order):
            raise OrderNotFoundError("the venue knows the order but not its state", venue=self.venue, symbol=symbol)
        return mapped

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
            with contextlib.suppress(ccxt.OrderNotFound):  # already final: its real state is fetched below
                self.exchange.cancel_order(order.exchange_order_id, symbol, {"clientOrderId": client_order_id})

        self._call(cancel, symbol, client_order_id)
        return self.fetch_order(client_order_id, symbol)

    def fetch_open_orders(self, symbol: str | None = None) -> list[Order]:
        raw = self._call(lambda: self.exchange.fetch_open_orders(symbol), symbol)
        return [o for o in (order_from_ccxt(self.venue, "fetchOpenOrders", r) for r in raw) if isinstance(o, Order)]

    # -- market data and balances ------------------------------------------------------------------------
    def fetch_order_book(self, symbol: str, limit: int | None = None) -> OrderBook:
        raw = self._call(lambda: self.exchange.fetch_order_book(symbol, limit), symbol)
        return order_book_from_ccxt(self.venue, raw, self.clock())

    def fetch_balances(self) -> Balances:
        raw = self._call(self.exchange.fetch_balance)
        return balances_from_ccxt(self.venue, raw, self.clock())
