"""Every recorded case of the methods the gateway uses, replayed through real ccxt (pinned with the fixtures),
mapped by our gateway and compared with what ccxt recorded. A new fixture file is picked up with no code change;
a case we cannot map fails with its reason."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from arbiter.gateway.ccxt.mapping import (
    balances_from_ccxt,
    order_book_from_ccxt,
    order_from_ccxt,
    ticker_from_ccxt,
    trade_from_ccxt,
)
from arbiter.gateway.ccxt.replay import RecordedCase, recorded_cases, replay
from arbiter.models import Order, OrderAck
from tests.conftest import SHARED_FIXTURES

CASES = list(recorded_cases(SHARED_FIXTURES)) if SHARED_FIXTURES.exists() else []
RECEIVED_AT = 1_767_225_600_000


def number(value: Any) -> Decimal | None:
    return None if value is None else Decimal(repr(value)) if isinstance(value, float) else Decimal(str(value))


def assert_order_matches(mapped: Order | OrderAck, parsed: dict[str, Any]) -> None:
    if parsed.get("status") is None:
        assert isinstance(mapped, OrderAck), "an answer without status must not be read as an order state"
        assert mapped.exchange_order_id == parsed.get("id")
        return
    assert isinstance(mapped, Order)
    assert mapped.status.value == {"cancelled": "canceled"}.get(parsed["status"], parsed["status"])
    assert mapped.exchange_order_id == parsed.get("id")
    assert mapped.client_order_id == parsed.get("clientOrderId")
    assert mapped.amount == number(parsed["amount"])
    assert mapped.filled == number(parsed["filled"])
    assert mapped.remaining == number(parsed.get("remaining"))
    if parsed.get("average") is not None:
        assert mapped.average == number(parsed["average"])
    recorded_fees = [(number(f["cost"]), f["currency"]) for f in parsed.get("fees") or [] if f.get("currency")]
    assert [(f.cost, f.currency) for f in mapped.fees] == recorded_fees


def check(case: RecordedCase, result: Any) -> None:
    parsed = case.parsed
    if case.method == "fetchOrderBook":
        book = order_book_from_ccxt(case.venue, result, RECEIVED_AT)
        assert [[lvl.price, lvl.amount] for lvl in book.bids] == [[number(p), number(a)] for p, a, *_ in parsed["bids"]]
        assert [[lvl.price, lvl.amount] for lvl in book.asks] == [[number(p), number(a)] for p, a, *_ in parsed["asks"]]
        assert book.timestamp == (parsed["timestamp"] or RECEIVED_AT)
    elif case.method in {"createOrder", "cancelOrder", "fetchOrder"}:
        assert_order_matches(order_from_ccxt(case.venue, case.method, result), parsed)
    elif case.method == "fetchOpenOrders":
        assert len(result) == len(parsed)
        for raw, recorded in zip(result, parsed, strict=True):
            assert_order_matches(order_from_ccxt(case.venue, case.method, raw), recorded)
    elif case.method == "fetchBalance":
        balances = balances_from_ccxt(case.venue, result, RECEIVED_AT)
        assert balances.timestamp == (parsed.get("timestamp") or RECEIVED_AT)
        for asset, entry in parsed.items():
            if isinstance(entry, dict) and asset not in {"info", "free", "used", "total"}:
                held = balances.balances.get(asset)
                assert held is not None, f"{asset} missing"
                assert held.free == (number(entry.get("free")) or 0)
                assert held.used == (number(entry.get("used")) or 0)
    elif case.method == "fetchMyTrades":
        assert len(result) == len(parsed)
        for raw, recorded in zip(result, parsed, strict=True):
            trade = trade_from_ccxt(case.venue, raw)
            assert (trade.price, trade.amount, trade.cost) == tuple(
                number(recorded[k]) for k in ("price", "amount", "cost")
            )
            assert [(f.cost, f.currency) for f in trade.fees] == [
                (number(f["cost"]), f["currency"]) for f in recorded["fees"]
            ]
    elif case.method == "fetchTicker":
        ticker = ticker_from_ccxt(case.venue, result, RECEIVED_AT)
        assert (ticker.bid, ticker.ask, ticker.last) == tuple(number(parsed.get(k)) for k in ("bid", "ask", "last"))
    else:  # pragma: no cover - GATEWAY_METHODS and this function change together
        pytest.fail(f"{case.label}: no mapping for {case.method}")


@pytest.mark.skipif(not CASES, reason="shared fixtures not beside this checkout")
@pytest.mark.parametrize("case", CASES, ids=[c.label for c in CASES])
def test_recorded_case_maps_to_what_ccxt_recorded(case: RecordedCase) -> None:
    check(case, replay(case, SHARED_FIXTURES))


def test_every_recorded_venue_and_method_is_covered() -> None:
    if not CASES:
        pytest.skip("shared fixtures not beside this checkout")
    assert {c.venue for c in CASES} == {p.stem for p in (SHARED_FIXTURES / "response").glob("*.json")}
    assert len(CASES) == 17
