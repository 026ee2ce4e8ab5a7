"""The deployed layers, built for this machine, and a handler's cold import from them.

The arm64 wheels the Lambda gets cannot load on an x86 machine, so this builds the same layers from the same lock
and the same bundling functions (``cdk.arbiter_constructs.lambda_layers``) with this machine's wheels, and stands
in for the Lambda runtime's own boto3 with the lock's botocore. A handler is then imported the way Lambda does
it: a fresh interpreter of the runtime's Python, the function's folder first on ``sys.path``, then the layers'
``python/`` folders, then the runtime's packages, nothing else. Used by tests/infra/test_deployed_build.py and by
the ``lambda.cold_import_ms`` benchmark."""

from __future__ import annotations

import json
import platform
import subprocess
from dataclasses import dataclass
from pathlib import Path

from cdk.arbiter_constructs.lambda_layers import (
    LAMBDA_PYTHON_VERSION,
    REPO_ROOT,
    compile_bytecode,
    copy_core,
    install_dependencies,
    lambda_python,
    locked_pins,
)

HANDLERS = tuple(sorted((REPO_ROOT / "functions").glob("*/handler.py")))


@dataclass(frozen=True)
class BuiltLayers:
    python: str
    """The interpreter of the Lambda runtime's Python version that compiled them."""
    core: Path
    dependencies: Path
    runtime: Path
    """The stand-in for the runtime's own packages (boto3, botocore)."""

    @property
    def sys_path(self) -> list[str]:
        return [str(self.core / "python"), str(self.dependencies / "python"), str(self.runtime)]


def machine_platform() -> str:
    return f"manylinux2014_{platform.machine()}"


def build_for_this_machine(root: Path) -> BuiltLayers:
    """Both layers and the runtime stand-in under ``root``, for this machine's architecture, with bytecode."""
    python = lambda_python()
    layers = BuiltLayers(python, root / "core", root / "dependencies", root / "runtime")
    copy_core(layers.core)
    install_dependencies(layers.dependencies / "python", platform=machine_platform())
    botocore = next(pin for pin in locked_pins() if pin.startswith("botocore=="))
    runtime = [
        python, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--no-compile",
        "--only-binary=:all:", "--target", str(layers.runtime), "boto3", botocore,
    ]  # fmt: skip
    subprocess.run(runtime, check=True, capture_output=True)  # noqa: S603 - fixed argv, no shell
    for folder in (layers.core, layers.dependencies, layers.runtime):
        compile_bytecode(folder, python)
    return layers


_SEARCH_PATH = """
import sys, sysconfig
stdlib = tuple(sysconfig.get_paths()[key] for key in ("stdlib", "platstdlib"))
sys.path[:] = sys.argv[1:] + [p for p in sys.path if p.startswith(stdlib) and "site-packages" not in p]
"""
_IMPORT = """
import json, time
start = time.perf_counter()
if EAGER:
    import ccxt  # every exchange, before arbiter can make it lazy
import handler
elapsed_ms = (time.perf_counter() - start) * 1000
allowed = (*sys.argv[1:], *stdlib)
outside = sorted(
    name for name, module in list(sys.modules.items())
    if getattr(module, "__file__", None) and not module.__file__.startswith(allowed)
)
print(json.dumps({
    "elapsed_ms": elapsed_ms,
    "callable": callable(getattr(handler, "handler", None)),
    "modules": sorted(sys.modules),
    "outside": outside,
}))
"""


@dataclass(frozen=True)
class ColdImport:
    elapsed_ms: float
    handler_callable: bool
    modules: tuple[str, ...]
    outside: tuple[str, ...]
    """Modules loaded from anywhere but the function, the layers, the runtime stand-in and the stdlib."""


def cold_import(handler: Path, layers: BuiltLayers, *, without_bytecode_in: Path | None = None) -> ColdImport:
    """Import ``handler`` once in a fresh interpreter that sees only what the Lambda would.

    ``without_bytecode_in``: the way it was before (the baseline): ``import ccxt`` loading every exchange, and no
    bytecode (Python looks for it in that empty folder instead, so it compiles every module it imports)."""
    function = str(handler.parent)
    path = [function, *layers.sys_path]
    options = [] if without_bytecode_in is None else ["-X", f"pycache_prefix={without_bytecode_in}"]
    code = _SEARCH_PATH + f"EAGER = {without_bytecode_in is not None}\n" + _IMPORT
    result = subprocess.run(  # noqa: S603 - the runtime's interpreter, fixed code
        [layers.python, "-I", *options, "-c", code, *path],
        capture_output=True,
        text=True,
        cwd=function,
        env={"AWS_DEFAULT_REGION": "eu-west-1", "PATH": "/usr/bin:/bin", "LANG": "C.UTF-8"},
        check=False,
    )
    if result.returncode != 0:
        raise RuntimeError(f"{handler.parent.name}: the handler did not import:\n{result.stderr}")
    report = json.loads(result.stdout.strip().splitlines()[-1])
    return ColdImport(report["elapsed_ms"], report["callable"], tuple(report["modules"]), tuple(report["outside"]))


def bytecode_tag() -> str:
    return f"cpython-{LAMBDA_PYTHON_VERSION.replace('.', '')}"
