"""The set of markets Arbiter trades, keyed by (venue, symbol)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping

from arbiter.markets.errors import UnknownMarketError
from arbiter.models.market import Market


class MarketCatalog(Mapping[tuple[str, str], Market]):
    def __init__(self, markets: Iterable[Market]) -> None:
        by_key: dict[tuple[str, str], Market] = {}
        for market in markets:
            if market.key in by_key:
                raise ValueError(f"{market.venue} {market.symbol}: listed twice")
            by_key[market.key] = market
        if not by_key:
            raise ValueError("a market catalog needs at least one market")
        self._markets = by_key

    def __getitem__(self, key: tuple[str, str]) -> Market:
        try:
            return self._markets[key]
        except KeyError:
            raise UnknownMarketError(*key) from None

    def __iter__(self) -> Iterator[tuple[str, str]]:
        return iter(self._markets)

    def __len__(self) -> int:
        return len(self._markets)

    def get_market(self, venue: str, symbol: str) -> Market:
        return self[(venue, symbol)]

    @property
    def venues(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(venue for venue, _ in self._markets))

    def for_venue(self, venue: str) -> tuple[Market, ...]:
        return tuple(m for (v, _), m in self._markets.items() if v == venue)

    def symbols(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(symbol for _, symbol in self._markets))
