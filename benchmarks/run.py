"""Runs every ``benchmarks/bench_*.py``, prints each figure and writes them all to bench-results.json."""

from __future__ import annotations

import os

# Figures are for one core: keep numpy's thread pools (BLAS, OpenMP) to one thread before numpy loads.
for _variable in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_variable, "1")

import importlib  # noqa: E402
import json  # noqa: E402
import platform  # noqa: E402
import sys  # noqa: E402
from pathlib import Path  # noqa: E402

from benchmarks.figures import Figure  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent


def main(selected: list[str]) -> int:
    modules = sorted(p.stem for p in (ROOT / "benchmarks").glob("bench_*.py"))
    if selected:
        modules = [m for m in modules if any(s in m for s in selected)]
    figures: list[Figure] = []
    for name in modules:
        module = importlib.import_module(f"benchmarks.{name}")
        for figure in module.run():
            print(figure.line(), flush=True)
            figures.append(figure)
    results = {
        "machine": {
            "cores": os.cpu_count(),
            "python": platform.python_version(),
            "platform": platform.platform(),
        },
        "figures": {f.name: {"value": f.value, "unit": f.unit} for f in figures},
    }
    (ROOT / "bench-results.json").write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
