"""The demo as a newcomer runs it (``make demo``): the installed console script, defaults, a fresh process."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path


def test_the_demo_runs_end_to_end_through_the_console_script() -> None:
    script = Path(sys.executable).with_name("arbiter")
    completed = subprocess.run(
        [str(script), "demo"],
        capture_output=True,
        text=True,
        timeout=120,
        env={k: v for k, v in os.environ.items() if not k.startswith("ARBITER_")},
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    assert completed.stdout.count("open dislocations=") == 12
    assert "report: 12 ticks, 3 venues" in completed.stdout
    executed = [line for line in completed.stdout.splitlines() if line.startswith("  executed ")]
    assert executed, "the default demo executes opportunities through the saga"
    assert "realised P&L:" in completed.stdout
    # The deployed alarms' rules, evaluated on what the handlers emitted; an incident always fires its alarm.
    assert "alarms (" in completed.stdout
    assert '"_aws"' not in completed.stdout  # the handlers' EMF is captured, never printed
    if re.search(r"^  incident +\d+$", completed.stdout, re.MULTILINE):
        assert "FIRED Incident" in completed.stdout
