"""The trading controls' contract (pause and locks), in memory and on DynamoDB (moto)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from arbiter.local import create_local_tables
from arbiter.models.controls import Lock, LockScope
from arbiter.storage.controls import DynamoTradingControls, InMemoryTradingControls, LockExistsError


@pytest.fixture(params=["memory", "dynamodb"])
def controls(request: pytest.FixtureRequest) -> Iterator[Any]:
    if request.param == "memory":
        yield InMemoryTradingControls()
        return
    with mock_aws():
        client = boto3.client("dynamodb", region_name="eu-west-1")
        yield DynamoTradingControls(client, create_local_tables(client)["configuration"])


def _lock(lock_id: str, created: int = 10, scope: LockScope = LockScope.VENUE, target: str = "kraken") -> Lock:
    return Lock(
        lock_id=lock_id,
        scope=scope,
        target=target,
        until_ms=1_000,
        reason="maintenance",
        by="ops",
        created_at_ms=created,
    )


def test_pause_and_resume_make_versions(controls: Any) -> None:
    assert not controls.pause_state().paused
    assert controls.pause_state().version == 0
    paused = controls.set_pause(True, "venue maintenance", "alice", 10)
    assert (paused.paused, paused.version, paused.by) == (True, 1, "alice")
    assert controls.pause_state() == paused
    resumed = controls.set_pause(False, "done", "bob", 20)
    assert (resumed.paused, resumed.version, resumed.reason) == (False, 2, "done")
    assert controls.pause_state() == resumed


def test_racing_pauses_each_get_their_own_version(controls: Any) -> None:
    versions: list[int] = []

    def pause(n: int) -> None:
        versions.append(controls.set_pause(n % 2 == 0, f"writer {n}", f"w{n}", 10 + n).version)

    threads = [threading.Thread(target=pause, args=(n,)) for n in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(versions) == [1, 2, 3, 4, 5, 6]
    assert controls.pause_state().version == 6


def test_locks_are_kept_in_creation_order_and_removed_once(controls: Any) -> None:
    controls.add_lock(_lock("b", created=20, scope=LockScope.SYMBOL, target="BTC/USDT"))
    controls.add_lock(_lock("a", created=10))
    assert [lock.lock_id for lock in controls.locks()] == ["a", "b"]
    assert controls.locks()[1].target == "BTC/USDT"
    removed = controls.remove_lock("a")
    assert removed is not None
    assert removed.lock_id == "a"
    assert controls.remove_lock("a") is None
    assert [lock.lock_id for lock in controls.locks()] == ["b"]


def test_a_lock_id_is_never_overwritten(controls: Any) -> None:
    controls.add_lock(_lock("a", created=10, target="kraken"))
    with pytest.raises(LockExistsError):
        controls.add_lock(_lock("a", created=11, target="binance"))
    assert controls.locks()[0].target == "kraken"
