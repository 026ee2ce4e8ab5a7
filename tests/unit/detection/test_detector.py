from __future__ import annotations

import itertools
from collections import defaultdict
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from arbiter.detection import Detector, FrameBooks, OrderBookSet
from arbiter.detection.sizing import size_cross_venue
from arbiter.execution.exposure import base_and_quote
from arbiter.markets import round_amount
from arbiter.models import Balance, Balances, Opportunity, OpportunityKind, Side
from arbiter.settings import DetectionSettings, SimulationSettings
from arbiter.simulation import BookFrame, MarketModel

DETECTION = DetectionSettings()


def frames(
    seed: int, ticks: int, venues: tuple[str, ...] = ("binance", "kraken", "okx"), symbols: int = 9
) -> list[BookFrame]:
    model = MarketModel.from_settings(
        SimulationSettings(seed=seed, venues=venues, symbols_per_venue=symbols, levels=6, dislocation_probability=0.08)
    )
    return [model.step() for _ in range(ticks)]


def fill(opportunity: Opportunity, frame: BookFrame) -> dict[str, Decimal]:
    """Fill every leg at the walked prices with the taker fee charged in the quote: the account's change."""
    change: dict[str, Decimal] = defaultdict(Decimal)
    for leg in opportunity.legs:
        book = frame.order_book(leg.venue, leg.symbol)
        market = frame.universe.catalog.get_market(leg.venue, leg.symbol)
        swept = book.sweep(leg.side, leg.amount, leg.limit_price)
        assert swept.filled == leg.amount, "the walked prices must cover the whole leg"
        base, quote = base_and_quote(leg.symbol)
        sign = 1 if leg.side is Side.BUY else -1
        change[base] += sign * swept.filled
        change[quote] -= sign * swept.cost + swept.cost * market.taker_fee
    return change


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 10_000))
def test_every_emitted_opportunity_earns_after_fees_and_respects_every_limit(seed: int) -> None:
    emitted = 0
    for frame in frames(seed, 12):
        books = FrameBooks(frame)
        detector = Detector.for_snapshot(frame.universe.catalog, books, DETECTION)
        for opportunity in detector.scan(books, frame.clock_ms).opportunities:
            emitted += 1
            change = fill(opportunity, frame)
            profit = change.pop(opportunity.profit_currency)
            assert profit == opportunity.expected_profit or opportunity.kind is OpportunityKind.CYCLE
            assert profit * detector.usd_values[opportunity.profit_currency] >= DETECTION.min_profit  # USD
            for asset, amount in change.items():  # only rounding dust may be left in other assets, never a debt
                assert amount >= 0, (asset, amount, opportunity)
            for leg in opportunity.legs:
                market = frame.universe.catalog.get_market(leg.venue, leg.symbol)
                assert round_amount(market, leg.amount) == leg.amount
                assert leg.amount >= (market.min_amount or 0)
                assert leg.amount * leg.limit_price >= (market.min_cost or 0)


def test_dislocated_universes_do_yield_opportunities_of_both_kinds() -> None:
    kinds = set()
    for frame in frames(3, 40):
        books = FrameBooks(frame)
        detector = Detector.for_snapshot(frame.universe.catalog, books, DETECTION)
        kinds |= {o.kind for o in detector.scan(books, frame.clock_ms).opportunities}
    assert kinds == {OpportunityKind.CROSS_VENUE, OpportunityKind.CYCLE}


@settings(max_examples=20, deadline=None)
@given(seed=st.integers(0, 10_000))
def test_vectorised_screening_finds_exactly_what_a_brute_force_loop_finds(seed: int) -> None:
    for frame in frames(seed, 6, symbols=6):
        books = FrameBooks(frame)
        detector = Detector.for_snapshot(frame.universe.catalog, books, DETECTION)
        found = {
            (o.legs[0].venue, o.legs[1].venue, o.legs[0].symbol)
            for o in detector.scan(books, frame.clock_ms).opportunities
            if o.kind is OpportunityKind.CROSS_VENUE
        }
        expected = set()
        catalog = frame.universe.catalog
        for symbol in frame.universe.symbols:
            for buy, sell in itertools.permutations(frame.universe.venues, 2):
                if (buy, symbol) not in catalog or (sell, symbol) not in catalog:
                    continue
                sized = size_cross_venue(
                    frame.order_book(buy, symbol),
                    frame.order_book(sell, symbol),
                    catalog.get_market(buy, symbol),
                    catalog.get_market(sell, symbol),
                    DETECTION.max_notional / _usd(symbol, frame),
                )
                if sized is not None and sized.profit * _usd(symbol, frame) >= DETECTION.min_profit:
                    expected.add((buy, sell, symbol))
        assert found == expected


def _usd(symbol: str, frame: BookFrame) -> Decimal:
    quote = base_and_quote(symbol)[1]
    if quote in {"USDT", "USD", "USDC"}:
        return Decimal(1)
    s = frame.universe.symbols.index(f"{quote}/USDT")
    listed = frame.listed[:, s]
    mids = (frame.bid_prices[listed, s, 0] + frame.ask_prices[listed, s, 0]) / 2
    return Decimal(repr(float(mids.mean())))


def test_greedy_cross_venue_size_is_as_good_as_any_amount_on_a_grid() -> None:
    for frame in frames(11, 30):
        books = FrameBooks(frame)
        detector = Detector.for_snapshot(frame.universe.catalog, books, DETECTION)
        for opportunity in detector.scan(books, frame.clock_ms).opportunities:
            if opportunity.kind is not OpportunityKind.CROSS_VENUE:
                continue
            buy, sell = opportunity.legs
            market = frame.universe.catalog.get_market(buy.venue, buy.symbol)
            ask_book, bid_book = frame.order_book(buy.venue, buy.symbol), frame.order_book(sell.venue, sell.symbol)
            fee_b = market.taker_fee
            fee_s = frame.universe.catalog.get_market(sell.venue, sell.symbol).taker_fee
            for fraction in (Decimal("0.25"), Decimal("0.5"), Decimal("0.75"), Decimal("0.9")):
                amount = round_amount(market, buy.amount * fraction)
                if amount <= 0:
                    continue
                profit = bid_book.sweep(Side.SELL, amount).cost * (1 - fee_s) - ask_book.sweep(
                    Side.BUY, amount
                ).cost * (1 + fee_b)
                assert profit <= opportunity.expected_profit


def test_a_stale_book_is_never_used() -> None:
    frame = frames(3, 40)[-1]
    books = FrameBooks(frame)
    detector = Detector.for_snapshot(frame.universe.catalog, books, DETECTION)
    later = frame.clock_ms + DETECTION.max_quote_age_ms + 1_000
    result = detector.scan(books, later)
    assert result.opportunities == []
    assert len(result.skipped) == frame.book_count
    assert all("stale" in reason for reason in result.skipped)


def test_unknown_books_and_empty_balances_are_skipped_with_a_reason() -> None:
    frame = next(f for f in frames(3, 40) if _has_opportunities(f))
    stray = frame.order_book("binance", "BTC/USDT").model_copy(update={"venue": "nowhere"})
    books = OrderBookSet([*frame.order_books(), stray], frame.universe.venues, frame.universe.symbols)
    detector = Detector.for_snapshot(frame.universe.catalog, books, DETECTION)
    assert detector.scan(books, frame.clock_ms).opportunities  # the stray book is ignored, the rest scanned
    empty = {
        v: Balances(venue=v, balances={"USDT": Balance(asset="USDT", free=Decimal(0))}, timestamp=1)
        for v in frame.universe.venues
    }
    result = detector.scan(books, frame.clock_ms, balances=empty)
    assert result.opportunities == []
    assert any(reason.endswith("balance") or "no USDT" in reason for reason in result.skipped)


def _has_opportunities(frame: BookFrame) -> bool:
    books = FrameBooks(frame)
    return bool(
        Detector.for_snapshot(frame.universe.catalog, books, DETECTION).scan(books, frame.clock_ms).opportunities
    )


@settings(max_examples=15, deadline=None)
@given(seed=st.integers(0, 10_000), picks=st.lists(st.integers(0, 10_000), min_size=1, max_size=25))
def test_incremental_and_full_evaluation_agree_after_any_sequence_of_book_updates(seed: int, picks: list[int]) -> None:
    from arbiter.detection import IncrementalDetector

    series = frames(seed, 8)
    start, later = series[0], series[1:]
    books = OrderBookSet(start.order_books(), start.universe.venues, start.universe.symbols)
    detector = Detector.for_snapshot(start.universe.catalog, books, DETECTION)
    incremental = IncrementalDetector(detector)
    now = start.clock_ms
    incremental.full(books, now)
    keys = [(v, s) for v in start.universe.venues for s in start.universe.symbols if start.universe.listed(v, s)]
    for n, pick in enumerate(picks):
        venue, symbol = keys[pick % len(keys)]
        newer = later[n % len(later)].order_book(venue, symbol).model_copy(update={"timestamp": now})
        books.replace(newer)
        assert (
            incremental.update(books, now, [(venue, symbol)]).opportunities == detector.scan(books, now).opportunities
        )
