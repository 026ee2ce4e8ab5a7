"""The configuration store's contract, in memory and on DynamoDB (moto)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import boto3
import pytest
from moto import mock_aws

from arbiter.local import create_local_tables
from arbiter.storage.configuration import (
    DynamoConfigurationStore,
    InMemoryConfigurationStore,
    InvalidConfigurationError,
)
from arbiter.storage.errors import StorageConflictError


@pytest.fixture(params=["memory", "dynamodb"])
def store(request: pytest.FixtureRequest) -> Iterator[Any]:
    if request.param == "memory":
        yield InMemoryConfigurationStore()
        return
    with mock_aws():
        client = boto3.client("dynamodb", region_name="eu-west-1")
        yield DynamoConfigurationStore(client, create_local_tables(client)["configuration"])


def test_updates_make_new_versions(store: Any) -> None:
    assert store.current().version == 1
    updated = store.update(1, {"risk_limits": {"daily_loss_limit": "250"}}, by="ops", at_ms=10)
    assert updated.version == 2
    assert store.current().risk_limits.daily_loss_limit == Decimal(250)
    store.update(2, {"strategy": {"mode": "cautious"}}, by="ops", at_ms=11)
    assert store.current().strategy == {"mode": "cautious"}
    assert store.current().risk_limits.daily_loss_limit == Decimal(250)


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"risk_limits": {"daily_loss_limit": "-5"}}, "risk_limits.daily_loss_limit"),
        ({"risk_limits": {"max_concurrent_executions": 0}}, "risk_limits.max_concurrent_executions"),
        ({"risk_limits": {"no_such_limit": 1}}, "risk_limits.no_such_limit"),
        ({"limits": {}}, "limits"),
    ],
)
def test_an_invalid_update_names_the_field_and_leaves_the_previous_version(
    store: Any, changes: dict[str, Any], field: str
) -> None:
    store.update(1, {"risk_limits": {"daily_loss_limit": "250"}}, by="ops", at_ms=10)
    with pytest.raises(InvalidConfigurationError) as caught:
        store.update(2, changes, by="ops", at_ms=11)
    assert caught.value.field == field
    assert store.current().version == 2
    assert store.current().risk_limits.daily_loss_limit == Decimal(250)
    assert [v.version for v in store.history()] == [2]  # nothing of the refused update was written


def test_a_stale_update_is_a_conflict_not_an_overwrite(store: Any) -> None:
    store.update(1, {"risk_limits": {"daily_loss_limit": "250"}}, by="alice", at_ms=10)
    with pytest.raises(StorageConflictError):
        store.update(1, {"risk_limits": {"daily_loss_limit": "900"}}, by="bob", at_ms=11)
    assert store.current().risk_limits.daily_loss_limit == Decimal(250)


def test_racing_writers_one_wins_the_others_conflict(store: Any) -> None:
    outcomes: list[str] = []

    def write(n: int) -> None:
        try:
            store.update(1, {"strategy": {"writer": str(n)}}, by=f"w{n}", at_ms=10)
            outcomes.append("won")
        except StorageConflictError:
            outcomes.append("conflict")

    threads = [threading.Thread(target=write, args=(n,)) for n in range(5)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["conflict"] * 4 + ["won"]
    assert store.current().version == 2
    assert [v.version for v in store.history()] == [2]
    assert store.history()[0] == store.current()
