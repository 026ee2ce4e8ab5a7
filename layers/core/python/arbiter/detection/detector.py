"""The opportunity detector: vectorised screening of every cross-venue pair and every triangle at the top of
book (numpy), then exact sizing through depth (Decimal) of the candidates only."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal

import numpy as np

from arbiter.detection.books import BookSnapshot
from arbiter.detection.index import DetectionIndex, IntArray
from arbiter.detection.sizing import Sized, best_cycle_size, size_cross_venue
from arbiter.execution.exposure import base_and_quote
from arbiter.markets import MarketCatalog
from arbiter.models import Balances, Opportunity, OpportunityKind, QuoteStamp, Side
from arbiter.settings import DetectionSettings

STABLE_USD = frozenset({"USD", "USDT", "USDC"})


@dataclass(frozen=True)
class Screening:
    pairs: IntArray
    """Indexes into the detection index's pairs whose top of book clears both taker fees."""
    cycles: IntArray
    """Indexes into its cycles whose product of rates after fees exceeds one."""
    stale: list[tuple[int, int]]


@dataclass
class ScanResult:
    opportunities: list[Opportunity]
    skipped: list[str] = field(default_factory=list)
    """Why candidates or books were left out (stale, unknown value, balances), one line each."""
    pairs_screened: int = 0
    cycles_screened: int = 0


class Detector:
    def __init__(self, catalog: MarketCatalog, index: DetectionIndex, settings: DetectionSettings) -> None:
        self.catalog, self.index, self.settings = catalog, index, settings

    @classmethod
    def for_snapshot(cls, catalog: MarketCatalog, books: BookSnapshot, settings: DetectionSettings) -> Detector:
        index = DetectionIndex.build(catalog, books.venues, books.symbols, settings.profit_currencies)
        return cls(catalog, index, settings)

    def screen(self, books: BookSnapshot, now_ms: int) -> Screening:
        """Top-of-book screening of every pair and cycle, vectorised: which ones are worth sizing."""
        index = self.index
        with np.errstate(invalid="ignore", divide="ignore"):
            age = now_ms - books.timestamps
            fresh = index.listed & (books.timestamps > 0) & (age <= self.settings.max_quote_age_ms) & (age >= 0)
            fresh &= np.isfinite(books.best_bids) & np.isfinite(books.best_asks)
            sell_rate = books.best_bids * (1 - index.taker)  # quote received per base sold
            buy_cost = books.best_asks * (1 + index.taker)  # quote paid per base bought
            s, a, b = index.pair_symbol, index.pair_buy, index.pair_sell
            pairs = np.flatnonzero((sell_rate[b, s] > buy_cost[a, s]) & fresh[a, s] & fresh[b, s])
            cycles = np.zeros(0, dtype=np.int64)
            if index.cycles:
                v, cs, sells = index.cycle_venue, index.cycle_symbol, index.cycle_sells
                rates = np.where(sells, sell_rate[v[:, None], cs], 1.0 / buy_cost[v[:, None], cs])
                cycles = np.flatnonzero(fresh[v[:, None], cs].all(axis=1) & (rates.prod(axis=1) > 1.0))
        stale_v, stale_s = np.nonzero(index.listed & ~fresh)
        return Screening(pairs=pairs, cycles=cycles, stale=list(zip(stale_v.tolist(), stale_s.tolist(), strict=True)))

    def scan(self, books: BookSnapshot, now_ms: int, balances: Mapping[str, Balances] | None = None) -> ScanResult:
        """Screen, then size every candidate exactly; opportunities ranked by expected profit."""
        index = self.index
        screening = self.screen(books, now_ms)
        result = ScanResult(opportunities=[], pairs_screened=len(index.pair_symbol), cycles_screened=len(index.cycles))
        result.skipped.extend(
            f"{index.venues[v]} {index.symbols[s]}: book stale or missing" for v, s in screening.stale
        )
        for p in screening.pairs:
            pair = (int(index.pair_buy[p]), int(index.pair_sell[p]), int(index.pair_symbol[p]))
            self._size_pair(books, *pair, now_ms, balances, result)
        for c in screening.cycles:
            self._size_cycle(books, int(c), now_ms, balances, result)
        result.opportunities.sort(key=lambda o: o.expected_profit, reverse=True)
        return result

    def _emit(
        self, kind: OpportunityKind, sized: Sized, currency: str, books: BookSnapshot, now_ms: int, result: ScanResult
    ) -> None:
        if sized.profit < self.settings.min_profit:
            return
        keys = dict.fromkeys((leg.venue, leg.symbol) for leg in sized.legs)
        quotes = tuple(
            QuoteStamp(venue=venue, symbol=symbol, timestamp=books.order_book(venue, symbol).timestamp)
            for venue, symbol in keys
        )
        result.opportunities.append(
            Opportunity(
                kind=kind,
                legs=sized.legs,
                expected_profit=sized.profit,
                profit_currency=currency,
                quotes=quotes,
                detected_at=now_ms,
            )
        )

    def _size_pair(
        self,
        books: BookSnapshot,
        buy: int,
        sell: int,
        symbol_index: int,
        now_ms: int,
        balances: Mapping[str, Balances] | None,
        result: ScanResult,
    ) -> None:
        venues, symbol = self.index.venues, self.index.symbols[symbol_index]
        base, quote = base_and_quote(symbol)
        usd = self._usd_value(quote, books)
        if usd is None:
            result.skipped.append(f"{symbol}: no USD value for {quote}, cannot cap the notional")
            return
        spendable = sellable = None
        if balances is not None:
            spendable = _free(balances, venues[buy], quote)
            sellable = _free(balances, venues[sell], base)
            if not spendable or not sellable:
                result.skipped.append(f"{symbol} {venues[buy]}->{venues[sell]}: no {quote} or {base} to trade")
                return
        sized = size_cross_venue(
            books.order_book(venues[buy], symbol),
            books.order_book(venues[sell], symbol),
            self.catalog.get_market(venues[buy], symbol),
            self.catalog.get_market(venues[sell], symbol),
            self.settings.max_notional / usd,
            spendable,
            sellable,
        )
        if sized is not None:
            self._emit(OpportunityKind.CROSS_VENUE, sized, quote, books, now_ms, result)

    def _size_cycle(
        self, books: BookSnapshot, c: int, now_ms: int, balances: Mapping[str, Balances] | None, result: ScanResult
    ) -> None:
        cycle = self.index.cycles[c]
        venue = self.index.venues[cycle.venue]
        symbols = [self.index.symbols[s] for s, _ in cycle.hops]
        usd = self._usd_value(cycle.start, books)
        if usd is None:
            result.skipped.append(f"{venue} cycle from {cycle.start}: no USD value for {cycle.start}")
            return
        budget = self.settings.max_notional / usd
        if balances is not None:
            budget = min(budget, _free(balances, venue, cycle.start))
            if budget <= 0:
                result.skipped.append(f"{venue} cycle from {cycle.start}: no {cycle.start} balance")
                return
        sized = best_cycle_size(
            [books.order_book(venue, s) for s in symbols],
            [self.catalog.get_market(venue, s) for s in symbols],
            [side for _, side in cycle.hops],
            budget,
        )
        if sized is not None:
            self._emit(OpportunityKind.CYCLE, sized, cycle.start, books, now_ms, result)

    def _usd_value(self, asset: str, books: BookSnapshot) -> Decimal | None:
        if asset in STABLE_USD:
            return Decimal(1)
        for quote in ("USDT", "USD", "USDC"):
            symbol = f"{asset}/{quote}"
            if symbol in self.index.symbols:
                s = self.index.symbols.index(symbol)
                mids = (books.best_bids[:, s] + books.best_asks[:, s]) / 2
                finite = mids[np.isfinite(mids)]
                if finite.size:
                    return Decimal(repr(float(finite.mean())))
        return None


def _free(balances: Mapping[str, Balances], venue: str, asset: str) -> Decimal:
    held = balances.get(venue)
    return held.free(asset) if held is not None else Decimal(0)


__all__ = ["Detector", "ScanResult", "Side"]
