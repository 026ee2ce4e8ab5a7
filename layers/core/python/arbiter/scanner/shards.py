"""Shards: the universe split by base asset, so that one scanner need not follow every book.

Every asset that is some market's quote is a hub (USDT, USD, BTC, ETH, ...), and a market between two hubs
(BTC/USDT, ETH/BTC) is a hub market, followed by every shard. Each other market belongs, with every market of
the same base, to one shard. So each cross-venue pair (one symbol) and each triangle lies inside one shard: a
triangle over assets {X, Q1, Q2} with X not a hub trades X/Q1, X/Q2 (both in X's shard) and Q1/Q2 (a hub
market); a triangle with two non-hubs would need a market between them, which would make one of them a quote.
Opportunities that trade hub markets only are seen by every shard and acted on by shard 0 alone."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

from arbiter.models import Opportunity
from arbiter.models.heartbeat import shard_name
from arbiter.models.symbols import base_and_quote

MAX_SHARDS = 64


@dataclass(frozen=True)
class Shard:
    index: int
    count: int
    symbols: frozenset[str]
    """Every symbol the shard follows: its own bases' markets and the hub markets."""
    hub_symbols: frozenset[str]

    @property
    def name(self) -> str:
        return shard_name(self.index, self.count)

    def owns(self, opportunity: Opportunity) -> bool:
        """Whether this shard acts on ``opportunity`` (each one is acted on by exactly one shard)."""
        legs = {leg.symbol for leg in opportunity.legs}
        if legs <= self.hub_symbols:
            return self.index == 0
        return legs <= self.symbols


def hub_assets(symbols: Iterable[str]) -> frozenset[str]:
    return frozenset(base_and_quote(symbol)[1] for symbol in symbols)


def plan_shards(books: Iterable[tuple[str, str]], count: int) -> tuple[Shard, ...]:
    """Split (venue, symbol) books into ``count`` shards. Bases are dealt, most books first, to the shard with
    the fewest books so far (ties to the lower index, then by name): the same universe gives the same plan on
    every invocation."""
    if count < 1:
        raise ValueError(f"shards: must be at least 1, got {count}")
    listed = sorted(set(books))
    hubs = hub_assets(symbol for _, symbol in listed)
    hub_symbols = frozenset(s for _, s in listed if base_and_quote(s)[0] in hubs)
    load_by_base: Counter[str] = Counter(base_and_quote(s)[0] for _, s in listed if s not in hub_symbols)
    symbols_by_base: dict[str, set[str]] = {}
    for _, symbol in listed:
        if symbol not in hub_symbols:
            symbols_by_base.setdefault(base_and_quote(symbol)[0], set()).add(symbol)
    loads, owned = [0] * count, [set[str]() for _ in range(count)]
    for base, load in sorted(load_by_base.items(), key=lambda item: (-item[1], item[0])):
        target = min(range(count), key=lambda i: (loads[i], i))
        loads[target] += load
        owned[target] |= symbols_by_base[base]
    return tuple(
        Shard(index=i, count=count, symbols=frozenset(owned[i]) | hub_symbols, hub_symbols=hub_symbols)
        for i in range(count)
    )


def shard_books(books: Iterable[tuple[str, str]], shard: Shard) -> list[tuple[str, str]]:
    """The (venue, symbol) books a shard follows."""
    return sorted((venue, symbol) for venue, symbol in set(books) if symbol in shard.symbols)


def shards_needed(books: Iterable[tuple[str, str]], updates_per_book_s: float, capacity_per_s: float) -> int:
    """The fewest shards whose busiest one (its own books and every hub book) stays within ``capacity_per_s``."""
    listed = sorted(set(books))
    for count in range(1, MAX_SHARDS + 1):
        plan = plan_shards(listed, count)
        busiest = max(len(shard_books(listed, shard)) for shard in plan) * updates_per_book_s
        if busiest <= capacity_per_s:
            return count
    raise ValueError(f"more than {MAX_SHARDS} shards needed (or the hub books alone exceed one scanner)")
