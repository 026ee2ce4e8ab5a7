from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from pydantic import ValidationError

from arbiter.models import Execution, ExecutionStatus, Opportunity


def opportunity(**overrides: Any) -> dict[str, Any]:
    raw: dict[str, Any] = {
        "kind": "cross_venue",
        "legs": [
            {
                "venue": "binance",
                "symbol": "BTC/USDT",
                "side": "buy",
                "amount": "0.01",
                "limit_price": "60000",
            },
            {
                "venue": "kraken",
                "symbol": "BTC/USDT",
                "side": "sell",
                "amount": "0.01",
                "limit_price": "60300",
            },
        ],
        "expected_profit": "1.23",
        "profit_currency": "USDT",
        "quotes": [
            {"venue": "binance", "symbol": "BTC/USDT", "timestamp": 1_700_000_000_000},
            {"venue": "kraken", "symbol": "BTC/USDT", "timestamp": 1_700_000_000_100},
        ],
        "detected_at": 1_700_000_000_200,
    }
    raw.update(overrides)
    return raw


def test_opportunity_id_is_deterministic_and_depends_on_quotes() -> None:
    first = Opportunity.model_validate(opportunity())
    assert first.id == Opportunity.model_validate(opportunity()).id
    later_quotes = opportunity()
    later_quotes["quotes"][0]["timestamp"] += 1
    assert Opportunity.model_validate(later_quotes).id != first.id
    assert first.quote_age_ms(1_700_000_000_500) == 500
    assert first.legs[0].amount == Decimal("0.01")


def test_a_leg_without_its_quote_is_refused() -> None:
    raw = opportunity()
    raw["quotes"] = raw["quotes"][:1]
    with pytest.raises(ValidationError, match=r"legs\[1\]: no quote for kraken BTC/USDT"):
        Opportunity.model_validate(raw)


def test_a_single_leg_is_not_an_opportunity() -> None:
    raw = opportunity()
    raw["legs"] = raw["legs"][:1]
    with pytest.raises(ValidationError, match="legs"):
        Opportunity.model_validate(raw)


def test_a_non_positive_leg_amount_is_refused() -> None:
    raw = opportunity()
    raw["legs"][0]["amount"] = "0"
    with pytest.raises(ValidationError, match=r"legs\.0\.amount"):
        Opportunity.model_validate(raw)


def test_execution_times_must_be_ordered_and_status_terminality_is_explicit() -> None:
    opp = Opportunity.model_validate(opportunity())
    with pytest.raises(ValidationError, match="updated_at"):
        Execution(execution_id="e1", opportunity=opp, created_at=10, updated_at=9)
    execution = Execution(execution_id="e1", opportunity=opp, created_at=10, updated_at=10)
    assert execution.status is ExecutionStatus.PENDING
    assert not execution.status.is_terminal
    assert ExecutionStatus.INCIDENT.is_terminal
