from __future__ import annotations

from decimal import Decimal

import pytest
from pydantic import ValidationError

from arbiter.models import Order, OrderRequest, OrderStatus, Side, derive_client_order_id


def test_client_order_id_is_deterministic_and_distinct_per_intent() -> None:
    first = derive_client_order_id("exec-1", 0, 0)
    assert first == derive_client_order_id("exec-1", 0, 0)
    others = {derive_client_order_id("exec-1", 1, 0), derive_client_order_id("exec-1", 0, 1)}
    others.add(derive_client_order_id("exec-2", 0, 0))
    assert first not in others
    assert len(others) == 3
    assert len(first) == 36


@pytest.mark.parametrize(("execution_id", "leg", "attempt"), [("", 0, 0), ("e", -1, 0), ("e", 0, -1)])
def test_client_order_id_refuses_bad_parts(execution_id: str, leg: int, attempt: int) -> None:
    with pytest.raises(ValueError, match=r"execution_id|leg_index"):
        derive_client_order_id(execution_id, leg, attempt)


def test_a_limit_request_needs_a_price() -> None:
    with pytest.raises(ValidationError, match="a limit order needs a price"):
        OrderRequest(
            venue="kraken",
            symbol="BTC/USDT",
            side=Side.BUY,
            amount=Decimal(1),
            price=None,
            client_order_id="c",
        )


def order(**overrides: object) -> dict[str, object]:
    raw: dict[str, object] = {
        "venue": "kraken",
        "symbol": "BTC/USDT",
        "side": "buy",
        "type": "limit",
        "amount": "1.5",
        "price": "100",
        "status": "open",
        "filled": "0.5",
        "remaining": "1.0",
        "average": "99.9",
    }
    raw.update(overrides)
    return raw


def test_an_order_reports_its_cost() -> None:
    parsed = Order.model_validate(order())
    assert parsed.cost == Decimal("49.95")
    assert not parsed.status.is_final
    assert OrderStatus.CANCELED.is_final


def test_overfilled_order_is_refused() -> None:
    with pytest.raises(ValidationError, match=r"filled: 2 exceeds amount 1\.5"):
        Order.model_validate(order(filled="2", remaining="0"))


def test_negative_fill_is_refused() -> None:
    with pytest.raises(ValidationError, match="filled"):
        Order.model_validate(order(filled="-0.1"))


def test_a_fill_without_average_price_is_refused() -> None:
    with pytest.raises(ValidationError, match="average"):
        Order.model_validate(order(average=None))


def test_unknown_status_is_refused() -> None:
    with pytest.raises(ValidationError, match="status"):
        Order.model_validate(order(status="partially_filled"))


def test_balances_refuse_negative_amounts_and_mismatched_keys() -> None:
    from arbiter.models import Balances

    ok = Balances.model_validate(
        {"venue": "kraken", "balances": {"BTC": {"asset": "BTC", "free": "1", "used": "0.5"}}, "timestamp": 1}
    )
    assert ok.balances["BTC"].total == Decimal("1.5")
    assert ok.free("ETH") == 0
    with pytest.raises(ValidationError, match="free"):
        Balances.model_validate(
            {"venue": "kraken", "balances": {"BTC": {"asset": "BTC", "free": "-1"}}, "timestamp": 1}
        )
    with pytest.raises(ValidationError, match=r"balances\['ETH'\]"):
        Balances.model_validate({"venue": "kraken", "balances": {"ETH": {"asset": "BTC", "free": "1"}}, "timestamp": 1})
