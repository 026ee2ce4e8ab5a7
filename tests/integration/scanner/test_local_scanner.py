"""The scanner on the local platform: the schedule invokes the scanner's handler per shard, which follows the
simulated venues' books, and the executions it starts run on the real ASL (moto) against paper venues."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from arbiter.bootstrap.api import operator_api_on_dynamodb
from arbiter.local.scanning import LocalScanning
from arbiter.models import ExecutionStatus
from arbiter.settings import ScannerSettings, Settings, SimulationSettings

SETTINGS = Settings(
    simulation=SimulationSettings(seed=11, symbols_per_venue=10, dislocation_probability=0.2, levels=10),
    scanner=ScannerSettings(shards=2, run_ms=8_000, stop_margin_ms=0, route_cooldown_ms=5_000, depth=10),
)


@pytest.fixture(scope="module")
def scanning() -> Iterator[LocalScanning]:
    with LocalScanning(SETTINGS) as local:
        yield local


def test_the_scheduled_scanner_starts_executions_that_run_to_an_end(scanning: LocalScanning) -> None:
    results = scanning.scheduled_minute()
    assert [r["shard"] for r in results] == ["shard-0-of-2", "shard-1-of-2"]
    assert all(r["ran"] for r in results)
    started = [execution for r in results for execution in r["started"]]
    assert started, results
    machines = scanning.platform.aws.state_machines()
    arn = scanning.platform.state_machine_arn.replace(":stateMachine:", ":execution:")
    for name in started:
        described = machines.wait(f"{arn}:{name}", timeout_s=60)
        assert described["status"] in ("SUCCEEDED", "FAILED")
        record = scanning.platform.journal.get(name)
        assert record.status is not ExecutionStatus.PENDING
    opportunities = scanning.services[0].scanner.d.opportunities
    kept = [o for o in opportunities.between(SETTINGS.simulation.start_ms, scanning.clock.now_ms()) if o.id in started]
    assert {o.id for o in kept} == set(started)
    features = opportunities.features_of(kept[0])
    assert features is not None
    assert features["expected_profit_usd"] > 0
    assert features["oldest_quote_age_ms"] <= SETTINGS.execution.max_quote_age_ms


def test_a_run_that_finds_the_lease_held_exits_at_once(scanning: LocalScanning) -> None:
    service = scanning.services[0]
    now = scanning.clock.now_ms()
    leases = service.stores.leases
    assert leases.acquire(service.scanner.d.shard.name, "someone-else", now, 60_000)
    try:
        result = scanning.scheduled_minute()[0]
        assert not result["ran"]
        assert result["reason"] == "lease held by someone-else"
        assert result["ticks"] == 0
    finally:
        leases.release(service.scanner.d.shard.name, "someone-else")


def test_each_shard_that_ran_stored_its_heartbeat_and_the_api_health_shows_it(scanning: LocalScanning) -> None:
    began = scanning.clock.now_ms()
    scanning.scheduled_minute()
    aws = scanning.platform.aws
    api = operator_api_on_dynamodb(
        aws.dynamodb, aws.tables, scanning.platform.venues, scanning.clock, 30, scanner_shards=2
    )
    health = api.queries.health()
    assert health.scanner_shards is not None
    assert health.scanner_feeds is not None
    assert set(health.scanner_shards) == {"shard-0-of-2", "shard-1-of-2"}
    for shard, at_ms in health.scanner_shards.items():
        # Written during this minute's run (the executions it started may still move the simulated clock on).
        assert began <= at_ms <= scanning.clock.now_ms()
        feeds = health.scanner_feeds[shard]
        assert {feed.venue for feed in feeds} == set(scanning.platform.venues)
        assert all(feed.books > 0 for feed in feeds)
    assert health.scanner_scoring is not None
    assert all(scoring and "expected profit" in scoring for scoring in health.scanner_scoring.values())  # no model
