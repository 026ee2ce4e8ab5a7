from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from pydantic import ValidationError

from arbiter.models import OrderBook


def book(**overrides: Any) -> dict[str, Any]:
    raw: dict[str, Any] = {
        "venue": "kraken",
        "symbol": "BTC/USDT",
        "bids": [["100.0", "1"], ["99.5", "2"]],
        "asks": [["100.5", "1"], ["101", "3"]],
        "timestamp": 1_700_000_000_000,
    }
    raw.update(overrides)
    return raw


def error_text(raw: dict[str, Any]) -> str:
    with pytest.raises(ValidationError) as caught:
        OrderBook.model_validate(raw)
    return str(caught.value)


def test_a_sorted_uncrossed_book_is_accepted_with_exact_decimals() -> None:
    parsed = OrderBook.model_validate(book())
    assert parsed.best_bid is not None
    assert parsed.best_bid.price == Decimal("100.0")
    assert parsed.best_ask is not None
    assert parsed.best_ask.amount == Decimal(1)
    assert parsed.age_ms(1_700_000_000_250) == 250


def test_ccxt_floats_become_their_shortest_decimal() -> None:
    parsed = OrderBook.from_ccxt(
        "binance",
        {
            "symbol": "BTC/USDT",
            "bids": [[0.1, 0.3, 7]],
            "asks": [[0.2, 1e-05]],
            "timestamp": 1_700_000_000_000,
        },
    )
    assert parsed.bids[0].price == Decimal("0.1")
    assert parsed.bids[0].amount == Decimal("0.3")
    assert parsed.asks[0].amount == Decimal("0.00001")


def test_crossed_book_is_refused_naming_both_sides() -> None:
    message = error_text(book(bids=[["101", "1"]], asks=[["100.5", "1"]]))
    assert "crossed" in message
    assert "bids[0].price 101" in message


def test_locked_book_counts_as_crossed() -> None:
    assert "crossed" in error_text(book(bids=[["100.5", "1"]], asks=[["100.5", "1"]]))


def test_unsorted_bids_are_refused_naming_the_level() -> None:
    message = error_text(book(bids=[["99", "1"], ["99.5", "1"]]))
    assert "bids" in message
    assert "bids[1].price 99.5 is not below bids[0].price 99" in message


def test_unsorted_asks_are_refused_naming_the_level() -> None:
    message = error_text(book(asks=[["101", "1"], ["101", "2"]]))
    assert "asks[1].price 101 is not above asks[0].price 101" in message


@pytest.mark.parametrize(("side", "level"), [("bids", ["100", "0"]), ("asks", ["-1", "1"]), ("asks", ["0", "1"])])
def test_non_positive_price_or_size_is_refused(side: str, level: list[str]) -> None:
    message = error_text(book(**{side: [level]}))
    assert f"{side}.0" in message
    assert "greater than 0" in message


def test_a_book_without_timestamp_is_refused() -> None:
    raw = book()
    del raw["timestamp"]
    assert "timestamp" in error_text(raw)
    assert "timestamp" in error_text(book(timestamp=None))


def test_nan_and_infinite_values_are_refused() -> None:
    assert "bids.0.price" in error_text(book(bids=[["NaN", "1"]]))
    assert "asks.0.amount" in error_text(book(asks=[["101", "Infinity"]]))


def test_a_level_without_amount_is_refused() -> None:
    assert "price, amount" in error_text(book(bids=[["100"]]))


def test_books_are_immutable_values() -> None:
    parsed = OrderBook.model_validate(book())
    with pytest.raises(ValidationError):
        parsed.timestamp = 1  # type: ignore[misc]
    assert hash(parsed) == hash(OrderBook.model_validate(book()))


def test_a_sweep_walks_levels_up_to_the_limit_without_changing_the_book() -> None:
    from arbiter.models import Side

    parsed = OrderBook.model_validate(book())
    bought = parsed.sweep(Side.BUY, Decimal(3))
    assert (bought.filled, bought.cost, bought.worst_price) == (Decimal(3), Decimal("302.5"), Decimal(101))
    capped = parsed.sweep(Side.BUY, Decimal(3), limit_price=Decimal("100.9"))
    assert (capped.filled, capped.cost) == (Decimal(1), Decimal("100.5"))
    sold = parsed.sweep(Side.SELL, Decimal("1.5"), limit_price=Decimal("99.5"))
    assert (sold.filled, sold.cost, sold.average) == (
        Decimal("1.5"),
        Decimal("149.75"),
        Decimal("149.75") / Decimal("1.5"),
    )
    nothing = parsed.sweep(Side.SELL, Decimal(1), limit_price=Decimal(200))
    assert (nothing.filled, nothing.average) == (Decimal(0), None)
    assert parsed == OrderBook.model_validate(book())
