"""The operators' changes, as use cases shared by the API, the command line and the local platform: engage and
release the kill switch, pause and resume new executions, lock a venue, a symbol or a route until a time,
resolve an incident, change the risk limits and the strategy parameters.

Every change requires an operator and leaves an audit event with the caller's identity: an incident's
resolution in the execution's own trail, everything else in the operators' trail (``OPERATOR_TRAIL``, hash-
chained like an execution's). A change based on a version that is no longer current is a conflict carrying the
current version; nothing is written."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

from pydantic import TypeAdapter, ValidationError

from arbiter.api.errors import ConflictError, InvalidRequestError, NotFoundError
from arbiter.api.identity import Caller
from arbiter.api.ports import OperatorJournal
from arbiter.api.views import LockRequest, Resolution, RiskConfig, StrategiesConfig
from arbiter.models import ExecutionStatus
from arbiter.models.common import Symbol, VenueId
from arbiter.models.controls import Lock, LockScope, PauseState
from arbiter.models.events import IncidentResolved, OperatorAction, read_event
from arbiter.models.risk import KillSwitchState, RiskLimits, VersionedConfiguration
from arbiter.models.time import Clock
from arbiter.risk.ports import KillSwitch
from arbiter.storage.configuration import ConfigurationStore, InvalidConfigurationError
from arbiter.storage.controls import LockExistsError, TradingControlsStore
from arbiter.storage.errors import ExecutionNotFoundError, StorageConflictError
from arbiter.storage.kill_switch import KillSwitchConflictError

OPERATOR_TRAIL = "operator"
"""The audit trail of the operators' changes (beside the executions' and the venues' trails)."""

_VENUE: TypeAdapter[str] = TypeAdapter(VenueId)
_SYMBOL: TypeAdapter[str] = TypeAdapter(Symbol)


def risk_config(configuration: VersionedConfiguration) -> RiskConfig:
    return RiskConfig(
        version=configuration.version,
        risk_limits=configuration.risk_limits,
        updated_at=configuration.updated_at,
        updated_by=configuration.updated_by,
    )


def strategies_config(configuration: VersionedConfiguration) -> StrategiesConfig:
    return StrategiesConfig(
        version=configuration.version,
        parameters=dict(configuration.strategy),
        updated_at=configuration.updated_at,
        updated_by=configuration.updated_by,
    )


@dataclass
class Operations:
    journal: OperatorJournal
    kill_switch: KillSwitch
    configuration: ConfigurationStore
    controls: TradingControlsStore
    clock: Clock

    # -- kill switch --------------------------------------------------------------------------------------
    def engage_kill_switch(self, caller: Caller, reason: str) -> KillSwitchState:
        """Always applies (stopping is never refused for a stale view); already engaged, it records the reason."""
        caller.require_operator("engage the kill switch")
        now = self.clock.now_ms()
        self.kill_switch.engage(f"{reason} (by {caller.principal})", now)
        state = self.kill_switch.state()
        self._audit(caller, "kill_switch.engage", reason, {"version": state.version}, now)
        return state

    def release_kill_switch(self, caller: Caller, reason: str, version: int) -> KillSwitchState:
        """Only over the version the caller saw: an engage that happened since (an incident) is never undone
        unseen."""
        caller.require_operator("release the kill switch")
        now = self.clock.now_ms()
        try:
            self.kill_switch.disengage(f"{reason} (by {caller.principal})", now, expected_version=version)
        except KillSwitchConflictError as error:
            raise ConflictError(str(error), error.current.model_dump(mode="json")) from None
        state = self.kill_switch.state()
        self._audit(caller, "kill_switch.release", reason, {"version": state.version}, now)
        return state

    # -- pause --------------------------------------------------------------------------------------------
    def pause(self, caller: Caller, reason: str) -> PauseState:
        return self._set_pause(caller, True, reason)

    def resume(self, caller: Caller, reason: str) -> PauseState:
        return self._set_pause(caller, False, reason)

    def _set_pause(self, caller: Caller, paused: bool, reason: str) -> PauseState:
        action = "pause" if paused else "resume"
        caller.require_operator(action)
        now = self.clock.now_ms()
        state = self.controls.set_pause(paused, reason, caller.principal, now)
        self._audit(caller, action, reason, {"version": state.version}, now)
        return state

    # -- locks --------------------------------------------------------------------------------------------
    def add_lock(self, caller: Caller, request: LockRequest) -> Lock:
        caller.require_operator("lock")
        now = self.clock.now_ms()
        if request.until_ms <= now:
            raise InvalidRequestError("until_ms", f"{request.until_ms} is not after now ({now})")
        _check_target(request.scope, request.target)
        digest = hashlib.sha256(f"{request.scope}|{request.target}|{request.until_ms}|{now}".encode()).hexdigest()
        lock = Lock(
            lock_id=f"lock-{digest[:16]}",
            scope=request.scope,
            target=request.target,
            until_ms=request.until_ms,
            reason=request.reason,
            by=caller.principal,
            created_at_ms=now,
        )
        try:
            self.controls.add_lock(lock)
        except LockExistsError as error:
            raise ConflictError(str(error)) from None
        self._audit(caller, "lock.add", request.reason, lock.model_dump(mode="json"), now)
        return lock

    def remove_lock(self, caller: Caller, lock_id: str, reason: str) -> Lock:
        caller.require_operator("unlock")
        now = self.clock.now_ms()
        removed = self.controls.remove_lock(lock_id)
        if removed is None:
            raise NotFoundError(f"lock {lock_id} not found")
        self._audit(caller, "lock.remove", reason, removed.model_dump(mode="json"), now)
        return removed

    def locks(self, *, active_only: bool = True) -> list[Lock]:
        now = self.clock.now_ms()
        return [lock for lock in self.controls.locks() if lock.active(now) or not active_only]

    # -- incidents ----------------------------------------------------------------------------------------
    def resolve_incident(self, caller: Caller, execution_id: str, note: str) -> Resolution:
        """The execution stays in history as an incident; its trail gains the resolution (once)."""
        caller.require_operator("resolve an incident")
        try:
            execution = self.journal.get(execution_id)
        except ExecutionNotFoundError:
            raise NotFoundError(f"execution {execution_id} not found") from None
        if execution.status is not ExecutionStatus.INCIDENT:
            raise ConflictError(f"execution {execution_id} is {execution.status.value}, not an incident")
        for event in self.journal.events(execution_id):
            if isinstance(done := read_event(event.kind, event.detail), IncidentResolved):
                raise ConflictError(
                    f"the incident of {execution_id} was resolved by {done.by}",
                    {"note": done.note, "by": done.by, "at_ms": event.at_ms},
                )
        now = self.clock.now_ms()
        self.journal.append_event(execution_id, IncidentResolved(note=note, by=caller.principal), now)
        return Resolution(note=note, by=caller.principal, at_ms=now)

    # -- configuration ------------------------------------------------------------------------------------
    def risk_limits(self) -> RiskConfig:
        return risk_config(self.configuration.current())

    def strategies(self) -> StrategiesConfig:
        return strategies_config(self.configuration.current())

    def set_risk_limits(self, caller: Caller, version: int, limits: RiskLimits) -> RiskConfig:
        changes = {"risk_limits": limits.model_dump(mode="json")}
        return risk_config(self._update(caller, "config.risk", version, changes))

    def set_strategies(self, caller: Caller, version: int, parameters: dict[str, str]) -> StrategiesConfig:
        return strategies_config(self._update(caller, "config.strategies", version, {"strategy": parameters}))

    def _update(self, caller: Caller, action: str, version: int, changes: dict[str, Any]) -> VersionedConfiguration:
        caller.require_operator(f"change {action.removeprefix('config.')}")
        now = self.clock.now_ms()
        try:
            updated = self.configuration.update(version, changes, caller.principal, now)
        except InvalidConfigurationError as error:
            raise InvalidRequestError(error.field, error.problem) from None
        except StorageConflictError:
            current = self.configuration.current()
            raise ConflictError(
                f"configuration is at version {current.version}, not {version}", current.model_dump(mode="json")
            ) from None
        self._audit(caller, action, None, {"version": updated.version, **changes}, now)
        return updated

    def _audit(self, caller: Caller, action: str, reason: str | None, detail: dict[str, Any], at_ms: int) -> None:
        event = OperatorAction(action=action, by=caller.principal, reason=reason, detail={"via": caller.via, **detail})
        self.journal.append_event(OPERATOR_TRAIL, event, at_ms)


def _check_target(scope: LockScope, target: str) -> None:
    try:
        if scope is LockScope.VENUE:
            _VENUE.validate_python(target)
        elif scope is LockScope.SYMBOL:
            _SYMBOL.validate_python(target)
        else:
            for leg in target.split(">"):
                venue, _, symbol = leg.partition(":")
                _VENUE.validate_python(venue)
                _SYMBOL.validate_python(symbol)
    except ValidationError:
        example = {"venue": "kraken", "symbol": "BTC/USDT", "route": "binance:BTC/USDT>kraken:BTC/USDT"}[scope]
        raise InvalidRequestError("target", f"not a {scope.value} (e.g. {example})") from None
