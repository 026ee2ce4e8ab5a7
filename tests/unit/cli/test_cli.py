from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from arbiter.cli.app import app

runner = CliRunner()


@pytest.mark.parametrize(
    "command", [[], ["demo"], ["replay"], ["record"], ["scan"], ["markets"], ["settings"], ["api"]]
)
def test_every_command_has_help(command: list[str]) -> None:
    result = runner.invoke(app, [*command, "--help"])
    assert result.exit_code == 0
    assert "Usage" in result.output


def test_demo_runs_the_schedule_and_ends_with_a_summary_and_the_report(tmp_path: Path) -> None:
    arguments = ["demo", "--minutes", "1", "--symbols", "3", "--venues", "binance,kraken", "--shards", "1"]
    result = runner.invoke(app, [*arguments, "--faults", "none", "--verbose", "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert "tick    1" in result.output  # --verbose: a line per tick
    said = " ".join(result.output.split())  # as the terminal wraps it
    assert "on binance, kraken, 1 shards, fault profile none" in said
    (folder,) = tmp_path.iterdir()
    assert f"report: {folder / 'report.html'}" in result.output.replace("\n", "")
    report = json.loads((folder / "report.json").read_text())
    assert report["run"]["venues"] == ["binance", "kraken"]
    assert report["run"]["reconciler_sweeps"] >= 2  # its schedule's runs and the one after the last execution


def test_an_unknown_fault_profile_or_a_broken_recording_is_refused(tmp_path: Path) -> None:
    unknown = runner.invoke(app, ["demo", "--faults", "chaos", "--out", str(tmp_path)])
    assert unknown.exit_code == 2
    assert "--faults: 'chaos' is not a profile (default, placement, none)" in unknown.output
    broken = tmp_path / "broken.jsonl.gz"
    broken.write_text("not gzip")
    refused = runner.invoke(app, ["replay", str(broken), "--out", str(tmp_path)])
    assert refused.exit_code == 2
    assert "not a gzip-compressed recording" in refused.output


def test_an_invalid_setting_stops_the_demo_with_the_variable_named(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ARBITER_SIMULATION__LEVELS", "0")
    result = runner.invoke(app, ["demo", "--minutes", "1"])
    assert result.exit_code == 2
    assert "ARBITER_SIMULATION__LEVELS: Input should be greater than or equal to 1" in result.output


def test_an_alarm_threshold_naming_no_alarm_stops_the_demo(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ARBITER_ALARM_THRESHOLDS", '{"Incidnet": 2}')
    result = runner.invoke(app, ["demo", "--minutes", "1"])
    assert result.exit_code == 2
    assert "ARBITER_ALARM_THRESHOLDS: no alarm named Incidnet" in result.output


def test_markets_lists_recorded_markets_and_refuses_unknown_venues() -> None:
    listed = runner.invoke(app, ["markets", "binance"])
    assert listed.exit_code == 0
    assert "decimal_places" in listed.output
    unknown = runner.invoke(app, ["markets", "nowhere"])
    assert unknown.exit_code == 2
    assert "no recorded markets" in unknown.output


def test_scan_reads_recorded_order_books_and_prints_the_opportunity(tmp_path: pytest.TempPathFactory) -> None:
    import json
    from pathlib import Path

    at = 1_767_225_600_000
    books = [
        {"venue": "binance", "symbol": "BTC/USDT", "bids": [[60400.0, 0.5]], "asks": [[60410.0, 0.5]], "timestamp": at},
        {"venue": "kraken", "symbol": "BTC/USDT", "bids": [[59900.0, 0.5]], "asks": [[59950.0, 0.4]], "timestamp": at},
    ]
    path = Path(str(tmp_path)) / "books.json"
    path.write_text(json.dumps(books))
    result = runner.invoke(app, ["scan", str(path)])
    assert result.exit_code == 0, result.output
    assert "kraken->binance BTC/USDT" in result.output
    broken = Path(str(tmp_path)) / "broken.json"
    broken.write_text(json.dumps([{**books[0], "bids": [[60400.0, -1]]}]))
    refused = runner.invoke(app, ["scan", str(broken)])
    assert refused.exit_code == 2
    assert "bids.0.amount" in refused.output


def test_scan_skips_a_book_without_a_recorded_market_and_says_why(tmp_path: pytest.TempPathFactory) -> None:
    import json
    from pathlib import Path

    at = 1_767_225_600_000
    books = [
        {"venue": "binance", "symbol": "BTC/USDT", "bids": [[60400.0, 0.5]], "asks": [[60410.0, 0.5]], "timestamp": at},
        {"venue": "kraken", "symbol": "BTC/USDT", "bids": [[59900.0, 0.5]], "asks": [[59950.0, 0.4]], "timestamp": at},
        {"venue": "kraken", "symbol": "NOPE/USDT", "bids": [[1.0, 5.0]], "asks": [[1.1, 5.0]], "timestamp": at},
    ]
    path = Path(str(tmp_path)) / "books.json"
    path.write_text(json.dumps(books))
    result = runner.invoke(app, ["scan", str(path)])
    assert result.exit_code == 0, result.output
    assert "kraken->binance BTC/USDT" in result.output
    assert "skipped: kraken NOPE/USDT: no recorded market, book ignored" in result.output
