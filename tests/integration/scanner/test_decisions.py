"""The scanner's decisions on simulated books, with the stores on moto and starts recorded in memory: the kill
switch read at most once a second and obeyed within a second, the route cooldown, a start of an existing name
as a no-op, and the concurrent-execution limit."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator

import pytest

from arbiter.execution.state import SagaState
from arbiter.local.scanning import LocalScanning
from arbiter.local.simulated_feed import SimulatedBookFeed
from arbiter.models import Opportunity
from arbiter.scanner import ShardScanner, TickReport
from arbiter.scanner.scanner import route_of
from arbiter.scanner.views import ThrottledKillSwitch
from arbiter.settings import ScannerSettings, Settings, SimulationSettings
from arbiter.storage.execution_starts import InMemoryExecutionStarter

SETTINGS = Settings(
    simulation=SimulationSettings(seed=5, symbols_per_venue=10, dislocation_probability=0.3, levels=10, tick_ms=200),
    scanner=ScannerSettings(shards=1, depth=10, route_cooldown_ms=60_000, max_starts_per_tick=1),
)


@pytest.fixture(scope="module")
def local() -> Iterator[LocalScanning]:
    with LocalScanning(SETTINGS) as scanning:
        yield scanning


def scanner_of(local: LocalScanning, **settings: object) -> tuple[ShardScanner, InMemoryExecutionStarter]:
    """A fresh scanner over the platform's stores (its own books and state), starting into memory."""
    service = local.services[0]
    starter = InMemoryExecutionStarter()
    base = service.scanner.d
    fresh = dataclasses.replace(
        base,
        starter=starter,
        settings=base.settings.model_copy(update=settings),
        books=type(base.books)(base.books.venues, base.books.symbols, base.books.bid_prices.shape[1]),
        detector=type(base.detector)(base.detector.detector),
        risk=dataclasses.replace(
            base.risk, kill_switch=ThrottledKillSwitch(local.platform.kill_switch, local.clock, 1_000)
        ),
    )
    return ShardScanner(fresh), starter


def ticks(local: LocalScanning, scanner: ShardScanner, count: int) -> list[tuple[int, TickReport]]:
    """``count`` steps of the simulated market through ``scanner``: (simulated time, report) of each."""
    followed: dict[str, tuple[str, ...]] = {}
    for venue, symbol in sorted(scanner.d.markets):
        followed[venue] = (*followed.get(venue, ()), symbol)
    feed = SimulatedBookFeed(local.model, local.clock, followed)
    return [(local.clock.now_ms(), scanner.process(batch)) for batch in (feed.step() for _ in range(count))]


def started_opportunity(starter: InMemoryExecutionStarter, name: str) -> Opportunity:
    return SagaState.model_validate_json(starter.started[name]).opportunity


def test_an_engaged_kill_switch_stops_new_starts_within_a_second(local: LocalScanning) -> None:
    scanner, _ = scanner_of(local)
    assert any(report.started for _, report in ticks(local, scanner, 15))
    switch = scanner.d.risk.kill_switch
    assert isinstance(switch, ThrottledKillSwitch)
    engaged_at, reads_before = local.clock.now_ms(), switch.reads
    local.platform.kill_switch.engage("test: by hand", engaged_at)
    try:
        after = ticks(local, scanner, 30)  # 6 s of simulated time
        late = [d for at, report in after if at - engaged_at >= 1_000 for d in report.decisions]
        assert late, "no opportunity was decided on a second or more after the switch was engaged"
        assert {d.outcome for d in late} <= {"kill_switch_engaged", "route_cooldown"}
        assert any(d.outcome == "kill_switch_engaged" for d in late)
        assert switch.reads - reads_before <= 7  # at most once a second over 6 s
    finally:
        state = local.platform.kill_switch.state()
        local.platform.kill_switch.disengage("test over", local.clock.now_ms(), expected_version=state.version)


def test_a_route_is_not_started_twice_while_it_cools_down(local: LocalScanning) -> None:
    scanner, starter = scanner_of(local, max_starts_per_tick=5)
    decisions = [d for _, report in ticks(local, scanner, 20) for d in report.decisions]
    assert any(d.outcome == "route_cooldown" for d in decisions)
    routes = [route_of(started_opportunity(starter, name)) for name in starter.started]
    assert len(routes) == len(set(routes))  # one start per route within the cooldown


def test_a_start_of_an_existing_name_is_a_no_op(local: LocalScanning) -> None:
    scanner, starter = scanner_of(local, route_cooldown_ms=0)
    started = None
    for _ in range(30):
        ((_, report),) = ticks(local, scanner, 1)
        if report.started:
            (started,) = report.started
            break
    assert started is not None
    opportunity = started_opportunity(starter, started)
    again = scanner.decide(opportunity, opportunity.detected_at, 0.0)
    assert again.outcome == "already_started"
    assert list(starter.started).count(started) == 1


def test_the_concurrent_execution_limit_holds_across_starts(local: LocalScanning) -> None:
    limit = local.platform.configuration.current().risk_limits.max_concurrent_executions
    scanner, starter = scanner_of(local, route_cooldown_ms=0, max_starts_per_tick=10)
    decisions = [d for _, report in ticks(local, scanner, 20) for d in report.decisions]
    assert len(starter.started) == limit
    assert any(d.outcome == "max_concurrent_executions" for d in decisions)
