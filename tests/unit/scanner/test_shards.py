"""Sharding by base asset with the hub markets in every shard: each opportunity is found inside one shard, and
the shards together find exactly what one scanner over every book finds."""

from __future__ import annotations

import pytest

from arbiter.detection import Detector, OrderBookSet
from arbiter.markets import MarketCatalog
from arbiter.models.symbols import base_and_quote
from arbiter.scanner import plan_shards, shard_books, shards_needed
from arbiter.settings import DetectionSettings, SimulationSettings
from arbiter.simulation import MarketModel

UNIVERSE = SimulationSettings(
    seed=3, venues=("binance", "kraken", "coinbase", "sim3"), symbols_per_venue=40, dislocation_probability=0.25
)


@pytest.mark.parametrize("count", [2, 3, 5])
def test_the_union_of_the_shards_opportunities_is_one_scanners(count: int) -> None:
    model = MarketModel.from_settings(UNIVERSE)
    catalog = model.universe.catalog
    books = list(catalog)
    shards = plan_shards(books, count)
    settings = DetectionSettings()
    compared = 0
    for _ in range(6):
        frame = model.step()
        everything = OrderBookSet(frame.order_books(), frame.universe.venues, frame.universe.symbols)
        whole = Detector.for_snapshot(catalog, everything, settings).scan(everything, frame.clock_ms).opportunities
        found: list[str] = []
        for shard in shards:
            keys = shard_books(books, shard)
            venues, symbols = sorted({v for v, _ in keys}), sorted({s for _, s in keys})
            part = MarketCatalog(catalog[key] for key in keys)
            shard_set = OrderBookSet([frame.order_book(v, s) for v, s in keys], venues, symbols)
            scan = Detector.for_snapshot(part, shard_set, settings).scan(shard_set, frame.clock_ms)
            found += [o.id for o in scan.opportunities if shard.owns(o)]
        assert sorted(found) == sorted(o.id for o in whole)  # equal, and no opportunity owned twice
        compared += len(whole)
    assert compared > 20  # the frames held enough opportunities for the comparison to mean something


def test_shards_split_the_bases_and_share_the_hubs() -> None:
    books = [("a", "SOL/USDT"), ("a", "SOL/BTC"), ("b", "SOL/USDT"), ("a", "BTC/USDT"), ("a", "ETH/BTC"),
             ("a", "ADA/USDT"), ("b", "ADA/ETH"), ("a", "XRP/USDT")]  # fmt: skip
    shards = plan_shards(books, 2)
    hubs = {"BTC/USDT", "ETH/BTC"}
    assert all(shard.hub_symbols == hubs for shard in shards)
    own = [shard.symbols - hubs for shard in shards]
    assert own[0] & own[1] == set()
    assert own[0] | own[1] == {"SOL/USDT", "SOL/BTC", "ADA/USDT", "ADA/ETH", "XRP/USDT"}
    for shard_symbols in own:  # a base's markets never split
        bases = {base_and_quote(s)[0] for s in shard_symbols}
        assert all({s for s in own[0] | own[1] if base_and_quote(s)[0] == b} <= shard_symbols for b in bases)
    assert plan_shards(books, 2) == shards  # the same plan on every invocation


def test_shards_needed_counts_the_hub_books_in_every_shard() -> None:
    books = [(v, f"A{i}/USDT") for v in ("x", "y") for i in range(10)] + [("x", "BTC/USDT"), ("y", "BTC/USDT")]
    assert shards_needed(books, updates_per_book_s=10, capacity_per_s=220) == 1
    # 22 books at 10/s = 220/s; at 120/s per scanner: 2 shards hold 10 own + 2 hub books each.
    assert shards_needed(books, updates_per_book_s=10, capacity_per_s=120) == 2
    with pytest.raises(ValueError, match="shards needed"):
        shards_needed(books, updates_per_book_s=10, capacity_per_s=15)  # the two hub books alone are 20/s
