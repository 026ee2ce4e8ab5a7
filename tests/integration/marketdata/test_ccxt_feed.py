"""Real ccxt.pro binance clients following books from a loopback Binance depth stream: snapshot and diffs, a
sequence gap that forces a resync, a disconnect and reconnect, a silent stream whose book ages out, a symbol
the venue refuses, and a malformed book dropped by the reader."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

import ccxt.pro as pro

from arbiter.detection import Detector
from arbiter.marketdata import BookUpdate, LiveBooks
from arbiter.marketdata.ccxt_feed import CcxtBookFeed, FeedSettings
from arbiter.markets import MarketCatalog, market_from_ccxt
from arbiter.models import PrecisionMode
from arbiter.models.time import ManualClock
from arbiter.settings import DetectionSettings
from tests.support.binance_depth import BinanceDepthServer, binance_markets, point_at, settle

T0 = 1_767_225_600_000
SYMBOLS = ("BTC/USDT", "ETH/USDT")
FAST = FeedSettings(depth=10, backoff_initial_s=0.01, backoff_max_s=0.05)


def run(test: Callable[[], Awaitable[None]]) -> None:
    asyncio.run(asyncio.wait_for(test(), 20))


@asynccontextmanager
async def followed(
    clock: ManualClock, symbols: tuple[str, ...] = SYMBOLS
) -> AsyncIterator[tuple[BinanceDepthServer, CcxtBookFeed]]:
    server = await BinanceDepthServer(clock_ms=clock.now_ms).start()
    server.add_book("BTCUSDT", [("100000.00", "1.5"), ("99999.00", "2")], [("100001.00", "1"), ("100002.00", "3")])
    server.add_book("ETHUSDT", [("3000.00", "10")], [("3000.50", "8")], last_update_id=500)
    exchange: Any = pro.binance({"enableRateLimit": False})
    point_at(exchange, server)
    exchange.set_markets(binance_markets(SYMBOLS))
    feed = CcxtBookFeed({"binance": exchange}, {"binance": symbols}, clock, FAST)
    try:
        await feed.start()
        known = {s for s in symbols if s in SYMBOLS}
        await collect(feed, lambda seen: set(seen) >= known)  # every snapshot is in
        yield server, feed
    finally:
        await feed.close()
        await server.stop()


async def collect(feed: CcxtBookFeed, predicate: Callable[[dict[str, BookUpdate]], bool]) -> dict[str, BookUpdate]:
    """Newest update per symbol, read until ``predicate`` holds."""
    seen: dict[str, BookUpdate] = {}
    while not predicate(seen):
        for update in await feed.next_batch(5.0):
            seen[update.symbol] = update
    return seen


def best_bid(update: BookUpdate) -> float:
    return float(update.bids[0][0])


def test_snapshot_then_diffs_are_followed_with_venue_and_arrival_times() -> None:
    async def scenario() -> None:
        clock = ManualClock(T0)
        async with followed(clock) as (server, feed):
            await server.push("BTCUSDT", bids=[("100000.50", "0.7")])
            clock.advance(40)
            await server.push("ETHUSDT", asks=[("3000.25", "1")])
            seen = await collect(
                feed,
                lambda s: (
                    "BTC/USDT" in s
                    and best_bid(s["BTC/USDT"]) == 100000.5
                    and "ETH/USDT" in s
                    and float(s["ETH/USDT"].asks[0][0]) == 3000.25
                ),
            )
            btc = seen["BTC/USDT"]
            assert [list(level) for level in btc.bids] == [[100000.5, 0.7], [100000.0, 1.5], [99999.0, 2.0]]
            assert btc.venue_ms == T0
            assert btc.arrived_ms >= T0
            assert seen["ETH/USDT"].venue_ms == T0 + 40
            assert server.snapshot_requests == 2  # one per book
            health = feed.health(clock.now_ms())["binance"]
            assert health.connected
            assert health.reconnects == 0
            assert health.resyncs == 0

    run(scenario)


def test_a_sequence_gap_forces_a_new_snapshot_and_the_book_resumes() -> None:
    async def scenario() -> None:
        clock = ManualClock(T0)
        async with followed(clock, ("BTC/USDT",)) as (server, feed):
            await server.push("BTCUSDT", bids=[("100000.10", "1")])
            await collect(feed, lambda s: "BTC/USDT" in s and best_bid(s["BTC/USDT"]) == 100000.1)
            await server.push("BTCUSDT", bids=[("100000.20", "1")], skip=5)  # ids 102-106 never sent
            await settle(lambda: server.snapshot_requests == 2)
            await asyncio.sleep(0.05)  # the new subscription's snapshot is being applied
            await server.push("BTCUSDT", bids=[("100000.30", "1")])
            seen = await collect(feed, lambda s: "BTC/USDT" in s and best_bid(s["BTC/USDT"]) == 100000.3)
            # The snapshot after the gap holds the level whose diff was lost in the gap.
            assert [level[0] for level in seen["BTC/USDT"].bids[:3]] == [100000.3, 100000.2, 100000.1]
            assert feed.health(clock.now_ms())["binance"].resyncs >= 1

    run(scenario)


def test_a_dropped_connection_is_reconnected_and_counted() -> None:
    async def scenario() -> None:
        clock = ManualClock(T0)
        async with followed(clock, ("BTC/USDT",)) as (server, feed):
            await server.push("BTCUSDT", bids=[("100000.10", "1")])
            await collect(feed, lambda s: "BTC/USDT" in s and best_bid(s["BTC/USDT"]) == 100000.1)
            subscriptions = server.subscriptions
            await server.disconnect()
            await settle(lambda: server.subscriptions > subscriptions and server.subscribers("BTCUSDT") == 1)
            await asyncio.sleep(0.05)
            await server.push("BTCUSDT", bids=[("100000.40", "1")])
            await collect(feed, lambda s: "BTC/USDT" in s and best_bid(s["BTC/USDT"]) == 100000.4)
            health = feed.health(clock.now_ms())["binance"]
            assert health.reconnects >= 1
            assert health.connected
            assert health.rest_snapshots >= 1  # the book was kept fresh over REST while the stream was down

    run(scenario)


def test_a_silent_stream_ages_out_of_detection() -> None:
    async def scenario() -> None:
        clock = ManualClock(T0)
        async with followed(clock) as (server, feed):
            await server.push("BTCUSDT", bids=[("100000.10", "1")])
            await server.push("ETHUSDT", bids=[("3000.10", "1")])
            seen = await collect(feed, lambda s: len(s) == 2)
            books = LiveBooks(("binance",), SYMBOLS, levels=10)
            assert books.apply_all(seen.values()) == [("binance", s) for s in seen]
            catalog = MarketCatalog(
                market_from_ccxt("binance", m, PrecisionMode.DECIMAL_PLACES) for m in binance_markets(SYMBOLS)
            )
            detector = Detector.for_snapshot(catalog, books, DetectionSettings(max_quote_age_ms=2_000))
            _, _, fresh = detector.top_rates(books, clock.now_ms())
            assert fresh.all()
            clock.advance(2_001)  # nothing arrives: the books are now older than the maximum age
            assert await feed.next_batch(0.05) == []
            _, _, fresh = detector.top_rates(books, clock.now_ms())
            assert not fresh.any()
            assert feed.health(clock.now_ms())["binance"].last_message_age_ms == 2_001

    run(scenario)


def test_a_refused_symbol_is_reported_and_the_others_go_on() -> None:
    async def scenario() -> None:
        clock = ManualClock(T0)
        async with followed(clock, ("BTC/USDT", "DOGE/USDT")) as (server, feed):
            await server.push("BTCUSDT", bids=[("100000.10", "1")])
            await collect(feed, lambda s: "BTC/USDT" in s and best_bid(s["BTC/USDT"]) == 100000.1)
            await settle(lambda: bool(feed.health(clock.now_ms())["binance"].failed_symbols))
            assert feed.health(clock.now_ms())["binance"].failed_symbols == ("DOGE/USDT",)

    run(scenario)


def test_malformed_out_of_order_and_unknown_books_are_dropped_and_counted() -> None:
    books = LiveBooks(("binance",), SYMBOLS, levels=5)
    good = BookUpdate("binance", "BTC/USDT", [[100.0, 1.0]], [[101.0, 1.0]], venue_ms=T0, arrived_ms=T0 + 5)
    assert books.apply(good)
    assert not books.apply(BookUpdate("binance", "BTC/USDT", [[102.0, 1.0]], [[101.0, 1.0]], T0 + 1, T0 + 6))
    assert not books.apply(BookUpdate("binance", "BTC/USDT", [[100.0, 1.0], [100.5, 1.0]], [], T0 + 1, T0 + 6))
    assert not books.apply(BookUpdate("binance", "BTC/USDT", [[100.0, "x"]], [], T0 + 1, T0 + 6))  # type: ignore[list-item]
    assert not books.apply(BookUpdate("binance", "BTC/USDT", [[100.0, 1.0]], [[101.0, 1.0]], T0 - 1, T0 - 1))
    assert not books.apply(BookUpdate("binance", "XRP/USDT", [[1.0, 1.0]], [[1.1, 1.0]], T0, T0))
    assert books.dropped == {"malformed": 3, "out_of_order": 1, "unknown_market": 1}
    assert books.order_book("binance", "BTC/USDT").best_bid.price == 100  # type: ignore[union-attr]
    assert int(books.timestamps[0]) == T0  # the older of the venue's stamp and the arrival
