"""The float walk rounds amounts as the Decimal rules do, in every ccxt precision mode, and reads the depth where
a walk stands as plain loops do."""

from __future__ import annotations

from decimal import Decimal

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from arbiter.detection.depth import Nodes, _floor
from arbiter.detection.index import STEP, DetectionIndex
from arbiter.markets import MarketCatalog, amount_step, round_amount
from arbiter.models import Market, PrecisionMode

MODES = {
    PrecisionMode.TICK_SIZE: ("0.001", "0.5", "0.00001", "10"),
    PrecisionMode.DECIMAL_PLACES: ("1", "2", "5", "8"),
    PrecisionMode.SIGNIFICANT_DIGITS: ("1", "3", "5", "8"),
}


def _market(mode: PrecisionMode, precision: str) -> Market:
    return Market(
        venue="v",
        symbol="ABC/USDT",
        exchange_id="ABCUSDT",
        base="ABC",
        quote="USDT",
        spot=True,
        precision_mode=mode,
        amount_precision=Decimal(precision),
        price_precision=Decimal("0.01") if mode is PrecisionMode.TICK_SIZE else Decimal(2),
        taker_fee=Decimal("0.001"),
        maker_fee=Decimal("0.001"),
    )


@settings(max_examples=500, deadline=None)
@given(
    mode=st.sampled_from(list(MODES)),
    which=st.integers(0, 3),
    amount=st.decimals(min_value=Decimal("0.000001"), max_value=Decimal(10_000_000), places=7),
)
def test_float_rounding_matches_the_markets_decimal_rounding_within_a_step(
    mode: PrecisionMode, which: int, amount: Decimal
) -> None:
    market = _market(mode, MODES[mode][which])
    index = DetectionIndex.build(MarketCatalog([market]), ["v"], ["ABC/USDT"], ["USDT"])
    floored = _floor(
        np.array([float(amount)]),
        index.params[STEP],
        index.significant if index.any_significant else None,
    )[0]
    exact = round_amount(market, amount)
    step = amount_step(market, amount)
    # The same number of steps: the two differ by float noise only (the floats only choose sizes; what is
    # emitted is rounded again in Decimal).
    noise = max(step * Decimal("1e-6"), exact * Decimal("1e-13"))
    assert abs(Decimal(repr(float(floored))) - exact) <= noise, (floored, exact)


@settings(max_examples=200, deadline=None)
@given(
    depth=st.integers(1, 7),
    filled=st.integers(1, 7),
    channel=st.sampled_from([0, 1]),
    seed=st.integers(0, 2**32 - 1),
)
def test_a_walk_stands_at_the_start_of_the_level_it_ends_in(depth: int, filled: int, channel: int, seed: int) -> None:
    """``Nodes.at`` against plain loops: the last boundary of the filled depth strictly below the walked
    amount (or cost), with the amount and cost through it and its level's price."""
    rng = np.random.default_rng(seed)
    books, width = 5, 4
    prices = rng.uniform(0.5, 2.0, (books, depth))
    amounts = rng.choice([0.0, 0.25, 1.0, 3.0], (books, depth))
    rows = rng.integers(0, books, width)
    nodes = Nodes(prices, amounts, rows, np.arange(width))
    nodes.fill(min(filled, depth))
    x = rng.uniform(0.0, 1.2, (3, width)) * (amounts[rows] * (prices[rows] if channel else 1)).sum(axis=1)
    x[0, 0] = 0.0
    for walked in (x, x[0]):
        found = nodes.at(channel, walked, slice(0, width))
        for index in np.ndindex(walked.shape):
            column = index[-1]
            row = rows[column]
            level, through = 0, [0.0, 0.0]
            for boundary in range(1, nodes.filled):  # inner boundaries of the filled depth
                amount = float(amounts[row, :boundary].sum())
                cost = float((amounts[row, :boundary] * prices[row, :boundary]).sum())
                if (cost if channel else amount) < walked[index]:
                    level, through = boundary, [amount, cost]
            assert found[(0, *index)] == pytest.approx(through[0])
            assert found[(1, *index)] == pytest.approx(through[1])
            assert found[(2, *index)] == prices[row, level]
