from __future__ import annotations

import json

import pytest

from arbiter.markets import RECORDED_PRECISION_MODES, recorded_market_dicts
from tests.conftest import FIXTURES_BESIDE_CHECKOUT, FIXTURES_IN_REPO, SHARED_FIXTURES


@pytest.mark.parametrize("venue", sorted(RECORDED_PRECISION_MODES))
def test_packaged_markets_equal_the_shared_fixtures(venue: str) -> None:
    source = SHARED_FIXTURES / "markets" / f"{venue}.json"
    if not source.exists():
        pytest.skip(f"shared fixtures not beside this checkout: {source}")
    assert recorded_market_dicts(venue) == json.loads(source.read_text(encoding="utf-8"))


def test_the_repository_copy_of_the_recordings_equals_the_shared_one() -> None:
    if not FIXTURES_BESIDE_CHECKOUT.exists():
        pytest.skip(f"shared fixtures not beside this checkout: {FIXTURES_BESIDE_CHECKOUT}")
    shared = {p.relative_to(FIXTURES_BESIDE_CHECKOUT): p.read_bytes() for p in FIXTURES_BESIDE_CHECKOUT.rglob("*.*")}
    copied = {p.relative_to(FIXTURES_IN_REPO): p.read_bytes() for p in FIXTURES_IN_REPO.rglob("*.*")}
    assert sorted(shared) == sorted(copied), "copy the shared recordings into tests/fixtures/ccxt"
    assert shared == copied, "tests/fixtures/ccxt differs from the shared recordings: copy them again"
