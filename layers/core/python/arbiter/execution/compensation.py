"""Deciding how to flatten an execution whose legs did not all fill.


Two candidate plans are priced on the current books:
- *complete*: place the missing quantity of each leg again, at most ``slippage_cap`` worse than the
  leg's price;
- *unwind*: trade every asset the execution left behind back into the profit currency, through the legs'
  own markets (on any venue of the execution), at most ``slippage_cap`` worse than the leg's price there.
The plan that leaves no exposure and ends with more of the profit currency wins. When neither can flatten
everything within the cap, the one leaving the smaller residual wins and the residual becomes an incident.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal

from arbiter.execution.exposure import residual_exposure
from arbiter.markets import USD_STABLE, UsdValue, amount_step, price_step, round_amount, round_price
from arbiter.models import CompensationStrategy, Leg, Market, Opportunity, OrderBook, Side
from arbiter.models.common import ValueModel
from arbiter.models.events import PlannedOrder
from arbiter.models.symbols import apply_trade, base_and_quote


class CompensationPlan(ValueModel):
    strategy: CompensationStrategy
    orders: tuple[PlannedOrder, ...]
    expected_exposure: dict[str, Decimal]
    residual: dict[str, Decimal]

    @property
    def flattens(self) -> bool:
        return not self.residual


@dataclass(frozen=True)
class CompensationInputs:
    opportunity: Opportunity
    leg_fills: Sequence[Decimal]
    """Base amount filled so far on each leg, over all its orders."""
    exposure: Mapping[str, Decimal]
    """Net exposure the execution created so far, fees included (see ``net_exposure``)."""
    books: Mapping[tuple[str, str], OrderBook]
    markets: Mapping[tuple[str, str], Market]
    slippage_cap: Decimal
    tolerance: Mapping[str, Decimal]


def capped_price(market: Market, side: Side, reference: Decimal, cap: Decimal) -> Decimal:
    """The worst acceptable price: ``cap`` from ``reference``, rounded to a tick without passing the cap."""
    raw = reference * (1 + cap) if side is Side.BUY else reference * (1 - cap)
    rounded = round_price(market, raw)
    step = price_step(market, raw)
    if side is Side.BUY and rounded > raw:
        rounded -= step
    if side is Side.SELL and rounded < raw:
        rounded += step
    return rounded


def _tradable(market: Market, amount: Decimal, price: Decimal) -> Decimal:
    """``amount`` rounded to precision, or zero when the venue would refuse it as too small."""
    rounded = round_amount(market, amount)
    if rounded <= 0 or (market.min_amount is not None and rounded < market.min_amount):
        return Decimal(0)
    if market.min_cost is not None and rounded * price < market.min_cost:
        return Decimal(0)
    return rounded


class _Pricing:
    """Applies planned orders to an exposure vector as the current books would fill them.

    Fees are charged at the taker rate in the quote currency."""

    def __init__(self, inputs: CompensationInputs) -> None:
        self.inputs = inputs
        self.exposure: dict[str, Decimal] = defaultdict(Decimal, inputs.exposure)
        self.orders: list[PlannedOrder] = []

    def fill(self, order: PlannedOrder) -> None:
        key = (order.venue, order.symbol)
        sweep = self.inputs.books[key].sweep(order.side, order.amount, order.limit_price)
        if sweep.filled:
            apply_trade(self.exposure, order.symbol, order.side, sweep.filled, sweep.cost)
            self.exposure[base_and_quote(order.symbol)[1]] -= sweep.cost * self.inputs.markets[key].taker_fee
        self.orders.append(order)

    def plan(self, strategy: CompensationStrategy) -> CompensationPlan:
        return CompensationPlan(
            strategy=strategy,
            orders=tuple(self.orders),
            expected_exposure=dict(self.exposure),
            residual=residual_exposure(self.exposure, self.inputs.opportunity, self.inputs.tolerance),
        )


def _completion(inputs: CompensationInputs) -> CompensationPlan:
    pricing = _Pricing(inputs)
    for index, (leg, filled) in enumerate(zip(inputs.opportunity.legs, inputs.leg_fills, strict=True)):
        key = (leg.venue, leg.symbol)
        if key not in inputs.books:
            continue
        market = inputs.markets[key]
        limit = capped_price(market, leg.side, leg.limit_price, inputs.slippage_cap)
        amount = _tradable(market, leg.amount - filled, limit)
        if amount:
            pricing.fill(_planned(leg, leg.side, amount, limit, slot=index))
    return pricing.plan(CompensationStrategy.COMPLETE)


def _planned(leg: Leg, side: Side, amount: Decimal, limit: Decimal, slot: int) -> PlannedOrder:
    return PlannedOrder(venue=leg.venue, symbol=leg.symbol, side=side, amount=amount, limit_price=limit, slot=slot)


def _unwind(inputs: CompensationInputs) -> CompensationPlan:
    pricing = _Pricing(inputs)
    profit = inputs.opportunity.profit_currency
    legs = inputs.opportunity.legs
    for asset, excess in sorted(residual_exposure(inputs.exposure, inputs.opportunity, inputs.tolerance).items()):
        candidates = []
        for leg in legs:
            key = (leg.venue, leg.symbol)
            base, quote = base_and_quote(leg.symbol)
            if key not in inputs.books or {base, quote} != {asset, profit}:
                continue
            market = inputs.markets[key]
            if base == asset:  # e.g. sell surplus BTC on BTC/USDT
                side, amount_base = (Side.SELL if excess > 0 else Side.BUY), abs(excess)
            else:  # the asset is the quote: e.g. buy the profit currency with surplus USDT on ALT/USDT
                side, amount_base = (Side.BUY if excess > 0 else Side.SELL), abs(excess) / leg.limit_price
            limit = capped_price(market, side, leg.limit_price, inputs.slippage_cap)
            amount = _tradable(market, amount_base, limit)
            if amount:
                order = _planned(leg, side, amount, limit, slot=len(legs) + len(pricing.orders))
                sweep = inputs.books[key].sweep(side, amount, limit)
                # Prefer the venue that fills most, then the one with the better price.
                candidates.append((sweep.filled, -sweep.cost if side is Side.BUY else sweep.cost, order))
        if candidates:
            pricing.fill(max(candidates, key=lambda c: (c[0], c[1]))[2])
    return pricing.plan(CompensationStrategy.UNWIND)


def _residual_value(plan: CompensationPlan, opportunity: Opportunity) -> Decimal:
    """Residual valued in the profit currency at the legs' prices (no direct leg: counted one for one)."""
    prices: dict[str, Decimal] = {}
    for leg in opportunity.legs:
        base, quote = base_and_quote(leg.symbol)
        if quote == opportunity.profit_currency:
            prices.setdefault(base, leg.limit_price)
        elif base == opportunity.profit_currency:
            prices.setdefault(quote, 1 / leg.limit_price)
    return sum((abs(v) * prices.get(a, Decimal(1)) for a, v in plan.residual.items()), Decimal(0))


def plan_compensation(inputs: CompensationInputs) -> CompensationPlan:
    profit = inputs.opportunity.profit_currency
    if len(inputs.leg_fills) != len(inputs.opportunity.legs):
        raise ValueError(f"leg_fills: {len(inputs.leg_fills)} values for {len(inputs.opportunity.legs)} legs")
    if not residual_exposure(inputs.exposure, inputs.opportunity, inputs.tolerance):
        return CompensationPlan(
            strategy=CompensationStrategy.NOTHING,
            orders=(),
            expected_exposure=dict(inputs.exposure),
            residual={},
        )
    plans = [_completion(inputs), _unwind(inputs)]
    return max(
        plans,
        key=lambda p: (
            p.flattens,
            -_residual_value(p, inputs.opportunity),
            p.expected_exposure.get(profit, Decimal(0)),
        ),
    )


def exposure_tolerance(
    opportunity: Opportunity,
    markets: Mapping[tuple[str, str], Market],
    usd_tolerance: Decimal,
    usd_value: UsdValue | None = None,
) -> dict[str, Decimal]:
    """Per asset, what counts as dust: below the smallest order any of the legs' markets would accept for it
    (so it could not be traded away anyway), or worth less than ``usd_tolerance`` US dollars.

    The dollar allowance needs the profit currency's USD value: USD stablecoins count one for one, any other
    currency is asked of ``usd_value``. When it cannot be valued only untradeable dust is tolerated: a fixed
    allowance in units of the profit currency would be worth a thousand times more in BTC than in USDT."""
    profit_rate = Decimal(1) if opportunity.profit_currency in USD_STABLE else None
    if profit_rate is None and usd_value is not None:
        profit_rate = usd_value(opportunity.profit_currency)
    profit_allowance = usd_tolerance / profit_rate if profit_rate else Decimal(0)
    tolerance: dict[str, Decimal] = defaultdict(Decimal)
    for leg in opportunity.legs:
        market = markets[(leg.venue, leg.symbol)]
        base, quote = base_and_quote(leg.symbol)
        smallest = max(market.min_amount or Decimal(0), amount_step(market))
        if market.min_cost is not None:
            smallest = max(smallest, market.min_cost / leg.limit_price)
        if quote == opportunity.profit_currency:
            smallest = max(smallest, profit_allowance / leg.limit_price)
        tolerance[base] = max(tolerance[base], smallest)
    return dict(tolerance)


__all__: Sequence[str] = [
    "CompensationInputs",
    "CompensationPlan",
    "CompensationStrategy",
    "PlannedOrder",
    "capped_price",
    "exposure_tolerance",
    "plan_compensation",
]
