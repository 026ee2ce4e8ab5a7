"""The lease contract, on memory and on DynamoDB (moto), and two scanners racing for one shard's lease."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from arbiter.local import create_local_tables
from arbiter.storage.leases import DynamoLeaseStore, InMemoryLeaseStore

T0 = 1_767_225_600_000


@pytest.fixture(params=["memory", "dynamodb"])
def leases(request: pytest.FixtureRequest) -> Iterator[Any]:
    if request.param == "memory":
        yield InMemoryLeaseStore()
        return
    with mock_aws():
        client = boto3.client("dynamodb", region_name="eu-west-1")
        yield DynamoLeaseStore(client, create_local_tables(client)["venue_state"])


def test_a_live_lease_keeps_others_out_until_it_expires(leases: Any) -> None:
    assert leases.acquire("shard-0", "a", T0, 60_000)
    assert not leases.acquire("shard-0", "b", T0 + 59_999, 60_000)
    assert leases.acquire("shard-1", "b", T0, 60_000)  # another shard is another lease
    assert leases.acquire("shard-0", "a", T0 + 30_000, 60_000)  # the holder extends it
    assert leases.holder("shard-0").expires_at_ms == T0 + 90_000
    assert not leases.acquire("shard-0", "b", T0 + 89_999, 60_000)
    assert leases.acquire("shard-0", "b", T0 + 90_000, 60_000)  # expired: taken over
    assert leases.holder("shard-0").owner == "b"


def test_release_frees_the_lease_only_for_its_holder(leases: Any) -> None:
    assert leases.acquire("shard-0", "a", T0, 60_000)
    leases.release("shard-0", "b")  # not the holder: nothing changes
    assert leases.holder("shard-0").owner == "a"
    leases.release("shard-0", "a")
    assert leases.holder("shard-0") is None
    assert leases.acquire("shard-0", "b", T0 + 1, 60_000)


def test_two_scanners_racing_for_one_lease_one_wins(leases: Any) -> None:
    def race(owner: str, round_: int, barrier: threading.Barrier, won: list[str]) -> None:
        barrier.wait()
        if leases.acquire(f"race-{round_}", owner, T0, 60_000):
            won.append(owner)

    for round_ in range(10):
        barrier, won = threading.Barrier(2), []
        threads = [threading.Thread(target=race, args=(owner, round_, barrier, won)) for owner in ("a", "b")]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert len(won) == 1
        assert leases.holder(f"race-{round_}").owner == won[0]
