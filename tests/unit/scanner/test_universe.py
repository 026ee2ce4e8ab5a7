"""A missing or invalid universe stops the scanner with the setting named, before anything is subscribed."""

from __future__ import annotations

import pytest

from arbiter.bootstrap.saga import WiringError
from arbiter.bootstrap.scanner import scanner_shard, universe_markets
from arbiter.settings import ScannerSettings, Settings, SettingsError, load_settings
from arbiter.simulation import MarketModel

MODEL = MarketModel.from_settings(Settings().simulation)
MARKETS = dict(MODEL.universe.catalog.items())


def test_no_universe_is_refused_with_its_variable() -> None:
    with pytest.raises(WiringError, match="ARBITER_SCANNER__UNIVERSE: not set"):
        universe_markets(Settings(), MARKETS)


def test_unknown_venues_and_markets_are_each_named() -> None:
    settings = Settings(scanner=ScannerSettings(universe={"binance": ("BTC/USDT", "NOPE/USDT"), "ftx": ("A/B",)}))
    with pytest.raises(WiringError) as raised:
        universe_markets(settings, MARKETS)
    message = str(raised.value)
    assert message.startswith("ARBITER_SCANNER__UNIVERSE: ")
    assert "ftx: venue not connected" in message
    assert "binance NOPE/USDT: no such market" in message


def test_a_malformed_universe_variable_names_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ARBITER_SCANNER__UNIVERSE", '{"binance": ["BTC/USDT", "BTC/USDT"]}')
    with pytest.raises(SettingsError, match=r"ARBITER_SCANNER__UNIVERSE: .*repeated symbols BTC/USDT"):
        load_settings()
    monkeypatch.setenv("ARBITER_SCANNER__UNIVERSE", '{"binance": ["not a symbol"]}')
    with pytest.raises(SettingsError, match="ARBITER_SCANNER__UNIVERSE"):
        load_settings()


def test_a_shard_outside_the_configured_count_is_refused() -> None:
    listed = {venue: tuple(s for v, s in MARKETS if v == venue) for venue, _ in MARKETS}
    settings = Settings(scanner=ScannerSettings(universe=listed, shards=2))
    assert scanner_shard(settings, MARKETS, 1).index == 1
    with pytest.raises(WiringError, match="shard 2: ARBITER_SCANNER__SHARDS is 2"):
        scanner_shard(settings, MARKETS, 2)
