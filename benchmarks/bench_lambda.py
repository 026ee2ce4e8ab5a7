"""layer.unzipped_mb: the two Lambda layers as deployed (arm64 wheels from the lock, bytecode), in MB (2**20).
lambda.cold_import_ms: the slowest handler's cold import, each handler's median of 5 fresh interpreters of the
runtime's Python, from the same layers built for this machine (cdk.layer_check; target <= 1,000).
lambda.cold_import_baseline_ms: the same handler imported as before, in the same run: every ccxt exchange loaded
and no bytecode (median of 3); lambda.cold_import_speedup is baseline / cold_import_ms.

Builds the layers with pip (a minute or two, from pip's cache after the first run); diagnostics go to stderr."""

from __future__ import annotations

import statistics
import sys
import tempfile
from pathlib import Path

from benchmarks.figures import Figure
from cdk.arbiter_constructs.lambda_layers import (
    compile_bytecode,
    copy_core,
    install_dependencies,
    lambda_python,
    tree_bytes,
)
from cdk.layer_check import HANDLERS, build_for_this_machine, cold_import

REPEATS = 5
BASELINE_REPEATS = 3


def run() -> list[Figure]:
    with tempfile.TemporaryDirectory(prefix="arbiter-layers-") as scratch:
        root = Path(scratch)
        python = lambda_python()
        deployed = root / "deployed"
        copy_core(deployed / "core")
        install_dependencies(deployed / "dependencies" / "python")
        for layer in ("core", "dependencies"):
            compile_bytecode(deployed / layer, python)
        unzipped_mb = tree_bytes(deployed) / 2**20

        here = build_for_this_machine(root / "here")
        medians = {}
        for handler in HANDLERS:
            medians[handler] = statistics.median(cold_import(handler, here).elapsed_ms for _ in range(REPEATS))
            print(f"cold import {handler.parent.name}: {medians[handler]:.0f} ms", file=sys.stderr)
        slowest = max(medians, key=medians.__getitem__)
        baseline = []
        for attempt in range(BASELINE_REPEATS):
            empty = root / f"no-bytecode-{attempt}"
            baseline.append(cold_import(slowest, here, without_bytecode_in=empty).elapsed_ms)
    baseline_ms = statistics.median(baseline)
    return [
        Figure("layer.unzipped_mb", round(unzipped_mb, 1), "MB"),
        Figure("lambda.cold_import_ms", round(medians[slowest]), "ms"),
        Figure("lambda.cold_import_baseline_ms", round(baseline_ms), "ms"),
        Figure("lambda.cold_import_speedup", round(baseline_ms / medians[slowest], 2), "x"),
    ]
