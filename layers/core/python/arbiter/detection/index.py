"""What the detector screens, computed once per universe: every cross-venue pair and every triangle."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from itertools import combinations, pairwise

import numpy as np
import numpy.typing as npt

from arbiter.execution.exposure import base_and_quote
from arbiter.markets import MarketCatalog
from arbiter.models import Side

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]


@dataclass(frozen=True)
class Cycle:
    """A triangle on one venue: three hops, each converting one asset into the next, from ``start`` back."""

    venue: int
    start: str
    hops: tuple[tuple[int, Side], ...]
    """(symbol index, side): BUY spends the market's quote for its base, SELL the other way round."""


@dataclass(frozen=True)
class DetectionIndex:
    venues: tuple[str, ...]
    symbols: tuple[str, ...]
    listed: BoolArray  # [V, S]
    taker: FloatArray  # [V, S]
    pair_symbol: IntArray  # [P] cross-venue: buy on pair_buy, sell on pair_sell
    pair_buy: IntArray
    pair_sell: IntArray
    cycles: tuple[Cycle, ...]
    cycle_venue: IntArray  # [C]
    cycle_symbol: IntArray  # [C, 3]
    cycle_sells: BoolArray  # [C, 3]

    @classmethod
    def build(
        cls,
        catalog: MarketCatalog,
        venues: Sequence[str],
        symbols: Sequence[str],
        profit_currencies: Sequence[str],
    ) -> DetectionIndex:
        venue_pos = {v: i for i, v in enumerate(venues)}
        symbol_pos = {s: i for i, s in enumerate(symbols)}
        listed = np.zeros((len(venues), len(symbols)), dtype=bool)
        taker = np.zeros((len(venues), len(symbols)))
        for (venue, symbol), market in catalog.items():
            if venue in venue_pos and symbol in symbol_pos and market.spot and market.active:
                listed[venue_pos[venue], symbol_pos[symbol]] = True
                taker[venue_pos[venue], symbol_pos[symbol]] = float(market.taker_fee)

        pairs = [
            (s, a, b)
            for s in range(len(symbols))
            for a in range(len(venues))
            for b in range(len(venues))
            if a != b and listed[a, s] and listed[b, s]
        ]
        cycles = [c for v in range(len(venues)) for c in _triangles(v, symbols, listed[v], profit_currencies)]
        return cls(
            venues=tuple(venues),
            symbols=tuple(symbols),
            listed=listed,
            taker=taker,
            pair_symbol=np.array([p[0] for p in pairs], dtype=np.int64),
            pair_buy=np.array([p[1] for p in pairs], dtype=np.int64),
            pair_sell=np.array([p[2] for p in pairs], dtype=np.int64),
            cycles=tuple(cycles),
            cycle_venue=np.array([c.venue for c in cycles], dtype=np.int64),
            cycle_symbol=np.array([[h[0] for h in c.hops] for c in cycles], dtype=np.int64).reshape(-1, 3),
            cycle_sells=np.array([[h[1] is Side.SELL for h in c.hops] for c in cycles], dtype=bool).reshape(-1, 3),
        )


def _triangles(venue: int, symbols: Sequence[str], listed: BoolArray, preferred: Sequence[str]) -> list[Cycle]:
    """Every triangle of three assets with a market on each edge, in both directions, starting from the most
    preferred profit currency among its assets."""
    edges: dict[frozenset[str], int] = {}
    for s, symbol in enumerate(symbols):
        if listed[s] and ":" not in symbol:
            edges.setdefault(frozenset(base_and_quote(symbol)), s)
    assets = sorted({a for edge in edges for a in edge})
    neighbours: dict[str, set[str]] = {a: set() for a in assets}
    for edge in edges:
        x, y = tuple(edge)
        neighbours[x].add(y)
        neighbours[y].add(x)
    rank = {a: i for i, a in enumerate(preferred)}
    found: list[Cycle] = []
    for x, y, z in combinations(assets, 3):
        if not (y in neighbours[x] and z in neighbours[y] and x in neighbours[z]):
            continue
        start = min((x, y, z), key=lambda a: (rank.get(a, len(rank)), a))
        others = [a for a in (x, y, z) if a != start]
        for middle, last in ((others[0], others[1]), (others[1], others[0])):
            path = (start, middle, last, start)
            hops = []
            for spend, receive in pairwise(path):
                s = edges[frozenset((spend, receive))]
                base, _ = base_and_quote(symbols[s])
                hops.append((s, Side.BUY if base == receive else Side.SELL))
            found.append(Cycle(venue=venue, start=start, hops=tuple(hops)))
    return found
