"""The recorded ccxt market files shipped with the package (see ``data/SOURCE.md``)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from decimal import Decimal
from functools import cache
from importlib import resources
from typing import Any

from arbiter.markets.ccxt_market import market_from_ccxt
from arbiter.markets.errors import MarketDefinitionError
from arbiter.models.market import Market, PrecisionMode

# The precision mode each recorded file was written in. It belongs to the file, not to today's ccxt class:
# the binance file predates binance's switch to tick sizes (see the shared fixtures' SOURCE.md).
RECORDED_PRECISION_MODES: Mapping[str, PrecisionMode] = {
    "binance": PrecisionMode.DECIMAL_PLACES,
    "kraken": PrecisionMode.TICK_SIZE,
    "coinbase": PrecisionMode.TICK_SIZE,
}


def recorded_venues() -> tuple[str, ...]:
    return tuple(sorted(RECORDED_PRECISION_MODES))


@cache
def recorded_market_dicts(venue: str) -> Mapping[str, Mapping[str, Any]]:
    """The raw ccxt market dicts recorded for ``venue``, keyed by symbol."""
    if venue not in RECORDED_PRECISION_MODES:
        raise MarketDefinitionError(venue, "*", "venue", f"no recorded markets (have {', '.join(recorded_venues())})")
    text = resources.files("arbiter.markets").joinpath("data", f"{venue}.json").read_text(encoding="utf-8")
    loaded: dict[str, Mapping[str, Any]] = json.loads(text)
    return loaded


def recorded_markets(
    venue: str, *, spot_only: bool = True, fee_tier_volume: Decimal | None = None
) -> tuple[Market, ...]:
    mode = RECORDED_PRECISION_MODES.get(venue)
    raw_markets = recorded_market_dicts(venue)
    assert mode is not None  # recorded_market_dicts refused unknown venues
    markets = (market_from_ccxt(venue, raw, mode, fee_tier_volume) for raw in raw_markets.values())
    return tuple(m for m in markets if m.spot or not spot_only)
