"""The demo and the replay, as a person runs them.

demo.wall_s: ``arbiter demo`` with its defaults (3 simulated minutes, 3 venues x 12 symbols, 2 shards, the default
fault profile), through the installed console script in a fresh process: imports, moto, the run, the report.
Target: at most 90 s. One run (it takes half a minute; a median of several would triple ``make bench``).
demo.executions_per_s: that run's executions over its own wall time (report.json's ``wall_s``: the schedule, the
sagas and the reconciler, not the start-up or the report).
replay.updates_per_s: book updates the scanner received per second of wall time replaying the shipped recording
(loopback Binance, 3 books, 150 s) with the default fault profile, in this process; median of 3 replays.
replay.updates_per_s_no_faults: the same with no fault injected, the baseline (fewer compensations to run)."""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from arbiter.local.demo import FAULT_PROFILES, DemoRun
from arbiter.local.replay import ReplayMarket
from arbiter.settings import load_settings
from benchmarks.figures import Figure

ROOT = Path(__file__).resolve().parent.parent
RECORDING = ROOT / "tests" / "fixtures" / "recordings" / "loopback-binance.jsonl.gz"


def _demo() -> tuple[float, float]:
    script = Path(sys.executable).with_name("arbiter")
    with tempfile.TemporaryDirectory() as out:
        started = time.perf_counter()
        subprocess.run(
            [str(script), "demo", "--out", out],
            check=True,
            capture_output=True,
            env={k: v for k, v in os.environ.items() if not k.startswith("ARBITER_")},
            timeout=600,
        )
        wall = time.perf_counter() - started
        (folder,) = Path(out).iterdir()
        report = json.loads((folder / "report.json").read_text())
    return wall, report["summary"]["opportunities_started"] / report["run"]["wall_s"]


def _replay(profile: str) -> float:
    market = ReplayMarket(RECORDING)
    with DemoRun(load_settings(), market=market, profile=FAULT_PROFILES[profile], shards=1) as run:
        record = run.run(60)
    return market.delivered / record.wall_s


def run() -> list[Figure]:
    wall, executions_per_s = _demo()
    return [
        Figure("demo.wall_s", wall, "s"),
        Figure("demo.executions_per_s", executions_per_s, "executions/s"),
        Figure("replay.updates_per_s", statistics.median(_replay("default") for _ in range(3)), "updates/s"),
        Figure("replay.updates_per_s_no_faults", statistics.median(_replay("none") for _ in range(3)), "updates/s"),
    ]
