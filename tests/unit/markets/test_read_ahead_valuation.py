"""A shard values what its own books cannot (another shard's asset, a fee asset) from books read ahead."""

from __future__ import annotations

from decimal import Decimal

from arbiter.markets import ReadAheadUsdValuation
from arbiter.models.time import ManualClock


def test_an_asset_the_live_books_cannot_value_is_read_ahead_then_served_until_it_is_old() -> None:
    live = {"BTC": Decimal(60_000)}
    remote = {"ADA": Decimal("0.5"), "BTC": Decimal(1)}
    asked: list[str] = []

    def read(asset: str) -> Decimal | None:
        asked.append(asset)
        return remote.get(asset)

    clock = ManualClock(0)
    value = ReadAheadUsdValuation(live.get, read, clock, max_age_ms=60_000)
    assert value("BTC") == 60_000  # the shard's own books first; nothing read
    assert value("ADA") is None  # unknown until read ahead (the decision asking is refused)
    assert value("BNB") is None
    value.read_ahead()
    assert sorted(asked) == ["ADA", "BNB"]
    assert value("ADA") == Decimal("0.5")
    assert value("BNB") is None  # no venue prices it either
    clock.ms = 29_000
    value.read_ahead()
    assert len(asked) == 2  # still fresh
    clock.ms, remote["ADA"] = 31_000, Decimal("0.6")
    value.read_ahead()  # getting old: read again ahead of need
    assert value("ADA") == Decimal("0.6")
    clock.ms = 31_000 + 60_001
    assert value("ADA") is None  # too old: never acted on
