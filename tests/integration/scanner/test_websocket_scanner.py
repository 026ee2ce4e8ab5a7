"""The scheduled scanner on the local platform following live-format books: each simulated venue is served as a
Binance depth stream on loopback (snapshot over REST, diffs with U/u over a websocket), read by real ccxt.pro
clients, and the executions the scanner starts run on the local ASL against paper venues filling on the same
simulated books."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator, Mapping
from typing import Any

import ccxt.pro as pro
import pytest

from arbiter.local.scanning import LocalScanning
from arbiter.local.simulated_feed import SimulatedBookFeed
from arbiter.marketdata import BookSource
from arbiter.marketdata.ccxt_feed import CcxtBookFeed, FeedSettings
from arbiter.settings import ScannerSettings, Settings, SimulationSettings
from tests.support.binance_depth import BinanceDepthServer, binance_markets, point_at

SETTINGS = Settings(
    simulation=SimulationSettings(seed=4, symbols_per_venue=6, dislocation_probability=0.3, levels=5, tick_ms=100),
    scanner=ScannerSettings(run_ms=15_000, stop_margin_ms=0, depth=5, route_cooldown_ms=2_000),
)
STEP_WALL_S = 0.02


def levels(prices: Any, sizes: Any) -> list[tuple[str, str]]:
    return [(repr(float(p)), repr(float(a))) for p, a in zip(prices, sizes, strict=True) if a > 0]


class SimulatedVenuesOnLoopback:
    """One Binance-protocol server per simulated venue, moved to each new simulated frame, in its own thread."""

    def __init__(self, local: LocalScanning) -> None:
        self.local = local
        self.market = SimulatedBookFeed(local.model, local.clock)
        local.simulated.feed = self.market  # the paper venues fill against the frames served here
        self.market.step()
        self.servers: dict[str, BinanceDepthServer] = {}
        self.loop = asyncio.new_event_loop()
        self.ready, self.stopping = threading.Event(), False
        self.thread = threading.Thread(target=self.loop.run_until_complete, args=(self._serve(),), daemon=True)

    def __enter__(self) -> SimulatedVenuesOnLoopback:
        self.thread.start()
        assert self.ready.wait(10)
        return self

    def __exit__(self, *exc: object) -> None:
        self.stopping = True
        self.thread.join(10)

    async def _serve(self) -> None:
        frame = self.market.frame
        assert frame is not None
        universe = frame.universe
        for v, venue in enumerate(universe.venues):
            server = await BinanceDepthServer(clock_ms=self.local.clock.now_ms).start()
            for s, symbol in enumerate(universe.symbols):
                if universe.listed(venue, symbol):
                    server.add_book(
                        symbol.replace("/", ""),
                        levels(frame.bid_prices[v, s], frame.bid_sizes[v, s]),
                        levels(frame.ask_prices[v, s], frame.ask_sizes[v, s]),
                    )
            self.servers[venue] = server
        self.ready.set()
        while not self.stopping:
            await asyncio.sleep(STEP_WALL_S)
            self.market.step()  # simulated time moves one tick
            frame = self.market.frame
            assert frame is not None
            for v, venue in enumerate(universe.venues):
                server = self.servers[venue]
                for s, symbol in enumerate(universe.symbols):
                    market_id = symbol.replace("/", "")
                    if market_id not in server.books or not server.subscribers(market_id):
                        continue
                    book = server.books[market_id]
                    bids = levels(frame.bid_prices[v, s], frame.bid_sizes[v, s])
                    asks = levels(frame.ask_prices[v, s], frame.ask_sizes[v, s])
                    gone_bids = [(p, "0") for p in book.bids if p not in dict(bids)]
                    gone_asks = [(p, "0") for p in book.asks if p not in dict(asks)]
                    await server.push(market_id, bids=gone_bids + bids, asks=gone_asks + asks)
        for server in self.servers.values():
            await server.stop()

    def open_source(self, followed: Mapping[str, tuple[str, ...]]) -> BookSource:
        exchanges = {}
        for venue, symbols in followed.items():
            exchange: Any = pro.binance({"enableRateLimit": False})
            point_at(exchange, self.servers[venue])
            exchange.set_markets(binance_markets(symbols))
            exchanges[venue] = exchange
        return CcxtBookFeed(exchanges, followed, self.local.clock, FeedSettings(depth=5, backoff_initial_s=0.05))


@pytest.fixture(scope="module")
def local() -> Iterator[LocalScanning]:
    with LocalScanning(SETTINGS) as scanning:
        yield scanning


def test_the_scheduled_scanner_trades_on_books_read_from_websockets(local: LocalScanning) -> None:
    with SimulatedVenuesOnLoopback(local) as venues:
        local.services[0].open_source = venues.open_source
        (result,) = local.scheduled_minute()
    assert result["ran"], result
    assert result["updates"] > 100
    assert all(health["connected"] for health in result["health"].values()), result["health"]
    assert result["started"], result
    machines = local.platform.aws.state_machines()
    arn = local.platform.state_machine_arn.replace(":stateMachine:", ":execution:")
    for name in result["started"]:
        assert machines.wait(f"{arn}:{name}", timeout_s=60)["status"] in ("SUCCEEDED", "FAILED")
        assert local.platform.journal.get(name).opportunity.id == name
