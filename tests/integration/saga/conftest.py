from __future__ import annotations

from collections.abc import Iterator

import pytest

from arbiter.local.scenarios import ScenarioRunner


@pytest.fixture(scope="module")
def runner() -> Iterator[ScenarioRunner]:
    """One local platform per module; every scenario gets fresh venues and a new execution."""
    with ScenarioRunner() as started:
        yield started
