from __future__ import annotations

import itertools
from collections import defaultdict
from collections.abc import Sequence
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from arbiter.detection import Detector, OrderBookSet
from arbiter.detection.sizing import Sized, best_cycle_size, size_cross_venue
from arbiter.markets import MarketCatalog, amount_step, round_amount
from arbiter.models import Balance, Balances, Opportunity, OpportunityKind, OrderBook, QuoteStamp, Side
from arbiter.models.symbols import base_and_quote
from arbiter.settings import DetectionSettings, SimulationSettings
from arbiter.simulation import BookFrame, FrameBooks, MarketModel

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


def _rate(book_bid: Decimal, book_ask: Decimal, fee_sell: Decimal, fee_buy: Decimal) -> Decimal:
    return book_bid * (1 - fee_sell) / (book_ask * (1 + fee_buy))


def brute_force(
    frame: BookFrame, settings: DetectionSettings = DETECTION, replaced: Sequence[OrderBook] = ()
) -> dict[tuple[object, ...], Opportunity]:
    """Every opportunity by plain loops in Decimal, independent of the index and the numpy code: per symbol the
    venue pair with the best top-of-book rate after fees; every triangle of every venue in both directions.
    ``replaced``: books that stand in for the frame's."""
    catalog, universe = frame.universe.catalog, frame.universe
    stand_ins = {(b.venue, b.symbol): b for b in replaced}

    class _Frame:
        @staticmethod
        def order_book(venue: str, symbol: str) -> OrderBook:
            return stand_ins.get((venue, symbol)) or frame.order_book(venue, symbol)

    books = _Frame()
    usd = {a: Decimal(1) for a in ("USDT", "USD", "USDC")}
    for symbol in universe.symbols:
        base, quote = base_and_quote(symbol)
        if quote == "USDT":
            s = universe.symbols.index(symbol)
            mids = (frame.bid_prices[frame.listed[:, s], s, 0] + frame.ask_prices[frame.listed[:, s], s, 0]) / 2
            usd[base] = Decimal(repr(float(mids.mean())))
    found: dict[tuple[object, ...], Opportunity] = {}

    def keep(kind: OpportunityKind, sized: object, currency: str) -> None:
        assert isinstance(sized, Sized)
        if sized.profit > 0 and sized.profit * usd[currency] >= settings.min_profit:
            key = tuple((leg.venue, leg.symbol, leg.side) for leg in sized.legs)
            found[key] = Opportunity(
                kind=kind,
                legs=sized.legs,
                expected_profit=sized.profit,
                profit_currency=currency,
                quotes=tuple(
                    QuoteStamp(venue=leg.venue, symbol=leg.symbol, timestamp=frame.clock_ms) for leg in sized.legs
                ),
                detected_at=frame.clock_ms,
            )

    for symbol in universe.symbols:
        quote = base_and_quote(symbol)[1]
        best, best_rate = None, Decimal(1)
        for buy, sell in itertools.permutations(universe.venues, 2):
            if (buy, symbol) not in catalog or (sell, symbol) not in catalog:
                continue
            ask, bid = books.order_book(buy, symbol).asks[0].price, books.order_book(sell, symbol).bids[0].price
            rate = _rate(bid, ask, catalog[(sell, symbol)].taker_fee, catalog[(buy, symbol)].taker_fee)
            if rate > best_rate:
                best, best_rate = (buy, sell), rate
        if best is not None:
            buy, sell = best
            sized = size_cross_venue(
                books.order_book(buy, symbol),
                books.order_book(sell, symbol),
                catalog[(buy, symbol)],
                catalog[(sell, symbol)],
                settings.max_notional / usd[quote],
            )
            if sized is not None:
                keep(OpportunityKind.CROSS_VENUE, sized, quote)

    rank = {a: i for i, a in enumerate(settings.profit_currencies)}
    for venue in universe.venues:
        markets = {frozenset(base_and_quote(s)): s for s in universe.symbols if (venue, s) in catalog}
        assets = sorted({a for pair in markets for a in pair})
        for trio in itertools.combinations(assets, 3):
            if not all(frozenset(edge) in markets for edge in itertools.combinations(trio, 2)):
                continue
            start = min(trio, key=lambda a: (rank.get(a, len(rank)), a))
            others = [a for a in trio if a != start]
            for middle, last in ((others[0], others[1]), (others[1], others[0])):
                symbols, sides, rate = [], [], Decimal(1)
                for spend, receive in itertools.pairwise((start, middle, last, start)):
                    symbol = markets[frozenset((spend, receive))]
                    book, fee = books.order_book(venue, symbol), catalog[(venue, symbol)].taker_fee
                    side = Side.BUY if base_and_quote(symbol)[0] == receive else Side.SELL
                    rate *= 1 / (book.asks[0].price * (1 + fee)) if side is Side.BUY else book.bids[0].price * (1 - fee)
                    symbols.append(symbol)
                    sides.append(side)
                if rate <= 1:
                    continue
                sized = best_cycle_size(
                    [books.order_book(venue, s) for s in symbols],
                    [catalog[(venue, s)] for s in symbols],
                    sides,
                    settings.max_notional / usd[start],
                )
                if sized is not None:
                    keep(OpportunityKind.CYCLE, sized, start)
    return found


@settings(max_examples=20, deadline=None)
@given(seed=st.integers(0, 10_000))
def test_the_detector_finds_what_a_brute_force_reference_finds_with_the_same_sizes(seed: int) -> None:
    _agrees_with_brute_force(seed, DETECTION)


@settings(max_examples=10, deadline=None)
@given(seed=st.integers(0, 10_000), venues=st.sampled_from([("binance",), ("binance", "kraken", "okx")]))
def test_the_same_holds_when_budgets_walk_deep_into_the_books(seed: int, venues: tuple[str, ...]) -> None:
    """A notional cap far above what the first levels hold: the walks need the whole depth (one venue: cycles
    alone, whose depth no pair fetches)."""
    _agrees_with_brute_force(seed, DETECTION.model_copy(update={"max_notional": Decimal(500_000)}), venues)


def _agrees_with_brute_force(
    seed: int, detection: DetectionSettings, venues: tuple[str, ...] = ("binance", "kraken", "okx")
) -> None:
    for frame in frames(seed, 6, venues=venues, symbols=8):
        books = FrameBooks(frame)
        detector = Detector.for_snapshot(frame.universe.catalog, books, detection)
        ours = {
            tuple((leg.venue, leg.symbol, leg.side) for leg in o.legs): o
            for o in detector.scan(books, frame.clock_ms).opportunities
        }
        expected = brute_force(frame, detection)
        assert ours.keys() == expected.keys()
        for key, opportunity in ours.items():
            reference = expected[key]
            for leg, ref in zip(opportunity.legs, reference.legs, strict=True):
                step = amount_step(frame.universe.catalog[(leg.venue, leg.symbol)], leg.amount)
                assert abs(leg.amount - ref.amount) <= step, (leg, ref)
            assert opportunity.expected_profit == pytest.approx(reference.expected_profit, rel=Decimal("0.001"))


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


def test_a_book_older_than_the_maximum_age_is_never_used() -> None:
    frame = frames(3, 40)[-1]
    books = FrameBooks(frame)
    detector = Detector.for_snapshot(frame.universe.catalog, books, DETECTION)
    later = frame.clock_ms + DETECTION.max_quote_age_ms + 1_000
    result = detector.scan(books, later)
    assert result.opportunities == []
    assert len(result.skipped) == frame.book_count
    assert all("stale" in reason for reason in result.skipped)


def test_one_stale_book_is_left_out_of_every_opportunity_the_rest_is_still_scanned() -> None:
    frame = next(f for f in frames(3, 40) if len(_opportunities(f)) >= 2)
    used = _opportunities(frame)[0].legs[0]
    now = frame.clock_ms
    old = frame.order_book(used.venue, used.symbol).model_copy(
        update={"timestamp": now - DETECTION.max_quote_age_ms - 1}
    )
    books = OrderBookSet(
        [old if (b.venue, b.symbol) == (used.venue, used.symbol) else b for b in frame.order_books()],
        frame.universe.venues,
        frame.universe.symbols,
    )
    detector = Detector.for_snapshot(frame.universe.catalog, books, DETECTION)
    result = detector.scan(books, now)
    assert result.opportunities
    for opportunity in result.opportunities:
        assert all((q.venue, q.symbol) != (used.venue, used.symbol) for q in opportunity.quotes)
        assert all(q.timestamp >= now - DETECTION.max_quote_age_ms for q in opportunity.quotes)
    assert f"{used.venue} {used.symbol}: book stale or missing" in result.skipped
    # The incremental detector drops what it found once its quotes age past the limit, without any update.
    from arbiter.detection import IncrementalDetector

    fresh_books = OrderBookSet(frame.order_books(), frame.universe.venues, frame.universe.symbols)
    incremental = IncrementalDetector(detector)
    assert incremental.full(fresh_books, now).opportunities
    assert incremental.update(fresh_books, now + DETECTION.max_quote_age_ms + 1).opportunities == []


def _opportunities(frame: BookFrame) -> list[Opportunity]:
    books = FrameBooks(frame)
    return Detector.for_snapshot(frame.universe.catalog, books, DETECTION).scan(books, frame.clock_ms).opportunities


def test_bad_input_is_skipped_with_a_reason_and_the_rest_is_scanned() -> None:
    frame = next(f for f in frames(3, 40) if len(_opportunities(f)) >= 2)
    stray = frame.order_book("binance", "BTC/USDT").model_copy(update={"venue": "nowhere"})
    books = OrderBookSet([*frame.order_books(), stray], frame.universe.venues, frame.universe.symbols)
    # A market the catalog does not define (a venue's listing with no usable precision, say).
    first = _opportunities(frame)[0].legs[0]
    catalog = MarketCatalog(m for key, m in frame.universe.catalog.items() if key != (first.venue, first.symbol))
    detector = Detector.for_snapshot(catalog, books, DETECTION)
    result = detector.scan(books, frame.clock_ms)
    assert result.opportunities  # the rest is scanned
    assert all(
        (first.venue, first.symbol) not in {(leg.venue, leg.symbol) for leg in o.legs} for o in result.opportunities
    )
    assert "nowhere BTC/USDT: unknown market, book ignored" in result.skipped
    assert f"{first.venue} {first.symbol}: no market definition, book ignored" in result.skipped


def test_zero_balances_are_skipped_with_a_reason() -> None:
    both = {OpportunityKind.CROSS_VENUE, OpportunityKind.CYCLE}
    frame = next(f for f in frames(3, 40) if {o.kind for o in _opportunities(f)} == both)
    books = FrameBooks(frame)
    detector = Detector.for_snapshot(frame.universe.catalog, books, DETECTION)
    empty = {v: Balances(venue=v, balances={}, timestamp=1) for v in frame.universe.venues}
    result = detector.scan(books, frame.clock_ms, balances=empty)
    assert result.opportunities == []
    assert any("to trade (zero balance)" in reason for reason in result.skipped)
    assert any("cycle from" in reason and reason.endswith("balance") for reason in result.skipped)


def test_a_crossed_book_does_not_pair_a_venue_with_itself() -> None:
    """One venue whose bid beats every ask and whose ask undercuts every bid (a crossed book): the pair chosen
    is the best one between two different venues, as the brute force chooses it."""
    frame = frames(4, 1)[0]
    venue, symbol = "kraken", "ETH/USDT"
    book = frame.order_book(venue, symbol)
    crossed = book.model_copy(
        update={
            "bids": tuple(level.model_copy(update={"price": level.price * Decimal("1.02")}) for level in book.bids),
            "asks": tuple(level.model_copy(update={"price": level.price * Decimal("0.98")}) for level in book.asks),
        }
    )
    books = OrderBookSet(
        [crossed if (b.venue, b.symbol) == (venue, symbol) else b for b in frame.order_books()],
        frame.universe.venues,
        frame.universe.symbols,
    )
    detector = Detector.for_snapshot(frame.universe.catalog, books, DETECTION)
    ours = {
        tuple((leg.venue, leg.symbol, leg.side) for leg in o.legs)
        for o in detector.scan(books, frame.clock_ms).opportunities
        if o.kind is OpportunityKind.CROSS_VENUE and o.legs[0].symbol == symbol
    }
    expected = {
        key
        for key, o in brute_force(frame, replaced=[crossed]).items()
        if o.kind is OpportunityKind.CROSS_VENUE and o.legs[0].symbol == symbol
    }
    assert ours == expected
    assert len(ours) == 1
    ((buy, _, _), (sell, _, _)) = next(iter(ours))
    assert buy != sell
    assert venue in (buy, sell)


@settings(max_examples=15, deadline=None)
@given(seed=st.integers(0, 10_000), fraction=st.sampled_from(["0.0001", "0.01", "0.3", "1"]))
def test_emitted_opportunities_never_spend_more_than_the_balances_hold(seed: int, fraction: str) -> None:
    for frame in frames(seed, 10):
        books = FrameBooks(frame)
        detector = Detector.for_snapshot(frame.universe.catalog, books, DETECTION)
        held = {
            v: Balances(
                venue=v,
                balances={
                    a: Balance(asset=a, free=(Decimal(1000) / usd * Decimal(fraction)).quantize(Decimal("1e-8")))
                    for a, usd in detector.usd_values.items()
                },
                timestamp=1,
            )
            for v in frame.universe.venues
        }
        for opportunity in detector.scan(books, frame.clock_ms, balances=held).opportunities:
            first = opportunity.legs[0]
            market = frame.universe.catalog.get_market(first.venue, first.symbol)
            base, quote = base_and_quote(first.symbol)
            if opportunity.kind is OpportunityKind.CROSS_VENUE:
                buy, sell = opportunity.legs
                cost = frame.order_book(buy.venue, buy.symbol).sweep(Side.BUY, buy.amount).cost
                assert cost * (1 + market.taker_fee) <= held[buy.venue].free(quote)
                assert sell.amount <= held[sell.venue].free(base)
            else:
                start = opportunity.profit_currency
                swept = frame.order_book(first.venue, first.symbol).sweep(first.side, first.amount)
                spent = swept.cost * (1 + market.taker_fee) if first.side is Side.BUY else first.amount
                assert spent <= held[first.venue].free(start)


@settings(max_examples=15, deadline=None)
@given(
    seed=st.integers(0, 10_000),
    steps=st.lists(
        st.tuples(st.lists(st.integers(0, 10_000), min_size=1, max_size=3), st.integers(0, 900)),
        min_size=1,
        max_size=20,
    ),
)
def test_incremental_and_full_evaluation_agree_after_any_sequence_of_book_updates(
    seed: int, steps: list[tuple[list[int], int]]
) -> None:
    """Each step: one to three books change (stamped with the current time), then time moves on by up to
    0.9 s, so that books nobody updates grow stale along the way."""
    from arbiter.detection import IncrementalDetector

    series = frames(seed, 8)
    start, later = series[0], series[1:]
    books = OrderBookSet(start.order_books(), start.universe.venues, start.universe.symbols)
    detector = Detector.for_snapshot(start.universe.catalog, books, DETECTION)
    incremental = IncrementalDetector(detector)
    now = start.clock_ms
    incremental.full(books, now)
    keys = [(v, s) for v in start.universe.venues for s in start.universe.symbols if start.universe.listed(v, s)]
    for n, (picks, advance) in enumerate(steps):
        changed = [keys[pick % len(keys)] for pick in picks]
        for venue, symbol in changed:
            books.replace(later[n % len(later)].order_book(venue, symbol).model_copy(update={"timestamp": now}))
        assert incremental.update(books, now, changed).opportunities == detector.scan(books, now).opportunities
        now += advance
        assert incremental.update(books, now).opportunities == detector.scan(books, now).opportunities
