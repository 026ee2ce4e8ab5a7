"""Turns one ccxt market dict (from ``load_markets()`` or a recorded file) into a validated ``Market``."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

from pydantic import ValidationError

from arbiter.markets.errors import MarketDefinitionError
from arbiter.markets.fees import resolve_tier
from arbiter.models.market import Market, PrecisionMode


def market_from_ccxt(
    venue: str,
    raw: Mapping[str, Any],
    precision_mode: PrecisionMode,
    fee_tier_volume: Decimal | None = None,
) -> Market:
    """``fee_tier_volume`` selects a fee tier from the market's ``tiers``; without it the market's own
    ``taker``/``maker`` apply (ccxt's entry-level rates, which can be newer than its tier tables)."""
    if not isinstance(raw, Mapping):
        raise MarketDefinitionError(venue, "?", "market", f"expected a dict, got {type(raw).__name__}")
    symbol = str(raw.get("symbol") or "?")

    def fail(field: str, problem: str) -> MarketDefinitionError:
        return MarketDefinitionError(venue, symbol, field, problem)

    def decimal(field: str, value: Any) -> Decimal | None:
        if value is None:
            return None
        if isinstance(value, bool):
            raise fail(field, f"{value!r} is not a number")
        try:
            return Decimal(str(value))
        except (InvalidOperation, ValueError):
            raise fail(field, f"{value!r} is not a number") from None

    def section(name: str) -> Mapping[str, Any]:
        value = raw.get(name) or {}
        if not isinstance(value, Mapping):
            raise fail(name, f"expected a dict, got {type(value).__name__}")
        return value

    precision = section("precision")
    limits = section("limits")

    def limit(kind: str, bound: str) -> Decimal | None:
        entry = limits.get(kind) or {}
        if not isinstance(entry, Mapping):
            raise fail(f"limits.{kind}", f"expected a dict, got {type(entry).__name__}")
        return decimal(f"limits.{kind}.{bound}", entry.get(bound))

    if raw.get("percentage") is False:
        raise fail("percentage", "flat (non-percentage) fees are not supported")

    taker = decimal("taker", raw.get("taker"))
    maker = decimal("maker", raw.get("maker"))
    tiers = raw.get("tiers") or {}
    if fee_tier_volume is not None and raw.get("tierBased"):
        if not isinstance(tiers, Mapping) or not tiers.get("taker"):
            raise fail("tiers", f"a fee tier volume of {fee_tier_volume} is configured but the market has no tiers")
        try:
            taker = resolve_tier(tiers["taker"], fee_tier_volume)
            maker = resolve_tier(tiers.get("maker") or tiers["taker"], fee_tier_volume)
        except ValueError as error:
            raise fail("tiers", str(error)) from None
    if taker is None:
        raise fail("taker", "missing: a market without a taker fee cannot be priced")
    if maker is None:
        maker = taker

    amount_precision = decimal("precision.amount", precision.get("amount"))
    price_precision = decimal("precision.price", precision.get("price"))
    if amount_precision is None:
        raise fail("precision.amount", "missing")
    if price_precision is None:
        raise fail("precision.price", "missing")

    fields: dict[str, Any] = {
        "venue": venue,
        "symbol": raw.get("symbol"),
        "exchange_id": raw.get("id"),
        "base": raw.get("base"),
        "quote": raw.get("quote"),
        "spot": bool(raw.get("spot", raw.get("type") == "spot")),
        "active": raw.get("active") is not False,
        "precision_mode": precision_mode,
        "amount_precision": amount_precision,
        "price_precision": price_precision,
        "min_amount": limit("amount", "min"),
        "max_amount": limit("amount", "max"),
        "min_price": limit("price", "min"),
        "max_price": limit("price", "max"),
        "min_cost": limit("cost", "min"),
        "max_cost": limit("cost", "max"),
        "taker_fee": taker,
        "maker_fee": maker,
        "fee_tier_volume": fee_tier_volume,
    }
    try:
        return Market.model_validate(fields)
    except ValidationError as error:
        first = error.errors(include_url=False)[0]
        field = ".".join(str(part) for part in first["loc"]) or "market"
        raise fail(field, first["msg"]) from None
