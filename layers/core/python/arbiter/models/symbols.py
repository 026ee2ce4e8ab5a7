"""A market symbol's parts, and what a trade on it does to holdings: written once, used by every floor."""

from __future__ import annotations

from decimal import Decimal

from arbiter.models.common import Side


def base_and_quote(symbol: str) -> tuple[str, str]:
    base, _, rest = symbol.partition("/")
    return base, rest.split(":", 1)[0]


def apply_trade(
    exposure: dict[str, Decimal], symbol: str, side: Side, filled: Decimal, cost: Decimal
) -> dict[str, Decimal]:
    """Add one fill (base ``filled`` for quote ``cost``, before fees) to an exposure vector, in place."""
    base, quote = base_and_quote(symbol)
    sign = Decimal(1) if side is Side.BUY else Decimal(-1)
    exposure[base] += sign * filled
    exposure[quote] -= sign * cost
    return exposure
