"""Net exposure per asset, measured from what venues report: fills, average prices and fees."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from decimal import Decimal

from arbiter.models import Order
from arbiter.models.symbols import apply_trade


def net_exposure(orders: Iterable[Order]) -> dict[str, Decimal]:
    """What the orders changed in the account, per asset (positive: held more), fees included in the currency
    the venue charged them in."""
    exposure: dict[str, Decimal] = defaultdict(Decimal)
    for order in orders:
        if order.filled:
            apply_trade(exposure, order.symbol, order.side, order.filled, order.cost)
        for fee in order.fees:
            exposure[fee.currency] -= fee.cost
    return dict(exposure)


def residual_exposure(
    exposure: Mapping[str, Decimal], profit_currency: str, tolerance: Mapping[str, Decimal]
) -> dict[str, Decimal]:
    """The exposure that breaks invariant 4: any asset but the profit currency beyond its tolerance."""
    return {
        asset: amount
        for asset, amount in exposure.items()
        if asset != profit_currency and abs(amount) > tolerance.get(asset, Decimal(0))
    }
