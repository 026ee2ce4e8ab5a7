"""A run's report: ``report.json``, ``executions.jsonl`` and a self-contained ``report.html`` in one folder."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from arbiter.local.report.build import build_report, deterministic_view
from arbiter.local.report.html import render_html


def write_report(report: Mapping[str, Any], folder: Path) -> Path:
    """Write the three files into ``folder`` (created); returns the HTML page's path."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "report.json").write_text(json.dumps(report, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    with (folder / "executions.jsonl").open("w", encoding="utf-8") as lines:
        for line in report["executions"]:
            lines.write(json.dumps(line, sort_keys=True, separators=(",", ":")) + "\n")
    page = folder / "report.html"
    page.write_text(render_html(report), encoding="utf-8")
    return page


__all__ = ["build_report", "deterministic_view", "render_html", "write_report"]
