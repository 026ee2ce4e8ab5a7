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
        self.usd_values: dict[str, Decimal] = {asset: Decimal(1) for asset in STABLE_USD}

    @classmethod
    def for_snapshot(cls, catalog: MarketCatalog, books: BookSnapshot, settings: DetectionSettings) -> Detector:
        index = DetectionIndex.build(catalog, books.venues, books.symbols, settings.profit_currencies)
        detector = cls(catalog, index, settings)
        detector.refresh_usd_values(books)
        return detector

    def screen(
        self, books: BookSnapshot, now_ms: int, pairs: IntArray | None = None, cycles: IntArray | None = None
    ) -> Screening:
        """Top-of-book screening, vectorised: which pairs and cycles (all, or the given subsets) are worth
        sizing."""
        index = self.index
        pair_subset = np.arange(len(index.pair_symbol)) if pairs is None else pairs
        cycle_subset = np.arange(len(index.cycles)) if cycles is None else cycles
        with np.errstate(invalid="ignore", divide="ignore"):
            age = now_ms - books.timestamps
            fresh = index.listed & (books.timestamps > 0) & (age <= self.settings.max_quote_age_ms) & (age >= 0)
            fresh &= np.isfinite(books.best_bids) & np.isfinite(books.best_asks)
            sell_rate = books.best_bids * (1 - index.taker)  # quote received per base sold
            buy_cost = books.best_asks * (1 + index.taker)  # quote paid per base bought
            s, a, b = index.pair_symbol[pair_subset], index.pair_buy[pair_subset], index.pair_sell[pair_subset]
            flagged_pairs = pair_subset[(sell_rate[b, s] > buy_cost[a, s]) & fresh[a, s] & fresh[b, s]]
            flagged_cycles = np.zeros(0, dtype=np.int64)
            if len(cycle_subset):
                v, cs = index.cycle_venue[cycle_subset], index.cycle_symbol[cycle_subset]
                sells = index.cycle_sells[cycle_subset]
                rates = np.where(sells, sell_rate[v[:, None], cs], 1.0 / buy_cost[v[:, None], cs])
                flagged_cycles = cycle_subset[fresh[v[:, None], cs].all(axis=1) & (rates.prod(axis=1) > 1.0)]
        stale_v, stale_s = np.nonzero(index.listed & ~fresh)
        stale = list(zip(stale_v.tolist(), stale_s.tolist(), strict=True))
        return Screening(pairs=flagged_pairs, cycles=flagged_cycles, stale=stale)

    def scan(self, books: BookSnapshot, now_ms: int, balances: Mapping[str, Balances] | None = None) -> ScanResult:
        """Screen, then size every candidate exactly; opportunities ranked by expected profit."""
        index = self.index
        screening = self.screen(books, now_ms)
        result = ScanResult(opportunities=[], pairs_screened=len(index.pair_symbol), cycles_screened=len(index.cycles))
        result.skipped.extend(
            f"{index.venues[v]} {index.symbols[s]}: book stale or missing" for v, s in screening.stale
        )
        for p in screening.pairs:
            found = self.size_pair(books, int(p), now_ms, balances, result.skipped)
            if found is not None:
                result.opportunities.append(found)
        for c in screening.cycles:
            found = self.size_cycle(books, int(c), now_ms, balances, result.skipped)
            if found is not None:
                result.opportunities.append(found)
        result.opportunities.sort(key=lambda o: (o.expected_profit, o.id), reverse=True)
        return result

    def _emit(
        self, kind: OpportunityKind, sized: Sized, currency: str, books: BookSnapshot, now_ms: int
    ) -> Opportunity | None:
        if sized.profit < self.settings.min_profit:
            return None
        keys = dict.fromkeys((leg.venue, leg.symbol) for leg in sized.legs)
        quotes = tuple(
            QuoteStamp(venue=venue, symbol=symbol, timestamp=books.order_book(venue, symbol).timestamp)
            for venue, symbol in keys
        )
        return Opportunity(
            kind=kind,
            legs=sized.legs,
            expected_profit=sized.profit,
            profit_currency=currency,
            quotes=quotes,
            detected_at=now_ms,
        )

    def size_pair(
        self,
        books: BookSnapshot,
        pair: int,
        now_ms: int,
        balances: Mapping[str, Balances] | None,
        skipped: list[str],
    ) -> Opportunity | None:
        """Size one screened pair exactly; None (with the reason in ``skipped`` when there is one) if nothing."""
        index = self.index
        buy, sell = int(index.pair_buy[pair]), int(index.pair_sell[pair])
        venues, symbol = index.venues, index.symbols[int(index.pair_symbol[pair])]
        base, quote = base_and_quote(symbol)
        usd = self.usd_values.get(quote)
        if usd is None:
            skipped.append(f"{symbol}: no USD value for {quote}, cannot cap the notional")
            return None
        spendable = sellable = None
        if balances is not None:
            spendable = _free(balances, venues[buy], quote)
            sellable = _free(balances, venues[sell], base)
            if not spendable or not sellable:
                skipped.append(f"{symbol} {venues[buy]}->{venues[sell]}: no {quote} or {base} to trade")
                return None
        sized = size_cross_venue(
            books.order_book(venues[buy], symbol),
            books.order_book(venues[sell], symbol),
            self.catalog.get_market(venues[buy], symbol),
            self.catalog.get_market(venues[sell], symbol),
            self.settings.max_notional / usd,
            spendable,
            sellable,
        )
        return None if sized is None else self._emit(OpportunityKind.CROSS_VENUE, sized, quote, books, now_ms)

    def size_cycle(
        self, books: BookSnapshot, c: int, now_ms: int, balances: Mapping[str, Balances] | None, skipped: list[str]
    ) -> Opportunity | None:
        """Size one screened cycle exactly through the depth of its three books."""
        cycle = self.index.cycles[c]
        venue = self.index.venues[cycle.venue]
        symbols = [self.index.symbols[s] for s, _ in cycle.hops]
        usd = self.usd_values.get(cycle.start)
        if usd is None:
            skipped.append(f"{venue} cycle from {cycle.start}: no USD value for {cycle.start}")
            return None
        budget = self.settings.max_notional / usd
        if balances is not None:
            budget = min(budget, _free(balances, venue, cycle.start))
            if budget <= 0:
                skipped.append(f"{venue} cycle from {cycle.start}: no {cycle.start} balance")
                return None
        sized = best_cycle_size(
            [books.order_book(venue, s) for s in symbols],
            [self.catalog.get_market(venue, s) for s in symbols],
            [side for _, side in cycle.hops],
            budget,
        )
        return None if sized is None else self._emit(OpportunityKind.CYCLE, sized, cycle.start, books, now_ms)

    def refresh_usd_values(self, books: BookSnapshot) -> None:
        """USD values of every asset from the books' mids against USD stablecoins. They only cap notionals, so
        they are refreshed now and then, not per book: sizing then depends on the candidate's own books alone,
        which is what lets the incremental scan re-size only the candidates a changed book touches."""
        values = {asset: Decimal(1) for asset in STABLE_USD}
        for s, symbol in enumerate(self.index.symbols):
            base, quote = base_and_quote(symbol)
            if quote in STABLE_USD and base not in values:
                mids = (books.best_bids[:, s] + books.best_asks[:, s]) / 2
                finite = mids[np.isfinite(mids)]
                if finite.size:
                    values[base] = Decimal(repr(float(finite.mean())))
        self.usd_values = values


def _free(balances: Mapping[str, Balances], venue: str, asset: str) -> Decimal:
    held = balances.get(venue)
    return held.free(asset) if held is not None else Decimal(0)


__all__ = ["Detector", "ScanResult", "Side"]
