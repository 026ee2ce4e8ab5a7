"""Shared test configuration: markers by folder, an offline AWS identity, and hypothesis profiles."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

from arbiter.local.moto_support import serialise_moto_requests

# No test may find real credentials or a real region: moto and botocore stubs only.
os.environ.update(
    {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": "eu-west-1",
        "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20",
        "JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION": "1",
    }
)
for variable in [name for name in os.environ if name.startswith("ARBITER_")]:
    del os.environ[variable]

# moto is not thread-safe; concurrency tests and the saga's threads need its requests serialised.
serialise_moto_requests()

settings.register_profile("default", deadline=None, suppress_health_check=[HealthCheck.too_slow], print_blob=True)
# CI replays the same examples every run (a failure there is reproducible); local runs keep exploring new ones.
settings.register_profile("ci", parent=settings.get_profile("default"), derandomize=True)
settings.load_profile("ci" if os.environ.get("CI") else "default")

TESTS_DIR = Path(__file__).parent
REPO_ROOT = TESTS_DIR.parent
FIXTURES_BESIDE_CHECKOUT = REPO_ROOT.parent / "shared" / "fixtures" / "ccxt"
FIXTURES_IN_REPO = TESTS_DIR / "fixtures" / "ccxt"
# The shared recordings when they sit beside the checkout (a new file there is picked up with no code change);
# otherwise the copy kept in the repository, so a clone anywhere still replays every case.
SHARED_FIXTURES = FIXTURES_BESIDE_CHECKOUT if FIXTURES_BESIDE_CHECKOUT.exists() else FIXTURES_IN_REPO
LAYERS = ("unit", "integration", "infra", "e2e")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        relative = Path(str(item.fspath)).relative_to(TESTS_DIR)
        layer = relative.parts[0]
        if layer in LAYERS:
            item.add_marker(getattr(pytest.mark, layer))
