"""Our clientOrderId reaches coinbase and kraken through real ccxt, and a placement whose outcome is uncertain
is found by it there: one intent is exactly one order at the venue wherever a timeout falls."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from arbiter.gateway import OrderUnconfirmedError, VenueTimeoutError
from arbiter.gateway.ccxt.gateway import CcxtGateway, RetryPolicy
from arbiter.gateway.ccxt.venues import UnsupportedVenueError, order_ids_for
from arbiter.markets import markets_from_exchange
from arbiter.models import OrderRequest, OrderStatus, Side
from arbiter.models.time import ManualClock
from tests.conftest import SHARED_FIXTURES
from tests.integration.gateway.http_venues import TIMEOUT_AFTER, TIMEOUT_BEFORE, HttpVenue

pytestmark = pytest.mark.skipif(not SHARED_FIXTURES.exists(), reason="shared fixtures not beside this checkout")

CID = "0b7c8f2e-6f4e-5a3b-9c1d-2e3f4a5b6c7d"
ORDERS = {
    "coinbase": ("ADA/USDT", Decimal("10"), Decimal("0.5")),
    "kraken": ("LTC/USDT", Decimal("0.1"), Decimal("70.5")),
}
VENUES = sorted(ORDERS)


def request(venue: str, cid: str = CID) -> OrderRequest:
    symbol, amount, price = ORDERS[venue]
    return OrderRequest(venue=venue, symbol=symbol, side=Side.BUY, amount=amount, price=price, client_order_id=cid)


def gateway(http: HttpVenue, attempts: int = 5) -> CcxtGateway:
    exchange = http.exchange()
    markets = {m.symbol: m for m in markets_from_exchange(exchange, symbols={ORDERS[http.venue][0]})}
    policy = RetryPolicy(attempts=attempts, initial_s=0.001, max_wait_s=0.001, budget_s=60)
    return CcxtGateway(exchange, markets, clock=ManualClock(1_767_225_600_000), policy=policy, sleep=lambda _s: None)


@pytest.mark.parametrize("venue", VENUES)
def test_the_venue_receives_our_client_order_id_and_we_read_the_order_back(venue: str) -> None:
    http = HttpVenue(venue)
    order = gateway(http).place_order(request(venue))
    assert http.client_ids == [CID]  # not ccxt's own "ccxt-<uuid>" (coinbase)
    assert order.client_order_id == CID
    assert order.status is OrderStatus.CLOSED
    assert order.filled == ORDERS[venue][1]


@pytest.mark.parametrize("venue", VENUES)
def test_find_order_by_client_order_id_in_a_fresh_process(venue: str) -> None:
    http = HttpVenue(venue)
    gateway(http).place_order(request(venue))
    gateway(http).place_order(request(venue, cid="1d2e3f40-0000-5000-8000-000000000001"))
    fresh = gateway(http)  # another invocation: it knows nothing of what was sent
    found = fresh.find_order(CID, ORDERS[venue][0])
    assert found is not None
    assert found.client_order_id == CID
    assert found.exchange_order_id == next(i for i, o in http.orders.items() if CID in o.values())
    assert fresh.find_order("99999999-0000-5000-8000-000000000000", ORDERS[venue][0]) is None


# Every point where a timeout can fall, as (create outcomes, read outcomes):
POINTS = {
    "before send": ([TIMEOUT_BEFORE], []),
    "after the venue accepted": ([TIMEOUT_AFTER], []),
    "during the ack read": ([None], [TIMEOUT_BEFORE, TIMEOUT_AFTER]),
    "during the lookup": ([TIMEOUT_AFTER], [TIMEOUT_BEFORE, TIMEOUT_AFTER]),
    "everywhere, twice": ([TIMEOUT_BEFORE, TIMEOUT_AFTER], [TIMEOUT_AFTER, TIMEOUT_BEFORE]),
}


@pytest.mark.parametrize("venue", VENUES)
@pytest.mark.parametrize("point", sorted(POINTS))
def test_a_timeout_anywhere_leaves_exactly_one_order_at_the_venue(venue: str, point: str) -> None:
    creates, reads = POINTS[point]
    http = HttpVenue(venue, {"create": list(creates), "read": list(reads)})
    if creates[0] == TIMEOUT_BEFORE:
        # The first request never arrived, but nothing proves it: these venues enforce no request expiry here,
        # so a lookup miss stays unconfirmed and the saga decides after its settle delay. Never a second send.
        with pytest.raises(OrderUnconfirmedError, match="may still have reached the venue"):
            gateway(http).place_order(request(venue))
        assert http.orders == {}
        return
    order = gateway(http).place_order(request(venue))
    assert len(http.orders) == 1
    assert http.client_ids == [CID]
    assert order.exchange_order_id in http.orders
    assert order.status is OrderStatus.CLOSED


@pytest.mark.parametrize("venue", VENUES)
def test_an_acknowledged_order_whose_read_keeps_failing_is_never_sent_again(venue: str) -> None:
    http = HttpVenue(venue, {"read": [TIMEOUT_BEFORE] * 3})
    placing = gateway(http, attempts=3)
    with pytest.raises(OrderUnconfirmedError) as caught:
        placing.place_order(request(venue))
    assert caught.value.exchange_order_id in http.orders
    assert caught.value.retryable
    order = placing.place_order(request(venue))  # the caller tries again: the gateway only reads
    assert len(http.orders) == 1
    assert order.exchange_order_id == caught.value.exchange_order_id


OUTCOMES = st.sampled_from([None, TIMEOUT_BEFORE, TIMEOUT_AFTER])


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    venue=st.sampled_from(VENUES),
    creates=st.lists(OUTCOMES, max_size=4),
    reads=st.lists(OUTCOMES, max_size=6),
    calls=st.integers(min_value=1, max_value=3),
)
def test_one_intent_is_at_most_one_order_however_timeouts_and_caller_retries_fall(
    venue: str, creates: list[Any], reads: list[Any], calls: int
) -> None:
    http = HttpVenue(venue, {"create": creates, "read": reads})
    placing = gateway(http, attempts=3)
    for _ in range(calls):  # the caller retries the same intent after a retryable error
        try:
            order = placing.place_order(request(venue))
        except VenueTimeoutError:
            continue
        assert order.exchange_order_id in http.orders
        break
    assert len(http.orders) <= 1
    assert http.client_ids in ([], [CID])


def test_every_kraken_order_carries_a_deadline_so_that_a_late_miss_is_conclusive() -> None:
    http = HttpVenue("kraken")
    placing = gateway(http)
    placing.place_order(request("kraken"))
    [form] = http.create_forms
    # The gateway's clock stands at 2026-01-01T00:00:00Z; the venue refuses the AddOrder after the deadline.
    assert form["deadline"] == "2026-01-01T00:00:05.000Z"
    assert placing.send_window_ms == 60_000 + 5_000 + 1_000  # retry budget + expiry + clock-skew margin


def test_a_venue_without_verified_client_order_id_handling_is_refused() -> None:
    with pytest.raises(UnsupportedVenueError, match="venue: 'bitmart'"):
        order_ids_for("bitmart")


def test_kraken_lookup_finds_an_order_that_closes_between_its_two_list_requests() -> None:
    # Open orders are asked first: an order that fills between the two requests is then in the closed list.
    # Asked the other way round it would be in neither, and a second order would be sent.
    http = HttpVenue("kraken", {"create": [TIMEOUT_AFTER]}, fills_after_read=True)
    order = gateway(http).place_order(request("kraken"))
    assert len(http.orders) == 1
    assert order.exchange_order_id in http.orders
    assert http.requests[-1].endswith("/OpenOrders")  # found at the first request, still open then
    assert order.status is OrderStatus.OPEN
