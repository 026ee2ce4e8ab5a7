from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from arbiter.gateway.ccxt.mapping import VenueResponseError, order_from_ccxt
from arbiter.models import Order, OrderAck


def raw(**overrides: Any) -> dict[str, Any]:
    order: dict[str, Any] = {
        "id": "X-1",
        "clientOrderId": "c-1",
        "symbol": "BTC/USDT",
        "type": "limit",
        "side": "buy",
        "price": 60000.0,
        "amount": 0.5,
        "filled": 0.2,
        "remaining": 0.3,
        "average": 59999.5,
        "status": "open",
        "fees": [{"cost": 0.01, "currency": "USDT"}],
        "timestamp": 1_700_000_000_000,
    }
    order.update(overrides)
    return order


def test_an_order_is_mapped_with_exact_decimals() -> None:
    mapped = order_from_ccxt("kraken", "fetchOrder", raw())
    assert isinstance(mapped, Order)
    assert (mapped.filled, mapped.remaining, mapped.average) == (Decimal("0.2"), Decimal("0.3"), Decimal("59999.5"))
    assert mapped.fees[0].cost == Decimal("0.01")


def test_an_answer_without_status_is_only_an_acknowledgement() -> None:
    mapped = order_from_ccxt("kraken", "createOrder", raw(status=None, filled=None))
    assert mapped == OrderAck(
        venue="kraken", exchange_order_id="X-1", client_order_id="c-1", symbol="BTC/USDT", amount=Decimal("0.5")
    )


@pytest.mark.parametrize(
    ("change", "field", "problem"),
    [
        ({"status": "partially_filled"}, "status", "unknown status"),
        ({"filled": -0.1}, "filled", "greater than or equal to 0"),
        ({"amount": None}, "amount", "Decimal input should be"),
        ({"filled": 0.7, "remaining": 0}, "filled", "exceeds amount"),
    ],
)
def test_a_response_our_models_refuse_is_a_typed_error_naming_venue_method_and_field(
    change: dict[str, Any], field: str, problem: str
) -> None:
    with pytest.raises(VenueResponseError) as caught:
        order_from_ccxt("binance", "fetchOrder", raw(**change))
    error = caught.value
    assert (error.venue, error.method, error.response_id) == ("binance", "fetchOrder", "X-1")
    assert error.field.startswith(field) or field in str(error)
    assert problem in str(error)
