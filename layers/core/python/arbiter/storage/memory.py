"""In-memory twins of the DynamoDB repositories, for unit tests and quick local runs (thread-safe)."""

from __future__ import annotations

import threading
from collections import defaultdict
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

from arbiter.models import Execution, ExecutionStatus, Order, OrderIntent
from arbiter.risk.engine import utc_day
from arbiter.risk.kill_switch import KillSwitchConflictError, KillSwitchState, VersionedKillSwitch
from arbiter.storage.audit import (
    EMPTY_HEAD,
    AuditEvent,
    ChainHead,
    ChainReport,
    OrderRecord,
    head_of,
    next_event,
    order_regression,
    stale_report_detail,
    verify_chain,
)
from arbiter.storage.errors import ExecutionNotFoundError

_ABSENT: Any = object()
Write = tuple[dict[Any, Any], Any, Any]
"""(target, key, value): one item write; ``value`` ``_ABSENT`` deletes the item."""


class InMemoryExecutionJournal:
    """Each change, its audit event and the chain head are one commit: applied together or not at all, as the
    DynamoDB journal's transactions are."""

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self.executions: dict[str, Execution] = {}
        self._events: dict[str, dict[int, AuditEvent]] = defaultdict(dict)
        self._heads: dict[str, ChainHead] = {}
        self._intents: dict[str, dict[str, OrderIntent]] = defaultdict(dict)
        self.orders: dict[str, Order] = {}
        self.pnl: dict[str, dict[str, Decimal]] = {}
        self.refused_inputs: dict[str, str] = {}
        self._daily: dict[str, dict[str, Decimal]] = defaultdict(dict)
        self._pnl_days: dict[str, str] = {}

    # -- one atomic commit ------------------------------------------------------------------------------
    def _commit(self, execution_id: str, kind: str, detail: Mapping[str, Any], at_ms: int, writes: list[Write]) -> None:
        head = self._heads.get(execution_id, EMPTY_HEAD)
        event = next_event(head, execution_id, kind, detail, at_ms)
        writes = [
            *writes,
            (self._events[execution_id], event.sequence, event),
            (self._heads, execution_id, head_of(event)),
        ]
        undo: list[Write] = []
        try:
            for target, key, value in writes:
                undo.append((target, key, target.get(key, _ABSENT)))
                self._apply(target, key, value)
        except BaseException:
            for target, key, value in reversed(undo):
                if value is _ABSENT:
                    target.pop(key, None)
                else:
                    target[key] = value
            raise

    def _apply(self, target: dict[Any, Any], key: Any, value: Any) -> None:
        """The one place an item is written (tests inject faults here)."""
        if value is _ABSENT:
            target.pop(key, None)
        else:
            target[key] = value

    # -- the journal --------------------------------------------------------------------------------------
    def create(self, execution: Execution) -> tuple[bool, Execution]:
        with self._lock:
            stored = self.executions.get(execution.execution_id)
            if stored is not None:
                return False, stored
            detail = {"opportunity_id": execution.opportunity.id}
            writes: list[Write] = [(self.executions, execution.execution_id, execution)]
            self._commit(execution.execution_id, "created", detail, execution.created_at, writes)
            return True, execution

    def get(self, execution_id: str) -> Execution:
        with self._lock:
            if execution_id not in self.executions:
                raise ExecutionNotFoundError(execution_id)
            return self.executions[execution_id]

    def set_status(self, execution_id: str, status: ExecutionStatus, at_ms: int, reason: str | None = None) -> None:
        with self._lock:
            current = self.get(execution_id)
            updated = current.model_copy(
                update={"status": status, "updated_at": max(at_ms, current.updated_at), "reason": reason}
            )
            change = {"from": current.status.value, "to": status.value, "reason": reason}
            self._commit(execution_id, "status", change, at_ms, [(self.executions, execution_id, updated)])

    def append_event(self, execution_id: str, kind: str, detail: Mapping[str, Any], at_ms: int) -> None:
        with self._lock:
            self._commit(execution_id, kind, detail, at_ms, [])

    def events(self, execution_id: str) -> list[AuditEvent]:
        with self._lock:
            return [event for _, event in sorted(self._events[execution_id].items())]

    def head(self, execution_id: str) -> ChainHead | None:
        with self._lock:
            return self._heads.get(execution_id)

    def verify(self, execution_id: str) -> ChainReport:
        with self._lock:
            return verify_chain(self.events(execution_id), self.head(execution_id))

    def record_intent(self, intent: OrderIntent, at_ms: int) -> bool:
        with self._lock:
            intents = self._intents[intent.execution_id]
            if intent.client_order_id in intents:
                return False
            writes: list[Write] = [(intents, intent.client_order_id, intent)]
            self._commit(intent.execution_id, "order_intent", intent.model_dump(mode="json"), at_ms, writes)
            return True

    def intents(self, execution_id: str) -> Sequence[OrderIntent]:
        with self._lock:
            return list(self._intents[execution_id].values())

    def record_order(self, execution_id: str, order: Order, at_ms: int) -> OrderRecord:
        if order.client_order_id is None:
            raise ValueError("order: a recorded order needs its clientOrderId")
        with self._lock:
            previous = self.orders.get(order.client_order_id)
            if previous == order:
                return OrderRecord.UNCHANGED
            if previous is not None and (regression := order_regression(previous, order)) is not None:
                detail = stale_report_detail(order, regression)
                self._commit(execution_id, "order_report_refused", detail, at_ms, [])
                return OrderRecord.REFUSED_STALE
            writes: list[Write] = [(self.orders, order.client_order_id, order)]
            self._commit(execution_id, "order_state", order.model_dump(mode="json"), at_ms, writes)
            return OrderRecord.RECORDED

    def order(self, client_order_id: str) -> Order | None:
        with self._lock:
            return self.orders.get(client_order_id)

    def record_pnl(self, execution_id: str, pnl: Mapping[str, Decimal], at_ms: int) -> None:
        with self._lock:
            if execution_id in self.pnl:
                return  # a retried step: counted once
            day = self._daily[utc_day(at_ms)]
            writes: list[Write] = [(self.pnl, execution_id, dict(pnl)), (self._pnl_days, execution_id, utc_day(at_ms))]
            writes += [(day, currency, day.get(currency, Decimal(0)) + amount) for currency, amount in pnl.items()]
            self._commit(execution_id, "pnl", {a: str(v) for a, v in pnl.items()}, at_ms, writes)

    def realised(self, day: str) -> Mapping[str, Decimal]:
        with self._lock:
            return dict(self._daily[day])

    def executions_on(self, day: str) -> list[Execution]:
        """Executions created on a UTC day, oldest first."""
        with self._lock:
            found = [e for e in self.executions.values() if utc_day(e.created_at) == day]
        return sorted(found, key=lambda e: (e.created_at, e.execution_id))

    def pnl_on(self, day: str) -> dict[str, dict[str, Decimal]]:
        """Each execution's realised P&L recorded on a UTC day, by execution id."""
        with self._lock:
            return {e: dict(self.pnl[e]) for e, recorded in self._pnl_days.items() if recorded == day}

    def active_executions(self) -> list[Execution]:
        with self._lock:
            # PENDING is an execution still in its own Prepare: not yet running, as on DynamoDB.
            return [e for e in self.executions.values() if not e.status.is_terminal and e.status.value != "pending"]

    def record_invalid_input(self, execution_id: str, reason: str, at_ms: int) -> None:
        with self._lock:
            writes: list[Write] = [(self.refused_inputs, execution_id, reason)]
            self._commit(execution_id, "refused", {"reason": reason}, at_ms, writes)


class InMemoryKillSwitch(VersionedKillSwitch):
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._history: list[KillSwitchState] = []

    def state(self) -> KillSwitchState:
        with self._lock:
            return self._history[-1] if self._history else KillSwitchState()

    @property
    def engaged(self) -> bool:
        return self.state().engaged

    def history(self) -> list[KillSwitchState]:
        with self._lock:
            return list(self._history)

    def _set(self, engaged: bool, reason: str, at_ms: int, expected_version: int | None) -> None:
        with self._lock:
            current = self._history[-1] if self._history else KillSwitchState()
            if expected_version is not None and expected_version != current.version:
                raise KillSwitchConflictError(expected_version, current)
            self._history.append(
                KillSwitchState(engaged=engaged, reason=reason, version=current.version + 1, at_ms=at_ms)
            )
