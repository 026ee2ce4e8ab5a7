"""Net exposure per asset, measured from what venues report: fills, average prices and fees."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from decimal import Decimal

from arbiter.models import Opportunity, Order
from arbiter.models.symbols import apply_trade, base_and_quote


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


def traded_assets(opportunity: Opportunity) -> frozenset[str]:
    """Every asset the opportunity's markets trade: its compensation trades them too, and nothing else."""
    return frozenset(asset for leg in opportunity.legs for asset in base_and_quote(leg.symbol))


def residual_exposure(
    exposure: Mapping[str, Decimal], opportunity: Opportunity, tolerance: Mapping[str, Decimal]
) -> dict[str, Decimal]:
    """The exposure that breaks invariant 4: any traded asset but the profit currency beyond its tolerance.

    A fee charged in a currency that none of the legs trade (BNB, KCS, OKB: a venue's fee discount) is a cost,
    booked in the P&L, never a position: nothing the saga could trade would flatten it, and it moves with no
    market the execution is exposed to."""
    traded = traded_assets(opportunity)
    return {
        asset: amount
        for asset, amount in exposure.items()
        if asset in traded and asset != opportunity.profit_currency and abs(amount) > tolerance.get(asset, Decimal(0))
    }
