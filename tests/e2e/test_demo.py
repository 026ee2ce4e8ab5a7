"""The demo as a newcomer runs it (``make demo``): the installed console script in a fresh process, a short seeded
run whose report must be consistent, and its page looked at in a real browser at desktop and phone widths."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser

from tests.support.browser import DESKTOP, PHONE, browser, open_page, screenshot

__all__ = ["browser"]  # the shared fixture, used by the browser test below

SCRIPT = Path(sys.executable).with_name("arbiter")
SECTIONS = (
    "summary",
    "pnl",
    "outcomes",
    "incidents",
    "alarms",
    "latency",
    "book-age",
    "refusals",
    "retraining",
    "executions",
    "run",
)
SHORT_RUN_TRAINS = {"ARBITER_SCORING__MIN_TRAINING_ROWS": "12"}
"""A two-minute run ends about 20 executions: enough to retrain on once this is the threshold (200 by default)."""


def run_cli(*arguments: str, timeout: int = 180, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(SCRIPT), *arguments],
        capture_output=True,
        text=True,
        timeout=timeout,
        env={k: v for k, v in os.environ.items() if not k.startswith("ARBITER_")} | {"COLUMNS": "120"} | (env or {}),
        check=False,
    )


def report_folder(out: Path) -> Path:
    (folder,) = [p for p in out.iterdir() if p.is_dir()]
    return folder


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[subprocess.CompletedProcess[str], Path]:
    out = tmp_path_factory.mktemp("runs")
    completed = run_cli("demo", "--minutes", "2", "--seed", "7", "--out", str(out), env=SHORT_RUN_TRAINS)
    assert completed.returncode == 0, completed.stderr
    return completed, report_folder(out)


@pytest.fixture(scope="module")
def report(demo: tuple[subprocess.CompletedProcess[str], Path]) -> dict[str, Any]:
    result: dict[str, Any] = json.loads((demo[1] / "report.json").read_text())
    return result


def test_the_terminal_shows_progress_then_a_short_summary_and_the_report_path(
    demo: tuple[subprocess.CompletedProcess[str], Path],
) -> None:
    completed, folder = demo
    out = completed.stdout
    assert "simulated time" in out
    assert "books followed" in out
    assert "executions over" in out
    assert "realised P&L:" in out
    assert "alarms fired:" in out
    assert f"report: {folder / 'report.html'}" in out.replace("\n", "")
    assert '"_aws"' not in out
    assert '"level"' not in out
    assert completed.stderr == ""
    assert {p.name for p in folder.iterdir()} == {"report.json", "executions.jsonl", "report.html"}


def test_every_started_execution_is_accounted_for_and_ended(report: dict[str, Any]) -> None:
    started = [name for run in report["run"]["scanner_runs"] for name in run.get("started", ())] or None
    executions = report["executions"]
    assert executions, "the default demo starts executions through the scanner"
    assert len({e["execution_id"] for e in executions}) == len(executions) == report["summary"]["opportunities_started"]
    if started is not None:
        assert sorted(started) == sorted(e["execution_id"] for e in executions)
    assert all(e["status"] in ("settled", "compensated", "incident", "refused") for e in executions)
    assert sum(report["summary"]["outcomes"].values()) == len(executions)
    assert report["run"]["shards"] == 2
    assert all(run["ran"] for run in report["run"]["scanner_runs"])  # each shard's lease was free in its turn


def test_pnl_equals_fills_minus_fees_and_no_order_is_left_open(report: dict[str, Any]) -> None:
    total: dict[str, Decimal] = {}
    for execution in report["executions"]:
        assert execution["pnl"] == execution["fills_minus_fees"], execution["execution_id"]
        for asset, amount in execution["pnl"].items():
            total[asset] = total.get(asset, Decimal(0)) + Decimal(amount)
        assert execution["audit_chain"]["intact"]
        assert execution["open_orders_at_venues"] == []
    assert {a: Decimal(v) for a, v in report["summary"]["pnl"].items()} == {a: v for a, v in total.items() if v}
    assert report["summary"]["open_orders_at_venues"] == []


def test_outcome_labels_say_what_happened(report: dict[str, Any]) -> None:
    for execution in report["executions"]:
        label, legs = execution["outcome"], execution["orders"]
        compensation = [o for o in legs if o["role"] == "compensation" and Decimal(o["filled"]) > 0]
        if execution["status"] == "settled":
            assert label.startswith("completed")
            assert not compensation
        if label in ("unwound", "completed by compensation"):
            assert compensation, execution["execution_id"]


def test_the_alarms_listed_match_the_incidents(report: dict[str, Any]) -> None:
    fired = set(report["summary"]["alarms_fired"])
    incidents = report["summary"]["incidents"] + report["summary"]["venue_incidents"]
    assert ("Incident" in fired) == (incidents > 0)
    assert ("KillSwitchEngaged" in fired) == (report["summary"]["incidents"] > 0)
    assert "ScannerNotRunning" not in fired  # the scanner's heartbeat keeps it quiet
    for incident in report["incidents"]:
        assert incident["what_happened"]
        assert incident["left_open"]
        assert incident["what_to_do"]


def test_the_run_retrains_at_its_end_and_reports_the_candidate_beside_the_live_model(
    demo: tuple[subprocess.CompletedProcess[str], Path], report: dict[str, Any]
) -> None:
    retraining = report["retraining"]
    assert retraining["ran"], retraining
    assert retraining["status"] == "SUCCEEDED", retraining
    ended = sum(1 for line in report["executions"] if line["status"] != "refused")
    assert retraining["candidate"]["rows"] == retraining["live"]["rows"] > 0  # one held-out window, both judged
    assert retraining["candidate"]["rows"] < ended  # held out: the latest share, not everything
    assert retraining["verdict"].startswith(("promoted", "candidate refused"))
    assert f"retraining: {retraining['verdict']}" in demo[0].stdout.replace("\n", "")


def test_a_run_too_short_to_retrain_says_so(tmp_path: Path) -> None:
    completed = run_cli("demo", "--minutes", "1", "--seed", "3", "--faults", "none", "--out", str(tmp_path))
    assert completed.returncode == 0, completed.stderr
    retraining = json.loads((report_folder(tmp_path) / "report.json").read_text())["retraining"]
    assert not retraining["ran"]
    assert "fewer than the 200 a training needs" in retraining["verdict"]


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["desktop", "phone"])
def test_the_report_page_reads_well_at_desktop_and_phone_widths(
    browser: Browser, demo: tuple[subprocess.CompletedProcess[str], Path], viewport: Any
) -> None:
    opened = open_page(browser, viewport)
    page = opened.page
    page.goto((demo[1] / "report.html").as_uri())
    for section in SECTIONS:
        assert page.locator(f"section#{section} h2").is_visible(), section
    assert page.locator("section#pnl svg polyline").count() == 1
    assert page.locator("section#executions tbody tr").count() >= 1
    assert page.locator("section#retraining tbody tr").count() == 6  # each metric, candidate beside live
    overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
    assert overflow <= 0, f"the page scrolls sideways by {overflow} px"
    name = "desktop" if viewport == DESKTOP else "phone"
    assert screenshot(page, f"demo-report-{name}").stat().st_size > 10_000
    assert opened.errors == []
    page.context.close()


def test_a_replay_of_the_shipped_recording_gives_the_same_report_twice(tmp_path: Path) -> None:
    from arbiter.local.report import deterministic_view

    recording = Path(__file__).resolve().parents[1] / "fixtures" / "recordings" / "loopback-binance.jsonl.gz"
    views = []
    for attempt in ("first", "second"):
        out = tmp_path / attempt
        completed = run_cli("replay", str(recording), "--latency-ms", "50", "--seed", "7", "--out", str(out))
        assert completed.returncode == 0, completed.stderr
        report = json.loads((report_folder(out) / "report.json").read_text())
        assert report["run"]["source"] == "replay of loopback-binance.jsonl.gz"
        views.append(deterministic_view(report))
    assert views[0]["summary"]["opportunities_started"] > 0
    assert views[0] == views[1]
