from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from aws_cdk import App

from cdk.app_factory import build_app
from cdk.stacks.arbiter_stack import ArbiterStack

REPO_ROOT = Path(__file__).resolve().parents[2]
CDK_JSON = json.loads((REPO_ROOT / "cdk.json").read_text(encoding="utf-8"))
BASE_CONTEXT = CDK_JSON["context"]
CLI_CONTEXT = {
    "aws:cdk:version-reporting": CDK_JSON["versionReporting"],
    "aws:cdk:enable-path-metadata": CDK_JSON["pathMetadata"],
    "aws:cdk:enable-asset-metadata": CDK_JSON["assetMetadata"],
}
"""What the CDK CLI hands the app besides cdk.json's "context" (from cdk.json's settings of the same meaning):
with both, a test's template is byte for byte the CLI's (tests/infra/test_deployed_build.py compares them)."""

AppBuilder = Callable[..., tuple[App, ArbiterStack]]


@pytest.fixture(scope="session")
def make_app(tmp_path_factory: pytest.TempPathFactory) -> AppBuilder:
    def make(**context: object) -> tuple[App, ArbiterStack]:
        outdir = tmp_path_factory.mktemp("cdk.out")
        # Asset bundling is skipped in tests; one dedicated test builds the dependency layer for real.
        app = App(outdir=str(outdir), context={**BASE_CONTEXT, **CLI_CONTEXT, "aws:cdk:bundling-stacks": [], **context})
        return build_app(app)

    return make


@pytest.fixture(scope="session")
def dev_assembly(make_app: AppBuilder) -> tuple[ArbiterStack, Path]:
    app, stack = make_app()
    assembly = app.synth()  # raises if cdk-nag has an unacknowledged finding
    return stack, Path(assembly.directory) / f"{stack.stack_name}.template.json"


@pytest.fixture(scope="session")
def cognito_assembly(make_app: AppBuilder) -> tuple[ArbiterStack, Path]:
    """The stack with the API's Cognito option, and with it the console (console/dist must be built)."""
    app, stack = make_app(api_auth="cognito")
    assembly = app.synth()  # raises if cdk-nag has an unacknowledged finding
    return stack, Path(assembly.directory) / f"{stack.stack_name}.template.json"
