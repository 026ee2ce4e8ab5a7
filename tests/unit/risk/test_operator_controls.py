"""The operators' pause and locks are gates of the risk engine: a paused platform or a locked venue, symbol or
route starts no execution (no venue is asked for balances), and a lock lapses at its time."""

from __future__ import annotations

from arbiter.local.scenarios import NOW, cross_venue
from arbiter.models.controls import Lock, LockScope, route_of
from arbiter.risk.engine import RiskEngine
from arbiter.settings import ExecutionSettings
from arbiter.storage.controls import InMemoryTradingControls
from arbiter.storage.kill_switch import InMemoryKillSwitch
from tests.unit.risk.test_engine import MARKETS, Venues


def _engine() -> tuple[RiskEngine, InMemoryTradingControls]:
    controls = InMemoryTradingControls()
    return RiskEngine(kill_switch=InMemoryKillSwitch(), settings=ExecutionSettings(), controls=controls), controls


def _assess(engine: RiskEngine, venues: Venues, now_ms: int = NOW) -> tuple[str, ...]:
    decision = engine.assess(cross_venue(), now_ms, markets=MARKETS, connected={"alpha", "beta"}, balances=venues)
    return decision.codes


def _lock(scope: LockScope, target: str, until_ms: int = NOW + 60_000) -> Lock:
    return Lock(lock_id="l1", scope=scope, target=target, until_ms=until_ms, reason="r", by="ops", created_at_ms=1)


def test_a_pause_refuses_without_asking_a_venue_and_a_resume_lets_it_through() -> None:
    engine, controls = _engine()
    venues = Venues()
    controls.set_pause(True, "rolling out", "ops", NOW)
    assert _assess(engine, venues) == ("paused",)
    assert venues.calls == 0
    controls.set_pause(False, "done", "ops", NOW)
    assert _assess(engine, venues) == ()


def test_each_lock_scope_blocks_the_matching_opportunity_only() -> None:
    route = route_of(cross_venue())
    for lock, blocked in [
        (_lock(LockScope.VENUE, "beta"), True),
        (_lock(LockScope.VENUE, "gamma"), False),
        (_lock(LockScope.SYMBOL, "SOL/USDT"), True),
        (_lock(LockScope.SYMBOL, "BTC/USDT"), False),
        (_lock(LockScope.ROUTE, route), True),
        (_lock(LockScope.ROUTE, route.replace("alpha", "gamma")), False),
    ]:
        engine, controls = _engine()
        controls.add_lock(lock)
        assert _assess(engine, Venues()) == (("locked",) if blocked else ()), lock


def test_a_lock_lapses_at_its_time() -> None:
    engine, controls = _engine()
    controls.add_lock(_lock(LockScope.VENUE, "alpha", until_ms=NOW + 1))
    assert _assess(engine, Venues(), NOW) == ("locked",)
    assert _assess(engine, Venues(), NOW + 1) == ()
