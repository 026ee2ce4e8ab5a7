from __future__ import annotations

from collections import defaultdict
from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from arbiter.execution.compensation import (
    CompensationInputs,
    CompensationStrategy,
    capped_price,
    exposure_tolerance,
    plan_compensation,
)
from arbiter.execution.exposure import residual_exposure
from arbiter.markets import amount_step
from arbiter.models import Leg, Market, Opportunity, OrderBook, QuoteStamp, Side
from arbiter.models.symbols import apply_trade
from tests.unit.execution.conftest import book, market

CAP = Decimal("0.005")


def cross_venue(amount: str = "1") -> Opportunity:
    legs = (
        Leg(venue="alpha", symbol="SOL/USDT", side=Side.BUY, amount=Decimal(amount), limit_price=Decimal(150)),
        Leg(venue="beta", symbol="SOL/USDT", side=Side.SELL, amount=Decimal(amount), limit_price=Decimal(152)),
    )
    quotes = tuple(QuoteStamp(venue=leg.venue, symbol=leg.symbol, timestamp=1) for leg in legs)
    return Opportunity(
        kind="cross_venue",
        legs=legs,
        expected_profit=Decimal(1),
        profit_currency="USDT",
        quotes=quotes,
        detected_at=1,
    )


MARKETS = {
    ("alpha", "SOL/USDT"): market("alpha", "SOL/USDT"),
    ("beta", "SOL/USDT"): market("beta", "SOL/USDT"),
}


def inputs(
    opportunity: Opportunity, fills: list[Decimal], books: dict[tuple[str, str], OrderBook]
) -> CompensationInputs:
    exposure: dict[str, Decimal] = {"SOL": Decimal(0), "USDT": Decimal(0)}
    for leg, filled in zip(opportunity.legs, fills, strict=True):
        if filled:
            apply_trade(exposure, leg.symbol, leg.side, filled, filled * leg.limit_price)
    return CompensationInputs(
        opportunity=opportunity,
        leg_fills=fills,
        exposure=exposure,
        books=books,
        markets=MARKETS,
        slippage_cap=CAP,
        tolerance=exposure_tolerance(opportunity, MARKETS, Decimal("0.5")),
    )


def test_nothing_to_do_when_every_leg_filled() -> None:
    opp = cross_venue()
    books = {
        ("alpha", "SOL/USDT"): book("alpha", "SOL/USDT", "149", "150"),
        ("beta", "SOL/USDT"): book("beta", "SOL/USDT", "152", "153"),
    }
    plan = plan_compensation(inputs(opp, [Decimal(1), Decimal(1)], books))
    assert plan.strategy is CompensationStrategy.NOTHING
    assert plan.orders == ()


def test_a_missing_sell_is_completed_when_its_venue_still_pays_more() -> None:
    opp = cross_venue()
    books = {
        ("alpha", "SOL/USDT"): book("alpha", "SOL/USDT", "149", "150"),
        ("beta", "SOL/USDT"): book("beta", "SOL/USDT", "151.8", "152.5", gap="0.1"),
    }
    plan = plan_compensation(inputs(opp, [Decimal(1), Decimal(0)], books))
    assert plan.strategy is CompensationStrategy.COMPLETE
    assert plan.flattens
    (only,) = plan.orders
    assert (only.venue, only.side, only.amount, only.slot) == ("beta", Side.SELL, Decimal(1), 1)
    assert only.limit_price == capped_price(MARKETS[("beta", "SOL/USDT")], Side.SELL, Decimal(152), CAP)


def test_the_filled_leg_is_unwound_when_that_loses_less() -> None:
    opp = cross_venue()
    books = {  # SOL rallied on alpha: selling it back there pays more than completing on beta
        ("alpha", "SOL/USDT"): book("alpha", "SOL/USDT", "152", "152.2", gap="0.01"),
        ("beta", "SOL/USDT"): book("beta", "SOL/USDT", "151.3", "151.5", gap="0.01"),
    }
    plan = plan_compensation(inputs(opp, [Decimal(1), Decimal(0)], books))
    assert plan.strategy is CompensationStrategy.UNWIND
    assert plan.flattens
    (only,) = plan.orders
    assert (only.venue, only.side, only.amount, only.slot) == ("alpha", Side.SELL, Decimal(1), 2)
    fee = Decimal(152) * MARKETS[("alpha", "SOL/USDT")].taker_fee
    assert plan.expected_exposure["USDT"] == Decimal(-150) + Decimal(152) - fee


def test_a_price_beyond_the_cap_on_every_venue_leaves_a_residual() -> None:
    opp = cross_venue()
    books = {
        ("alpha", "SOL/USDT"): book("alpha", "SOL/USDT", "140", "141"),
        ("beta", "SOL/USDT"): book("beta", "SOL/USDT", "141", "142"),
    }
    plan = plan_compensation(inputs(opp, [Decimal(1), Decimal(0)], books))
    assert not plan.flattens
    assert plan.residual == {"SOL": Decimal(1)}


def test_unwinding_a_short_buys_back_within_the_cap() -> None:
    opp = cross_venue()
    books = {
        ("alpha", "SOL/USDT"): book("alpha", "SOL/USDT", "149", "150.2", gap="0.1"),
        ("beta", "SOL/USDT"): book("beta", "SOL/USDT", "151", "153"),
    }
    plan = plan_compensation(inputs(opp, [Decimal(0), Decimal(1)], books))
    assert plan.flattens
    assert all(o.side is Side.BUY for o in plan.orders)
    assert all(o.limit_price <= Decimal(150) * (1 + CAP) for o in plan.orders)


@given(
    fill0=st.decimals("0", "1", places=2),
    fill1=st.decimals("0", "1", places=2),
    alpha_bid=st.decimals("140", "156", places=2),
    beta_bid=st.decimals("140", "156", places=2),
)
def test_plans_respect_the_cap_and_minimums_and_prefer_flattening(
    fill0: Decimal, fill1: Decimal, alpha_bid: Decimal, beta_bid: Decimal
) -> None:
    opp = cross_venue()
    books = {
        ("alpha", "SOL/USDT"): book("alpha", "SOL/USDT", str(alpha_bid), str(alpha_bid + Decimal("0.2")), gap="0.05"),
        ("beta", "SOL/USDT"): book("beta", "SOL/USDT", str(beta_bid), str(beta_bid + Decimal("0.2")), gap="0.05"),
    }
    plan = plan_compensation(inputs(opp, [fill0, fill1], books))
    reference = {leg.venue: leg.limit_price for leg in opp.legs}
    for order in plan.orders:
        m = MARKETS[(order.venue, order.symbol)]
        assert order.amount >= (m.min_amount or 0)
        assert order.amount * order.limit_price >= (m.min_cost or 0)
        if order.side is Side.BUY:
            assert order.limit_price <= reference[order.venue] * (1 + CAP)
        else:
            assert order.limit_price >= reference[order.venue] * (1 - CAP)
    # Selling the surplus on whichever venue's bid is within its cap always flattens.
    surplus = fill0 - fill1
    within = any((bid >= reference[venue] * (1 - CAP)) for venue, bid in (("alpha", alpha_bid), ("beta", beta_bid)))
    if surplus > Decimal("0.05") and within:
        assert plan.flattens, plan


def xrp_eth(amount: str = "3656.6") -> tuple[Opportunity, dict[tuple[str, str], Market]]:
    legs = (
        Leg(venue="alpha", symbol="XRP/ETH", side=Side.BUY, amount=Decimal(amount), limit_price=Decimal("0.00018231")),
        Leg(venue="beta", symbol="XRP/ETH", side=Side.SELL, amount=Decimal(amount), limit_price=Decimal("0.00018324")),
    )
    quotes = tuple(QuoteStamp(venue=leg.venue, symbol=leg.symbol, timestamp=1) for leg in legs)
    opportunity = Opportunity(
        kind="cross_venue",
        legs=legs,
        expected_profit=Decimal("0.001"),
        profit_currency="ETH",
        quotes=quotes,
        detected_at=1,
    )
    return opportunity, {(leg.venue, leg.symbol): market(leg.venue, leg.symbol) for leg in legs}


def smallest_order(opportunity: Opportunity, markets: dict[tuple[str, str], Market]) -> Decimal:
    return max(
        max(m.min_amount or Decimal(0), amount_step(m), (m.min_cost or Decimal(0)) / leg.limit_price)
        for leg in opportunity.legs
        for m in [markets[(leg.venue, leg.symbol)]]
    )


def test_the_dust_allowance_is_in_dollars_whatever_the_profit_currency() -> None:
    # Found in the demo: a one-unit allowance in the profit currency let 3,656 XRP (2,000 USD) pass as dust
    # when the profit currency was ETH. One dollar of ETH is 1/3000 ETH, about 1.8 XRP.
    opportunity, markets = xrp_eth()
    tolerance = exposure_tolerance(opportunity, markets, Decimal(1), {"ETH": Decimal(3000)}.get)
    one_dollar = (Decimal(1) / Decimal(3000)) / Decimal("0.00018231")
    assert tolerance["XRP"] == max(one_dollar, smallest_order(opportunity, markets))
    assert tolerance["XRP"] < Decimal(20)  # a few dollars at most, whatever the market's minimum order


def test_an_unvalued_profit_currency_tolerates_only_untradeable_dust() -> None:
    opportunity, markets = xrp_eth()
    tolerance = exposure_tolerance(opportunity, markets, Decimal(1), lambda asset: None)
    assert tolerance["XRP"] == smallest_order(opportunity, markets)


def test_a_filled_buy_in_an_eth_quoted_market_is_residual_exposure() -> None:
    opportunity, markets = xrp_eth()
    exposure: dict[str, Decimal] = defaultdict(Decimal)
    apply_trade(exposure, "XRP/ETH", Side.BUY, Decimal("3656.6"), Decimal("0.6666"))
    tolerance = exposure_tolerance(opportunity, markets, Decimal(1), {"ETH": Decimal(3000)}.get)
    assert residual_exposure(exposure, opportunity, tolerance) == {"XRP": Decimal("3656.6")}
