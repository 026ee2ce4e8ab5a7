"""The simulated universe: which venues list which markets, with market definitions in ccxt's structure.

Recorded ccxt markets are used where they exist; the rest are generated with realistic precision, limits and
fees, so a large universe (8 venues x 250 symbols) can be simulated on the same code path as a real one.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import numpy as np

from arbiter.markets import USD_STABLE
from arbiter.markets.catalog import MarketCatalog
from arbiter.markets.ccxt_market import market_from_ccxt
from arbiter.markets.recorded import RECORDED_PRECISION_MODES, recorded_market_dicts
from arbiter.models.market import Market, PrecisionMode
from arbiter.models.symbols import base_and_quote

QUOTE_ASSETS = ("USDT", "BTC", "ETH")
# Approximate USD prices at the simulated epoch; alts beyond this list get seeded log-normal prices.
KNOWN_PRICES_USD: Mapping[str, float] = {
    "USDT": 1.0,
    "USD": 1.0,
    "USDC": 1.0,
    "BTC": 60_000.0,
    "ETH": 3_000.0,
    "SOL": 150.0,
    "XRP": 0.55,
    "ADA": 0.45,
    "LTC": 80.0,
    "DOGE": 0.12,
    "DOT": 6.5,
    "LINK": 14.0,
    "AVAX": 30.0,
    "TRX": 0.12,
    "ATOM": 8.0,
    "UNI": 7.5,
    "XLM": 0.1,
    "BCH": 400.0,
    "FIL": 5.0,
}
# Entry-level spot taker/maker fees for venues without recorded markets (seeded choice among these).
GENERATED_FEE_LEVELS = ((0.001, 0.0008), (0.0015, 0.001), (0.002, 0.0016), (0.0008, 0.0006))
MIN_COST_USD = 5.0


@dataclass(frozen=True)
class SimulatedUniverse:
    """Markets (as ccxt dicts and as validated models) and the reference USD price of every asset."""

    venues: tuple[str, ...]
    symbols: tuple[str, ...]
    market_dicts: Mapping[tuple[str, str], Mapping[str, Any]]
    catalog: MarketCatalog
    reference_prices_usd: Mapping[str, float]

    def listed(self, venue: str, symbol: str) -> bool:
        return (venue, symbol) in self.market_dicts


def _alt_assets(count: int, rng: np.random.Generator) -> list[tuple[str, float]]:
    known = [(a, p) for a, p in KNOWN_PRICES_USD.items() if a not in USD_STABLE | {"BTC", "ETH"}]
    alts = known[:count]
    for i in range(len(alts), count):
        price = float(np.clip(math.exp(rng.normal(math.log(2.0), 2.0)), 0.001, 5_000.0))
        alts.append((f"ALT{i:03d}", price))
    return alts


def _generated_symbols(count: int, rng: np.random.Generator) -> tuple[list[str], dict[str, float]]:
    """BTC/USDT, ETH/USDT, ETH/BTC, then each alt against USDT, BTC and ETH: every alt closes triangles."""
    prices = dict(KNOWN_PRICES_USD)
    symbols = ["BTC/USDT", "ETH/USDT", "ETH/BTC"]
    for asset, price in _alt_assets(max(0, math.ceil((count - 3) / 3)), rng):
        prices[asset] = price
        symbols.extend(f"{asset}/{quote}" for quote in QUOTE_ASSETS)
    return symbols[:count], prices


def _power_of_ten_below(value: float) -> float:
    return float(10.0 ** math.floor(math.log10(value)))


def generated_market_dict(symbol: str, prices_usd: Mapping[str, float], taker: float, maker: float) -> dict[str, Any]:
    """A ccxt-shaped spot market with realistic precision: five significant digits of price, an amount step
    worth about a tenth of a dollar, and a minimum order cost of about five dollars."""
    base, quote = base_and_quote(symbol)
    price = prices_usd[base] / prices_usd[quote]
    tick = float(10.0 ** (math.floor(math.log10(price)) - 4))
    step = min(1.0, _power_of_ten_below(0.1 / prices_usd[base]))
    min_cost = float(f"{MIN_COST_USD / prices_usd[quote]:.1g}")
    return {
        "id": f"{base}{quote}",
        "symbol": symbol,
        "base": base,
        "quote": quote,
        "baseId": base,
        "quoteId": quote,
        "active": True,
        "type": "spot",
        "spot": True,
        "margin": False,
        "swap": False,
        "future": False,
        "option": False,
        "contract": False,
        "precision": {"amount": step, "price": tick},
        "limits": {
            "amount": {"min": step, "max": None},
            "price": {"min": tick, "max": None},
            "cost": {"min": min_cost, "max": None},
            "leverage": {},
        },
        "percentage": True,
        "tierBased": False,
        "taker": taker,
        "maker": maker,
        "info": {"generated": True},
    }


def _recorded_spot(venue: str, prices_usd: Mapping[str, float]) -> dict[str, Mapping[str, Any]]:
    if venue not in RECORDED_PRECISION_MODES:
        return {}
    return {
        symbol: raw
        for symbol, raw in recorded_market_dicts(venue).items()
        if raw.get("spot") and raw.get("base") in prices_usd and raw.get("quote") in prices_usd
    }


def build_universe(
    venues: Sequence[str],
    symbols_per_venue: int,
    seed: int,
    fee_tier_volume: Mapping[str, Decimal] | None = None,
) -> SimulatedUniverse:
    if not venues:
        raise ValueError("venues: at least one venue is needed")
    if len(set(venues)) != len(venues):
        raise ValueError(f"venues: must be distinct, got {list(venues)}")
    if symbols_per_venue < 1:
        raise ValueError(f"symbols_per_venue: must be at least 1, got {symbols_per_venue}")
    rng = np.random.default_rng(seed)
    generated, prices = _generated_symbols(symbols_per_venue, rng)
    fee_tier_volume = fee_tier_volume or {}

    market_dicts: dict[tuple[str, str], Mapping[str, Any]] = {}
    markets: list[Market] = []
    all_symbols: dict[str, None] = dict.fromkeys(generated)
    for venue in venues:
        recorded = _recorded_spot(venue, prices)
        if recorded:
            first = next(iter(recorded.values()))
            taker, maker = float(first["taker"]), float(first["maker"])
        else:
            taker, maker = GENERATED_FEE_LEVELS[int(rng.integers(len(GENERATED_FEE_LEVELS)))]
        for symbol in dict.fromkeys([*generated, *recorded]):
            all_symbols.setdefault(symbol)
            if symbol in recorded:
                raw, mode = recorded[symbol], RECORDED_PRECISION_MODES[venue]
            else:
                raw, mode = generated_market_dict(symbol, prices, taker, maker), PrecisionMode.TICK_SIZE
            market_dicts[(venue, symbol)] = raw
            markets.append(market_from_ccxt(venue, raw, mode, fee_tier_volume.get(venue)))
    return SimulatedUniverse(
        venues=tuple(venues),
        symbols=tuple(all_symbols),
        market_dicts=market_dicts,
        catalog=MarketCatalog(markets),
        reference_prices_usd=prices,
    )
