"""The heartbeat contract, on memory and on DynamoDB (moto): each shard's newest heartbeat, read back whole."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from arbiter.local import create_local_tables
from arbiter.models.heartbeat import FeedHealth, ShardHeartbeat, shard_name
from arbiter.storage.heartbeats import DynamoHeartbeatStore, InMemoryHeartbeatStore

T0 = 1_767_225_600_000


@pytest.fixture(params=["memory", "dynamodb"])
def heartbeats(request: pytest.FixtureRequest) -> Iterator[Any]:
    if request.param == "memory":
        yield InMemoryHeartbeatStore()
        return
    with mock_aws():
        client = boto3.client("dynamodb", region_name="eu-west-1")
        yield DynamoHeartbeatStore(client, create_local_tables(client)["venue_state"])


def feed(venue: str, reconnects: int) -> FeedHealth:
    return FeedHealth(
        venue=venue,
        connected=reconnects == 0,
        last_message_age_ms=120,
        books=12,
        reconnects=reconnects,
        resyncs=1,
        rest_snapshots=0,
        dropped=0,
    )


def test_the_newest_heartbeat_of_each_shard_is_read_back_whole(heartbeats: Any) -> None:
    first, second = shard_name(0, 2), shard_name(1, 2)
    assert heartbeats.latest([first, second]) == []
    heartbeats.beat(ShardHeartbeat(shard=first, owner="a", at_ms=T0, feeds=(feed("binance", 0),)))
    newer = ShardHeartbeat(shard=first, owner="b", at_ms=T0 + 5_000, feeds=(feed("binance", 2), feed("kraken", 0)))
    heartbeats.beat(newer)
    heartbeats.beat(ShardHeartbeat(shard=second, owner="c", at_ms=T0 + 1_000))
    assert heartbeats.latest([first, second]) == [newer, ShardHeartbeat(shard=second, owner="c", at_ms=T0 + 1_000)]
    assert heartbeats.latest([shard_name(2, 3)]) == []  # a shard that never ran has none
