"""paper_venue.orders_per_s: place + fill + fetch of an IOC limit order against a 20-level book, one core.
gateway.replay_cases: recorded exchange cases replayed through real ccxt and mapped by the gateway (the replay
tests assert each one; this figure shows the suite does not shrink)."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

from arbiter.gateway.ccxt.mapping import (
    balances_from_ccxt,
    order_book_from_ccxt,
    order_from_ccxt,
    ticker_from_ccxt,
    trade_from_ccxt,
)
from arbiter.gateway.ccxt.replay import recorded_cases, replay
from arbiter.gateway.paper import PaperVenue
from arbiter.models import OrderRequest, Side
from arbiter.models.time import ManualClock
from arbiter.settings import SimulationSettings
from arbiter.simulation import MarketModel
from benchmarks.figures import Figure, median_seconds

BATCH = 500


def run() -> list[Figure]:
    model = MarketModel.from_settings(SimulationSettings(seed=1, venues=("binance",), symbols_per_venue=3, levels=20))
    frame = model.step()
    book = frame.order_book("binance", "BTC/USDT")
    market = frame.universe.catalog.get_market("binance", "BTC/USDT")
    venue = PaperVenue(
        "binance",
        {"BTC/USDT": market},
        lambda _symbol: book,
        {"USDT": Decimal(10**12), "BTC": Decimal(10**6)},
        clock=ManualClock(frame.clock_ms),
    )
    ids = itertools.count()
    price = book.asks[5].price

    def batch() -> None:
        for _ in range(BATCH):
            cid = f"b{next(ids)}"
            venue.place_order(
                OrderRequest(
                    venue="binance",
                    symbol="BTC/USDT",
                    side=Side.BUY,
                    amount=Decimal("0.01"),
                    price=price,
                    client_order_id=cid,
                )
            )
            venue.fetch_order(cid, "BTC/USDT")

    seconds = median_seconds(batch, repeats=7, warmup=1)
    return [
        Figure("paper_venue.orders_per_s", BATCH / seconds, "orders/s"),
        Figure("gateway.replay_cases", _replayed(), "cases"),
    ]


def _replayed() -> int:
    fixtures = Path(__file__).resolve().parents[2] / "shared" / "fixtures" / "ccxt"
    count = 0
    for case in recorded_cases(fixtures):
        result = replay(case, fixtures)
        items = result if isinstance(result, list) else [result]
        for item in items:
            MAPPERS[case.method](case.venue, item)
        count += 1
    return count


MAPPERS: dict[str, Callable[[str, Any], object]] = {
    "fetchOrderBook": lambda venue, raw: order_book_from_ccxt(venue, raw, 1),
    "createOrder": lambda venue, raw: order_from_ccxt(venue, "createOrder", raw),
    "cancelOrder": lambda venue, raw: order_from_ccxt(venue, "cancelOrder", raw),
    "fetchOrder": lambda venue, raw: order_from_ccxt(venue, "fetchOrder", raw),
    "fetchOpenOrders": lambda venue, raw: order_from_ccxt(venue, "fetchOpenOrders", raw),
    "fetchBalance": lambda venue, raw: balances_from_ccxt(venue, raw, 1),
    "fetchMyTrades": trade_from_ccxt,
    "fetchTicker": lambda venue, raw: ticker_from_ccxt(venue, raw, 1),
}
