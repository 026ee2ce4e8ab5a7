from __future__ import annotations

import copy
from decimal import Decimal
from typing import Any

import ccxt
import pytest

from arbiter.markets import (
    MarketCatalog,
    MarketDefinitionError,
    UnknownMarketError,
    amount_step,
    market_from_ccxt,
    markets_from_exchange,
    price_step,
    recorded_market_dicts,
    recorded_markets,
    round_amount,
    round_price,
)
from arbiter.models import PrecisionMode


def kraken_btc() -> dict[str, Any]:
    return copy.deepcopy(dict(recorded_market_dicts("kraken")["BTC/USDT"]))


def test_every_recorded_market_builds() -> None:
    for venue in ("binance", "kraken", "coinbase"):
        built = recorded_markets(venue, spot_only=False)
        assert {m.symbol for m in built} == set(recorded_market_dicts(venue))


def test_kraken_btc_usdt_reads_precision_limits_and_fees() -> None:
    market = market_from_ccxt("kraken", kraken_btc(), PrecisionMode.TICK_SIZE)
    assert market.exchange_id == "XBTUSDT"
    assert (market.base, market.quote, market.spot) == ("BTC", "USDT", True)
    assert market.amount_precision == Decimal("1e-8")
    assert market.price_precision == Decimal("0.1")
    assert market.min_amount == Decimal("0.0001")
    assert (market.taker_fee, market.maker_fee) == (Decimal("0.0026"), Decimal("0.0016"))


def test_binance_recorded_precision_is_in_decimal_places() -> None:
    (market,) = recorded_markets("binance")
    assert market.precision_mode is PrecisionMode.DECIMAL_PLACES
    assert amount_step(market) == Decimal("0.00001")
    assert price_step(market) == Decimal("0.01")
    assert market.min_cost == Decimal(5)


@pytest.mark.parametrize(
    ("volume", "taker", "maker"),
    [
        (Decimal(0), "0.0026", "0.0016"),
        (Decimal(60_000), "0.0024", "0.0014"),
        (Decimal(10**7), "0.0001", "0"),
    ],
)
def test_tiered_fees_resolve_at_the_configured_volume(volume: Decimal, taker: str, maker: str) -> None:
    market = market_from_ccxt("kraken", kraken_btc(), PrecisionMode.TICK_SIZE, fee_tier_volume=volume)
    assert (market.taker_fee, market.maker_fee) == (Decimal(taker), Decimal(maker))


def test_without_a_configured_tier_the_market_rate_applies() -> None:
    # coinbase's recorded tier table is older than its market-level rate: the stated rate wins by default.
    raw = recorded_market_dicts("coinbase")["ADA/USDT"]
    market = market_from_ccxt("coinbase", raw, PrecisionMode.TICK_SIZE)
    assert market.taker_fee == Decimal("0.012")


@pytest.mark.parametrize(
    ("mutate", "field", "problem"),
    [
        (lambda m: m["precision"].pop("amount"), "precision.amount", "missing"),
        (lambda m: m["precision"].update(price="abc"), "precision.price", "'abc' is not a number"),
        (lambda m: m["precision"].update(price=0), "price_precision", "greater than 0"),
        (lambda m: m.update(taker=None, tierBased=False), "taker", "missing"),
        (lambda m: m.update(taker=0.5, tierBased=False), "taker_fee", "less than 0.1"),
        (lambda m: m.update(percentage=False), "percentage", "flat"),
        (lambda m: m.update(base="ETH"), "market", "does not match base"),
        (lambda m: m["limits"]["amount"].update(min=-1), "min_amount", "greater than or equal to 0"),
        (lambda m: m.update(limits=[1, 2]), "limits", "expected a dict"),
        (lambda m: m.update(symbol=None), "symbol", "valid string"),
    ],
)
def test_a_malformed_market_names_venue_symbol_and_field(mutate: Any, field: str, problem: str) -> None:
    raw = kraken_btc()
    mutate(raw)
    with pytest.raises(MarketDefinitionError) as caught:
        market_from_ccxt("kraken", raw, PrecisionMode.TICK_SIZE)
    assert caught.value.venue == "kraken"
    assert caught.value.field == field
    assert problem in caught.value.problem


def test_a_negative_fee_tier_is_refused() -> None:
    raw = kraken_btc()
    raw["tiers"]["taker"][1] = [-50_000, 0.0024]
    with pytest.raises(MarketDefinitionError, match="tiers: tier 1 has a negative volume threshold"):
        market_from_ccxt("kraken", raw, PrecisionMode.TICK_SIZE, fee_tier_volume=Decimal(1))
    with pytest.raises(MarketDefinitionError, match="tier volume -1 is negative"):
        market_from_ccxt("kraken", kraken_btc(), PrecisionMode.TICK_SIZE, fee_tier_volume=Decimal(-1))


def test_a_market_dict_that_is_not_a_dict_is_refused() -> None:
    with pytest.raises(MarketDefinitionError, match="expected a dict, got list"):
        market_from_ccxt("kraken", [], PrecisionMode.TICK_SIZE)  # type: ignore[arg-type]


def test_catalog_refuses_unknown_markets_and_empty_or_duplicate_lists() -> None:
    catalog = MarketCatalog(recorded_markets("kraken"))
    assert catalog.get_market("kraken", "LTC/USDT").base == "LTC"
    with pytest.raises(UnknownMarketError, match="kraken DOGE/USDT: unknown market"):
        catalog.get_market("kraken", "DOGE/USDT")
    with pytest.raises(ValueError, match="at least one market"):
        MarketCatalog([])
    with pytest.raises(ValueError, match="listed twice"):
        MarketCatalog([*recorded_markets("kraken"), recorded_markets("kraken")[0]])


def offline_exchange(venue: str) -> Any:
    exchange = getattr(ccxt, venue)({"enableRateLimit": False})
    exchange.set_markets(copy.deepcopy(dict(recorded_market_dicts(venue))))
    return exchange


def ccxt_rounded(method: Any, symbol: str, value: str) -> Decimal:
    try:
        return Decimal(method(symbol, value))
    except ccxt.InvalidOrder:  # ccxt refuses a value that rounds to zero; ours returns zero for the caller to refuse
        return Decimal(0)


@pytest.mark.parametrize("venue", ["kraken", "coinbase", "binance"])
@pytest.mark.parametrize("value", ["0.123456789", "12345.678912345", "0.00000001", "60000.16", "1.005"])
def test_rounding_agrees_with_ccxt_exchange_methods(venue: str, value: str) -> None:
    exchange = offline_exchange(venue)
    if venue == "binance":
        exchange.precisionMode = ccxt.DECIMAL_PLACES  # the recorded file's mode, see its SOURCE.md
    for market in recorded_markets(venue):
        assert round_amount(market, Decimal(value)) == ccxt_rounded(exchange.amount_to_precision, market.symbol, value)
        assert round_price(market, Decimal(value)) == ccxt_rounded(exchange.price_to_precision, market.symbol, value)


def test_markets_from_a_ccxt_exchange_use_its_precision_mode() -> None:
    built = markets_from_exchange(offline_exchange("kraken"), symbols={"BTC/USDT", "LTC/USDT"})
    assert {m.symbol for m in built} == {"BTC/USDT", "LTC/USDT"}
    assert all(m.precision_mode is PrecisionMode.TICK_SIZE for m in built)
