from __future__ import annotations

import itertools
from decimal import Decimal

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from arbiter.settings import SimulationSettings
from arbiter.simulation import BookFrame, MarketModel, build_universe


def run(settings: SimulationSettings, ticks: int) -> list[BookFrame]:
    model = MarketModel.from_settings(settings)
    return [model.step() for _ in range(ticks)]


def test_same_seed_same_books_and_another_seed_other_books() -> None:
    settings = SimulationSettings(seed=11, symbols_per_venue=6, levels=5)
    first, again = run(settings, 5)[-1], run(settings, 5)[-1]
    assert first.order_books() == again.order_books()
    other = run(settings.model_copy(update={"seed": 12}), 5)[-1]
    assert other.order_books() != first.order_books()


def test_recorded_markets_are_used_where_they_exist_and_generated_elsewhere() -> None:
    universe = build_universe(("binance", "kraken", "okx"), 6, seed=1)
    recorded = universe.market_dicts[("kraken", "BTC/USDT")]
    assert recorded["id"] == "XBTUSDT"
    assert universe.listed("kraken", "LTC/USDT")  # a recorded extra symbol
    assert not universe.listed("okx", "LTC/USDT")
    generated = universe.catalog.get_market("okx", "SOL/BTC")
    assert generated.min_cost is not None
    assert generated.min_cost > 0
    assert Decimal("0.0005") <= generated.taker_fee <= Decimal("0.0026")


@pytest.mark.parametrize(("venues", "symbols"), [((), 3), (("kraken", "kraken"), 3), (("kraken",), 0)])
def test_an_empty_or_repeated_venue_list_is_refused(venues: tuple[str, ...], symbols: int) -> None:
    with pytest.raises(ValueError, match=r"venues|symbols_per_venue"):
        build_universe(venues, symbols, seed=1)


@given(
    seed=st.integers(0, 2**32 - 1),
    venue_count=st.integers(1, 4),
    symbols=st.integers(1, 10),
    levels=st.integers(1, 8),
    ticks=st.integers(1, 4),
)
def test_every_book_is_valid_on_precision_and_timestamped(
    seed: int, venue_count: int, symbols: int, levels: int, ticks: int
) -> None:
    venues = ("binance", "kraken", "coinbase", "okx")[:venue_count]
    settings = SimulationSettings(
        seed=seed, venues=venues, symbols_per_venue=symbols, levels=levels, dislocation_probability=0.3
    )
    frame = run(settings, ticks)[-1]
    for book in frame.order_books():  # OrderBook refuses crossed, unsorted or non-positive books
        market = frame.universe.catalog.get_market(book.venue, book.symbol)
        assert len(book.bids) == len(book.asks) == levels
        assert frame.clock_ms - 100 < book.timestamp <= frame.clock_ms
        for level in (*book.bids, *book.asks):
            assert level.price % market.price_precision == 0 or market.precision_mode.name != "TICK_SIZE"
            assert level.amount >= (market.min_amount or 0)


def test_prices_co_move_across_venues() -> None:
    settings = SimulationSettings(seed=3, symbols_per_venue=3, levels=2, dislocation_probability=0.0)
    frames = run(settings, 400)
    btc = frames[0].universe.symbols.index("BTC/USDT")
    mids = np.array([(f.bid_prices[:, btc, 0] + f.ask_prices[:, btc, 0]) / 2 for f in frames])
    returns = np.diff(np.log(mids[::20]), axis=0)  # 20-tick returns, past the venue noise
    correlation = np.corrcoef(returns.T)
    assert correlation[np.triu_indices(3, 1)].min() > 0.8


def _cross_venue_opens(frame: BookFrame) -> int:
    """Books where buying on one venue and selling on another clears both taker fees at the top of book."""
    catalog, found = frame.universe.catalog, 0
    for s, symbol in enumerate(frame.universe.symbols):
        for a, b in itertools.permutations(range(len(frame.universe.venues)), 2):
            if not (frame.listed[a, s] and frame.listed[b, s]):
                continue
            fee_a = float(catalog.get_market(frame.universe.venues[a], symbol).taker_fee)
            fee_b = float(catalog.get_market(frame.universe.venues[b], symbol).taker_fee)
            if frame.bid_prices[b, s, 0] * (1 - fee_b) > frame.ask_prices[a, s, 0] * (1 + fee_a):
                found += 1
    return found


def _triangle_opens(frame: BookFrame, venue: int) -> int:
    """Profitable USDT -> BTC -> ALT -> USDT (or reverse) loops at the top of book, after taker fees."""
    symbols, found = frame.universe.symbols, 0
    fee = float(frame.universe.catalog.get_market(frame.universe.venues[venue], "BTC/USDT").taker_fee)
    bid, ask = frame.bid_prices[venue, :, 0], frame.ask_prices[venue, :, 0]
    btc = symbols.index("BTC/USDT")
    for alt in {s.split("/")[0] for s in symbols} - {"BTC", "ETH", "USDT", "USD", "LTC"}:
        x_usdt, x_btc = symbols.index(f"{alt}/USDT"), symbols.index(f"{alt}/BTC")
        keep = (1 - fee) ** 3
        forward = (1 / ask[btc]) * (1 / ask[x_btc]) * bid[x_usdt] * keep
        backward = (1 / ask[x_usdt]) * bid[x_btc] * bid[btc] * keep
        found += int(forward > 1) + int(backward > 1)
    return found


def test_dislocations_open_real_arbitrage_and_close_again() -> None:
    settings = SimulationSettings(seed=5, symbols_per_venue=12, levels=3, dislocation_probability=0.02)
    frames = run(settings, 200)
    assert max(f.open_dislocations for f in frames) > 0
    # The first dislocation to open closes again within a few half-lives.
    opened_at = next(i for i, f in enumerate(frames) if f.open_dislocations)
    cell = np.unravel_index(np.abs(frames[opened_at].dislocation).argmax(), frames[opened_at].dislocation.shape)
    later = [abs(f.dislocation[cell]) for f in frames[opened_at : opened_at + 30]]
    assert min(later) < settings.dislocation_bps[0] * 0.5e-4
    assert sum(_cross_venue_opens(f) for f in frames) > 0
    binance = frames[0].universe.venues.index("binance")
    assert sum(_triangle_opens(f, binance) for f in frames) > 0
    quiet = run(settings.model_copy(update={"dislocation_probability": 0.0}), 200)
    assert sum(_cross_venue_opens(f) for f in quiet) == 0
