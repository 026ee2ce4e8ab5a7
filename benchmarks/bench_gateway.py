"""paper_venue.orders_per_s: place + fill + fetch of an IOC limit order against a 20-level book, one core."""

from __future__ import annotations

import itertools
from decimal import Decimal

from arbiter.gateway import PaperVenue
from arbiter.models import OrderRequest, Side
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
        clock=lambda: frame.clock_ms,
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
    return [Figure("paper_venue.orders_per_s", BATCH / seconds, "orders/s")]
