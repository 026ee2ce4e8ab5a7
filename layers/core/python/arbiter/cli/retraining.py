"""Rendering of a retraining's outcome for the terminal (``arbiter retrain``; the demo's end)."""

from __future__ import annotations

import json

from arbiter.cli.tables import render_table
from arbiter.local.report.html import metric_text
from arbiter.local.retraining import RetrainReport

METRICS = ("rows", "started", "pnl_usd", "pnl_per_start_usd", "auc", "brier")


def render_retraining(report: RetrainReport) -> str:
    """The verdict, and the candidate's metrics beside the live model's (or expected profit's) on the held-out
    window."""
    lines = [f"retraining {report.run}: {report.describe()}"]
    if report.candidate:
        rows = [[name, metric_text(report.candidate.get(name)), metric_text(report.live.get(name))] for name in METRICS]
        lines.append(render_table(["held-out window", "candidate", "live"], rows))
    if report.training_seconds is not None:
        lines.append(f"training job: {report.training_seconds:.2f} s")
    lines.extend(f"alert: {json.dumps(alert, sort_keys=True)[:300]}" for alert in report.alerts)
    return "\n".join(lines)
