from __future__ import annotations

from decimal import Decimal

import pytest

from arbiter.gateway import (
    InsufficientFundsError,
    InvalidOrderError,
    OrderNotFoundError,
    OrderRejectedError,
    VenueTimeoutError,
    VenueUnavailableError,
)
from arbiter.gateway.paper import FaultRule, PaperVenue, PlaceFault, VenueFaults
from arbiter.models import OrderRequest, OrderStatus, Side, TimeInForce
from arbiter.models.time import ManualClock
from tests.unit.execution.conftest import book, market

SOL = market("paper", "SOL/USDT", taker=0.001)


def venue(faults: VenueFaults | None = None, usdt: str = "10000", sol: str = "100") -> PaperVenue:
    current = book("paper", "SOL/USDT", "149.9", "150", size="2", gap="0.1")
    return PaperVenue(
        "paper",
        {"SOL/USDT": SOL},
        lambda _symbol: current,
        {"USDT": Decimal(usdt), "SOL": Decimal(sol)},
        clock=ManualClock(1_700_000_000_000),
        faults=faults,
    )


def buy(amount: str = "3", price: str = "150.1", cid: str = "c1", tif: TimeInForce = TimeInForce.IOC) -> OrderRequest:
    return OrderRequest(
        venue="paper",
        symbol="SOL/USDT",
        side=Side.BUY,
        amount=Decimal(amount),
        price=Decimal(price),
        client_order_id=cid,
        time_in_force=tif,
    )


def test_an_ioc_buy_walks_the_book_to_its_limit_and_moves_balances_with_the_fee() -> None:
    paper = venue()
    order = paper.place_order(buy())
    assert (order.status, order.filled, order.remaining) == (OrderStatus.CLOSED, Decimal(3), Decimal(0))
    cost = Decimal(2) * Decimal(150) + Decimal(1) * Decimal("150.1")
    assert order.average == cost / 3
    assert order.fees[0].cost == cost * Decimal("0.001")
    assert paper.free["SOL"] == Decimal(103)
    assert paper.free["USDT"] == Decimal(10000) - cost - cost * Decimal("0.001")
    short = paper.place_order(buy(amount="5", cid="c2"))
    assert (short.status, short.filled, short.remaining) == (OrderStatus.CANCELED, Decimal(4), Decimal(1))


def test_a_gtc_remainder_rests_and_its_cancel_releases_the_funds() -> None:
    paper = venue()
    order = paper.place_order(buy(amount="5", tif=TimeInForce.GTC))
    assert order.status is OrderStatus.OPEN
    assert paper.used["USDT"] > 0
    assert paper.fetch_open_orders() == [order]
    cancelled = paper.cancel_order("c1", "SOL/USDT")
    assert cancelled.status is OrderStatus.CANCELED
    assert paper.used["USDT"] == 0
    assert paper.cancel_order("c1", "SOL/USDT") == cancelled  # final: its real state


@pytest.mark.parametrize(
    ("request_", "problem"),
    [
        (buy(amount="0.0001"), "below minimum"),
        (buy(price="150.00001"), "off precision"),
        (buy(amount="0.03", price="150"), "cost 4.50 below minimum"),
    ],
)
def test_orders_the_venue_would_refuse_are_refused(request_: OrderRequest, problem: str) -> None:
    with pytest.raises(InvalidOrderError, match=problem):
        venue().place_order(request_)


def test_insufficient_funds_and_duplicates_are_refused() -> None:
    with pytest.raises(InsufficientFundsError, match="needs"):
        venue(usdt="10").place_order(buy())
    paper = venue()
    paper.place_order(buy())
    with pytest.raises(InvalidOrderError, match="duplicate clientOrderId"):
        paper.place_order(buy())


def test_injected_placement_faults() -> None:
    faults = VenueFaults(
        place=(
            FaultRule(fault=PlaceFault.REJECT, nth=0),
            FaultRule(fault=PlaceFault.TIMEOUT_BEFORE_ACCEPT, nth=1),
            FaultRule(fault=PlaceFault.TIMEOUT_AFTER_ACCEPT, nth=2),
            FaultRule(fault=PlaceFault.PARTIAL_FILL, nth=3),
            FaultRule(fault=PlaceFault.NO_FILL, nth=4),
        )
    )
    paper = venue(faults)
    with pytest.raises(OrderRejectedError):
        paper.place_order(buy(cid="a"))
    with pytest.raises(VenueTimeoutError):
        paper.place_order(buy(cid="b"))
    assert paper.find_order("b", "SOL/USDT") is None
    with pytest.raises(VenueTimeoutError):
        paper.place_order(buy(cid="c"))
    found = paper.find_order("c", "SOL/USDT")
    assert found is not None
    assert found.filled == Decimal(3)
    partial = paper.place_order(buy(cid="d", amount="2", price="150"))
    assert partial.filled == Decimal(1)
    resting = paper.place_order(buy(cid="e"))
    assert (resting.status, resting.filled) == (OrderStatus.OPEN, Decimal(0))
    assert paper.placements == ["a", "b", "c", "d", "e"]


def test_cancel_fails_n_times_then_succeeds() -> None:
    paper = venue(VenueFaults(place=(FaultRule(fault=PlaceFault.NO_FILL),), cancel_failures=2))
    paper.place_order(buy())
    for _ in range(2):
        with pytest.raises(VenueUnavailableError):
            paper.cancel_order("c1", "SOL/USDT")
    assert paper.cancel_order("c1", "SOL/USDT").status is OrderStatus.CANCELED
    with pytest.raises(OrderNotFoundError):
        paper.cancel_order("nope", "SOL/USDT")


def test_an_outage_covers_a_window_of_calls_and_stale_books_are_served_old() -> None:
    paper = venue(VenueFaults(outage_from_call=1, outage_calls=2, stale_book_ms=5_000))
    paper.fetch_balances()
    for _ in range(2):
        with pytest.raises(VenueUnavailableError):
            paper.fetch_balances()
    assert paper.fetch_order_book("SOL/USDT").timestamp == 1_700_000_000_000 - 5_000


def test_fault_rates_inject_faults_at_about_their_rate_reproducibly() -> None:
    faults = VenueFaults(fault_rates={PlaceFault.REJECT: 0.3}, seed=4)

    def rejections() -> int:
        paper, count = venue(faults, usdt="10000000"), 0
        for n in range(200):
            try:
                paper.place_order(buy(amount="0.1", cid=f"r{n}"))
            except OrderRejectedError:
                count += 1
        return count

    first = rejections()
    assert 40 <= first <= 80
    assert rejections() == first
    with pytest.raises(ValueError, match="add up to at most 1"):
        VenueFaults(fault_rates={PlaceFault.REJECT: 0.7, PlaceFault.NO_FILL: 0.5})


def test_configured_latency_delays_every_call() -> None:
    import time

    paper = venue(VenueFaults(latency_ms=30))
    started = time.perf_counter()
    paper.fetch_balances()
    assert time.perf_counter() - started >= 0.03
