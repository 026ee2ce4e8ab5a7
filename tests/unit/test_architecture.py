"""The domain package's floors: every import points down the declared order, none sideways into a later floor,
and the logic floors load no AWS SDK (the adapters they are served by are wired at the edge)."""

from __future__ import annotations

import ast
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT

PACKAGE = REPO_ROOT / "layers" / "core" / "python" / "arbiter"
FLOORS = (
    "models",
    "settings",
    "markets",
    "storage",
    "detection",
    "simulation",
    "marketdata",
    "gateway",
    "risk",
    "execution",
    "reconcile",
    "monitoring",
    "scoring",
    "scanner",
    "api",
    "bootstrap",
    "local",
    "cli",
)
"""Lowest first: a subpackage may import only the ones before it (and itself)."""
EDGE = "arbiter_handlers"
"""The Lambda plumbing sits above the composition root; only the local platform (which runs the handlers in one
process) and the command line may import it."""
BELOW_EVERY_FLOOR = ("lazy_ccxt",)
"""Modules of the package's root that any floor may import: ``arbiter/__init__.py`` runs them before any floor
loads, so they import the standard library only (checked below)."""
LOGIC_WITHOUT_AWS = ("arbiter.detection", "arbiter.risk.engine", "arbiter.execution.steps", "arbiter.gateway")


def _imports(package: Path) -> dict[str, set[tuple[str, str]]]:
    """Subpackage -> {(imported subpackage, importing file)} for every import of another subpackage."""
    found: dict[str, set[tuple[str, str]]] = defaultdict(set)
    for path in package.rglob("*.py"):
        relative = path.relative_to(package)
        if len(relative.parts) < 2:
            continue
        floor = relative.parts[0]
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            names = (
                [node.module]
                if isinstance(node, ast.ImportFrom) and node.module and node.level == 0
                else [alias.name for alias in node.names]
                if isinstance(node, ast.Import)
                else []
            )
            for name in names:
                parts = name.split(".")
                if parts[0] == EDGE:
                    found[floor].add((EDGE, str(relative)))
                elif parts[0] == "arbiter" and len(parts) > 1 and parts[1] != floor:
                    found[floor].add((parts[1], str(relative)))
    return found


def test_every_subpackage_is_on_a_declared_floor() -> None:
    subpackages = {p.name for p in PACKAGE.iterdir() if p.is_dir() and (p / "__init__.py").exists()}
    assert subpackages <= set(FLOORS), f"undeclared: {sorted(subpackages - set(FLOORS))}"


def _upward(package: Path) -> list[str]:
    upward = []
    for floor, imported in _imports(package).items():
        for target, where in sorted(imported):
            if target == EDGE:
                if floor not in ("local", "cli"):
                    upward.append(f"{where} imports {EDGE}")
            elif target in BELOW_EVERY_FLOOR:
                continue
            elif target not in FLOORS:
                upward.append(f"{where} imports arbiter.{target}, which is on no floor")
            elif FLOORS.index(target) > FLOORS.index(floor):
                upward.append(f"{where} ({floor}) imports arbiter.{target}, a higher floor")
    return upward


def test_imports_point_down_the_floors() -> None:
    assert _upward(PACKAGE) == []


@pytest.mark.parametrize("module", BELOW_EVERY_FLOOR)
def test_what_sits_below_every_floor_imports_the_standard_library_only(module: str) -> None:
    tree = ast.parse((PACKAGE / f"{module}.py").read_text())
    imported = {
        alias.name.split(".")[0] for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names
    }
    imported |= {
        node.module.split(".")[0]
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0
    }
    assert imported <= set(sys.stdlib_module_names) | {"__future__"}


def test_the_floor_check_reports_an_upward_import(tmp_path: Path) -> None:
    for floor, source in {
        "detection": "from arbiter.execution.steps import SagaSteps\nfrom arbiter.models import Order\n",
        "storage": "import arbiter.risk.engine\n",
        "risk": "from arbiter_handlers.metrics import PowertoolsRefusalMetrics\n",
    }.items():
        (tmp_path / floor).mkdir()
        (tmp_path / floor / "module.py").write_text(source)
    assert sorted(_upward(tmp_path)) == [
        "detection/module.py (detection) imports arbiter.execution, a higher floor",
        "risk/module.py imports arbiter_handlers",
        "storage/module.py (storage) imports arbiter.risk, a higher floor",
    ]


@pytest.mark.parametrize("module", LOGIC_WITHOUT_AWS)
def test_the_logic_loads_no_aws_sdk(module: str) -> None:
    """In a fresh interpreter: importing the logic loads neither boto3 nor Powertools nor the simulator."""
    code = (
        f"import sys, {module}\n"
        "loaded = [m for m in ('boto3', 'botocore', 'aws_lambda_powertools', 'moto', 'arbiter.simulation',"
        " 'arbiter.storage', 'arbiter.bootstrap') if m in sys.modules]\n"
        "print(','.join(loaded))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        cwd=REPO_ROOT,
        env={"PYTHONPATH": str(PACKAGE.parent), "PATH": ""},
    )
    assert result.stdout.strip() == "", f"{module} loads {result.stdout.strip()}"
