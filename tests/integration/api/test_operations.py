"""The operators' changes: each one needs an operator, leaves an audit event naming the caller, and refuses a
stale version with the current one; nothing is written by a refused change."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest

from arbiter.api.errors import ConflictError, ForbiddenError, InvalidRequestError, NotFoundError
from arbiter.api.operations import OPERATOR_TRAIL, Operations
from arbiter.api.views import LockRequest
from arbiter.bootstrap.api import deployed_operator_api
from arbiter.bootstrap.saga import WiringError
from arbiter.models import ExecutionStatus
from arbiter.models.controls import LockScope
from arbiter.models.events import IncidentResolved, OperatorAction, read_event
from arbiter.models.risk import RiskLimits
from arbiter.models.time import ManualClock
from arbiter.settings import load_settings
from tests.integration.api.conftest import NOW, OPERATOR, READER, World


def _trail(world: World) -> list[OperatorAction]:
    events = world.stores.journal.events(OPERATOR_TRAIL)
    return [d for e in events if isinstance(d := read_event(e.kind, e.detail), OperatorAction)]


def _lock(target: str = "beta", scope: LockScope = LockScope.VENUE, until: int = NOW + 60_000) -> LockRequest:
    return LockRequest(scope=scope, target=target, until_ms=until, reason="venue maintenance")


MUTATIONS: dict[str, Callable[[Operations, Any], object]] = {
    "engage": lambda ops, caller: ops.engage_kill_switch(caller, "r"),
    "release": lambda ops, caller: ops.release_kill_switch(caller, "r", 0),
    "pause": lambda ops, caller: ops.pause(caller, "r"),
    "resume": lambda ops, caller: ops.resume(caller, "r"),
    "lock": lambda ops, caller: ops.add_lock(caller, _lock()),
    "unlock": lambda ops, caller: ops.remove_lock(caller, "lock-x", "r"),
    "resolve": lambda ops, caller: ops.resolve_incident(caller, "e1", "n"),
    "risk": lambda ops, caller: ops.set_risk_limits(caller, 1, RiskLimits()),
    "strategies": lambda ops, caller: ops.set_strategies(caller, 1, {"a": "b"}),
}


@pytest.mark.parametrize("mutation", sorted(MUTATIONS))
def test_a_read_only_caller_changes_nothing(world: World, mutation: str) -> None:
    with pytest.raises(ForbiddenError):
        MUTATIONS[mutation](world.api.operations, READER)
    assert _trail(world) == []
    assert world.stores.kill_switch.state().version == 0
    assert world.stores.controls.pause_state().version == 0
    assert world.stores.configuration.current().version == 1


def test_the_kill_switch_by_hand_names_the_caller_and_a_stale_release_is_a_conflict(world: World) -> None:
    ops = world.api.operations
    engaged = ops.engage_kill_switch(OPERATOR, "venue acting up")
    assert engaged.engaged
    assert OPERATOR.principal in engaged.reason
    world.stores.kill_switch.engage("incident in execution e9", NOW + 1)  # an automatic engage meanwhile
    with pytest.raises(ConflictError) as conflict:
        ops.release_kill_switch(OPERATOR, "all clear", engaged.version)
    assert conflict.value.current is not None
    assert conflict.value.current["version"] == engaged.version + 1
    assert world.stores.kill_switch.is_engaged()
    released = ops.release_kill_switch(OPERATOR, "all clear", engaged.version + 1)
    assert not released.engaged
    assert [(a.action, a.by, a.reason) for a in _trail(world)] == [
        ("kill_switch.engage", OPERATOR.principal, "venue acting up"),
        ("kill_switch.release", OPERATOR.principal, "all clear"),
    ]


def test_pause_and_resume_are_audited(world: World) -> None:
    ops = world.api.operations
    assert ops.pause(OPERATOR, "deploying").paused
    assert world.stores.controls.pause_state().by == OPERATOR.principal
    assert not ops.resume(OPERATOR, "deployed").paused
    assert [a.action for a in _trail(world)] == ["pause", "resume"]


def test_locks_check_their_time_and_target(world: World) -> None:
    ops = world.api.operations
    with pytest.raises(InvalidRequestError) as past:
        ops.add_lock(OPERATOR, _lock(until=NOW))
    assert past.value.field == "until_ms"
    for scope, target in [(LockScope.VENUE, "Not A Venue"), (LockScope.SYMBOL, "BTCUSDT"), (LockScope.ROUTE, "beta")]:
        with pytest.raises(InvalidRequestError) as bad:
            ops.add_lock(OPERATOR, _lock(target, scope))
        assert bad.value.field == "target"
    assert world.stores.controls.locks() == []
    lock = ops.add_lock(OPERATOR, _lock("alpha:SOL/USDT>beta:SOL/USDT", LockScope.ROUTE))
    assert [active.lock_id for active in ops.locks()] == [lock.lock_id]
    world.clock.advance(60_000)
    assert ops.locks() == []
    assert [held.lock_id for held in ops.locks(active_only=False)] == [lock.lock_id]
    assert ops.remove_lock(OPERATOR, lock.lock_id, "not needed").lock_id == lock.lock_id
    with pytest.raises(NotFoundError):
        ops.remove_lock(OPERATOR, lock.lock_id, "again")
    assert [a.action for a in _trail(world)] == ["lock.add", "lock.remove"]


def test_an_incident_is_resolved_once_and_stays_in_history(world: World) -> None:
    ops = world.api.operations
    world.execution("e1", NOW - 10_000, ExecutionStatus.INCIDENT)
    world.execution("e2", NOW - 5_000, ExecutionStatus.SETTLED)
    with pytest.raises(NotFoundError):
        ops.resolve_incident(OPERATOR, "nope", "n")
    with pytest.raises(ConflictError):
        ops.resolve_incident(OPERATOR, "e2", "n")
    ops.resolve_incident(OPERATOR, "e1", "flattened by hand on alpha")
    with pytest.raises(ConflictError) as again:
        ops.resolve_incident(OPERATOR, "e1", "twice")
    assert again.value.current is not None
    assert again.value.current["note"] == "flattened by hand on alpha"
    assert world.stores.journal.get("e1").status is ExecutionStatus.INCIDENT
    resolutions = [
        d for e in world.stores.journal.events("e1") if isinstance(d := read_event(e.kind, e.detail), IncidentResolved)
    ]
    assert resolutions == [IncidentResolved(note="flattened by hand on alpha", by=OPERATOR.principal)]
    assert world.stores.journal.verify("e1").intact


def test_configuration_changes_are_versioned_and_a_stale_one_gets_the_current_version(world: World) -> None:
    ops = world.api.operations
    limits = RiskLimits(daily_loss_limit=Decimal(250))
    changed = ops.set_risk_limits(OPERATOR, 1, limits)
    assert (changed.version, changed.risk_limits.daily_loss_limit, changed.updated_by) == (
        2,
        Decimal(250),
        OPERATOR.principal,
    )
    with pytest.raises(ConflictError) as stale:
        ops.set_risk_limits(OPERATOR, 1, RiskLimits(daily_loss_limit=Decimal(900)))
    assert stale.value.current is not None
    assert stale.value.current["version"] == 2
    assert ops.risk_limits().risk_limits.daily_loss_limit == Decimal(250)
    strategies = ops.set_strategies(OPERATOR, 2, {"cycles": "off"})
    assert (strategies.version, strategies.parameters) == (3, {"cycles": "off"})
    assert ops.strategies().parameters == {"cycles": "off"}
    assert [a.action for a in _trail(world)] == ["config.risk", "config.strategies"]


def test_the_deployed_api_names_each_missing_table_variable() -> None:
    settings = load_settings(tables={"executions": "t-executions", "orders": "t-orders"})
    with pytest.raises(WiringError) as missing:
        deployed_operator_api(settings, dynamodb=None, clock=ManualClock(1))  # type: ignore[arg-type]
    assert str(missing.value).startswith(
        "ARBITER_TABLES__CONFIGURATION, ARBITER_TABLES__VENUE_STATE, ARBITER_TABLES__OPPORTUNITIES: not set"
    )
