"""What ``cdk deploy`` ships, built for real: the CDK CLI pinned in the repository synthesizes the app with
cdk.json's context and runs the layers' bundling (pip, the Lambda platform's wheels, bytecode). Its template is
the one the other infra tests check; its layers are arm64, carry bytecode for the runtime's Python, install the
lock's versions exactly and fit Lambda's size limit; and every handler imports, in about a second, from the same
layers built for this machine's architecture (the arm64 wheels cannot load here).

Minutes, not seconds (two pip installs, from pip's cache after the first run): marked ``bundling``."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from aws_cdk import assertions
from packaging.utils import canonicalize_name

from arbiter.lazy_ccxt import is_exchange_id
from cdk.arbiter_constructs.lambda_layers import (
    LAMBDA_UNZIPPED_LIMIT_BYTES,
    REPO_ROOT,
    layer_pins,
    tree_bytes,
)
from cdk.layer_check import HANDLERS, BuiltLayers, build_for_this_machine, bytecode_tag, cold_import
from cdk.stacks.arbiter_stack import ArbiterStack

pytestmark = pytest.mark.bundling

CDK_CLI = REPO_ROOT / "node_modules" / ".bin" / "cdk"
ELF_MACHINE = {183: "aarch64", 62: "x86_64"}
COLD_IMPORT_BUDGET_MS = 3_000
"""A fail-safe for this test only (a loaded shared machine is slow): the 1,000 ms target is `make bench`'s."""


@pytest.fixture(scope="module")
def cli_assembly(tmp_path_factory: pytest.TempPathFactory) -> Path:
    assert CDK_CLI.exists(), "the pinned CDK CLI is not installed: `make install` (npm ci) installs it"
    outdir = tmp_path_factory.mktemp("cli.out")
    command = [str(CDK_CLI), "synth", "--app", f"{sys.executable} app.py", "--output", str(outdir), "--quiet"]
    result = subprocess.run(
        [*command, "--no-notices"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        env={**os.environ, "CDK_DISABLE_CLI_TELEMETRY": "true"},
        check=False,
    )
    assert result.returncode == 0, result.stderr[-4000:]
    return outdir


def _layer_asset(assembly: Path, template: assertions.Template, description_start: str) -> Path:
    layers = template.find_resources("AWS::Lambda::LayerVersion")
    (layer,) = (lv for lv in layers.values() if lv["Properties"].get("Description", "").startswith(description_start))
    return assembly / f"asset.{layer['Properties']['Content']['S3Key'].removesuffix('.zip')}"


def test_the_cli_synthesizes_the_template_the_tests_check(
    cli_assembly: Path, dev_assembly: tuple[ArbiterStack, Path]
) -> None:
    stack, tested = dev_assembly
    deployed = cli_assembly / f"{stack.stack_name}.template.json"
    assert deployed.read_text(encoding="utf-8") == tested.read_text(encoding="utf-8")


def _elf_machines(root: Path) -> set[str]:
    machines = set()
    for library in root.rglob("*.so*"):
        header = library.read_bytes()[:20]
        if header[:4] == b"\x7fELF":
            machines.add(ELF_MACHINE.get(int.from_bytes(header[18:20], "little"), "other"))
    return machines


def _modules_without_bytecode(root: Path) -> list[Path]:
    tag = bytecode_tag()
    return [
        source
        for source in root.rglob("*.py")
        if not (source.parent / "__pycache__" / f"{source.stem}.{tag}.pyc").is_file()
    ]


def test_the_deployed_layers_are_arm64_with_bytecode_and_the_locked_versions(
    cli_assembly: Path, dev_assembly: tuple[ArbiterStack, Path]
) -> None:
    template = assertions.Template.from_stack(dev_assembly[0])
    dependencies = _layer_asset(cli_assembly, template, "third-party")
    core = _layer_asset(cli_assembly, template, "arbiter domain package")
    assert _elf_machines(dependencies) == {"aarch64"}  # pydantic-core, numpy, cryptography...
    assert _modules_without_bytecode(core) == []
    missing = _modules_without_bytecode(dependencies)
    # compileall skips the few files that are not Python 3 (templates, py2 leftovers): none of what is imported.
    assert len(missing) < 0.01 * sum(1 for _ in dependencies.rglob("*.py")), missing[:10]
    pyc = next((core / "python" / "arbiter" / "__pycache__").glob(f"__init__.{bytecode_tag()}.pyc")).read_bytes()
    assert int.from_bytes(pyc[4:8], "little") == 0b01  # hash-based, unchecked: valid whatever the zip's mtimes
    installed = {
        f"{canonicalize_name(d.name.split('-')[0])}=={d.name.removesuffix('.dist-info').split('-')[1]}"
        for d in (dependencies / "python").glob("*.dist-info")
    }
    assert installed == {f"{canonicalize_name(p.split('==')[0])}=={p.split('==')[1]}" for p in layer_pins()}
    largest_function = max(tree_bytes(h.parent) for h in HANDLERS)
    assert tree_bytes(dependencies) + tree_bytes(core) + largest_function < LAMBDA_UNZIPPED_LIMIT_BYTES


@pytest.fixture(scope="module")
def layers_here(tmp_path_factory: pytest.TempPathFactory) -> BuiltLayers:
    return build_for_this_machine(tmp_path_factory.mktemp("layers-here"))


@pytest.mark.parametrize("handler", HANDLERS, ids=[h.parent.name for h in HANDLERS])
def test_every_handler_imports_from_the_layers_alone(handler: Path, layers_here: BuiltLayers) -> None:
    result = cold_import(handler, layers_here)
    assert result.handler_callable
    assert result.outside == ()  # nothing from this machine's site-packages or the repository
    exchanges = [m for m in result.modules if m.count(".") == 1 and m.startswith("ccxt.") and is_exchange_id(m[5:])]
    assert exchanges == []  # an exchange's module loads when its venue is opened, never all ~100 at import
    # The detector's numpy: the scanner's function runs it; no other handler loads it.
    assert ("numpy" in result.modules) == (handler.parent.name == "scanner")
    assert result.elapsed_ms < COLD_IMPORT_BUDGET_MS
