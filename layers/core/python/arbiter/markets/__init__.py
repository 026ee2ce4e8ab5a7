"""Market definitions from ccxt: precision, limits and fees, recorded or loaded from a venue."""

from arbiter.markets.catalog import MarketCatalog
from arbiter.markets.ccxt_market import market_from_ccxt
from arbiter.markets.errors import MarketDefinitionError, UnknownMarketError
from arbiter.markets.exchange import markets_from_exchange
from arbiter.markets.precision import amount_step, price_step, round_amount, round_price
from arbiter.markets.recorded import RECORDED_PRECISION_MODES, recorded_market_dicts, recorded_markets
from arbiter.markets.valuation import (
    USD_STABLE,
    BookLookup,
    BookUsdValuation,
    ReadAheadUsdValuation,
    UsdValue,
    usd_from_mids,
    usd_symbols,
)

__all__ = [
    "RECORDED_PRECISION_MODES",
    "USD_STABLE",
    "BookLookup",
    "BookUsdValuation",
    "MarketCatalog",
    "MarketDefinitionError",
    "ReadAheadUsdValuation",
    "UnknownMarketError",
    "UsdValue",
    "amount_step",
    "market_from_ccxt",
    "markets_from_exchange",
    "price_step",
    "recorded_market_dicts",
    "recorded_markets",
    "round_amount",
    "round_price",
    "usd_from_mids",
    "usd_symbols",
]
