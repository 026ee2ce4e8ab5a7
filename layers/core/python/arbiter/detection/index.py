"""What the detector screens, computed once per universe: every cross-venue pair and every triangle, as flat
index arrays, plus each market's fee, precision and limits as float arrays, so that a scan is a handful of
vectorised operations with no Python loop over markets."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from itertools import combinations, pairwise

import numpy as np
import numpy.typing as npt

from arbiter.markets import MarketCatalog
from arbiter.models import PrecisionMode, Side
from arbiter.models.symbols import base_and_quote

TAKER, STEP, MIN_AMOUNT, MIN_COST, MAX_AMOUNT, FEE = range(6)
_TINY = float(np.nextafter(0.0, 1.0))

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
    """Books are numbered flat: book = venue * len(symbols) + symbol."""

    venues: tuple[str, ...]
    symbols: tuple[str, ...]
    venue_pos: dict[str, int]
    symbol_pos: dict[str, int]
    assets: tuple[str, ...]
    listed: BoolArray  # [V, S]
    taker: FloatArray  # [V, S]
    row_significant: BoolArray
    """[2B] per row of a snapshot's both-sided arrays (asks, then bids): True where the amount precision counts
    significant digits."""
    row_params: FloatArray
    """[6, 2B] per row of a snapshot's both-sided arrays, stacked so that one gather serves a whole candidate
    set: TAKER, STEP (the amount step; the digits where significant), MIN_AMOUNT (the smallest positive float
    where the market sets none), MIN_COST (0 where none), MAX_AMOUNT (inf where none), and FEE: quote paid per
    quote of asks taken (1 + taker) or kept per quote of bids hit (1 - taker)."""
    any_significant: bool
    any_max_amount: bool
    base_asset: IntArray  # index into ``assets``
    quote_asset: IntArray
    pair_symbol: IntArray  # [P] cross-venue: buy on pair_buy, sell on pair_sell
    pair_buy: IntArray
    pair_sell: IntArray
    pair_buy_book: IntArray  # [P] flat books of the two sides
    pair_sell_book: IntArray
    pair_rows: IntArray  # [2, P] rows of a snapshot's both-sided arrays: the buy book's asks, the sell book's bids
    pair_quote_asset: IntArray  # [P]
    pair_id: IntArray  # [S, V, V] -> pair index, -1 where the symbol is not listed on both venues
    pair_valid: BoolArray  # [V, V, S] buy venue, sell venue, symbol: a pair exists
    symbol_pairs_at: IntArray  # [S + 1] pairs of symbol s are symbol_pairs_at[s]:symbol_pairs_at[s + 1]
    cycles: tuple[Cycle, ...]
    cycle_venue: IntArray  # [C]
    cycle_symbol: IntArray  # [C, 3]
    cycle_sells: BoolArray  # [C, 3]
    cycle_books: IntArray  # [C, 3] flat book of each hop
    cycle_hop_rate: IntArray
    """[3, C] row of the side each hop takes, in a snapshot's [2B, L] arrays; also its index into the
    screening's rate vector (buy rates, then sell rates)."""
    cycle_hop_quote: IntArray  # [3, C] quote asset of each hop's market, hop-major
    cycle_hop_sells: BoolArray  # [3, C]
    cycle_start_asset: IntArray  # [C]
    # CSR map from a flat book to the cycles that include it: cycles of book b are
    # book_cycles[book_cycles_at[b]:book_cycles_at[b + 1]].
    book_cycles_at: IntArray
    book_cycles: IntArray
    columns: IntArray
    """0, 1, 2, ... as many as a depth walk has columns at most (each cycle's three hops, each symbol's pair
    both sides)."""

    @property
    def params(self) -> FloatArray:
        """[5, B] ``row_params`` per flat book (the rows of its asks)."""
        params: FloatArray = self.row_params[:FEE, : self.book_count]
        return params

    @property
    def significant(self) -> BoolArray:
        """[B] True where the book's amount precision counts significant digits."""
        significant: BoolArray = self.row_significant[: self.book_count]
        return significant

    @property
    def book_count(self) -> int:
        return len(self.venues) * len(self.symbols)

    def book(self, venue: str, symbol: str) -> int | None:
        """The flat book of a venue and symbol, None if the universe has no such market."""
        v, s = self.venue_pos.get(venue), self.symbol_pos.get(symbol)
        if v is None or s is None:
            return None
        return v * len(self.symbols) + s if self.listed[v, s] else None

    def flat_book(self, venue: str, symbol: str) -> int:
        """The flat book of a known venue and symbol."""
        return self.venue_pos[venue] * len(self.symbols) + self.symbol_pos[symbol]

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
        n_v, n_s = len(venues), len(symbols)
        assets = tuple(sorted({a for s in symbols for a in base_and_quote(s)}))
        asset_pos = {a: i for i, a in enumerate(assets)}
        listed = np.zeros((n_v, n_s), dtype=bool)
        taker = np.zeros((n_v, n_s))
        step, significant = np.ones(n_v * n_s), np.zeros(n_v * n_s, dtype=bool)
        min_amount, max_amount, min_cost = np.zeros(n_v * n_s), np.full(n_v * n_s, np.inf), np.zeros(n_v * n_s)
        for (venue, symbol), market in catalog.items():
            if venue in venue_pos and symbol in symbol_pos and market.spot and market.active:
                v, s = venue_pos[venue], symbol_pos[symbol]
                b = v * n_s + s
                listed[v, s] = True
                taker[v, s] = float(market.taker_fee)
                if market.precision_mode is PrecisionMode.TICK_SIZE:
                    step[b] = float(market.amount_precision)
                elif market.precision_mode is PrecisionMode.DECIMAL_PLACES:
                    step[b] = 10.0 ** -int(market.amount_precision)
                else:
                    step[b], significant[b] = float(market.amount_precision), True
                # Never below the smallest positive float: "at least the minimum" then also means "more than 0".
                min_amount[b] = max(float(market.min_amount or 0), _TINY)
                max_amount[b] = float(market.max_amount) if market.max_amount is not None else np.inf
                min_cost[b] = float(market.min_cost or 0)
        base_asset = np.array([asset_pos[base_and_quote(s)[0]] for s in symbols] * n_v, dtype=np.int64)
        quote_asset = np.array([asset_pos[base_and_quote(s)[1]] for s in symbols] * n_v, dtype=np.int64)

        pairs = [
            (s, a, b)
            for s in range(n_s)
            for a in range(n_v)
            for b in range(n_v)
            if a != b and listed[a, s] and listed[b, s]
        ]
        pair_id = np.full((n_s, n_v, n_v), -1, dtype=np.int64)
        for p, (s, a, b) in enumerate(pairs):
            pair_id[s, a, b] = p
        cycles = [c for v in range(n_v) for c in _triangles(v, symbols, listed[v], profit_currencies)]
        cycle_venue = np.array([c.venue for c in cycles], dtype=np.int64)
        cycle_symbol = np.array([[h[0] for h in c.hops] for c in cycles], dtype=np.int64).reshape(-1, 3)
        cycle_sells = np.array([[h[1] is Side.SELL for h in c.hops] for c in cycles], dtype=bool).reshape(-1, 3)
        cycle_books = cycle_venue[:, None] * n_s + cycle_symbol
        pair_symbol = np.array([p[0] for p in pairs], dtype=np.int64)
        pair_buy = np.array([p[1] for p in pairs], dtype=np.int64)
        pair_sell = np.array([p[2] for p in pairs], dtype=np.int64)
        pair_valid = np.zeros((n_v, n_v, n_s), dtype=bool)
        pair_valid[pair_buy, pair_sell, pair_symbol] = True
        symbol_pairs_at = np.zeros(n_s + 1, dtype=np.int64)
        np.cumsum(np.bincount(pair_symbol, minlength=n_s), out=symbol_pairs_at[1:])
        book_cycles_at, book_cycles = _csr(n_v * n_s, cycle_books.T.reshape(-1), len(cycles))
        return cls(
            venues=tuple(venues),
            symbols=tuple(symbols),
            venue_pos=venue_pos,
            symbol_pos=symbol_pos,
            assets=assets,
            listed=listed,
            taker=taker,
            row_significant=np.concatenate([significant, significant]),
            row_params=np.concatenate(
                [
                    np.tile(np.stack([taker.reshape(-1), step, min_amount, min_cost, max_amount]), 2),
                    np.concatenate([1 + taker.reshape(-1), 1 - taker.reshape(-1)])[None, :],
                ]
            ),
            any_significant=bool(significant.any()),
            any_max_amount=bool(np.isfinite(max_amount[listed.reshape(-1)]).any()),
            base_asset=base_asset,
            quote_asset=quote_asset,
            pair_symbol=pair_symbol,
            pair_buy=pair_buy,
            pair_sell=pair_sell,
            pair_buy_book=pair_buy * n_s + pair_symbol,
            pair_sell_book=pair_sell * n_s + pair_symbol,
            pair_rows=np.stack([pair_buy * n_s + pair_symbol, (n_v + pair_sell) * n_s + pair_symbol]),
            pair_quote_asset=quote_asset[pair_symbol],
            pair_id=pair_id,
            pair_valid=pair_valid,
            symbol_pairs_at=symbol_pairs_at,
            cycles=tuple(cycles),
            cycle_venue=cycle_venue,
            cycle_symbol=cycle_symbol,
            cycle_sells=cycle_sells,
            cycle_books=cycle_books,
            cycle_hop_rate=np.ascontiguousarray((cycle_books + cycle_sells * (n_v * n_s)).T),
            cycle_hop_quote=np.ascontiguousarray(quote_asset[cycle_books.T]),
            cycle_hop_sells=np.ascontiguousarray(cycle_sells.T),
            cycle_start_asset=np.array([asset_pos[c.start] for c in cycles], dtype=np.int64),
            book_cycles_at=book_cycles_at,
            book_cycles=book_cycles,
            columns=np.arange(max(3 * len(cycles), 2 * n_s), dtype=np.int64),
        )


def _csr(books: int, book_of: IntArray, items: int) -> tuple[IntArray, IntArray]:
    """``book_of`` lists the book of each (item, slot) with items repeating every ``items`` entries; the
    result maps each book to the sorted, distinct items that include it."""
    item = np.arange(len(book_of), dtype=np.int64) % max(items, 1)
    keys = np.unique(book_of * max(items, 1) + item)
    book, found = keys // max(items, 1), keys % max(items, 1)
    at = np.zeros(books + 1, dtype=np.int64)
    np.cumsum(np.bincount(book, minlength=books), out=at[1:])
    return at, found.astype(np.int64)


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
