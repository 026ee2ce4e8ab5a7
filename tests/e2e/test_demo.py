"""The demo as a newcomer runs it: the installed console script, in a fresh process."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path


def test_the_demo_runs_end_to_end_through_the_console_script() -> None:
    script = Path(sys.executable).with_name("arbiter")
    completed = subprocess.run(
        [str(script), "demo", "--ticks", "3"],
        capture_output=True,
        text=True,
        timeout=120,
        env={k: v for k, v in os.environ.items() if not k.startswith("ARBITER_")},
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    assert completed.stdout.count("open dislocations=") == 3
    assert "report: 3 ticks, 3 venues" in completed.stdout
