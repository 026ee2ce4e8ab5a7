"""Fee tiers: ccxt lists them as ``[[volume_threshold, rate], ...]``; Arbiter resolves one tier per venue."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import Any


def resolve_tier(tiers: Sequence[Any], volume: Decimal) -> Decimal:
    """The rate of the highest tier whose threshold ``volume`` reaches.

    Raises ``ValueError`` on a malformed, negative or unsorted tier list: a bad fee table never prices
    a trade.
    """
    if volume < 0:
        raise ValueError(f"tier volume {volume} is negative")
    if not tiers:
        raise ValueError("tier list is empty")
    rate: Decimal | None = None
    previous = Decimal(-1)
    for index, tier in enumerate(tiers):
        if not isinstance(tier, Sequence) or isinstance(tier, str) or len(tier) != 2:
            raise ValueError(f"tier {index} is {tier!r}, expected [volume, rate]")
        threshold, tier_rate = (Decimal(str(tier[0])), Decimal(str(tier[1])))
        if threshold < 0:
            raise ValueError(f"tier {index} has a negative volume threshold {threshold}")
        if threshold <= previous:
            raise ValueError(f"tier {index} threshold {threshold} is not above the previous one {previous}")
        previous = threshold
        if volume >= threshold:
            rate = tier_rate
    if rate is None:
        raise ValueError(f"volume {volume} is below the first tier threshold")
    return rate
