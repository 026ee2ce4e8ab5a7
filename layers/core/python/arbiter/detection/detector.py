"""The opportunity detector.

A scan is (1) a vectorised screen of every cross-venue pair and every triangle at the top of book after taker
fees, (2) a vectorised depth walk, in floats, of the candidates that pass, which chooses each one's size, and
(3) for the opportunities actually read, an exact re-computation in Decimal from the books (amounts rounded to
precision, limits, caps and balances checked again), which is what ``Opportunity`` carries. Step 3 is lazy:
``ScanResult.top(n)`` verifies only as many candidates as it returns, in rank order.

Units: ``DetectionSettings.max_notional`` and ``min_profit`` are in USD, converted to each opportunity's quote
(or start) currency with the USD values the detector holds; opportunities are ranked by expected net profit in
USD so that profits in USDT, BTC and ETH compare, and each one keeps its profit in its own currency
(``Opportunity.expected_profit`` in ``profit_currency``)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from functools import cached_property

import numpy as np

from arbiter.detection.books import BookSnapshot
from arbiter.detection.depth import size_candidates
from arbiter.detection.index import FEE, BoolArray, DetectionIndex, FloatArray, IntArray
from arbiter.detection.sizing import Sized, size_cross_venue, size_cycle
from arbiter.markets import USD_STABLE, MarketCatalog, usd_from_mids, usd_symbols
from arbiter.models import Balances, Opportunity, OpportunityKind, QuoteStamp
from arbiter.models.symbols import base_and_quote
from arbiter.settings import DetectionSettings

_EMPTY = np.zeros(0, dtype=np.int64)
_NO_RATE = np.array([[np.inf], [0.0]])
"""What a book that cannot be traded buys at (asks row) and sells for (bids row)."""


@dataclass(frozen=True)
class Screening:
    pairs: IntArray
    """Indexes into the detection index's pairs whose top of book clears both taker fees."""
    cycles: IntArray
    """Indexes into its cycles whose product of rates after fees exceeds one."""
    fresh: BoolArray
    """[B] books young enough and two-sided."""


@dataclass(frozen=True)
class Found:
    """Sized candidates, as arrays: what a scan found before any Decimal is computed."""

    pairs: IntArray
    pair_amount: FloatArray
    pair_profit: FloatArray  # quote currency
    cycles: IntArray
    cycle_rung: IntArray
    cycle_profit: FloatArray  # start currency


class ScanResult:
    """Candidates ranked by expected net profit in USD; ``opportunities`` (all) and ``top(n)`` emit them as
    ``Opportunity`` models with exact Decimal legs, re-checked against the books, in that order."""

    def __init__(
        self,
        detector: Detector,
        books: BookSnapshot,
        now_ms: int,
        found: Found,
        fresh: BoolArray | None = None,
        balances: Mapping[str, Balances] | None = None,
        skipped: list[str] | None = None,
    ) -> None:
        self.detector, self.books, self.now_ms, self.found, self._fresh = detector, books, now_ms, found, fresh
        self.balances = balances
        self._skipped = skipped or []
        self.pairs_screened = len(detector.index.pair_symbol)
        self.cycles_screened = len(detector.index.cycles)
        self._emitted: list[Opportunity] = []
        self._next = 0

    @cached_property
    def _order(self) -> IntArray:
        """Candidates by expected profit in USD, best first (pairs numbered first, then cycles)."""
        usd, index, found = self.detector.usd, self.detector.index, self.found
        # quote_asset repeats per venue: the first venue's row serves every pair of the symbol.
        pair_usd = found.pair_profit * usd[index.quote_asset[index.pair_symbol[found.pairs]]]
        cycle_usd = found.cycle_profit * usd[index.cycle_start_asset[found.cycles]]
        order: IntArray = np.argsort(-np.concatenate([pair_usd, cycle_usd]), kind="stable")
        return order

    @property
    def candidates(self) -> int:
        """Sized candidates (before the exact Decimal check that may still drop a few)."""
        return len(self.found.pairs) + len(self.found.cycles)

    @cached_property
    def _book_reasons(self) -> list[str]:
        index, books = self.detector.index, self.books
        fresh = self._fresh if self._fresh is not None else self.detector.top_rates(books, self.now_ms)[2]
        n_s = len(index.symbols)
        listed = index.listed.reshape(-1)
        lines = list(books.rejected)
        for b in np.flatnonzero(listed & ~fresh).tolist():
            lines.append(f"{index.venues[b // n_s]} {index.symbols[b % n_s]}: book stale or missing")
        for b in np.flatnonzero(~listed & (books.timestamps > 0)).tolist():
            lines.append(f"{index.venues[b // n_s]} {index.symbols[b % n_s]}: no market definition, book ignored")
        return lines

    @property
    def skipped(self) -> list[str]:
        """Why books or candidates were left out (stale, unknown market, no USD value, no balance), one line
        each; emitting opportunities may add reasons (a candidate the exact check refused)."""
        return self._book_reasons + self._skipped

    def top(self, n: int) -> list[Opportunity]:
        """The ``n`` best opportunities (fewer if there are not that many), exact, in the order of the float
        ranking (``opportunities`` sorts by the exact profits, which may swap near-ties)."""
        while len(self._emitted) < n and self._next < len(self._order):
            rank = int(self._order[self._next])
            self._next += 1
            found = self._emit(rank)
            if found is not None:
                self._emitted.append(found)
        return self._emitted[:n]

    @cached_property
    def opportunities(self) -> list[Opportunity]:
        found = self.top(len(self._order))
        usd = self.detector.usd_values
        return sorted(found, key=lambda o: (o.expected_profit * usd[o.profit_currency], o.id), reverse=True)

    def _emit(self, rank: int) -> Opportunity | None:
        detector, found = self.detector, self.found
        if rank < len(found.pairs):
            return detector.emit_pair(self.books, int(found.pairs[rank]), self.now_ms, self.balances, self._skipped)
        rank -= len(found.pairs)
        return detector.emit_cycle(
            self.books, int(found.cycles[rank]), int(found.cycle_rung[rank]), self.now_ms, self.balances, self._skipped
        )


class Detector:
    """One per universe (venues x symbols x markets). It keeps scratch buffers between scans: one detector per
    thread."""

    def __init__(self, catalog: MarketCatalog, index: DetectionIndex, settings: DetectionSettings) -> None:
        self.catalog, self.index, self.settings = catalog, index, settings
        self.usd_values: dict[str, Decimal] = {asset: Decimal(1) for asset in USD_STABLE}
        self.usd = np.full(len(index.assets), np.nan)
        self._known = np.zeros(len(index.assets), dtype=bool)
        self._usd_or_zero = self._budget = np.zeros(len(index.assets))
        self._all_known = False
        # Per pair and per cycle: the budget (max_notional in its quote or start currency) and the USD value of
        # a unit of profit, refreshed with the USD values.
        self._pair_budget = self._pair_usd = np.zeros(len(index.pair_symbol))
        self._cycle_budget = self._cycle_usd = np.zeros(len(index.cycles))
        self._listed = index.listed.reshape(-1)
        self._sell_fee, self._buy_fee = 1 - index.taker.reshape(-1), 1 + index.taker.reshape(-1)
        self._rates = np.zeros(2 * index.book_count)
        self._markets = [
            [catalog.get_market(v, s) if index.listed[i, j] else None for j, s in enumerate(index.symbols)]
            for i, v in enumerate(index.venues)
        ]

    @classmethod
    def for_snapshot(cls, catalog: MarketCatalog, books: BookSnapshot, settings: DetectionSettings) -> Detector:
        index = DetectionIndex.build(catalog, books.venues, books.symbols, settings.profit_currencies)
        detector = cls(catalog, index, settings)
        detector.refresh_usd_values(books)
        return detector

    # -- screening ------------------------------------------------------------------------------------------

    def top_rates(
        self, books: BookSnapshot, now_ms: int, out: FloatArray | None = None
    ) -> tuple[FloatArray, FloatArray, BoolArray]:
        """Per book: quote received per base sold and quote paid per base bought, after the taker fee, at the
        top. A stale, missing or one-sided book sells for 0 and buys at infinity, so it passes no screen.
        ``out`` ([2B]) receives the buy rates then the sell rates; the two returned are views on it."""
        ts, n_b = books.timestamps, self.index.book_count
        # A timestamp of 0 means no book: the oldest one allowed is at least 1.
        fresh = ts >= max(now_ms - self.settings.max_quote_age_ms, 1)
        fresh &= ts <= now_ms
        fresh &= self._listed
        fresh &= np.minimum(books.top_amounts[:n_b], books.top_amounts[n_b:]) > 0
        rates = np.multiply(books.top_prices, self.index.row_params[FEE], out=out).reshape(2, n_b)
        np.copyto(rates, _NO_RATE, where=~fresh)
        return rates[1], rates[0], fresh

    def rates_at(self, books: BookSnapshot, now_ms: int, flat: IntArray) -> tuple[FloatArray, FloatArray]:
        """``top_rates`` for the given flat books only."""
        ts = books.timestamps[flat]
        bid_row = flat + self.index.book_count
        fresh = self._listed[flat] & (ts >= now_ms - self.settings.max_quote_age_ms)
        fresh &= ts <= now_ms
        fresh &= ts > 0
        fresh &= books.top_amounts[flat] > 0
        fresh &= books.top_amounts[bid_row] > 0
        sell = np.where(fresh, books.top_prices[bid_row] * self._sell_fee[flat], 0.0)
        buy = np.where(fresh, books.top_prices[flat] * self._buy_fee[flat], np.inf)
        return sell, buy

    def _best_pairs(self, sells: FloatArray, buys: FloatArray, symbols: IntArray | None = None) -> IntArray:
        """Per symbol (columns of the [V, S] or [V, len(symbols)] rates), the pair of venues with the cheapest
        ask and the richest bid after fees, when the bid beats the ask. Every pair of the symbol is compared,
        as ratios of rates."""
        index = self.index
        n_v = len(index.venues)
        cand = (sells.max(axis=0) > buys.min(axis=0)).nonzero()[0]  # (np.flatnonzero's wrapper costs more)
        if not len(cand):
            return _EMPTY
        symbol = cand if symbols is None else symbols[cand]
        sell_at, buy_at = sells[:, cand].argmax(axis=0), buys[:, cand].argmin(axis=0)
        found: IntArray = index.pair_id[symbol, buy_at, sell_at]
        crossed = buy_at == sell_at
        if crossed.any():
            # One venue holds both the richest bid and the cheapest ask (a crossed book): the best pair of two
            # different venues, from the ratios of every pair.
            cand, symbol = cand[crossed], symbol[crossed]
            ratio = sells[:, cand][None, :, :] / buys[:, cand][:, None, :]  # [buy venue, sell venue, symbol]
            ratio *= index.pair_valid[:, :, symbol]
            flat = ratio.reshape(n_v * n_v, len(cand))
            best = flat.argmax(axis=0)
            keep = flat[best, np.arange(len(cand))] > 1.0
            found = np.concatenate([found[~crossed], index.pair_id[symbol[keep], best[keep] // n_v, best[keep] % n_v]])
        return found

    def screen(self, books: BookSnapshot, now_ms: int) -> Screening:
        """Every pair and every cycle at the top of book: which are worth sizing."""
        index = self.index
        rates = self._rates
        sell, buy, fresh = self.top_rates(books, now_ms, out=rates)
        n_v, n_s = len(index.venues), len(index.symbols)
        pairs = self._best_pairs(sell.reshape(n_v, n_s), buy.reshape(n_v, n_s))
        # Cycles: base received per quote spent on a buy, so that a cycle's rate is the product of its hops'.
        np.divide(1.0, buy, out=buy)
        hop = rates.take(index.cycle_hop_rate)  # (a take into ``out`` is buffered: twice as slow)
        np.multiply(hop[0], hop[1], out=hop[0])
        np.multiply(hop[0], hop[2], out=hop[0])
        return Screening(pairs=pairs, cycles=(hop[0] > 1.0).nonzero()[0], fresh=fresh)

    def screen_subset(self, books: BookSnapshot, now_ms: int, symbols: IntArray, cycles: IntArray) -> Screening:
        """The same screen for the given symbols' pairs and the given cycles only (``fresh`` is left empty)."""
        index = self.index
        n_v, n_s = len(index.venues), len(index.symbols)
        columns = (np.arange(n_v)[:, None] * n_s + symbols[None, :]).reshape(-1)
        hops = index.cycle_books[cycles].reshape(-1)
        sell, buy = self.rates_at(books, now_ms, np.concatenate([columns, hops]))
        pairs = self._best_pairs(sell[: len(columns)].reshape(n_v, -1), buy[: len(columns)].reshape(n_v, -1), symbols)
        rate = np.where(index.cycle_sells[cycles].reshape(-1), sell[len(columns) :], 1.0 / buy[len(columns) :])
        rate = rate.reshape(-1, 3)
        flagged_cycles = cycles[rate[:, 0] * rate[:, 1] * rate[:, 2] > 1.0]
        return Screening(pairs=pairs, cycles=flagged_cycles, fresh=np.zeros(0, dtype=bool))

    # -- sizing ---------------------------------------------------------------------------------------------

    def size(
        self,
        books: BookSnapshot,
        screening: Screening,
        balances: Mapping[str, Balances] | None = None,
        skipped: list[str] | None = None,
    ) -> Found:
        """Walk the depth of every screened candidate at once; keep those that earn at least ``min_profit``."""
        index = self.index
        min_profit_usd = float(self.settings.min_profit)
        pairs, cycles = screening.pairs, screening.cycles
        if not len(pairs) and not len(cycles):  # (most incremental updates)
            return Found(pairs, np.zeros(0), np.zeros(0), cycles, _EMPTY, np.zeros(0))
        pair_budget, cycle_budget, sellable = self._pair_budget[pairs], self._cycle_budget[cycles], None
        if balances is not None:
            if len(pairs):
                pair_budget, sellable = self._pair_balances(balances, pairs, pair_budget, skipped)
            if len(cycles):
                cycle_budget = self._cycle_balances(balances, cycles, cycle_budget, skipped)
        pair_sizes, cycle_sizes = size_candidates(
            index, pairs, cycles, books.prices, books.amounts, (pair_budget, cycle_budget), sellable
        )
        pair_amount, pair_profit = pair_sizes.amount, pair_sizes.profit
        keep = pair_profit * self._pair_usd[pairs] >= min_profit_usd
        if skipped is not None and not self._all_known:
            quote = index.pair_quote_asset[pairs]
            unknown = ~self._known[quote]
            skipped.extend(self._no_usd(pairs[unknown], quote[unknown]))
        if not keep.all():
            pairs, pair_amount, pair_profit = pairs[keep], pair_amount[keep], pair_profit[keep]
        cycle_rung, cycle_profit = cycle_sizes.rung, cycle_sizes.profit
        keep = cycle_profit * self._cycle_usd[cycles] >= min_profit_usd
        if not keep.all():
            cycles, cycle_rung, cycle_profit = cycles[keep], cycle_rung[keep], cycle_profit[keep]
        return Found(pairs, pair_amount, pair_profit, cycles, cycle_rung, cycle_profit)

    def scan(self, books: BookSnapshot, now_ms: int, balances: Mapping[str, Balances] | None = None) -> ScanResult:
        """Screen, then size every candidate through depth; ranked by expected profit (USD)."""
        screening = self.screen(books, now_ms)
        skipped: list[str] = []
        found = self.size(books, screening, balances, skipped)
        return ScanResult(self, books, now_ms, found, screening.fresh, balances, skipped)

    def _no_usd(self, items: IntArray, assets: IntArray) -> list[str]:
        return [
            f"{self.index.symbols[int(self.index.pair_symbol[p])]}: no USD value for {self.index.assets[a]}, "
            "cannot cap the notional"
            for p, a in zip(items.tolist(), assets.tolist(), strict=True)
        ]

    def _free(self, balances: Mapping[str, Balances]) -> FloatArray:
        """[V, A] free balance of every asset on every venue, as floats."""
        index = self.index
        free = np.zeros((len(index.venues), len(index.assets)))
        asset_pos = {a: i for i, a in enumerate(index.assets)}
        for v, venue in enumerate(index.venues):
            held = balances.get(venue)
            if held is None:
                continue
            for asset, balance in held.balances.items():
                if asset in asset_pos:
                    free[v, asset_pos[asset]] = float(balance.free)
        return free

    def _pair_balances(
        self, balances: Mapping[str, Balances], pairs: IntArray, budget: FloatArray, skipped: list[str] | None
    ) -> tuple[FloatArray, FloatArray]:
        index = self.index
        buy_books, sell_books = index.pair_buy_book[pairs], index.pair_sell_book[pairs]
        n_s = len(index.symbols)
        free = self._free(balances)
        spendable = free[buy_books // n_s, index.quote_asset[buy_books]]
        sellable = free[sell_books // n_s, index.base_asset[sell_books]]
        if skipped is not None:
            for b, s, q, base in zip(
                buy_books.tolist(), sell_books.tolist(), spendable.tolist(), sellable.tolist(), strict=True
            ):
                if q <= 0 or base <= 0:
                    symbol = index.symbols[b % n_s]
                    skipped.append(
                        f"{symbol} {index.venues[b // n_s]}->{index.venues[s // n_s]}: no "
                        f"{'/'.join(base_and_quote(symbol)[::-1])} to trade (zero balance)"
                    )
        taker = index.taker.reshape(-1)[buy_books]
        return np.minimum(budget, spendable / (1 + taker)), sellable

    def _cycle_balances(
        self, balances: Mapping[str, Balances], cycles: IntArray, budget: FloatArray, skipped: list[str] | None
    ) -> FloatArray:
        index = self.index
        free = self._free(balances)[index.cycle_venue[cycles], index.cycle_start_asset[cycles]]
        if skipped is not None:
            for c, held in zip(cycles.tolist(), free.tolist(), strict=True):
                if held <= 0:
                    cycle = index.cycles[c]
                    skipped.append(f"{index.venues[cycle.venue]} cycle from {cycle.start}: no {cycle.start} balance")
        return np.minimum(budget, free)

    # -- exact emission -------------------------------------------------------------------------------------

    def _emit(
        self, kind: OpportunityKind, sized: Sized, currency: str, books: BookSnapshot, now_ms: int
    ) -> Opportunity | None:
        usd = self.usd_values.get(currency)
        if sized.profit <= 0 or usd is None or sized.profit * usd < self.settings.min_profit:
            return None
        keys = dict.fromkeys((leg.venue, leg.symbol) for leg in sized.legs)
        index = self.index
        quotes = tuple(
            QuoteStamp(venue=venue, symbol=symbol, timestamp=int(books.timestamps[index.flat_book(venue, symbol)]))
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

    def notional_cap(self, currency: str) -> Decimal | None:
        """``max_notional`` (USD) in ``currency``; None when the currency has no USD value."""
        usd = self.usd_values.get(currency)
        return None if usd is None else self.settings.max_notional / usd

    def emit_pair(
        self,
        books: BookSnapshot,
        pair: int,
        now_ms: int,
        balances: Mapping[str, Balances] | None = None,
        skipped: list[str] | None = None,
    ) -> Opportunity | None:
        """Size one pair exactly in Decimal from its books (the float walk only chose it)."""
        index = self.index
        buy, sell = int(index.pair_buy[pair]), int(index.pair_sell[pair])
        s = int(index.pair_symbol[pair])
        venues, symbol = index.venues, index.symbols[s]
        base, quote = base_and_quote(symbol)
        cap = self.notional_cap(quote)
        if cap is None:
            return None
        spendable = sellable = None
        if balances is not None:
            spendable, sellable = _free(balances, venues[buy], quote), _free(balances, venues[sell], base)
            if not spendable or not sellable:
                if skipped is not None:
                    skipped.append(f"{symbol} {venues[buy]}->{venues[sell]}: no {quote} or {base} to trade")
                return None
        buy_market, sell_market = self._markets[buy][s], self._markets[sell][s]
        assert buy_market is not None
        assert sell_market is not None
        sized = size_cross_venue(
            books.order_book(venues[buy], symbol),
            books.order_book(venues[sell], symbol),
            buy_market,
            sell_market,
            cap,
            spendable,
            sellable,
        )
        return None if sized is None else self._emit(OpportunityKind.CROSS_VENUE, sized, quote, books, now_ms)

    def emit_cycle(
        self,
        books: BookSnapshot,
        c: int,
        rung: int,
        now_ms: int,
        balances: Mapping[str, Balances] | None = None,
        skipped: list[str] | None = None,
    ) -> Opportunity | None:
        """Size one cycle exactly in Decimal at the start amount its float walk chose."""
        cycle = self.index.cycles[c]
        venue = self.index.venues[cycle.venue]
        symbols = [self.index.symbols[s] for s, _ in cycle.hops]
        budget = self.notional_cap(cycle.start)
        if budget is None:
            return None
        if balances is not None:
            budget = min(budget, _free(balances, venue, cycle.start))
            if budget <= 0:
                if skipped is not None:
                    skipped.append(f"{venue} cycle from {cycle.start}: no {cycle.start} balance")
                return None
        markets = [self._markets[cycle.venue][s] for s, _ in cycle.hops]
        sized = size_cycle(
            [books.order_book(venue, s) for s in symbols],
            [m for m in markets if m is not None],
            [side for _, side in cycle.hops],
            budget / Decimal(2) ** rung,
        )
        return None if sized is None else self._emit(OpportunityKind.CYCLE, sized, cycle.start, books, now_ms)

    def refresh_usd_values(self, books: BookSnapshot) -> None:
        """USD values of every asset from the books' mids against USD stablecoins. They only cap notionals and
        rank, so they are refreshed now and then, not per book: sizing then depends on the candidate's own books
        alone, which is what lets the incremental scan re-size only the candidates a changed book touches."""
        values = {asset: Decimal(1) for asset in USD_STABLE}
        n_v, n_s = len(self.index.venues), len(self.index.symbols)
        present = (books.timestamps > 0) & (books.bid_amounts[:, 0] > 0) & (books.ask_amounts[:, 0] > 0)
        mids = np.where(present, (books.bid_prices[:, 0] + books.ask_prices[:, 0]) / 2, np.nan).reshape(n_v, n_s)
        column = {symbol: s for s, symbol in enumerate(self.index.symbols)}
        for asset in self.index.assets:
            for symbol in [] if asset in values else usd_symbols(asset, self.index.symbols):
                mids_of_symbol = mids[:, column[symbol]]
                value = usd_from_mids(
                    [Decimal(repr(float(mid))) for mid in mids_of_symbol[np.isfinite(mids_of_symbol)]]
                )
                if value is not None:
                    values[asset] = value
                    break
        self.usd_values = values
        self.usd = np.array([float(values[a]) if a in values else np.nan for a in self.index.assets])
        self._known = ~np.isnan(self.usd)
        self._usd_or_zero = np.where(self._known, self.usd, 0.0)
        # What max_notional (USD) is worth in each asset; zero where the asset has no USD value, which sizes
        # nothing.
        with np.errstate(divide="ignore"):
            self._budget = np.where(self._known, float(self.settings.max_notional) / self._usd_or_zero, 0.0)
        self._all_known = bool(self._known.all())
        index = self.index
        self._pair_budget, self._pair_usd = self._budget[index.pair_quote_asset], self.usd[index.pair_quote_asset]
        self._cycle_budget = self._budget[index.cycle_start_asset]
        self._cycle_usd = self.usd[index.cycle_start_asset]


def _free(balances: Mapping[str, Balances], venue: str, asset: str) -> Decimal:
    held = balances.get(venue)
    return held.free(asset) if held is not None else Decimal(0)


__all__ = ["Detector", "Found", "ScanResult", "Screening"]
