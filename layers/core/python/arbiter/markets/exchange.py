"""Markets of a live ccxt exchange (paper and live modes): ``load_markets()`` output, one Market each."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from arbiter.markets.ccxt_market import market_from_ccxt
from arbiter.models.market import Market, PrecisionMode


def markets_from_exchange(
    exchange: Any,
    *,
    symbols: set[str] | None = None,
    spot_only: bool = True,
    fee_tier_volume: Decimal | None = None,
) -> tuple[Market, ...]:
    """Build markets from a ccxt exchange whose ``load_markets()`` has run (or will run now).

    ``exchange`` is a ``ccxt.Exchange``; typed loosely because ccxt ships no type stubs.
    """
    raw_markets: dict[str, Any] = exchange.load_markets()
    mode = PrecisionMode(int(exchange.precisionMode))
    selected = (raw for symbol, raw in raw_markets.items() if symbols is None or symbol in symbols)
    markets = (market_from_ccxt(str(exchange.id), raw, mode, fee_tier_volume) for raw in selected)
    return tuple(m for m in markets if m.spot or not spot_only)
