"""One paper venue across invocations: two ``PaperVenue`` objects (two Lambdas) on one ledger see each other's
orders and balances, a clientOrderId is accepted once, and concurrent spenders never overspend an account.
Every test runs on the in-memory ledger and on DynamoDB (moto)."""

from __future__ import annotations

import contextlib
import itertools
import threading
import time
from collections.abc import Callable, Iterator
from decimal import Decimal

import boto3
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from moto import mock_aws

from arbiter.gateway import InsufficientFundsError, InvalidOrderError, OrderNotFoundError, RetryableGatewayError
from arbiter.gateway.paper import PaperVenue
from arbiter.gateway.paper.venue import PaperLedgerContentionError
from arbiter.local import create_local_tables
from arbiter.models import OrderBook, OrderRequest, OrderStatus, Side, TimeInForce
from arbiter.models.time import ManualClock
from arbiter.storage.paper_ledger import DynamoPaperLedger, InMemoryPaperLedger, PaperLedger
from tests.unit.execution.conftest import book, market

SOL = market("paper", "SOL/USDT", taker=0.001)
BOOK = book("paper", "SOL/USDT", "149.9", "150", size="100", gap="0.1")
OPENING = {"USDT": Decimal(10_000), "SOL": Decimal(10)}

LedgerFactory = Callable[[], PaperLedger]
"""A new handle on the one shared ledger, as a new Lambda container would open it."""


@pytest.fixture(params=["memory", "dynamodb"])
def ledgers(request: pytest.FixtureRequest) -> Iterator[LedgerFactory]:
    if request.param == "memory":
        shared = InMemoryPaperLedger()
        yield lambda: shared
        return
    with mock_aws():
        table = create_local_tables(boto3.client("dynamodb", region_name="eu-west-1"))["venue_state"]
        yield lambda: DynamoPaperLedger(boto3.client("dynamodb", region_name="eu-west-1"), table, "paper")


def invocation(
    ledger: PaperLedger, books: Callable[[str], OrderBook] = lambda _symbol: BOOK, attempts: int = 10
) -> PaperVenue:
    return PaperVenue(
        "paper", {"SOL/USDT": SOL}, books, OPENING, clock=ManualClock(1_700_000_000_000), ledger=ledger,
        commit_attempts=attempts,
    )  # fmt: skip


def buy(cid: str, amount: str = "1", price: str = "150", tif: TimeInForce = TimeInForce.IOC) -> OrderRequest:
    return OrderRequest(
        venue="paper",
        symbol="SOL/USDT",
        side=Side.BUY,
        amount=Decimal(amount),
        price=Decimal(price),
        client_order_id=cid,
        time_in_force=tif,
    )


def slow_book(_symbol: str) -> OrderBook:
    time.sleep(0.002)  # a book fetch takes time: concurrent invocations read the same account meanwhile
    return BOOK


def test_an_order_placed_by_one_invocation_is_seen_and_cancelled_by_another(ledgers: LedgerFactory) -> None:
    placer, poller = invocation(ledgers()), invocation(ledgers())
    resting = placer.place_order(buy("c-1", amount="2", price="149", tif=TimeInForce.GTC))  # below the ask: rests
    assert resting.status is OrderStatus.OPEN
    assert poller.find_order("c-1", "SOL/USDT") == resting
    assert poller.fetch_open_orders("SOL/USDT") == [resting]
    locked = Decimal(2) * Decimal(149) * (1 + SOL.taker_fee)
    assert poller.fetch_balances().balances["USDT"].used == locked
    cancelled = poller.cancel_order("c-1", "SOL/USDT")
    assert cancelled.status is OrderStatus.CANCELED
    assert placer.fetch_order("c-1", "SOL/USDT") == cancelled
    assert placer.fetch_open_orders() == []
    assert placer.free["USDT"] == OPENING["USDT"]
    assert placer.used["USDT"] == 0


def test_fills_move_the_shared_balances_and_number_orders_across_invocations(ledgers: LedgerFactory) -> None:
    first, second = invocation(ledgers()), invocation(ledgers())
    one = first.place_order(buy("c-1"))
    two = second.place_order(buy("c-2"))
    assert (one.exchange_order_id, two.exchange_order_id) == ("paper-1", "paper-2")
    assert first.free["SOL"] == second.free["SOL"] == OPENING["SOL"] + 2
    spent = 2 * Decimal(150) * (1 + SOL.taker_fee)
    assert first.fetch_balances().free("USDT") == OPENING["USDT"] - spent
    assert list(second.orders) == ["c-1", "c-2"]


def test_a_clientorderid_is_accepted_once_across_invocations(ledgers: LedgerFactory) -> None:
    first, second = invocation(ledgers()), invocation(ledgers())
    accepted = first.place_order(buy("c-1"))
    with pytest.raises(InvalidOrderError, match="duplicate clientOrderId"):
        second.place_order(buy("c-1", amount="3"))
    assert second.duplicate_submissions == ["c-1"]
    assert second.orders == {"c-1": accepted}
    assert second.free["SOL"] == OPENING["SOL"] + 1  # the refused duplicate moved nothing


def test_concurrent_invocations_sending_one_clientorderid_make_one_order(ledgers: LedgerFactory) -> None:
    senders = [invocation(ledgers(), books=slow_book, attempts=100) for _ in range(5)]
    start = threading.Barrier(len(senders))
    accepted: list[str] = []

    def send(venue: PaperVenue) -> None:
        start.wait()
        with contextlib.suppress(InvalidOrderError):
            accepted.append(venue.place_order(buy("c-1")).client_order_id or "")

    threads = [threading.Thread(target=send, args=(venue,)) for venue in senders]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert accepted == ["c-1"]
    assert sum(len(venue.duplicate_submissions) for venue in senders) == len(senders) - 1
    assert senders[0].free["SOL"] == OPENING["SOL"] + 1


def test_concurrent_invocations_never_spend_one_balance_twice(ledgers: LedgerFactory) -> None:
    opening_usdt, per_order = OPENING["USDT"], Decimal(10) * Decimal(150) * (1 + SOL.taker_fee)
    affordable = int(opening_usdt // per_order)  # 6 of 10 orders of 10 SOL fit in 10,000 USDT
    spenders = [invocation(ledgers(), books=slow_book, attempts=100) for _ in range(10)]
    outcomes: dict[str, str] = {}
    start = threading.Barrier(len(spenders))

    def spend(index: int) -> None:
        start.wait()
        try:
            spenders[index].place_order(buy(f"c-{index}", amount="10"))
            outcomes[f"c-{index}"] = "filled"
        except InsufficientFundsError:
            outcomes[f"c-{index}"] = "refused"

    threads = [threading.Thread(target=spend, args=(i,)) for i in range(len(spenders))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    filled = sorted(cid for cid, outcome in outcomes.items() if outcome == "filled")
    assert len(outcomes) == len(spenders)
    assert len(filled) == affordable
    assert sorted(spenders[0].orders) == filled
    balances = spenders[0].fetch_balances()
    assert balances.free("USDT") == opening_usdt - affordable * per_order
    assert balances.free("SOL") == OPENING["SOL"] + 10 * affordable


def test_a_change_that_keeps_losing_the_race_is_refused_retryably_having_written_nothing(
    ledgers: LedgerFactory,
) -> None:
    rival = invocation(ledgers())

    def book_while_the_rival_writes(_symbol: str) -> OrderBook:
        # Between this change's read of the account and its commit, another invocation changes the account.
        rival.set_free({"BTC": rival.free["BTC"] + 1})
        return BOOK

    loser = invocation(ledgers(), books=book_while_the_rival_writes, attempts=3)
    with pytest.raises(PaperLedgerContentionError) as caught:
        loser.place_order(buy("c-1"))
    assert isinstance(caught.value, RetryableGatewayError)
    assert rival.find_order("c-1", "SOL/USDT") is None
    assert rival.free["BTC"] == 3  # one rival write per attempt
    assert rival.free["USDT"] == OPENING["USDT"]


def test_opening_balances_hold_until_the_first_commit_then_the_ledger_does(ledgers: LedgerFactory) -> None:
    first = invocation(ledgers())
    assert first.fetch_balances().free("USDT") == OPENING["USDT"]
    first.set_free({"USDT": Decimal(500)})
    later = PaperVenue(
        "paper", {"SOL/USDT": SOL}, lambda _s: BOOK, {"USDT": Decimal(1)}, clock=ManualClock(1), ledger=ledgers()
    )
    assert later.fetch_balances().free("USDT") == 500
    assert later.free["SOL"] == OPENING["SOL"]


class Interleaved:
    """The shared ledger as one invocation sees it, with another invocation's action run just before its
    ``nth`` call of ``method``: the moment two Lambdas' reads and writes interleave."""

    def __init__(self, inner: PaperLedger, method: str, nth: int, action: Callable[[], object]) -> None:
        self.inner, self.method, self.left, self.action = inner, method, nth, action

    def __getattr__(self, name: str) -> object:
        attribute = getattr(self.inner, name)
        if name != self.method:
            return attribute

        def call(*args: object, **kwargs: object) -> object:
            self.left -= 1
            if self.left == 0:
                self.action()
            return attribute(*args, **kwargs)

        return call


@pytest.mark.parametrize(
    ("method", "nth"),
    [("account", 1), ("order", 2), ("commit", 1)],
    ids=["before-account-read", "between-reads", "before-commit"],
)
def test_an_order_cancelled_by_two_invocations_at_once_releases_its_funds_once(
    ledgers: LedgerFactory, method: str, nth: int
) -> None:
    shared = ledgers()
    invocation(shared).place_order(buy("c-1", amount="2", price="149", tif=TimeInForce.GTC))
    other = invocation(ledgers())
    racing = invocation(Interleaved(shared, method, nth, lambda: other.cancel_order("c-1", "SOL/USDT")))  # type: ignore[arg-type]
    assert racing.cancel_order("c-1", "SOL/USDT").status is OrderStatus.CANCELED
    balances = invocation(ledgers()).fetch_balances().balances
    assert balances["USDT"].free == OPENING["USDT"]
    assert balances["USDT"].used == 0


OPERATIONS = st.lists(
    st.tuples(
        st.sampled_from(["buy", "sell", "cancel"]),
        st.integers(min_value=0, max_value=1),  # which invocation sends it
        st.integers(min_value=0, max_value=5),  # clientOrderId: repeats are duplicates or cancels of earlier orders
        st.sampled_from(["0.5", "2", "7"]),  # amount: some rest, some exceed the balance
        st.sampled_from(["149.8", "149.9", "150", "150.2"]),  # limit price: inside or outside the book
    ),
    max_size=12,
)


@pytest.fixture(scope="module")
def fresh_venue_state() -> Iterator[Callable[[], str]]:
    """A new, empty venue_state table per call, on one moto for the whole module (starting moto is slow)."""
    with mock_aws():
        client = boto3.client("dynamodb", region_name="eu-west-1")
        names = itertools.count()
        yield lambda: create_local_tables(client, f"arbiter-example-{next(names)}")["venue_state"]


@settings(max_examples=40)
@given(operations=OPERATIONS)
def test_two_invocations_on_dynamodb_end_where_one_process_would(
    fresh_venue_state: Callable[[], str], operations: list[tuple[str, int, int, str, str]]
) -> None:
    """The persisted ledger changes nothing about what the venue does: any sequence of requests sent through
    two invocations on DynamoDB leaves the same orders and balances as one in-memory venue."""
    reference = invocation(InMemoryPaperLedger())
    table = fresh_venue_state()
    shared = [
        invocation(DynamoPaperLedger(boto3.client("dynamodb", region_name="eu-west-1"), table, "paper"))
        for _ in range(2)
    ]
    for kind, sender, cid_number, amount, price in operations:
        outcomes = [_send(venue, kind, f"c-{cid_number}", amount, price) for venue in (reference, shared[sender])]
        assert outcomes[0] == outcomes[1]
    assert shared[0].orders == reference.orders
    assert shared[1].fetch_balances() == reference.fetch_balances()
    assert shared[0].fetch_open_orders() == reference.fetch_open_orders()


def _send(venue: PaperVenue, kind: str, cid: str, amount: str, price: str) -> object:
    try:
        if kind == "cancel":
            return venue.cancel_order(cid, "SOL/USDT")
        side = Side.BUY if kind == "buy" else Side.SELL
        request = OrderRequest(
            venue="paper",
            symbol="SOL/USDT",
            side=side,
            amount=Decimal(amount),
            price=Decimal(price),
            client_order_id=cid,
            time_in_force=TimeInForce.GTC,
        )
        return venue.place_order(request)
    except (InsufficientFundsError, InvalidOrderError, OrderNotFoundError) as refused:
        return type(refused).__name__
