"""The core layer ships what a Lambda runs, and every deployed handler imports from those files alone."""

from __future__ import annotations

import ast
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from aws_cdk import assertions

from cdk.arbiter_constructs.lambda_layers import CORE_LAYER_EXCLUDE, REPO_ROOT
from cdk.stacks.arbiter_stack import ArbiterStack

HANDLERS = sorted((REPO_ROOT / "functions").glob("*/handler.py"))
# The packages CORE_LAYER_EXCLUDE leaves out, as module names ("python/arbiter/local" -> "arbiter.local").
EXCLUDED_PACKAGES = tuple(
    pattern.removeprefix("python/").replace("/", ".") for pattern in CORE_LAYER_EXCLUDE if pattern.startswith("python/")
)
# Installed here for the command line and the tests, but in neither layer: a handler must not need them.
NOT_IN_ANY_LAYER = ("typer", "moto")


@pytest.fixture(scope="module")
def shipped_core(dev_assembly: tuple[ArbiterStack, Path], tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The core layer as CDK staged it (``Code.from_asset`` with CORE_LAYER_EXCLUDE), copied to where Lambda
    mounts a layer: ``<opt>/python`` is what the runtime puts on ``sys.path``."""
    stack, template_path = dev_assembly
    layers = assertions.Template.from_stack(stack).find_resources(
        "AWS::Lambda::LayerVersion", {"Properties": {"Description": "arbiter domain package"}}
    )
    (layer,) = layers.values()
    staged = template_path.parent / f"asset.{layer['Properties']['Content']['S3Key'].removesuffix('.zip')}"
    opt = tmp_path_factory.mktemp("opt")
    shutil.copytree(staged, opt, dirs_exist_ok=True)
    return opt


def test_the_core_layer_leaves_out_what_no_lambda_runs(shipped_core: Path) -> None:
    package = shipped_core / "python" / "arbiter"
    assert EXCLUDED_PACKAGES == ("arbiter.local", "arbiter.cli", "arbiter.simulation")
    for name in EXCLUDED_PACKAGES:
        assert not (shipped_core / "python" / name.replace(".", "/")).exists(), name
    assert not list(shipped_core.rglob("__pycache__"))
    # What the handlers do need is there: the plumbing, the composition root, and the venues' market data.
    assert (shipped_core / "python" / "arbiter_handlers" / "saga.py").is_file()
    assert (package / "bootstrap" / "__init__.py").is_file()
    market_data = {p.name for p in (REPO_ROOT / "layers/core/python/arbiter/markets/data").glob("*.json")}
    assert market_data
    assert {p.name for p in (package / "markets" / "data").glob("*.json")} == market_data


def test_no_shipped_module_imports_a_left_out_package(shipped_core: Path) -> None:
    """Also the imports inside functions, which importing a handler does not run."""
    found = []
    for path in (shipped_core / "python").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names = [node.module, *(f"{node.module}.{alias.name}" for alias in node.names)]
            elif isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            else:
                continue
            found += [
                f"{path.relative_to(shipped_core)} imports {name}"
                for name in names
                if any(name == p or name.startswith(f"{p}.") for p in EXCLUDED_PACKAGES)
            ]
    assert found == []


def test_every_handler_imports_from_the_shipped_layer_alone(shipped_core: Path) -> None:
    """In a fresh interpreter whose ``arbiter`` is the shipped copy only (the editable install's source tree
    taken off ``sys.path``): every ``functions/*/handler.py`` imports and exposes its handler."""
    assert len(HANDLERS) >= 7
    layer = shipped_core / "python"
    code = f"""
import importlib.util, json, sys
from pathlib import Path
layer = Path({str(layer)!r})
# Whatever else provides arbiter (the editable install's .pth) is taken away: only the shipped copy remains.
sys.path[:] = [str(layer)] + [p for p in sys.path if not (Path(p) / "arbiter" / "__init__.py").exists()]
for index, path in enumerate(json.loads({json.dumps([str(h) for h in HANDLERS])!r})):
    spec = importlib.util.spec_from_file_location(f"handler_{{index}}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert callable(module.handler), path
ours = {{name: getattr(m, "__file__", None) for name, m in sys.modules.items() if name.split(".")[0] in
        ("arbiter", "arbiter_handlers")}}
print(json.dumps({{
    "outside": sorted(n for n, f in ours.items() if f and not Path(f).is_relative_to(layer)),
    "left_out": sorted(n for n in sys.modules if any(n == p or n.startswith(p + ".") for p in {EXCLUDED_PACKAGES!r})),
    "not_in_any_layer": sorted(n for n in {NOT_IN_ANY_LAYER!r} if n in sys.modules),
    "loaded": len(ours),
}}))
"""
    result = subprocess.run(
        [sys.executable, "-I", "-B", "-c", code],
        capture_output=True,
        text=True,
        cwd=shipped_core,
        env={"PATH": "", "AWS_DEFAULT_REGION": "eu-west-1"},
        check=False,
    )
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["outside"] == []
    assert report["left_out"] == []
    assert report["not_in_any_layer"] == []
    assert report["loaded"] > 10  # the handlers did load the domain package
