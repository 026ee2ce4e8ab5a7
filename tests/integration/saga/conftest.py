"""A small two-venue, one-triangle world for the saga on the real ASL."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal

import pytest

from arbiter.gateway import VenueFaults
from arbiter.local.platform import LocalPlatform
from arbiter.markets import market_from_ccxt
from arbiter.models import Leg, Market, Opportunity, OrderBook, PrecisionMode, QuoteStamp, Side
from arbiter.settings import ExecutionSettings
from arbiter.simulation import generated_market_dict

NOW = 1_767_225_600_000
PRICES_USD = {"USDT": 1.0, "BTC": 60_000.0, "SOL": 150.0}
SYMBOLS = ("SOL/USDT", "SOL/BTC", "BTC/USDT")
VENUES = ("alpha", "beta")


def markets() -> dict[tuple[str, str], Market]:
    return {
        (venue, symbol): market_from_ccxt(
            venue, generated_market_dict(symbol, PRICES_USD, 0.001, 0.001), PrecisionMode.TICK_SIZE
        )
        for venue in VENUES
        for symbol in SYMBOLS
    }


def level_book(venue: str, symbol: str, bid: Decimal, ask: Decimal, tick: Decimal, size: Decimal) -> OrderBook:
    return OrderBook.model_validate(
        {
            "venue": venue,
            "symbol": symbol,
            "bids": [[bid - i * tick, size] for i in range(5)],
            "asks": [[ask + i * tick, size] for i in range(5)],
            "timestamp": NOW,
        }
    )


def default_books() -> dict[tuple[str, str], OrderBook]:
    books = {}
    for venue in VENUES:
        sol = Decimal("150.00") if venue == "alpha" else Decimal("152.00")
        books[(venue, "SOL/USDT")] = level_book(
            venue, "SOL/USDT", sol - Decimal("0.02"), sol, Decimal("0.01"), Decimal(5)
        )
        books[(venue, "BTC/USDT")] = level_book(
            venue, "BTC/USDT", Decimal("59990"), Decimal("60000"), Decimal("1"), Decimal("0.5")
        )
        books[(venue, "SOL/BTC")] = level_book(
            venue, "SOL/BTC", Decimal("0.0025200"), Decimal("0.0025210"), Decimal("0.0000001"), Decimal(5)
        )
    return books


class World:
    def __init__(self, platform: LocalPlatform, books: dict[tuple[str, str], OrderBook]) -> None:
        self.platform, self.books = platform, books
        self.now = NOW


def cross_venue(amount: str = "1") -> Opportunity:
    legs = (
        Leg(venue="alpha", symbol="SOL/USDT", side=Side.BUY, amount=Decimal(amount), limit_price=Decimal("150.00")),
        Leg(venue="beta", symbol="SOL/USDT", side=Side.SELL, amount=Decimal(amount), limit_price=Decimal("151.98")),
    )
    return _opportunity("cross_venue", legs)


def triangle() -> Opportunity:
    # USDT -> BTC -> SOL -> USDT on alpha: buy BTC, buy SOL with BTC, sell SOL for USDT
    legs = (
        Leg(venue="alpha", symbol="BTC/USDT", side=Side.BUY, amount=Decimal("0.0026"), limit_price=Decimal(60000)),
        Leg(venue="alpha", symbol="SOL/BTC", side=Side.BUY, amount=Decimal("1.0"), limit_price=Decimal("0.0025210")),
        Leg(venue="alpha", symbol="SOL/USDT", side=Side.SELL, amount=Decimal("1.0"), limit_price=Decimal("149.98")),
    )
    return _opportunity("cycle", legs)


def _opportunity(kind: str, legs: tuple[Leg, ...]) -> Opportunity:
    quotes = tuple(
        {
            (leg.venue, leg.symbol): QuoteStamp(venue=leg.venue, symbol=leg.symbol, timestamp=NOW) for leg in legs
        }.values()
    )
    return Opportunity(
        kind=kind, legs=legs, expected_profit=Decimal(1), profit_currency="USDT", quotes=quotes, detected_at=NOW
    )


BALANCES = {v: {"USDT": Decimal(100_000), "BTC": Decimal(2), "SOL": Decimal(500)} for v in VENUES}


@pytest.fixture
def make_world() -> Iterator[object]:
    started: list[LocalPlatform] = []

    def make(faults: dict[str, VenueFaults] | None = None, settings: ExecutionSettings | None = None) -> World:
        books = default_books()
        holder: dict[str, World] = {}
        platform = LocalPlatform(
            markets=markets(),
            books=lambda venue, symbol: holder["world"].books[(venue, symbol)],
            balances=BALANCES,
            clock=lambda: holder["world"].now,
            settings=settings or ExecutionSettings(poll_seconds=0, fill_deadline_ms=0),
            faults=faults or {},
        )
        world = World(platform, books)
        holder["world"] = world
        platform.start()
        started.append(platform)
        return world

    yield make
    for platform in started:
        platform.stop()
