"""The terminal side of ``arbiter demo`` and ``arbiter replay``: a live progress panel while the run goes, per-tick
lines with ``--verbose``, and a short summary with the report's path at the end."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.live import Live
from rich.table import Table

from arbiter.local.demo import Progress


def _clock(at_ms: int) -> str:
    return datetime.fromtimestamp(at_ms / 1000, tz=UTC).strftime("%H:%M:%S")


def progress_table(progress: Progress, title: str) -> Table:
    table = Table(title=title, show_header=False, box=None, pad_edge=False)
    table.add_column(style="bold")
    table.add_column()
    elapsed = (progress.simulated_ms - progress.start_ms) / 1000
    table.add_row("simulated time", f"{_clock(progress.simulated_ms)} UTC (+{elapsed:.0f} s)")
    table.add_row("books followed", str(progress.books))
    table.add_row("opportunities", f"{progress.opportunities} detected, {progress.started} started")
    outcomes = ", ".join(f"{k} {v}" for k, v in sorted(progress.outcomes.items())) or "none yet"
    table.add_row("executions", outcomes)
    colour = "green" if progress.pnl_usd >= 0 else "red"
    table.add_row("P&L", f"[{colour}]{progress.pnl_usd:+.2f} USD[/{colour}]")
    table.add_row("reconciler", f"{progress.sweeps} sweeps")
    firing = ", ".join(progress.alarms_firing) or "none (evaluated at the end)"
    table.add_row("alarms", firing)
    return table


class ProgressView:
    """``on_progress`` for a run: a live panel (refreshed a few times a second) or, verbose, one line a tick."""

    def __init__(self, console: Console, title: str, verbose: bool) -> None:
        self.console, self.title, self.verbose = console, title, verbose
        self.live: Live | None = None
        self._ticks = 0

    def __enter__(self) -> ProgressView:
        if not self.verbose:
            self.live = Live(console=self.console, auto_refresh=False, transient=False)
            self.live.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        if self.live is not None:
            self.live.__exit__(None, None, None)

    def __call__(self, progress: Progress) -> None:
        if self.verbose:
            if progress.ticks != self._ticks:
                self._ticks = progress.ticks
                outcomes = " ".join(f"{k}={v}" for k, v in sorted(progress.outcomes.items()))
                self.console.print(
                    f"{_clock(progress.simulated_ms)} tick {progress.ticks:>4} detected {progress.opportunities:>4} "
                    f"started {progress.started:>3} {outcomes} pnl {progress.pnl_usd:+.2f} USD",
                    highlight=False,
                )
            return
        if self.live is not None:
            self.live.update(progress_table(progress, self.title), refresh=True)


def render_end(console: Console, report: Mapping[str, Any], page: Path) -> None:
    summary, run = report["summary"], report["run"]
    console.print()
    console.print(
        f"[bold]{summary['opportunities_started']} executions[/bold] over {run['simulated_s']:.0f} s simulated "
        f"({run['wall_s']:.1f} s wall), {run['books_followed']} books on {', '.join(run['venues'])}, "
        f"{run['shards']} shards, fault profile {run['fault_profile']['name']}",
        highlight=False,
    )
    for outcome, count in sorted(summary["outcomes"].items(), key=lambda kv: -kv[1]):
        console.print(f"  {outcome:<36} {count}", highlight=False)
    pnl = ", ".join(f"{amount} {asset}" for asset, amount in summary["pnl"].items()) or "0"
    console.print(f"realised P&L: {float(summary['pnl_usd']):+.2f} USD ({pnl})", highlight=False)
    if summary["incidents"]:
        console.print(f"[red]incidents: {summary['incidents']}[/red] (each told step by step in the report)")
    alarms = ", ".join(summary["alarms_fired"]) or "none"
    console.print(f"alarms fired: {alarms}", highlight=False)
    retraining = report.get("retraining") or {}
    if retraining:
        console.print(f"retraining: {retraining['verdict']}", highlight=False, soft_wrap=True)
    if not summary["audit_chains_intact"]:
        console.print("[red]an audit chain is broken[/red]")
    console.print(f"report: {page}", highlight=False, soft_wrap=True)
