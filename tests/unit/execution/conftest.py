from __future__ import annotations

from decimal import Decimal

from arbiter.markets import market_from_ccxt
from arbiter.models import Market, OrderBook, PrecisionMode
from arbiter.simulation import generated_market_dict

PRICES_USD = {"USDT": 1.0, "BTC": 60_000.0, "SOL": 150.0, "ETH": 3_000.0, "XRP": 0.55}


def market(venue: str, symbol: str, taker: float = 0.001) -> Market:
    raw = generated_market_dict(symbol, PRICES_USD, taker, taker)
    return market_from_ccxt(venue, raw, PrecisionMode.TICK_SIZE)


def book(venue: str, symbol: str, bid: str, ask: str, size: str = "10", levels: int = 5, gap: str = "1") -> OrderBook:
    b, a, g = Decimal(bid), Decimal(ask), Decimal(gap)
    return OrderBook(
        venue=venue,
        symbol=symbol,
        bids=tuple({"price": b - i * g, "amount": Decimal(size)} for i in range(levels)),  # type: ignore[misc]
        asks=tuple({"price": a + i * g, "amount": Decimal(size)} for i in range(levels)),  # type: ignore[misc]
        timestamp=1_700_000_000_000,
    )
