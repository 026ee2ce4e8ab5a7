"""The scanner: books through real ccxt.pro websockets and the incremental detector, starts on the local ASL,
the lease handover, and the shards the full universe needs.

scanner.updates_per_s: Binance depth diffs (10 bids + 10 asks each) a second that one core applies, from a
loopback server flooding them (in another process, on the other core), through ccxt.pro's ``watch_order_book``
(JSON, sequence checks, book upkeep), our feed (copy of the top levels, the newest per book kept) and
``LiveBooks`` plus ``IncrementalDetector.update`` on every batch read. Counted as the diffs ccxt applied (its
books' update ids): under a flood ccxt applies many diffs per wake-up of a follower, and the detector evaluates
the newest book, which is the design (a burst costs one evaluation). 60 books (hubs and alts against USDT and
BTC) on one venue; median of 3 windows of 3 s after a 2 s warm-up.
scanner.updates_ccxt_only_per_s: the same stream through the feed with nothing evaluated, the baseline. Under a
flood it is no upper bound: how often ccxt's receive loop yields to the followers decides how many diffs it
applies between two reads.

scanner.tick_to_start_p50_ms / _p99_ms: on the local platform (moto, the real ASL registered, paper venues), from
reading a batch of simulated books to StartExecution returning for an opportunity it opened: apply the books,
evaluate, risk pre-check (views read ahead of the decisions), features, persist the opportunity (DynamoDB on moto),
StartExecution (moto). As deployed, the executions run outside the scanner's process: moto answers StartExecution
as AWS does and does not run them here. Five scheduled minutes, every start a sample.
scanner.tick_to_start_with_sagas_p50_ms / _p99_ms: the same, with the executions started meanwhile running in this
same process (moto's interpreter threads) on the 2 cores and the one GIL the scanner uses, and through the one lock
that serialises moto's requests: what the local emulation adds, which AWS does not. Two scheduled minutes.

scanner.handover_gap_ms: median, over 5 handovers on the local platform, of the time between the last batch the
holder of a shard's lease processed and the first one its successor processed; the successor arrived while the
holder ran (as the next minute's invocation does), warmed up, and took the lease when the holder gave it up.
It does not include a successor that arrives late (the scheduler's own delay) or a cold start.

scanner.shards_for_universe: shards needed for 8 venues x 250 symbols (the simulated universe of the detection
benchmark) at 10 updates a second per book, each shard following its own books and every hub book, with 50 %
headroom: a shard's load at most updates_per_s / 1.5."""

from __future__ import annotations

import asyncio
import multiprocessing
import statistics
import time
from multiprocessing.connection import Connection
from typing import Any

from arbiter.bootstrap.clock import WallClock
from arbiter.bootstrap.saga import SagaStores
from arbiter.bootstrap.scanner import ScannerService, build_scanner, scanner_shard
from arbiter.detection import Detector, IncrementalDetector
from arbiter.local.runtime import LocalAws
from arbiter.local.scanning import LocalScanning
from arbiter.marketdata import LiveBooks
from arbiter.marketdata.ccxt_feed import CcxtBookFeed, FeedSettings
from arbiter.markets import MarketCatalog, market_from_ccxt
from arbiter.models import PrecisionMode
from arbiter.scanner import CountingScannerMetrics, shards_needed
from arbiter.settings import DetectionSettings, ScannerSettings, Settings, SimulationSettings
from arbiter.simulation import MarketModel
from benchmarks.figures import Figure

ALTS = tuple(f"ALT{i}" for i in range(28))
SYMBOLS = (
    "BTC/USDT",
    "ETH/USDT",
    "ETH/BTC",
    "BNB/USDT",
    *tuple(f"{alt}/{quote}" for alt in ALTS for quote in ("USDT", "BTC")),
)
WARMUP_S, WINDOW_S, WINDOWS = 2.0, 3.0, 3
FULL_UNIVERSE = SimulationSettings(seed=5, venues=tuple(f"sim{i}" for i in range(8)), symbols_per_venue=250)
HEADROOM = 1.5


def _serve(connection: Connection) -> None:
    from tests.support.binance_depth import BinanceDepthServer

    async def serve() -> None:
        server = await BinanceDepthServer(clock_ms=lambda: int(time.time() * 1000)).start()
        for i, symbol in enumerate(SYMBOLS):
            price = 100.0 + i
            bids = [(f"{price - 0.01 * (k + 1):.2f}", "1") for k in range(10)]
            asks = [(f"{price + 0.01 * (k + 1):.2f}", "1") for k in range(10)]
            server.add_book(symbol.replace("/", ""), bids, asks)
        connection.send(server.port)
        await server.flood()

    asyncio.run(serve())


async def _measure(port: int, detect: bool) -> float:
    import ccxt.pro as pro

    from tests.support.binance_depth import BinanceDepthServer, binance_markets, point_at

    exchange: Any = pro.binance({"enableRateLimit": False})
    point_at(exchange, BinanceDepthServer(clock_ms=lambda: 0, port=port))
    markets = binance_markets(SYMBOLS)
    exchange.set_markets(markets)
    clock = WallClock()
    feed = CcxtBookFeed({"binance": exchange}, {"binance": SYMBOLS}, clock, FeedSettings(depth=10))
    catalog = MarketCatalog(market_from_ccxt("binance", m, PrecisionMode.DECIMAL_PLACES) for m in markets)
    books = LiveBooks(("binance",), SYMBOLS, 10)
    detector = Detector.for_snapshot(catalog, books, DetectionSettings())
    incremental = IncrementalDetector(detector)
    await feed.start()
    rates: list[float] = []
    try:
        started, counted, refreshed = time.perf_counter(), _applied(exchange), False
        window_start: float | None = None
        while len(rates) < WINDOWS:
            batch = await feed.next_batch(0.1)
            if detect and batch:
                changed = books.apply_all(batch)
                now = clock.now_ms()
                if not refreshed and (books.timestamps > 0).all():
                    detector.refresh_usd_values(books)
                    incremental.full(books, now)
                    refreshed = True
                else:
                    incremental.update(books, now, changed)
            elapsed = time.perf_counter() - started
            if window_start is None and elapsed >= WARMUP_S:
                window_start, counted = time.perf_counter(), _applied(exchange)
            elif window_start is not None and time.perf_counter() - window_start >= WINDOW_S:
                rates.append((_applied(exchange) - counted) / (time.perf_counter() - window_start))
                window_start, counted = time.perf_counter(), _applied(exchange)
    finally:
        await feed.close()
    return statistics.median(rates)


def _applied(exchange: Any) -> int:
    """Diffs ccxt has applied to its books so far: each diff of the loopback stream carries one update id."""
    return sum(book["nonce"] or 0 for book in exchange.orderbooks.values())


def _throughput() -> tuple[float, float]:
    context = multiprocessing.get_context("spawn")
    receiving, sending = context.Pipe(duplex=False)
    server = context.Process(target=_serve, args=(sending,), daemon=True)
    server.start()
    try:
        port = receiving.recv()
        baseline = asyncio.run(_measure(port, detect=False))
        with_detection = asyncio.run(_measure(port, detect=True))
    finally:
        server.terminate()
        server.join()
    return with_detection, baseline


def _tick_to_start(*, with_sagas: bool) -> tuple[float, float, int]:
    settings = Settings(
        simulation=SimulationSettings(
            seed=21, symbols_per_venue=12, dislocation_probability=0.1, levels=10, tick_ms=100
        ),
        scanner=ScannerSettings(
            run_ms=60_000, stop_margin_ms=0, depth=10, max_starts_per_tick=1, route_cooldown_ms=2_000
        ),
    )
    with LocalScanning(settings, aws=LocalAws(execute_state_machines=with_sagas)) as local:
        for _ in range(2 if with_sagas else 5):
            local.scheduled_minute()
        samples = list(local.metrics.starts)
    samples.sort()
    p99 = samples[min(len(samples) - 1, round(0.99 * (len(samples) - 1)))]
    return statistics.median(samples), p99, len(samples)


def _handover_gaps() -> list[float]:
    settings = Settings(
        simulation=SimulationSettings(seed=9, symbols_per_venue=8, levels=5, tick_ms=100),
        scanner=ScannerSettings(run_ms=3_000, stop_margin_ms=0, depth=5),
    )
    gaps: list[float] = []
    with LocalScanning(settings) as local:
        holder = local.services[0]
        aws = local.platform.aws
        shard = scanner_shard(local.settings, local.platform.markets, 0)
        successor_scanner = build_scanner(
            local.settings,
            shard,
            markets=local.platform.markets,
            gateways=local.platform.venues,
            stores=SagaStores.dynamodb(aws.dynamodb, aws.tables),
            scanner_stores=_stores_of(holder),
            clock=local.clock,
            metrics=CountingScannerMetrics(),
            refusal_metrics=local.platform.risk_metrics,
        )
        successor = ScannerService(successor_scanner, holder.open_source, holder.stores, local.clock, local.settings)
        for _ in range(5):

            async def handover() -> float:
                began = local.clock.now_ms()
                first = asyncio.create_task(holder.run(60_000))
                # The next invocation arrives while the holder still runs: halfway through its run here.
                while local.clock.now_ms() - began < settings.scanner.run_ms // 2:
                    await asyncio.sleep(0)
                second = asyncio.create_task(successor.run(60_000))
                ran, took_over = await first, await second
                if ran.last_tick_at is None or took_over.first_tick_at is None:
                    raise RuntimeError(f"no handover: {ran.reason}; {took_over.reason}")
                return (took_over.first_tick_at - ran.last_tick_at) * 1000

            gaps.append(asyncio.run(handover()))
    return gaps


def _stores_of(service: ScannerService) -> Any:
    from arbiter.bootstrap.scanner import ScannerStores

    d = service.scanner.d
    return ScannerStores(
        leases=service.stores.leases,
        heartbeats=service.stores.heartbeats,
        opportunities=d.opportunities,
        starter=d.starter,
    )


def run() -> list[Figure]:
    updates, baseline = _throughput()
    p50, p99, starts = _tick_to_start(with_sagas=False)
    shared_p50, shared_p99, shared_starts = _tick_to_start(with_sagas=True)
    gaps = _handover_gaps()
    model = MarketModel.from_settings(FULL_UNIVERSE)
    shards = shards_needed(list(model.universe.catalog), 10, updates / HEADROOM)
    return [
        Figure("scanner.updates_per_s", updates, "updates/s"),
        Figure("scanner.updates_ccxt_only_per_s", baseline, "updates/s"),
        Figure("scanner.tick_to_start_p50_ms", p50, "ms"),
        Figure("scanner.tick_to_start_p99_ms", p99, "ms"),
        Figure("scanner.tick_to_start_samples", starts, "starts"),
        Figure("scanner.tick_to_start_with_sagas_p50_ms", shared_p50, "ms"),
        Figure("scanner.tick_to_start_with_sagas_p99_ms", shared_p99, "ms"),
        Figure("scanner.tick_to_start_with_sagas_samples", shared_starts, "starts"),
        Figure("scanner.handover_gap_ms", statistics.median(gaps), "ms"),
        Figure("scanner.shards_for_universe", shards, "shards"),
    ]
