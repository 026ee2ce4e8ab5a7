"""Rounding to a market's precision with ccxt's own ``decimal_to_precision`` (no copy of its rules)."""

from __future__ import annotations

from decimal import Decimal

from ccxt.base.decimal_to_precision import NO_PADDING, ROUND, TRUNCATE, decimal_to_precision

from arbiter.models.market import Market, PrecisionMode


def _to_precision(market: Market, value: Decimal, rounding: int, precision: Decimal) -> Decimal:
    # ccxt takes tick sizes as strings and digit counts as ints.
    argument = str(precision) if market.precision_mode is PrecisionMode.TICK_SIZE else int(precision)
    return Decimal(decimal_to_precision(str(value), rounding, argument, int(market.precision_mode), NO_PADDING))


def round_amount(market: Market, amount: Decimal) -> Decimal:
    """Truncate an amount to the market's step: never trade more than was sized. Zero means "too small"."""
    return _to_precision(market, amount, TRUNCATE, market.amount_precision)


def round_price(market: Market, price: Decimal) -> Decimal:
    """Round a price to the market's tick, as ccxt's ``price_to_precision`` does. Zero means "too small"."""
    return _to_precision(market, price, ROUND, market.price_precision)


def _step(mode: PrecisionMode, precision: Decimal, at: Decimal) -> Decimal:
    if mode is PrecisionMode.TICK_SIZE:
        return precision
    if mode is PrecisionMode.DECIMAL_PLACES:
        return Decimal(1).scaleb(-int(precision))
    # Significant digits: the step depends on the magnitude of the value it applies to.
    if at <= 0:
        raise ValueError(f"a significant-digits step needs a positive reference value, got {at}")
    return Decimal(1).scaleb(at.adjusted() - int(precision) + 1)


def amount_step(market: Market, at_amount: Decimal = Decimal(1)) -> Decimal:
    """The smallest amount increment (at ``at_amount``, for significant-digit markets)."""
    return _step(market.precision_mode, market.amount_precision, at_amount)


def price_step(market: Market, at_price: Decimal = Decimal(1)) -> Decimal:
    """The price tick (at ``at_price``, for significant-digit markets)."""
    return _step(market.precision_mode, market.price_precision, at_price)
