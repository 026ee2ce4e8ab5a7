from __future__ import annotations

from decimal import Decimal

from arbiter.execution.exposure import net_exposure, residual_exposure
from arbiter.models import Fee, Order


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


def test_residual_ignores_the_profit_currency_and_dust() -> None:
    exposure = {"USDT": Decimal(5), "BTC": Decimal("0.00001"), "SOL": Decimal("-2")}
    residual = residual_exposure(exposure, "USDT", {"BTC": Decimal("0.0001"), "SOL": Decimal("0.1")})
    assert residual == {"SOL": Decimal(-2)}
