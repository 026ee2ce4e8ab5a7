"""The core layer ships what a Lambda runs, and every deployed handler imports from those files alone; the
dependency layer installs the lock's exact versions of pyproject.toml's runtime dependencies but what the runtime
provides or no handler needs; each layer's asset hash follows what it ships. (The real bundling runs in
tests/infra/test_deployed_build.py.)"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from aws_cdk import App, RemovalPolicy, Stack, assertions
from packaging.requirements import Requirement

from cdk.arbiter_constructs import lambda_layers
from cdk.arbiter_constructs.lambda_layers import (
    CORE_LAYER_EXCLUDE,
    LAMBDA_PYTHON_VERSION,
    LAYER_LOCK,
    LAYER_PLATFORM,
    LAYER_REQUIREMENTS,
    LEFT_OUT_OF_LAYER,
    NOT_IN_LAYER,
    REPO_ROOT,
    LambdaLayers,
    copy_core,
    core_hash,
    dependencies_hash,
    install_dependencies,
    layer_pins,
    layer_requirements,
    locked_pins,
)

HANDLERS = sorted((REPO_ROOT / "functions").glob("*/handler.py"))
# The packages CORE_LAYER_EXCLUDE leaves out, as module names ("python/arbiter/local" -> "arbiter.local").
EXCLUDED_PACKAGES = tuple(
    pattern.removeprefix("python/").replace("/", ".") for pattern in CORE_LAYER_EXCLUDE if pattern.startswith("python/")
)
# Installed here for the command line and the tests, but in neither layer: a handler must not need them.
NOT_IN_ANY_LAYER = ("typer", "moto")


@pytest.fixture(scope="module")
def shipped_core(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The core layer's files as its bundling copies them, where Lambda mounts a layer: ``<opt>/python`` is what
    the runtime puts on ``sys.path``. (Bytecode aside, which tests/infra/test_deployed_build.py checks.)"""
    opt = tmp_path_factory.mktemp("opt")
    copy_core(opt)
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


def _pyproject_dependencies() -> list[str]:
    with (REPO_ROOT / "pyproject.toml").open("rb") as file:
        dependencies: list[str] = tomllib.load(file)["project"]["dependencies"]
    return dependencies


def test_the_dependency_layer_installs_pyprojects_runtime_dependencies_but_boto3_and_typer() -> None:
    dependencies = _pyproject_dependencies()
    (ccxt,) = (d for d in dependencies if d.startswith("ccxt"))
    assert ccxt in LAYER_REQUIREMENTS  # the pin recorded with the fixtures, as pyproject writes it
    assert set(NOT_IN_LAYER) == {"boto3", "typer"}
    assert not [r for r in LAYER_REQUIREMENTS if r.startswith(("boto3", "typer"))]
    # Nothing written a second time: the layer is pyproject's list, in its order, less what NOT_IN_LAYER names.
    assert tuple(d for d in dependencies if not d.startswith(("boto3", "typer"))) == LAYER_REQUIREMENTS


def test_the_requirements_follow_pyproject(tmp_path: Path) -> None:
    pyproject = tmp_path / "pyproject.toml"
    pyproject.write_text(
        "[project]\n"
        'dependencies = ["Boto3>=1.40", "ccxt==9.9.9", "typer>=0.15", "orjson>=3 ; python_version>=\'3.12\'"]\n'
    )
    assert layer_requirements(pyproject) == ("ccxt==9.9.9", "orjson>=3 ; python_version>='3.12'")
    pyproject.write_text('[project]\ndependencies = ["boto3>=1.40", "ccxt==9.9.9"]\n')
    with pytest.raises(ValueError, match="typer"):  # a reason kept for a dependency pyproject no longer has
        layer_requirements(pyproject)


def _layer_keys(outdir: Path) -> dict[str, str]:
    """The layers' asset keys in a stack of the two layers alone (bundling skipped), by description."""
    app = App(outdir=str(outdir), context={"aws:cdk:bundling-stacks": []})
    stack = Stack(app, "Layers")
    LambdaLayers(stack, "Layers", removal_policy=RemovalPolicy.DESTROY)
    layers = assertions.Template.from_stack(stack).find_resources("AWS::Lambda::LayerVersion")
    return {layer["Properties"]["Description"]: layer["Properties"]["Content"]["S3Key"] for layer in layers.values()}


def test_the_lock_pins_every_layer_requirement_at_a_version_pyproject_allows() -> None:
    pins = {Requirement(pin).name.lower(): Requirement(pin) for pin in locked_pins()}
    for pin in pins.values():
        assert len(pin.specifier) == 1, pin
        assert next(iter(pin.specifier)).operator == "==", pin
    stale = []
    for requirement in map(Requirement, LAYER_REQUIREMENTS):
        pinned = pins.get(requirement.name.lower())
        version = next(iter(pinned.specifier)).version if pinned else None
        if version is None or not requirement.specifier.contains(version, prereleases=True):
            stale.append(f"{requirement} (locked: {version})")
    assert stale == [], "the lock disagrees with pyproject.toml: run `make lock`"
    installed = {Requirement(pin).name.lower() for pin in layer_pins()}
    assert not installed & set(LEFT_OUT_OF_LAYER)
    assert set(pins) - installed == set(LEFT_OUT_OF_LAYER) & set(pins)


def test_the_dependency_layer_asset_follows_its_lock(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    before = _layer_keys(tmp_path / "before")
    bumped = tmp_path / "dependencies.lock"
    text = LAYER_LOCK.read_text(encoding="utf-8")
    assert "\ntenacity==" in text
    bumped.write_text(text.replace("\ntenacity==", "\ntenacity==0."), encoding="utf-8")
    monkeypatch.setattr(lambda_layers, "LAYER_LOCK", bumped)
    after = _layer_keys(tmp_path / "after")
    (dependencies,) = (d for d in before if d.startswith("third-party"))
    assert dependencies_hash(bumped) != dependencies_hash(LAYER_LOCK)
    assert after[dependencies] != before[dependencies]
    assert after["arbiter domain package"] == before["arbiter domain package"]


def test_the_core_layer_asset_follows_its_shipped_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = tmp_path / "core"
    (root / "python" / "arbiter" / "local").mkdir(parents=True)
    (root / "python" / "arbiter" / "__pycache__").mkdir()
    (root / "python" / "arbiter" / "__init__.py").write_text("")
    first = core_hash(root)
    (root / "python" / "arbiter" / "local" / "platform.py").write_text("x = 1\n")  # excluded: not shipped
    (root / "python" / "arbiter" / "__pycache__" / "x.pyc").write_bytes(b"\0")
    assert core_hash(root) == first
    (root / "python" / "arbiter" / "__init__.py").write_text("x = 1\n")
    assert core_hash(root) != first
    real = _layer_keys(tmp_path / "real")
    monkeypatch.setattr(lambda_layers, "CORE_LAYER_ROOT", root)
    assert _layer_keys(tmp_path / "changed")["arbiter domain package"] != real["arbiter domain package"]


def test_the_bundling_installs_the_locked_pins_for_the_lambda_platform(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    commands: list[list[str]] = []
    monkeypatch.setattr(subprocess, "run", lambda command, check: commands.append(command))
    install_dependencies(tmp_path)
    (command,) = commands
    pins = layer_pins()
    assert command[-len(pins) :] == list(pins)
    assert "--no-deps" in command  # exactly the lock: pip resolves nothing
    assert not [pin for pin in pins if pin.startswith(("boto3==", "botocore=="))]
    for flag, value in {"--platform": LAYER_PLATFORM, "--python-version": LAMBDA_PYTHON_VERSION}.items():
        assert command[command.index(flag) + 1] == value
