"""In-memory twins of the DynamoDB repositories, for unit tests and quick local runs (thread-safe)."""

from __future__ import annotations

import threading
from collections import defaultdict
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

from arbiter.models import Execution, ExecutionStatus, Order, OrderIntent
from arbiter.risk.engine import utc_day
from arbiter.storage.audit import AuditEvent, chain_event
from arbiter.storage.errors import ExecutionNotFoundError


class InMemoryExecutionJournal:
    def __init__(self) -> None:
        self._lock = threading.RLock()
        self.executions: dict[str, Execution] = {}
        self._events: dict[str, list[AuditEvent]] = defaultdict(list)
        self._intents: dict[str, dict[str, OrderIntent]] = defaultdict(dict)
        self.orders: dict[str, Order] = {}
        self.pnl: dict[str, dict[str, Decimal]] = {}
        self.refused_inputs: dict[str, str] = {}
        self._daily: dict[str, dict[str, Decimal]] = defaultdict(lambda: defaultdict(Decimal))

    def create(self, execution: Execution) -> tuple[bool, Execution]:
        with self._lock:
            stored = self.executions.get(execution.execution_id)
            if stored is not None:
                return False, stored
            self.executions[execution.execution_id] = execution
            detail = {"opportunity_id": execution.opportunity.id}
            self._append(execution.execution_id, "created", detail, execution.created_at)
            return True, execution

    def get(self, execution_id: str) -> Execution:
        with self._lock:
            if execution_id not in self.executions:
                raise ExecutionNotFoundError(execution_id)
            return self.executions[execution_id]

    def set_status(self, execution_id: str, status: ExecutionStatus, at_ms: int, reason: str | None = None) -> None:
        with self._lock:
            current = self.get(execution_id)
            self.executions[execution_id] = current.model_copy(
                update={"status": status, "updated_at": max(at_ms, current.updated_at), "reason": reason}
            )
            change = {"from": current.status.value, "to": status.value, "reason": reason}
            self._append(execution_id, "status", change, at_ms)

    def append_event(self, execution_id: str, kind: str, detail: Mapping[str, Any], at_ms: int) -> None:
        with self._lock:
            self._append(execution_id, kind, detail, at_ms)

    def _append(self, execution_id: str, kind: str, detail: Mapping[str, Any], at_ms: int) -> None:
        chain = self._events[execution_id]
        chain.append(chain_event(chain[-1] if chain else None, execution_id, kind, detail, at_ms))

    def events(self, execution_id: str) -> list[AuditEvent]:
        with self._lock:
            return list(self._events[execution_id])

    def record_intent(self, intent: OrderIntent, at_ms: int) -> None:
        with self._lock:
            if intent.client_order_id not in self._intents[intent.execution_id]:
                self._intents[intent.execution_id][intent.client_order_id] = intent
                self._append(intent.execution_id, "order_intent", intent.model_dump(mode="json"), at_ms)

    def intents(self, execution_id: str) -> Sequence[OrderIntent]:
        with self._lock:
            return list(self._intents[execution_id].values())

    def record_order(self, execution_id: str, order: Order, at_ms: int) -> None:
        if order.client_order_id is None:
            raise ValueError("order: a recorded order needs its clientOrderId")
        with self._lock:
            previous = self.orders.get(order.client_order_id)
            self.orders[order.client_order_id] = order
            if previous != order:
                self._append(execution_id, "order_state", order.model_dump(mode="json"), at_ms)

    def order(self, client_order_id: str) -> Order | None:
        with self._lock:
            return self.orders.get(client_order_id)

    def record_pnl(self, execution_id: str, pnl: Mapping[str, Decimal], at_ms: int) -> None:
        with self._lock:
            if execution_id in self.pnl:
                return  # a retried step: counted once
            self.pnl[execution_id] = dict(pnl)
            day = self._daily[utc_day(at_ms)]
            for currency, amount in pnl.items():
                day[currency] += amount
            self._append(execution_id, "pnl", {a: str(v) for a, v in pnl.items()}, at_ms)

    def realised(self, day: str) -> Mapping[str, Decimal]:
        with self._lock:
            return dict(self._daily[day])

    def active_executions(self) -> list[Execution]:
        with self._lock:
            # PENDING is an execution still in its own Prepare: not yet running, as on DynamoDB.
            return [e for e in self.executions.values() if not e.status.is_terminal and e.status.value != "pending"]

    def record_invalid_input(self, execution_id: str, reason: str, at_ms: int) -> None:
        with self._lock:
            self.refused_inputs[execution_id] = reason
            self._append(execution_id, "refused", {"reason": reason}, at_ms)


class InMemoryKillSwitch:
    def __init__(self) -> None:
        self.engaged = False
        self.history: list[tuple[bool, str, int]] = []

    def is_engaged(self) -> bool:
        return self.engaged

    def engage(self, reason: str, at_ms: int) -> None:
        self.engaged = True
        self.history.append((True, reason, at_ms))

    def disengage(self, reason: str, at_ms: int) -> None:
        self.engaged = False
        self.history.append((False, reason, at_ms))
