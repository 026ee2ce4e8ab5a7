from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from arbiter.local import create_local_tables
from arbiter.local.scenarios import cross_venue, triangle
from arbiter.storage.opportunities import DAY_MS, DynamoOpportunityStore, InMemoryOpportunityStore


@pytest.fixture(params=["memory", "dynamodb"])
def store(request: pytest.FixtureRequest) -> Iterator[Any]:
    if request.param == "memory":
        yield InMemoryOpportunityStore()
        return
    with mock_aws():
        client = boto3.client("dynamodb", region_name="eu-west-1")
        yield DynamoOpportunityStore(
            client, create_local_tables(client)["opportunities"], retention_days=3, page_size=2
        )


def test_opportunities_are_found_by_time_across_days(store: Any) -> None:
    first = cross_venue()
    later = triangle().model_copy(update={"detected_at": first.detected_at + DAY_MS + 5})
    store.put(first)
    store.put(later)
    store.put(first)  # the same opportunity twice is stored once
    assert store.between(first.detected_at, later.detected_at) == [first, later]
    assert store.between(first.detected_at + 1, later.detected_at) == [later]


def test_a_range_of_more_than_one_page_is_returned_whole(store: Any) -> None:
    first = cross_venue()
    opportunities = [
        cross_venue(str(n + 1)).model_copy(update={"detected_at": first.detected_at + n * 1000}) for n in range(7)
    ]
    for opportunity in opportunities:
        store.put(opportunity)
    assert store.between(first.detected_at, first.detected_at + 6000) == opportunities
    assert store.between(first.detected_at + 1000, first.detected_at + 5000) == opportunities[1:6]


def test_the_features_decided_on_are_kept_with_the_opportunity(store: Any) -> None:
    kept, bare = cross_venue(), triangle()
    store.put(kept, {"quote_age_ms": 12.0, "spread_bps": 3.5})
    store.put(bare)
    assert store.features_of(kept) == {"quote_age_ms": 12.0, "spread_bps": 3.5}
    assert store.features_of(bare) is None
