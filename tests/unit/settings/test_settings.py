from __future__ import annotations

import logging

import pytest

from arbiter.settings import SettingsError, load_settings


def test_defaults_are_the_local_mode() -> None:
    settings = load_settings()
    assert settings.mode == "local"
    assert settings.simulation.venues == ("binance", "kraken", "coinbase")


def test_nested_variables_use_the_prefix_and_double_underscore(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ARBITER_SIMULATION__SEED", "42")
    monkeypatch.setenv("ARBITER_SIMULATION__VENUES", '["okx", "kraken"]')
    monkeypatch.setenv("ARBITER_MARKETS__FEE_TIER_VOLUME", '{"kraken": "60000"}')
    settings = load_settings()
    assert settings.simulation.seed == 42
    assert settings.simulation.venues == ("okx", "kraken")
    assert str(settings.markets.fee_tier_volume["kraken"]) == "60000"


def test_deployed_venues_paper_balances_and_tables_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ARBITER_VENUES", '["binance", "kraken"]')
    monkeypatch.setenv("ARBITER_PAPER__BALANCES", '{"binance": {"USDT": "10000", "BTC": "0.25"}}')
    monkeypatch.setenv("ARBITER_TABLES__VENUE_STATE", "arbiter-dev-venue-state")
    settings = load_settings()
    assert settings.venues == ("binance", "kraken")
    assert {a: str(v) for a, v in settings.paper.balances["binance"].items()} == {"USDT": "10000", "BTC": "0.25"}
    assert settings.tables == {"venue_state": "arbiter-dev-venue-state"}


@pytest.mark.parametrize(
    ("variable", "value", "rule"),
    [
        ("ARBITER_SIMULATION__SEED", "abc", "valid integer"),
        ("ARBITER_SIMULATION__SEED", "-1", "greater than or equal to 0"),
        ("ARBITER_MODE", "yolo", "'local', 'paper' or 'live'"),
        ("ARBITER_SIMULATION__VENUES", "[]", "at least 1 item"),
        ("ARBITER_SIMULATION__VENUES", '["kraken", "kraken"]', "repeated: kraken"),
        ("ARBITER_SIMULATION__DISLOCATION_PROBABILITY", "1.5", "less than or equal to 1"),
        ("ARBITER_MARKETS__FEE_TIER_VOLUME", '{"kraken": "-5"}', "greater than or equal to 0"),
        ("ARBITER_VENUES", '["kraken", "kraken"]', "repeated: kraken"),
        ("ARBITER_PAPER__BALANCES", '{"kraken": {"USDT": "-1"}}', "greater than or equal to 0"),
        ("ARBITER_PAPER__BALANCES", '{"Kraken!": {"USDT": "1"}}', "should match pattern"),
        ("ARBITER_PAPER", '{"balances": {"okx": {"USDT": "1"}}}', "not in ARBITER_VENUES: okx"),
        ("ARBITER_ALERT_TOPIC_ARN", "topic", "should match pattern"),
    ],
)
def test_an_invalid_value_names_the_variable_and_the_rule(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str, rule: str
) -> None:
    monkeypatch.setenv(variable, value)
    with pytest.raises(SettingsError) as caught:
        load_settings()
    message = str(caught.value)
    assert variable in message.upper() or variable.rsplit("__", 1)[0] in message
    assert rule in message


def test_an_unknown_setting_is_refused() -> None:
    with pytest.raises(SettingsError, match="ARBITER_SIMULATON: Extra inputs are not permitted"):
        load_settings(simulaton={"seed": 1})


def test_secrets_never_appear_in_repr_dump_log_or_error(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("ARBITER_CREDENTIALS__BINANCE__API_KEY", "key-visible-nowhere")
    monkeypatch.setenv("ARBITER_CREDENTIALS__BINANCE__SECRET", "s3cr3t-visible-nowhere")
    settings = load_settings()
    assert settings.credentials["binance"].secret.get_secret_value() == "s3cr3t-visible-nowhere"
    with caplog.at_level(logging.INFO):
        logging.getLogger("test").info("settings: %s", settings)
    rendered = [repr(settings), str(settings), settings.model_dump_json(), caplog.text]
    assert not any("visible-nowhere" in text for text in rendered)

    monkeypatch.setenv("ARBITER_SIMULATION__SEED", "s3cr3t-in-a-wrong-place")
    with pytest.raises(SettingsError) as caught:
        load_settings()
    assert "s3cr3t" not in str(caught.value)
