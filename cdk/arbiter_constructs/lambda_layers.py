"""The two Lambda layers: the ``arbiter`` domain package as plain source, and its third-party dependencies
built without Docker by pip with the Lambda platform's wheels (arm64, the runtime's Python)."""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import sys
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
# The layer carries what the handlers import; boto3 comes with the runtime.
LAYER_REQUIREMENTS = (
    "aws-lambda-powertools[tracer]>=3.37,<4",
    "pydantic>=2.10,<3",
    "pydantic-settings>=2.6,<3",
    "ccxt==4.5.90",
    "tenacity>=9,<10",
    "numpy>=2.0,<3",
)


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
            "--platform", "manylinux2014_aarch64", "--implementation", "cp",
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
                asset_hash=_requirements_hash(),
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


def _requirements_hash() -> str:
    # The layer changes only when its requirements or target platform do, not when layers/ source does.
    text = "\n".join((*LAYER_REQUIREMENTS, LAMBDA_PYTHON_VERSION, "manylinux2014_aarch64"))
    return hashlib.sha256(text.encode()).hexdigest()
