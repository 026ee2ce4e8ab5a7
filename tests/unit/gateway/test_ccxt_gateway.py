"""The ccxt gateway's failure policy, against a scripted exchange that can time out at every point."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import ccxt
import pytest
from hypothesis import given
from hypothesis import strategies as st

from arbiter.gateway import (
    InsufficientFundsError,
    InvalidOrderError,
    OrderUnconfirmedError,
    RateLimitedError,
    VenueTimeoutError,
    VenueUnavailableError,
)
from arbiter.gateway.ccxt.gateway import CcxtGateway, RetryPolicy
from arbiter.gateway.ccxt.mapping import VenueResponseError
from arbiter.gateway.ccxt.venues import VENUE_ORDER_IDS
from arbiter.gateway.resilience.rate_limit import SharedRateLimiter
from arbiter.models import OrderRequest, OrderStatus, Side
from arbiter.models.time import ManualClock
from arbiter.storage.buckets import InMemoryBucketStore
from tests.unit.execution.conftest import market

SOL = market("fakex", "SOL/USDT")


class ScriptedExchange:
    """Faults are consumed in order per method: 'before' (timeout, nothing recorded), 'after' (recorded, then
    timeout), 'ack' (recorded, answers without status), or an exception class to raise."""

    id = "fakex"

    def __init__(self, script: dict[str, list[Any]]) -> None:
        self.script = script
        self.orders: dict[str, dict[str, Any]] = {}
        self.sends = 0
        self.reads = 0
        self.duplicates = 0

    def _fault(self, method: str) -> Any:
        queue = self.script.get(method, [])
        return queue.pop(0) if queue else None

    def create_order(
        self, symbol: str, type_: str, side: str, amount: float, price: float, params: dict[str, Any]
    ) -> Any:
        fault = self._fault("create_order")
        self.sends += 1
        if fault == "before":
            raise ccxt.RequestTimeout("timed out before the venue saw it")
        if isinstance(fault, type):
            raise fault("refused")
        cid = params["clientOrderId"]
        if cid in self.orders:
            self.duplicates += 1
            raise ccxt.InvalidOrder("duplicate clientOrderId")
        self.orders[cid] = {
            "id": f"X{len(self.orders)}", "clientOrderId": cid, "symbol": symbol, "type": type_, "side": side,
            "price": price, "amount": amount, "filled": amount, "remaining": 0.0, "average": price,
            "status": "closed", "fees": [], "timestamp": 1_700_000_000_000,
        }  # fmt: skip
        if fault == "after":
            raise ccxt.RequestTimeout("timed out after the venue accepted")
        if fault == "ack":
            return {"id": self.orders[cid]["id"], "clientOrderId": cid, "status": None}
        return self.orders[cid]

    def fetch_order(self, order_id: str | None, symbol: str, params: dict[str, Any] | None = None) -> Any:
        self.reads += 1
        fault = self._fault("fetch_order")
        if fault == "before":
            raise ccxt.RequestTimeout("lookup timed out")
        if fault == "lag":  # the venue has the order but does not list it yet
            raise ccxt.OrderNotFound("not found (lagging read)")
        if fault == "twice":  # the venue executed one clientOrderId twice and lists both
            raise AssertionError("use fetch_orders for 'twice'")
        if order_id is not None:  # by the venue's id
            found = [o for o in self.orders.values() if o["id"] == order_id]
            if not found:
                raise ccxt.OrderNotFound(order_id)
            return found[0]
        cid = (params or {})["clientOrderId"]
        if cid not in self.orders:
            raise ccxt.OrderNotFound(cid)
        return self.orders[cid]

    def fetch_order_trades(self, order_id: str, symbol: str) -> Any:
        """As binance's myTrades by orderId: the fills, each with its commission (the order read has none)."""
        fault = self._fault("fetch_order_trades")
        order = next(o for o in self.orders.values() if o["id"] == order_id)
        fills = self.script.get("fills", {}).get(order_id) or [order["filled"]]
        if fault == "lag":  # the trade list has not caught up with the order read
            fills = fills[:-1]
        return [
            {
                "id": f"{order_id}-T{n}", "order": order_id, "symbol": symbol, "side": order["side"],
                "price": order["price"], "amount": amount, "cost": amount * order["price"],
                "fee": {"cost": 0.0001 * amount, "currency": "BNB"}, "timestamp": 1_700_000_000_000 + n,
            }
            for n, amount in enumerate(fills)
        ]  # fmt: skip


# The scripted venue answers lookups as binance's ccxt does: fetch_order(None, symbol, {"clientOrderId": ...}).
BINANCE_LIKE = VENUE_ORDER_IDS["binance"]


def gateway(exchange: ScriptedExchange, attempts: int = 6, *, expiring: bool = True, **extra: Any) -> CcxtGateway:
    """``expiring``: each retry waits past the venue's request expiry (``recvWindow``), so a lookup that misses
    twice then is conclusive and the order may be sent again; otherwise time stands still and it never is."""
    policy = RetryPolicy(attempts=attempts, initial_s=0.01, max_wait_s=0.02, budget_s=60)
    clock = ManualClock(1)

    def sleep(_seconds: float) -> None:
        if expiring:
            clock.advance(BINANCE_LIKE.expiry_ms + 1)

    return CcxtGateway(
        exchange, {"SOL/USDT": SOL}, clock=clock, policy=policy, sleep=sleep, order_ids=BINANCE_LIKE, **extra
    )


REQUEST = OrderRequest(
    venue="fakex",
    symbol="SOL/USDT",
    side=Side.BUY,
    amount=Decimal("1.5"),
    price=Decimal("150.01"),
    client_order_id="cid-1",
)

POINTS = st.sampled_from(["before", "after", "ack", None])


@given(
    create_faults=st.lists(POINTS, max_size=4),
    lookup_faults=st.lists(st.sampled_from(["before", None]), max_size=4),
)
def test_one_intent_never_becomes_two_orders_wherever_the_timeouts_fall(
    create_faults: list[Any], lookup_faults: list[Any]
) -> None:
    exchange = ScriptedExchange({"create_order": list(create_faults), "fetch_order": list(lookup_faults)})
    try:
        order = gateway(exchange).place_order(REQUEST)
    except VenueTimeoutError:
        assert len(exchange.orders) <= 1  # retries ran out: at most the one order, found later by its id
    else:
        assert order.client_order_id == "cid-1"
        assert order.status is OrderStatus.CLOSED
        assert len(exchange.orders) == 1
    assert exchange.duplicates == 0


def test_a_timeout_after_accept_is_resolved_by_lookup_without_a_second_send() -> None:
    exchange = ScriptedExchange({"create_order": ["after"]})
    order = gateway(exchange).place_order(REQUEST)
    assert order.filled == Decimal("1.5")
    assert exchange.sends == 1


def test_final_errors_are_never_retried_and_arrive_typed() -> None:
    exchange = ScriptedExchange({"create_order": [ccxt.InsufficientFunds]})
    with pytest.raises(InsufficientFundsError) as caught:
        gateway(exchange).place_order(REQUEST)
    assert exchange.sends == 1
    assert (caught.value.venue, caught.value.symbol, caught.value.client_order_id) == ("fakex", "SOL/USDT", "cid-1")
    assert not isinstance(caught.value, ccxt.BaseError)


def test_retries_stop_at_the_budget_with_a_typed_retryable_error() -> None:
    exchange = ScriptedExchange({"create_order": ["before"] * 10})
    with pytest.raises(VenueTimeoutError) as caught:
        gateway(exchange, attempts=3).place_order(REQUEST)
    assert caught.value.retryable
    assert exchange.sends == 3


def test_the_gateway_feeds_its_breaker_and_refuses_calls_while_it_is_open() -> None:
    from arbiter.gateway.resilience.breaker import BreakerSettings, CircuitBreaker
    from arbiter.storage.breakers import InMemoryBreakerStore

    breaker = CircuitBreaker(InMemoryBreakerStore(), BreakerSettings(failure_threshold=2, open_ms=1_000_000))
    exchange = ScriptedExchange({"create_order": ["before"] * 6})
    clock = ManualClock(1)
    venue = CcxtGateway(
        exchange,
        {"SOL/USDT": SOL},
        clock=clock,
        policy=RetryPolicy(attempts=3, initial_s=0.01, max_wait_s=0.01, budget_s=60),
        sleep=lambda _s: clock.advance(BINANCE_LIKE.expiry_ms + 1),  # each retry after the request expiry
        breaker=breaker,
        order_ids=BINANCE_LIKE,
    )
    for n in range(2):  # two intents whose every send timed out
        with pytest.raises(VenueTimeoutError):
            venue.place_order(REQUEST.model_copy(update={"client_order_id": f"cid-{n}"}))
    assert breaker.is_open("fakex")
    sends = exchange.sends
    with pytest.raises(VenueUnavailableError, match="circuit breaker open"):
        venue.place_order(REQUEST)
    assert exchange.sends == sends  # nothing reached the venue


def test_calls_wait_for_the_shared_rate_budget_and_give_up_past_the_retry_budget() -> None:

    clock = ManualClock(0)
    slept: list[float] = []

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        clock.ms += int(seconds * 1000)

    limiter = SharedRateLimiter(InMemoryBucketStore(), rate_per_s=2, capacity=1)
    venue = CcxtGateway(
        ScriptedExchange({}),
        {"SOL/USDT": SOL},
        clock=clock,
        policy=RetryPolicy(budget_s=1.0),
        sleep=sleep,
        limiter=limiter,
        order_ids=BINANCE_LIKE,
    )
    venue.place_order(REQUEST)
    venue.place_order(REQUEST.model_copy(update={"client_order_id": "cid-2"}))
    assert slept == [0.5]  # the second call waited for one token
    starved = CcxtGateway(
        ScriptedExchange({}),
        {"SOL/USDT": SOL},
        clock=clock,
        policy=RetryPolicy(budget_s=1.0),
        sleep=lambda _s: None,  # time stands still: the bucket never refills
        limiter=SharedRateLimiter(InMemoryBucketStore(), rate_per_s=0.1, capacity=1),
        order_ids=BINANCE_LIKE,
    )
    starved.place_order(REQUEST)
    with pytest.raises(RateLimitedError, match="shared rate budget exhausted"):
        starved.place_order(REQUEST.model_copy(update={"client_order_id": "cid-3"}))


def test_every_call_that_ends_rate_limited_is_told_with_its_venue() -> None:
    told: list[str] = []
    limited = gateway(ScriptedExchange({"create_order": [ccxt.RateLimitExceeded] * 3}), attempts=3)
    limited.on_rate_limited = told.append
    with pytest.raises(RateLimitedError, match="rate limited after retries"):
        limited.place_order(REQUEST)
    assert told == ["fakex"]  # once per call, not once per retried answer
    refused = gateway(ScriptedExchange({"create_order": [ccxt.InsufficientFunds]}), on_rate_limited=told.append)
    with pytest.raises(InsufficientFundsError):
        refused.place_order(REQUEST.model_copy(update={"client_order_id": "cid-2"}))
    starved = CcxtGateway(
        ScriptedExchange({}),
        {"SOL/USDT": SOL},
        clock=ManualClock(1),
        policy=RetryPolicy(budget_s=1.0),
        sleep=lambda _s: None,
        limiter=SharedRateLimiter(InMemoryBucketStore(), rate_per_s=0.1, capacity=1),
        order_ids=BINANCE_LIKE,
        on_rate_limited=told.append,
    )
    starved.place_order(REQUEST)
    with pytest.raises(RateLimitedError, match="shared rate budget exhausted"):
        starved.place_order(REQUEST.model_copy(update={"client_order_id": "cid-3"}))
    assert told == ["fakex", "fakex"]


def test_retry_and_breaker_thresholds_come_from_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    from arbiter.gateway.resilience.breaker import BreakerSettings
    from arbiter.settings import load_settings

    monkeypatch.setenv("ARBITER_GATEWAY__RETRY_ATTEMPTS", "2")
    monkeypatch.setenv("ARBITER_GATEWAY__BREAKER_FAILURE_THRESHOLD", "9")
    settings = load_settings().gateway
    assert RetryPolicy.from_settings(settings).attempts == 2
    assert BreakerSettings.from_settings(settings).failure_threshold == 9
    exchange = ScriptedExchange({"create_order": ["before"] * 5})
    policy = RetryPolicy.from_settings(settings)
    clock = ManualClock(1)
    venue = CcxtGateway(
        exchange,
        {"SOL/USDT": SOL},
        clock=clock,
        policy=policy,
        sleep=lambda _s: clock.advance(BINANCE_LIKE.expiry_ms + 1),  # each retry after the request expiry
        order_ids=BINANCE_LIKE,
    )
    with pytest.raises(VenueTimeoutError):
        venue.place_order(REQUEST)
    assert exchange.sends == 2


def test_an_acknowledged_order_whose_read_timed_out_is_read_again_never_resent() -> None:
    exchange = ScriptedExchange({"create_order": ["ack"], "fetch_order": ["before"] * 3})
    venue = gateway(exchange, attempts=3)
    with pytest.raises(OrderUnconfirmedError) as caught:
        venue.place_order(REQUEST)
    assert caught.value.exchange_order_id == "X0"
    order = venue.place_order(REQUEST)  # the caller retries the intent: the gateway only reads it
    assert order.status is OrderStatus.CLOSED
    assert (exchange.sends, exchange.duplicates) == (1, 0)


class CountingLimiter(SharedRateLimiter):
    def __init__(self) -> None:
        super().__init__(InMemoryBucketStore(), rate_per_s=1_000, capacity=1_000)
        self.granted = 0

    def try_acquire(self, venue: str, now_ms: int, cost: float = 1.0) -> float:
        wait = super().try_acquire(venue, now_ms, cost)
        self.granted += wait == 0.0
        return wait


def test_every_request_retries_and_lookups_included_takes_a_rate_token() -> None:
    exchange = ScriptedExchange({"create_order": ["before", "after"], "fetch_order": ["before"]})
    limiter = CountingLimiter()
    order = gateway(exchange, limiter=limiter).place_order(REQUEST)
    assert order.status is OrderStatus.CLOSED
    # The resend follows two lookups that missed after the request expiry (the first timed out, then two misses).
    assert (exchange.sends, exchange.reads) == (2, 4)
    assert limiter.granted == exchange.sends + exchange.reads


class AnsweringExchange(ScriptedExchange):
    """Answers create_order with a fixed structure once the order is recorded (a venue that parses oddly)."""

    def __init__(self, answer: dict[str, Any], open_orders: list[dict[str, Any]] | None = None) -> None:
        super().__init__({})
        self.answer, self.open_orders = answer, open_orders or []

    def create_order(
        self, symbol: str, type_: str, side: str, amount: float, price: float, params: dict[str, Any]
    ) -> Any:
        recorded = super().create_order(symbol, type_, side, amount, price, params)
        return {**recorded, **self.answer}

    def fetch_open_orders(self, symbol: str | None = None) -> Any:
        return self.open_orders


def test_a_venue_answer_our_models_refuse_is_raised_typed_and_logged_with_its_id(
    caplog: pytest.LogCaptureFixture,
) -> None:
    venue = gateway(AnsweringExchange({"status": "partially_filled"}))
    with caplog.at_level("ERROR"), pytest.raises(VenueResponseError) as caught:
        venue.place_order(REQUEST)
    assert (caught.value.venue, caught.value.method, caught.value.field) == ("fakex", "createOrder", "status")
    [record] = [r for r in caplog.records if r.getMessage() == "venue response refused by our models"]
    assert (record.method, record.field, record.response_id) == ("createOrder", "status", "X0")  # type: ignore[attr-defined]
    assert venue.place_order(REQUEST).status is OrderStatus.CLOSED  # it may have been placed: looked up, not resent


def test_an_open_order_listed_without_state_is_refused_not_dropped() -> None:
    venue = gateway(AnsweringExchange({}, open_orders=[{"id": "X9", "clientOrderId": "c", "status": None}]))
    with pytest.raises(VenueResponseError, match="fetchOpenOrders: status: missing"):
        venue.fetch_open_orders("SOL/USDT")


def test_a_duplicate_client_order_id_answer_means_the_earlier_send_got_through() -> None:
    exchange = ScriptedExchange({})
    gateway(exchange).place_order(REQUEST)  # another invocation placed it
    duplicate = ScriptedExchange({"create_order": [ccxt.DuplicateOrderId]})
    duplicate.orders = exchange.orders
    order = gateway(duplicate).place_order(REQUEST)
    assert order.exchange_order_id == "X0"
    assert len(duplicate.orders) == 1


def test_an_unreadable_answer_to_a_placement_is_retryable_never_a_refusal() -> None:
    exchange = ScriptedExchange({"create_order": [ccxt.BadResponse]})
    venue = gateway(exchange)
    with pytest.raises(VenueUnavailableError, match="outcome unknown") as caught:
        venue.place_order(REQUEST)
    assert caught.value.retryable


def test_a_venue_without_verified_order_ids_serves_data_but_refuses_orders() -> None:
    venue = CcxtGateway(ScriptedExchange({}), {"SOL/USDT": SOL}, clock=lambda: 1)
    with pytest.raises(InvalidOrderError, match="no verified clientOrderId handling"):
        venue.place_order(REQUEST)


def test_token_waits_of_all_a_calls_retries_share_one_budget() -> None:
    clock = ManualClock(0)

    def sleep(seconds: float) -> None:
        clock.ms += round(seconds * 1000)

    # Lookups first answer "timed out", so no send is ever proven lost: the budget is spent on lookups.
    exchange = ScriptedExchange({"create_order": ["before"] * 10, "fetch_order": ["before"] * 10})
    venue = CcxtGateway(
        exchange,
        {"SOL/USDT": SOL},
        clock=clock,
        policy=RetryPolicy(attempts=10, initial_s=0.01, max_wait_s=0.01, budget_s=2.5),
        sleep=sleep,
        limiter=SharedRateLimiter(InMemoryBucketStore(), rate_per_s=1, capacity=1),
        order_ids=BINANCE_LIKE,
    )
    with pytest.raises(RateLimitedError, match="shared rate budget exhausted"):
        venue.place_order(REQUEST)
    # One token a second: the first send is free, each retry (and its lookup) waits; 2.5 s of waiting allow
    # only a few requests, not the ten attempts the policy would otherwise make.
    assert exchange.sends + exchange.reads <= 4
    assert clock.ms <= 2_600


def test_a_lost_answer_then_a_lagging_lookup_is_unconfirmed_never_sent_again() -> None:
    # Review finding: the create's answer was lost, one lookup lagged with OrderNotFound, and the retry loop sent
    # the order again. Within the venue's request expiry a miss proves nothing: no second send.
    exchange = ScriptedExchange({"create_order": ["after"], "fetch_order": ["lag"]})
    venue = gateway(exchange, expiring=False)
    with pytest.raises(OrderUnconfirmedError, match="may still have reached the venue"):
        venue.place_order(REQUEST)
    assert (exchange.sends, len(exchange.orders)) == (1, 1)
    order = venue.find_order("cid-1", "SOL/USDT")  # later, the venue lists it: the one order
    assert order is not None
    assert order.status is OrderStatus.CLOSED
    assert exchange.sends == 1


def test_after_the_request_expiry_two_misses_prove_the_order_never_reached_the_venue() -> None:
    exchange = ScriptedExchange({"create_order": ["before"]})
    venue = gateway(exchange, expiring=True)
    order = venue.place_order(REQUEST)
    assert (exchange.sends, len(exchange.orders), exchange.duplicates) == (2, 1, 0)
    assert order.status is OrderStatus.CLOSED


def test_a_lagging_lookup_after_the_expiry_is_still_not_a_licence_to_resend() -> None:
    # One miss then the order appears on the second lookup: found, never sent twice.
    exchange = ScriptedExchange({"create_order": ["after"], "fetch_order": ["lag"]})
    with pytest.raises(OrderUnconfirmedError):
        gateway(exchange, expiring=True).place_order(REQUEST)
    assert (exchange.sends, exchange.duplicates) == (1, 0)


def test_every_order_carries_the_venues_request_expiry() -> None:
    sent: list[dict[str, Any]] = []

    class Recording(ScriptedExchange):
        def create_order(self, *args: Any) -> Any:
            sent.append(dict(args[-1]))
            return super().create_order(*args)

    gateway(Recording({})).place_order(REQUEST)
    assert sent[0]["recvWindow"] == BINANCE_LIKE.expiry_ms


def test_two_orders_under_one_client_order_id_are_an_incident_not_a_choice() -> None:
    from arbiter.gateway import AmbiguousOrderError
    from arbiter.gateway.ccxt.venues import Lookup, VenueOrderIds

    class Twice(ScriptedExchange):
        def fetch_orders(self, symbol: str, since: Any = None, limit: Any = None) -> Any:
            order = {**self.orders["cid-1"]}
            return [order, {**order, "id": "X9"}]

    exchange = Twice({})
    exchange.orders["cid-1"] = {"id": "X0", "clientOrderId": "cid-1", "status": "closed"}
    venue = CcxtGateway(
        exchange,
        {"SOL/USDT": SOL},
        clock=ManualClock(1),
        sleep=lambda _s: None,
        order_ids=VenueOrderIds(send_param="clientOrderId", lookup=Lookup.RECENT_ORDERS),
    )
    with pytest.raises(AmbiguousOrderError, match="2 orders under one clientOrderId"):
        venue.find_order("cid-1", "SOL/USDT")


def test_an_orders_fees_come_from_its_trades_where_the_order_read_has_none() -> None:
    # Binance's GET order carries no commission: without its trades, a fee in BNB would vanish from the P&L.
    exchange = ScriptedExchange({"fills": {"X0": [1.0, 0.5]}})
    venue = gateway(exchange)
    venue.place_order(REQUEST)
    order = venue.find_order("cid-1", "SOL/USDT")
    assert order is not None
    assert [(f.currency, f.cost) for f in order.fees] == [("BNB", Decimal("0.00015"))]
    assert order.filled == Decimal("1.5")


def test_trades_that_lag_behind_the_order_read_give_a_read_that_changes_later() -> None:
    exchange = ScriptedExchange({"fills": {"X0": [1.0, 0.5]}, "fetch_order_trades": ["lag"]})
    venue = gateway(exchange)
    venue.place_order(REQUEST)
    early = venue.find_order("cid-1", "SOL/USDT")
    later = venue.find_order("cid-1", "SOL/USDT")
    assert early is not None
    assert later is not None
    assert early.fees != later.fees  # two reads disagree: final reads keep reading until they agree
    assert later.fees[0].cost == Decimal("0.00015")


def test_a_trade_of_another_order_is_refused_never_counted() -> None:
    class Foreign(ScriptedExchange):
        def fetch_order_trades(self, order_id: str, symbol: str) -> Any:
            return [{**trade, "order": "X99"} for trade in super().fetch_order_trades(order_id, symbol)]

    venue = gateway(Foreign({}))
    venue.place_order(REQUEST)
    with pytest.raises(VenueResponseError, match="another order's trade"):
        venue.find_order("cid-1", "SOL/USDT")
