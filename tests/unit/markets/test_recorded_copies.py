from __future__ import annotations

import json

import pytest

from arbiter.markets import RECORDED_PRECISION_MODES, recorded_market_dicts
from tests.conftest import SHARED_FIXTURES


@pytest.mark.parametrize("venue", sorted(RECORDED_PRECISION_MODES))
def test_packaged_markets_equal_the_shared_fixtures(venue: str) -> None:
    source = SHARED_FIXTURES / "markets" / f"{venue}.json"
    if not source.exists():
        pytest.skip(f"shared fixtures not beside this checkout: {source}")
    assert recorded_market_dicts(venue) == json.loads(source.read_text(encoding="utf-8"))
