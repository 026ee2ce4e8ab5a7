"""The breaker opens, half-opens and closes as configured, its state shared by two invocations (DynamoDB)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from arbiter.gateway.resilience.breaker import BreakerSettings, CircuitBreaker
from arbiter.local import create_local_tables
from arbiter.storage.breakers import BreakerPosition, DynamoBreakerStore, InMemoryBreakerStore

SETTINGS = BreakerSettings(failure_threshold=3, open_ms=1_000)


@pytest.fixture(params=["memory", "dynamodb"])
def two_invocations(request: pytest.FixtureRequest) -> Iterator[tuple[CircuitBreaker, CircuitBreaker]]:
    if request.param == "memory":
        shared: Any = InMemoryBreakerStore()
        yield CircuitBreaker(shared, SETTINGS), CircuitBreaker(shared, SETTINGS)
        return
    with mock_aws():
        client = boto3.client("dynamodb", region_name="eu-west-1")
        table = create_local_tables(client)["venue_state"]
        # Two invocations: separate breaker objects and clients, one table.
        first = CircuitBreaker(DynamoBreakerStore(client, table), SETTINGS)
        second = CircuitBreaker(DynamoBreakerStore(boto3.client("dynamodb", region_name="eu-west-1"), table), SETTINGS)
        yield first, second


def test_open_half_open_close_across_invocations(two_invocations: tuple[CircuitBreaker, CircuitBreaker]) -> None:
    a, b = two_invocations
    for now in (10, 20):
        a.record_failure("kraken", now)
    assert b.allow("kraken", 30)
    b.record_failure("kraken", 30)  # the third failure, counted by the other invocation, opens it
    assert a.is_open("kraken")
    assert not a.allow("kraken", 500)
    assert not b.allow("kraken", 1_029)
    assert b.allow("kraken", 1_030)  # open_ms passed: this invocation wins the half-open probe
    assert b.store.get("kraken").position is BreakerPosition.HALF_OPEN
    assert not a.allow("kraken", 1_031)  # only one probe at a time
    b.record_failure("kraken", 1_040)  # the probe failed: open again
    assert not a.allow("kraken", 1_500)
    assert a.allow("kraken", 2_040)
    a.record_success("kraken", 2_050)
    assert not b.is_open("kraken")
    assert b.allow("kraken", 2_060)
    assert b.health(["kraken"])["kraken"].failures == 0


def test_a_success_resets_the_count_so_scattered_failures_never_open_it(
    two_invocations: tuple[CircuitBreaker, CircuitBreaker],
) -> None:
    a, b = two_invocations
    for now in range(10):
        (a if now % 2 else b).record_failure("binance", now * 10)
        (b if now % 2 else a).record_success("binance", now * 10 + 5)
    assert not a.is_open("binance")


def test_a_probe_that_died_is_taken_over_once_its_lease_lapses(
    two_invocations: tuple[CircuitBreaker, CircuitBreaker],
) -> None:
    a, b = two_invocations
    lease = SETTINGS.probe_lease_ms
    for now in (10, 20, 30):
        a.record_failure("coinbase", now)
    assert a.allow("coinbase", 1_030)  # a wins the probe, then dies without reporting anything
    assert not b.allow("coinbase", 1_030 + lease - 1)  # the lease still holds: no second probe
    assert b.allow("coinbase", 1_030 + lease)  # lapsed: b takes the probe over
    assert not a.allow("coinbase", 1_030 + lease)  # and holds a fresh lease of its own
    b.record_success("coinbase", 1_040 + lease)
    assert a.allow("coinbase", 1_050 + lease)
    assert not a.is_open("coinbase")


def test_a_probe_lease_shorter_than_a_call_is_refused() -> None:
    from pydantic import ValidationError

    from arbiter.settings import GatewaySettings

    with pytest.raises(ValidationError, match="breaker_probe_lease_ms"):
        GatewaySettings(retry_budget_s=8, request_timeout_ms=3_000, breaker_probe_lease_ms=18_999)
    with pytest.raises(ValidationError, match="request_timeout_ms"):
        GatewaySettings(retry_budget_s=2, request_timeout_ms=2_000)
    assert GatewaySettings(retry_budget_s=8, request_timeout_ms=3_000, breaker_probe_lease_ms=19_000)
    assert BreakerSettings.from_settings(GatewaySettings(breaker_probe_lease_ms=30_000)).probe_lease_ms == 30_000
