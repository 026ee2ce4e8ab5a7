"""A recording made from the loopback Binance depth stream: real ccxt.pro clients follow three books (a
triangle) while the server moves them on a seeded walk, now and then pricing ETH/BTC away from the other two.
``python -m tests.support.loopback_recording`` rewrites the shipped fixture."""

from __future__ import annotations

import asyncio
import random
import sys
from pathlib import Path
from typing import Any

import ccxt.pro as pro

from arbiter.marketdata.ccxt_feed import CcxtBookFeed, FeedSettings
from arbiter.marketdata.recording import RecordingHeader, RecordingWriter
from arbiter.markets import RECORDED_PRECISION_MODES
from arbiter.models.time import ManualClock
from tests.support.binance_depth import BinanceDepthServer, binance_markets, point_at

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "recordings" / "loopback-binance.jsonl.gz"
T0 = 1_767_225_600_000
SYMBOLS = ("BTC/USDT", "ETH/USDT", "ETH/BTC")
MIDS = {"BTCUSDT": 60_000.0, "ETHUSDT": 3_000.0, "ETHBTC": 0.05}
TICKS = {"BTCUSDT": 0.01, "ETHUSDT": 0.01, "ETHBTC": 0.000001}
STEP_MS = 500
LEVELS = 5


def _levels(market_id: str, mid: float) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    tick = TICKS[market_id]
    digits = len(f"{tick:.10f}".rstrip("0").split(".")[1])
    spread = max(tick, round(mid * 0.00005 / tick) * tick)
    bids = [(f"{mid - spread - i * spread:.{digits}f}", f"{0.5 + i * 0.25:.4f}") for i in range(LEVELS)]
    asks = [(f"{mid + spread + i * spread:.{digits}f}", f"{0.5 + i * 0.25:.4f}") for i in range(LEVELS)]
    return bids, asks


async def make_recording(path: Path, seconds: int = 150, seed: int = 3) -> int:
    rng = random.Random(seed)
    clock = ManualClock(T0)
    server = await BinanceDepthServer(clock_ms=clock.now_ms).start()
    shown: dict[str, tuple[list[tuple[str, str]], list[tuple[str, str]]]] = {}
    for market_id, mid in MIDS.items():
        shown[market_id] = _levels(market_id, mid)
        server.add_book(market_id, *shown[market_id])
    exchange: Any = pro.binance({"enableRateLimit": False})
    point_at(exchange, server)
    markets = binance_markets(SYMBOLS)
    for market in markets:  # the markets are copies of BTC/USDT: ETH/BTC's prices need six decimals
        if market["quote"] == "BTC":
            market["precision"] = {**market["precision"], "price": 6}
            market["limits"] = {**market["limits"], "price": {"min": 0.000001, "max": 1000}, "cost": {"min": 0.0001}}
            market["info"] = {**market["info"], "filters": []}
    exchange.set_markets(markets)
    feed = CcxtBookFeed({"binance": exchange}, {"binance": SYMBOLS}, clock, FeedSettings(depth=LEVELS))
    header = RecordingHeader(
        venues={"binance": {symbol: exchange.markets[symbol] for symbol in SYMBOLS}},
        precision_modes={"binance": RECORDED_PRECISION_MODES["binance"]},  # the recorded dicts' own mode
        started_at_ms=T0,
        depth=LEVELS,
    )
    writer = RecordingWriter.open(path, header)
    mids = dict(MIDS)
    dislocated = 0
    try:
        await feed.start()
        for _ in range(seconds * 1000 // STEP_MS):
            clock.advance(STEP_MS)
            for market_id in mids:
                mids[market_id] *= 1 + rng.gauss(0, 0.00004)
            if dislocated == 0 and rng.random() < 0.03:
                dislocated = 6  # ETH/BTC bid above the USDT books' ratio for three seconds
            dislocated = max(0, dislocated - 1)
            cross = mids["ETHUSDT"] / mids["BTCUSDT"] * (1.006 if dislocated else 1.0)
            for market_id, mid in (("BTCUSDT", mids["BTCUSDT"]), ("ETHUSDT", mids["ETHUSDT"]), ("ETHBTC", cross)):
                bids, asks = _levels(market_id, mid)
                old_bids, old_asks = shown[market_id]
                gone_bids = [(p, "0") for p, _ in old_bids if p not in dict(bids)]
                gone_asks = [(p, "0") for p, _ in old_asks if p not in dict(asks)]
                await server.push(market_id, bids=[*gone_bids, *bids], asks=[*gone_asks, *asks])
                shown[market_id] = (bids, asks)
            await asyncio.sleep(0.02)
            writer.write(await feed.next_batch(0.5))
    finally:
        writer.close()
        await feed.close()
        await server.stop()
    return writer.lines


if __name__ == "__main__":
    lines = asyncio.run(make_recording(FIXTURE))
    sys.stdout.write(f"{FIXTURE}: {lines} books\n")
