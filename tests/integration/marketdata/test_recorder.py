"""``arbiter record`` over real ccxt.pro clients, on the loopback Binance depth stream: what the scanner receives
is written down, and a replay reads it back as the same books; the shipped fixture was made this way."""

from __future__ import annotations

import asyncio
from pathlib import Path

from arbiter.local.replay import ReplayMarket
from arbiter.marketdata.recording import read_recording
from tests.support.loopback_recording import FIXTURE, SYMBOLS, make_recording


def test_the_loopback_feed_is_recorded_with_arrival_times_and_replays_as_the_same_books(tmp_path: Path) -> None:
    path = tmp_path / "loopback.jsonl.gz"
    lines = asyncio.run(asyncio.wait_for(make_recording(path, seconds=6), 30))
    header, books = read_recording(path)
    assert set(header.venues["binance"]) == set(SYMBOLS)
    read = list(books)
    assert len(read) == lines > len(SYMBOLS)
    arrivals = [u.arrived_ms for u in read]
    assert arrivals == sorted(arrivals)
    assert {u.symbol for u in read[: len(SYMBOLS)]} == set(SYMBOLS)  # every book's snapshot first
    market = ReplayMarket(path)
    assert set(market.markets) == {("binance", s) for s in SYMBOLS}
    assert 50_000 < market.prices_usd["BTC"] < 70_000
    book = market.book("binance", "BTC/USDT")
    first = next(u for u in read if u.symbol == "BTC/USDT")
    assert float(book.bids[0].price) == first.bids[0][0]


def test_the_shipped_recording_reads_and_is_small() -> None:
    header, books = read_recording(FIXTURE)
    assert header.depth == 5
    assert sum(1 for _ in books) >= 500
    assert FIXTURE.stat().st_size < 100_000
