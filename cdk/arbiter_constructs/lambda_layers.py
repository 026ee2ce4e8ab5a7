"""The two Lambda layers: the ``arbiter`` domain package as plain source, and its third-party dependencies
built without Docker by pip with the Lambda platform's wheels (arm64, the runtime's Python)."""

from __future__ import annotations

import hashlib
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path
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


# Removed after install: what the Lambda runtime already provides (boto3 and botocore, pulled in by the X-Ray SDK),
# and the parts of ccxt a sync gateway never imports (asyncio flavour, websockets, its own tests, uvloop).
PRUNED = ("boto3", "botocore", "s3transfer", "uvloop", "ccxt/async_support", "ccxt/pro", "ccxt/test")
# Lambda allows 250 MB unzipped for a function and its layers together; keep room for the code layer.
MAX_LAYER_BYTES = 200 * 1024 * 1024


@jsii.implements(ILocalBundling)
class PipWheelsBundling:
    """Installs the requirements for the Lambda platform into ``<output>/python`` (no Docker needed)."""

    def __init__(self, requirements: tuple[str, ...]) -> None:
        self.requirements = requirements

    def try_bundle(self, output_dir: str, _options: Any = None) -> bool:  # jsii passes the options positionally
        command = [
            sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
            "--target", str(Path(output_dir) / "python"),
            "--platform", LAYER_PLATFORM, "--implementation", "cp",
            "--python-version", LAMBDA_PYTHON_VERSION, "--only-binary=:all:",
            *self.requirements,
        ]  # fmt: skip
        subprocess.run(command, check=True)  # noqa: S603 - fixed argv, no shell
        target = Path(output_dir) / "python"
        for relative in PRUNED:
            shutil.rmtree(target / relative, ignore_errors=True)
        for cache in target.rglob("__pycache__"):
            shutil.rmtree(cache, ignore_errors=True)
        size = sum(f.stat().st_size for f in target.rglob("*") if f.is_file())
        if size > MAX_LAYER_BYTES:
            raise RuntimeError(
                f"dependency layer is {size / 2**20:.0f} MB unzipped, over {MAX_LAYER_BYTES / 2**20:.0f} MB"
            )
        print(f"dependency layer: {size / 2**20:.0f} MB unzipped")  # noqa: T201 - synth output for the operator
        return True


class LambdaLayers(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, removal_policy: RemovalPolicy) -> None:
        super().__init__(scope, construct_id)
        self.core = lambda_.LayerVersion(
            self,
            "Core",
            code=lambda_.Code.from_asset(str(CORE_LAYER_ROOT), exclude=list(CORE_LAYER_EXCLUDE)),
            compatible_runtimes=[LAMBDA_RUNTIME],
            compatible_architectures=[LAMBDA_ARCHITECTURE],
            description="arbiter domain package",
            removal_policy=removal_policy,
        )
        self.dependencies = lambda_.LayerVersion(
            self,
            "Dependencies",
            code=lambda_.Code.from_asset(
                str(REPO_ROOT / "layers"),
                asset_hash=requirements_hash(LAYER_REQUIREMENTS),
                asset_hash_type=AssetHashType.CUSTOM,
                bundling=BundlingOptions(
                    image=DockerImage.from_registry("unused-local-bundling-only"),
                    # jsii hands the bundling options over as one positional struct, not as the keywords the
                    # generated ILocalBundling stub declares.
                    local=PipWheelsBundling(LAYER_REQUIREMENTS),  # type: ignore[arg-type]
                ),
            ),
            compatible_runtimes=[LAMBDA_RUNTIME],
            compatible_architectures=[LAMBDA_ARCHITECTURE],
            description="third-party dependencies (Powertools, pydantic, ccxt, tenacity, numpy)",
            removal_policy=removal_policy,
        )

    @property
    def all(self) -> list[lambda_.ILayerVersion]:
        return [self.dependencies, self.core]


def requirements_hash(requirements: tuple[str, ...]) -> str:
    """What the bundling's output follows: the requirements, the target Python and platform, and what is pruned
    after install; not the layers/ source, which the asset's directory would otherwise be hashed from.

    The versions pip picks are not in it. They are not the ones installed here: pip resolves the ranges for the
    Lambda's platform, not this machine's (numpy>=2.0,<3 resolves to the last release with manylinux2014 aarch64
    wheels, older than a development machine's), so neither hashing nor pinning this environment's versions
    (importlib.metadata) would describe the layer, and pinning them would fail the install. Following the
    resolved versions needs a lock file for the Lambda platform; until then a new release within a range reaches
    the layer only when a requirement (or the cdk.out cache) changes.
    """
    text = "\n".join((*requirements, LAMBDA_PYTHON_VERSION, LAYER_PLATFORM, *PRUNED))
    return hashlib.sha256(text.encode()).hexdigest()
