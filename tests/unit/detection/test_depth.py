"""The float walk rounds amounts as the Decimal rules do, in every ccxt precision mode."""

from __future__ import annotations

from decimal import Decimal

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from arbiter.detection.depth import _floor
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
