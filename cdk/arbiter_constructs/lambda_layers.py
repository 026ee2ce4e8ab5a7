"""The two Lambda layers, both bundled without Docker and both shipped with bytecode compiled for the Lambda
runtime's Python (``/opt`` is read-only: without it every cold start compiles every module it imports):

- ``core``: the ``arbiter`` domain package and the handler plumbing, less what no Lambda runs;
- ``dependencies``: the third-party packages, installed by pip with the Lambda platform's wheels (arm64) from the
  lock of exact versions ``layers/dependencies.lock`` (``make lock`` writes it from pyproject.toml), so the
  layer's asset hash follows the versions installed, and a build on another machine installs the same files.

The same functions build both layers for this machine's architecture (tests/infra/test_deployed_build.py), where
the arm64 wheels cannot load, to import every handler from them."""

from __future__ import annotations

import glob
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import tomllib
from collections.abc import Callable
from pathlib import Path, PurePosixPath
from typing import Any

import jsii
from aws_cdk import AssetHashType, BundlingOptions, DockerImage, ILocalBundling, RemovalPolicy
from aws_cdk import aws_lambda as lambda_
from constructs import Construct

REPO_ROOT = Path(__file__).resolve().parents[2]
LAMBDA_RUNTIME = lambda_.Runtime.PYTHON_3_13
LAMBDA_PYTHON_VERSION = "3.13"
LAMBDA_ARCHITECTURE = lambda_.Architecture.ARM_64
CORE_LAYER_ROOT = REPO_ROOT / "layers" / "core"
# The core layer ships what a Lambda runs. The local platform, the command line and the market simulator are
# imported by no handler (tests/infra/test_layers.py imports every handler from the shipped files alone).
# Glob patterns relative to CORE_LAYER_ROOT, as ``Code.from_asset`` reads them.
CORE_LAYER_EXCLUDE = (
    "**/__pycache__",
    "python/arbiter/local",
    "python/arbiter/cli",
    "python/arbiter/simulation",
)
PYPROJECT = REPO_ROOT / "pyproject.toml"
LAYER_PLATFORM = "manylinux2014_aarch64"
# The project's runtime dependencies ([project].dependencies) that the dependency layer leaves out, and why.
NOT_IN_LAYER = {
    "boto3": "the Lambda runtime provides it",
    "typer": "only the command line (arbiter.cli, not shipped in the core layer) uses it",
}


def _distribution(requirement: str) -> str:
    """The requirement's project name, normalised (PEP 503): ``"aws_lambda_powertools[tracer]>=3"`` ->
    ``"aws-lambda-powertools"``."""
    match = re.match(r"\s*([A-Za-z0-9][A-Za-z0-9._-]*)", requirement)
    if match is None:
        raise ValueError(f"not a requirement: {requirement!r}")
    return re.sub(r"[-_.]+", "-", match.group(1)).lower()


def layer_requirements(pyproject: Path = PYPROJECT) -> tuple[str, ...]:
    """Every runtime dependency of ``pyproject.toml`` but NOT_IN_LAYER, written as pyproject writes it."""
    with pyproject.open("rb") as file:
        dependencies: list[str] = tomllib.load(file)["project"]["dependencies"]
    unknown = set(NOT_IN_LAYER) - {_distribution(d) for d in dependencies}
    if unknown:
        raise ValueError(f"NOT_IN_LAYER names what pyproject.toml does not depend on: {sorted(unknown)}")
    return tuple(d for d in dependencies if _distribution(d) not in NOT_IN_LAYER)


# The layer carries what the handlers import.
LAYER_REQUIREMENTS = layer_requirements()


LAYER_LOCK = REPO_ROOT / "layers" / "dependencies.lock"
# Resolved into the lock (other packages depend on them) but not installed: what the Lambda runtime already provides
# (boto3 and botocore, pulled in by the X-Ray SDK), and uvloop, which only ccxt's asyncio flavour uses.
LEFT_OUT_OF_LAYER = ("boto3", "botocore", "s3transfer", "uvloop")
# Removed after install: ccxt's own tests (the scanner imports its asyncio flavour and websocket clients).
PRUNED = ("ccxt/test",)
# Lambda allows 250 MB unzipped for a function and its layers together; keep room for the code layer.
MAX_LAYER_BYTES = 200 * 1024 * 1024
LAMBDA_UNZIPPED_LIMIT_BYTES = 250 * 1024 * 1024
BYTECODE = ("compileall", "unchecked-hash")
"""How the layers' bytecode is written. ``unchecked-hash``: the interpreter uses the ``.pyc`` without comparing it
with the source; the default (a source timestamp) would not survive the asset zip, and Lambda would compile every
module again at each cold start."""
LAMBDA_PYTHON_VARIABLE = "ARBITER_LAMBDA_PYTHON"


class BundlingError(RuntimeError):
    """A layer cannot be built; the message says what is missing."""


def lambda_python(version: str = LAMBDA_PYTHON_VERSION) -> str:
    """An interpreter of the Lambda runtime's Python version, to compile the layers' bytecode with (bytecode is
    per Python version, not per architecture): ``$ARBITER_LAMBDA_PYTHON``, else ``python3.x`` on the PATH, else
    a pyenv installation of it."""
    candidates = [os.environ.get(LAMBDA_PYTHON_VARIABLE), shutil.which(f"python{version}")]
    candidates += sorted(glob.glob(str(Path.home() / f".pyenv/versions/{version}.*/bin/python{version}")))
    for candidate in filter(None, candidates):
        probe = subprocess.run(  # noqa: S603 - an interpreter path, no shell
            [candidate, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
            capture_output=True,
            text=True,
            check=False,
        )
        if probe.returncode == 0 and probe.stdout.strip() == version:
            return candidate
    raise BundlingError(
        f"the layers ship bytecode for the Lambda runtime's Python {version}: no python{version} found "
        f"(set {LAMBDA_PYTHON_VARIABLE} to one, or install it, e.g. `pyenv install {version}`)"
    )


def locked_pins(lock: Path | None = None) -> tuple[str, ...]:
    """The lock's ``name==version`` lines (comments and blank lines aside)."""
    pins = tuple(line.strip() for line in (lock or LAYER_LOCK).read_text(encoding="utf-8").splitlines())
    return tuple(pin for pin in pins if pin and not pin.startswith("#"))


def layer_pins(lock: Path | None = None) -> tuple[str, ...]:
    """What the dependency layer installs: every pin of the lock but LEFT_OUT_OF_LAYER."""
    return tuple(pin for pin in locked_pins(lock) if _distribution(pin) not in LEFT_OUT_OF_LAYER)


def _pip_for(platform: str, python_version: str) -> list[str]:
    return [
        sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
        "--platform", platform, "--implementation", "cp", "--python-version", python_version,
        "--only-binary=:all:",
    ]  # fmt: skip


def resolve_lock(requirements: tuple[str, ...] = LAYER_REQUIREMENTS) -> str:
    """The lock's text: the exact versions pip resolves ``requirements`` to for the Lambda platform."""
    with tempfile.TemporaryDirectory() as scratch:
        report = Path(scratch) / "report.json"
        command = [
            *_pip_for(LAYER_PLATFORM, LAMBDA_PYTHON_VERSION),
            "--dry-run", "--ignore-installed", "--target", str(Path(scratch) / "target"), "--report", str(report),
            *requirements,
        ]  # fmt: skip
        subprocess.run(command, check=True)  # noqa: S603 - fixed argv, no shell
        resolved = json.loads(report.read_text(encoding="utf-8"))["install"]
    pins = sorted(f"{_distribution(i['metadata']['name'])}=={i['metadata']['version']}" for i in resolved)
    header = (
        f"# The dependency layer's exact versions for {LAYER_PLATFORM}, CPython {LAMBDA_PYTHON_VERSION}: written by\n"
        "# `make lock` from pyproject.toml's runtime dependencies (cdk/arbiter_constructs/lambda_layers.py); do not\n"
        "# edit. The layer installs every pin but LEFT_OUT_OF_LAYER, and its asset hash is this file's.\n"
    )
    return header + "\n".join(pins) + "\n"


def write_lock(lock: Path = LAYER_LOCK) -> None:
    lock.write_text(resolve_lock(), encoding="utf-8")


def install_dependencies(
    target: Path, *, platform: str = LAYER_PLATFORM, python_version: str = LAMBDA_PYTHON_VERSION
) -> None:
    """The dependency layer's packages into ``target`` (its ``python/`` folder): the lock's pins exactly, no
    resolution (``--no-deps``), the wheels of ``platform``; then PRUNED taken away."""
    command = [*_pip_for(platform, python_version), "--no-deps", "--target", str(target), *layer_pins()]
    subprocess.run(command, check=True)  # noqa: S603 - fixed argv, no shell
    for relative in PRUNED:
        shutil.rmtree(target / relative, ignore_errors=True)
    for cache in target.rglob("__pycache__"):
        shutil.rmtree(cache, ignore_errors=True)


def _core_excluded(relative: PurePosixPath) -> bool:
    """CORE_LAYER_EXCLUDE, for a path relative to CORE_LAYER_ROOT."""
    return "__pycache__" in relative.parts or any(
        relative == PurePosixPath(pattern) or PurePosixPath(pattern) in relative.parents
        for pattern in CORE_LAYER_EXCLUDE
        if not pattern.startswith("**")
    )


def core_files(root: Path = CORE_LAYER_ROOT) -> list[Path]:
    """The core layer's files (relative to ``root``), sorted."""
    found = (p.relative_to(root) for p in root.rglob("*") if p.is_file())
    return sorted(p for p in found if not _core_excluded(PurePosixPath(p.as_posix())))


def copy_core(target: Path, root: Path = CORE_LAYER_ROOT) -> None:
    """The core layer's files into ``target`` (the layer's root: ``python/arbiter/...`` below it)."""
    for relative in core_files(root):
        (target / relative).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(root / relative, target / relative)


def compile_bytecode(target: Path, python: str) -> None:
    """Bytecode for every module under ``target``, written by ``python`` (the runtime's version)."""
    command = [python, "-m", BYTECODE[0], "-q", "-j", "0", "--invalidation-mode", BYTECODE[1], str(target)]
    result = subprocess.run(command, capture_output=True, text=True, check=False)  # noqa: S603 - fixed argv
    if result.returncode != 0:
        # compileall reports files it cannot compile (Python 2 leftovers in some wheels) but compiles the rest.
        failed = [line for line in result.stdout.splitlines() if line.startswith("***")]
        print(f"bytecode: {len(failed)} files not compiled", file=sys.stderr)  # noqa: T201 - synth output


def tree_bytes(root: Path) -> int:
    return sum(f.stat().st_size for f in root.rglob("*") if f.is_file())


@jsii.implements(ILocalBundling)
class LayerBundling:
    """Builds a layer into ``<output>`` with ``build`` (no Docker needed), then compiles its bytecode with the
    Lambda runtime's Python."""

    def __init__(self, name: str, build: Callable[[Path], None], max_bytes: int = MAX_LAYER_BYTES) -> None:
        self.name, self.build, self.max_bytes = name, build, max_bytes

    def try_bundle(self, output_dir: str, _options: Any = None) -> bool:  # jsii passes the options positionally
        output = Path(output_dir)
        python = lambda_python()  # before the install: a missing interpreter fails at once
        self.build(output)
        compile_bytecode(output, python)
        size = tree_bytes(output)
        if size > self.max_bytes:
            raise BundlingError(
                f"{self.name} layer is {size / 2**20:.0f} MB unzipped, over {self.max_bytes / 2**20:.0f} MB"
            )
        print(f"{self.name} layer: {size / 2**20:.0f} MB unzipped, bytecode for Python {LAMBDA_PYTHON_VERSION}")  # noqa: T201 - synth output for the operator
        return True


def _bundled(root: Path, asset_hash: str, bundling: LayerBundling) -> lambda_.Code:
    return lambda_.Code.from_asset(
        str(root),
        asset_hash=asset_hash,
        asset_hash_type=AssetHashType.CUSTOM,
        bundling=BundlingOptions(
            image=DockerImage.from_registry("unused-local-bundling-only"),
            # jsii hands the bundling options over as one positional struct, not as the keywords the
            # generated ILocalBundling stub declares.
            local=bundling,  # type: ignore[arg-type]
        ),
    )


class LambdaLayers(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, removal_policy: RemovalPolicy) -> None:
        super().__init__(scope, construct_id)
        self.core = lambda_.LayerVersion(
            self,
            "Core",
            code=_bundled(CORE_LAYER_ROOT, core_hash(), LayerBundling("core", copy_core)),
            compatible_runtimes=[LAMBDA_RUNTIME],
            compatible_architectures=[LAMBDA_ARCHITECTURE],
            description="arbiter domain package",
            removal_policy=removal_policy,
        )
        self.dependencies = lambda_.LayerVersion(
            self,
            "Dependencies",
            code=_bundled(
                REPO_ROOT / "layers",
                dependencies_hash(),
                LayerBundling("dependency", lambda output: install_dependencies(output / "python")),
            ),
            compatible_runtimes=[LAMBDA_RUNTIME],
            compatible_architectures=[LAMBDA_ARCHITECTURE],
            description="third-party dependencies (Powertools, pydantic, ccxt, tenacity, numpy)",
            removal_policy=removal_policy,
        )

    @property
    def all(self) -> list[lambda_.ILayerVersion]:
        return [self.dependencies, self.core]


def _digest(*parts: bytes | str) -> str:
    digest = hashlib.sha256()
    for part in parts:
        data = part.encode() if isinstance(part, str) else part
        digest.update(len(data).to_bytes(8, "big") + data)
    return digest.hexdigest()


def dependencies_hash(lock: Path | None = None) -> str:
    """What the dependency layer's files follow: the lock (exact versions), the platform and Python it is built
    for, what is left out or pruned, and how the bytecode is written."""
    return _digest(
        (lock or LAYER_LOCK).read_bytes(),
        LAMBDA_PYTHON_VERSION,
        LAYER_PLATFORM,
        *LEFT_OUT_OF_LAYER,
        "|",
        *PRUNED,
        "|",
        *BYTECODE,
    )


def core_hash(root: Path | None = None) -> str:
    """What the core layer's files follow: each shipped file's path and bytes, the Python the bytecode is for."""
    root = root or CORE_LAYER_ROOT
    parts: list[bytes | str] = [LAMBDA_PYTHON_VERSION, *BYTECODE]
    for relative in core_files(root):
        parts += [relative.as_posix(), (root / relative).read_bytes()]
    return _digest(*parts)
