from __future__ import annotations

from decimal import Decimal

from arbiter.execution.exposure import net_exposure, residual_exposure
from arbiter.models import Fee, Leg, Opportunity, OpportunityKind, Order, QuoteStamp, Side


def order(side: str, filled: str, average: str | None, fees: tuple[Fee, ...] = (), symbol: str = "BTC/USDT") -> Order:
    return Order.model_validate(
        {
            "venue": "kraken",
            "symbol": symbol,
            "side": side,
            "type": "limit",
            "amount": "1",
            "price": "100",
            "status": "closed",
            "filled": filled,
            "remaining": str(Decimal(1) - Decimal(filled)),
            "average": average,
            "fees": fees,
        }
    )


def test_exposure_counts_fills_at_average_price_and_fees_in_their_currency() -> None:
    orders = [
        order("buy", "1", "100", (Fee(cost=Decimal("0.1"), currency="USDT"),)),
        order("sell", "0.4", "101", (Fee(cost=Decimal("0.0004"), currency="BTC"),)),
        order("buy", "0", None),
    ]
    exposure = net_exposure(orders)
    assert exposure == {"BTC": Decimal("0.5996"), "USDT": Decimal("-100.1") + Decimal("40.4")}


def opportunity(*symbols: str) -> Opportunity:
    legs = tuple(
        Leg(venue="kraken", symbol=symbol, side=Side.BUY, amount=Decimal(1), limit_price=Decimal(100))
        for symbol in symbols
    )
    quotes = tuple(QuoteStamp(venue="kraken", symbol=symbol, timestamp=1) for symbol in symbols)
    return Opportunity(
        kind=OpportunityKind.CYCLE, legs=legs, expected_profit=Decimal(1), profit_currency="USDT", quotes=quotes,
        detected_at=1,
    )  # fmt: skip


def test_residual_ignores_the_profit_currency_and_dust() -> None:
    exposure = {"USDT": Decimal(5), "BTC": Decimal("0.00001"), "SOL": Decimal("-2")}
    tolerance = {"BTC": Decimal("0.0001"), "SOL": Decimal("0.1")}
    residual = residual_exposure(exposure, opportunity("SOL/BTC", "BTC/USDT", "SOL/USDT"), tolerance)
    assert residual == {"SOL": Decimal(-2)}


def test_a_fee_in_a_currency_no_leg_trades_is_a_cost_not_exposure() -> None:
    # Binance's BNB fee discount: a settled trade leaves -0.00025 BNB, which no compensation could trade away.
    orders = [
        order("buy", "1", "100", (Fee(cost=Decimal("0.00025"), currency="BNB"),)),
        order("sell", "1", "100.5", (Fee(cost=Decimal("0.00025"), currency="BNB"),)),
    ]
    exposure = net_exposure(orders)
    assert exposure["BNB"] == Decimal("-0.0005")  # still counted: it is booked in the P&L
    assert residual_exposure(exposure, opportunity("BTC/USDT", "ETH/USDT"), {"BTC": Decimal("0.0001")}) == {}
    # The same amount in a traded asset is exposure as before.
    assert residual_exposure({"BTC": Decimal("-0.0005")}, opportunity("BTC/USDT", "ETH/USDT"), {}) == {
        "BTC": Decimal("-0.0005")
    }
