"""Each run's ccxt.pro feed is new (its event loop's), and only the first run of a container loads markets."""

from __future__ import annotations

from typing import Any

from arbiter.bootstrap.scanner import ccxt_book_sources
from arbiter.marketdata.ccxt_feed import CcxtBookFeed, FeedSettings
from arbiter.models.time import ManualClock

BTC_USDT = {"BTC/USDT": {"id": "BTCUSDT", "symbol": "BTC/USDT", "base": "BTC", "quote": "USDT"}}


class Exchange:
    """Stands in for a ccxt.pro exchange: what the feed reads of it before it subscribes."""

    def __init__(self) -> None:
        self.markets: dict[str, Any] = {}
        self.given: dict[str, Any] | None = None

    def set_markets(self, markets: dict[str, Any]) -> None:
        self.markets = self.given = markets


def test_a_later_run_gets_the_markets_the_first_run_loaded_on_new_exchanges() -> None:
    opened: list[Exchange] = []

    def open_exchange(venue: str) -> Exchange:
        opened.append(Exchange())
        return opened[-1]

    sources = ccxt_book_sources(ManualClock(0), FeedSettings(), open_exchange)
    first = sources({"binance": ("BTC/USDT",)})
    assert isinstance(first, CcxtBookFeed)
    assert opened[0].given is None  # nothing known yet: the feed loads the markets when it starts
    opened[0].markets = BTC_USDT  # as load_markets leaves them
    second = sources({"binance": ("BTC/USDT",), "kraken": ("BTC/USDT",)})
    assert isinstance(second, CcxtBookFeed)
    binance, kraken = opened[1], opened[2]
    assert second.exchanges == {"binance": binance, "kraken": kraken}  # new clients for the new run's loop
    assert binance.given == BTC_USDT
    assert kraken.given is None  # a venue the first run did not follow loads its own
