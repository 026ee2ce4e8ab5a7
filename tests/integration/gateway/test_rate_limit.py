"""Invocations sharing a venue's token bucket never exceed its rate together."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from arbiter.gateway.resilience.rate_limit import SharedRateLimiter
from arbiter.local import create_local_tables
from arbiter.storage.buckets import DynamoBucketStore, InMemoryBucketStore


@pytest.fixture(params=["memory", "dynamodb"])
def store(request: pytest.FixtureRequest) -> Iterator[Any]:
    if request.param == "memory":
        yield InMemoryBucketStore()
        return
    with mock_aws():
        client = boto3.client("dynamodb", region_name="eu-west-1")
        yield DynamoBucketStore(client, create_local_tables(client)["venue_state"])


def test_concurrent_invocations_share_one_budget(store: Any) -> None:
    limiters = [SharedRateLimiter(store, rate_per_s=10, capacity=5) for _ in range(4)]  # four "Lambdas"
    granted: list[int] = []

    def burst(limiter: SharedRateLimiter) -> None:
        for _ in range(5):
            if limiter.try_acquire("binance", now_ms=1_000) == 0.0:
                granted.append(1)

    threads = [threading.Thread(target=burst, args=(limiter,)) for limiter in limiters]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(granted) == 5  # 20 requests at the same instant: only the bucket's capacity goes through
    wait = limiters[0].try_acquire("binance", now_ms=1_000)
    assert wait == pytest.approx(0.1)
    assert limiters[1].try_acquire("binance", now_ms=1_100) == 0.0  # refilled one token in 100 ms
    assert limiters[2].try_acquire("kraken", now_ms=1_100) == 0.0  # venues have their own buckets


def test_nonsense_limits_are_refused() -> None:
    with pytest.raises(ValueError, match="rate_per_s"):
        SharedRateLimiter(InMemoryBucketStore(), rate_per_s=0, capacity=5)
