"""What the saga needs from the outside world, as small protocols: venues, the execution journal, the kill
switch (``arbiter.risk.ports``), alerts and the clock (``arbiter.models.time``). The composition root wires real
adapters; tests wire in-memory ones."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Protocol

from arbiter.gateway.interface import VenueGateway
from arbiter.models import (
    CompensationStrategy,
    Execution,
    ExecutionStatus,
    IntentClaim,
    Order,
    OrderIntent,
    OrderRecord,
    SendState,
)
from arbiter.models.events import AnyEventDetail
from arbiter.models.time import Clock
from arbiter.risk.ports import KillSwitch

if TYPE_CHECKING:  # the logic never loads the storage package (its adapters bring the AWS SDK)
    from arbiter.storage.audit import AuditEvent

__all__ = ["AlertPublisher", "Clock", "ExecutionJournal", "KillSwitch", "VenueGateway"]


class ExecutionJournal(Protocol):
    def create(self, execution: Execution) -> tuple[bool, Execution]:
        """Conditional put: ``(True, execution)`` when created, ``(False, stored)`` when it existed."""
        ...

    def get(self, execution_id: str) -> Execution: ...

    def set_status(
        self,
        execution_id: str,
        status: ExecutionStatus,
        at_ms: int,
        reason: str | None = None,
        strategy: CompensationStrategy | None = None,
    ) -> None:
        """``strategy``: how a compensated execution was flattened, recorded on its header when it ends."""
        ...

    def append_event(self, execution_id: str, detail: AnyEventDetail, at_ms: int) -> None: ...

    def events(self, execution_id: str) -> Sequence[AuditEvent]:
        """The execution's audit trail, oldest first."""
        ...

    def record_intent(self, intent: OrderIntent, at_ms: int, claim_until_ms: int) -> bool:
        """Conditional put of the intent and its send claim (``recorded``, until ``claim_until_ms``): True when
        this call recorded it, False when an earlier call had. Only the recording call may send the order (one
        intent, one send, even with two invocations at once), and only by moving the claim to ``sending``."""
        ...

    def move_claim(
        self,
        intent: OrderIntent,
        state: SendState,
        at_ms: int,
        *,
        expires_at_ms: int | None = None,
        refused: bool = False,
    ) -> IntentClaim | None:
        """Conditional move of the intent's send claim (``IntentClaim.moved``), with its audit event: the claim as
        moved, or None where the protocol forbids the move from the claim as stored (nothing is written)."""
        ...

    def claim(self, intent: OrderIntent) -> IntentClaim | None: ...

    def intents(self, execution_id: str) -> Sequence[OrderIntent]: ...

    def record_order(self, execution_id: str, order: Order, at_ms: int) -> OrderRecord:
        """Records a change of the venue's report; a report older than the recorded one is refused, not written."""
        ...

    def order(self, client_order_id: str) -> Order | None:
        """The last state a venue reported for this order, as recorded."""
        ...

    def record_pnl(self, execution_id: str, pnl: Mapping[str, Decimal], at_ms: int) -> None: ...

    def correct_pnl(self, execution_id: str, pnl: Mapping[str, Decimal], at_ms: int) -> bool:
        """Replace the execution's booked P&L where it differs (the day it was booked on moves by the
        difference; an audit event keeps both); books it when none was. True when anything changed."""
        ...

    def record_invalid_input(self, execution_id: str, reason: str, at_ms: int) -> None:
        """An execution whose input could not even be read: the refusal is recorded, nothing else exists."""
        ...


class AlertPublisher(Protocol):
    def publish(self, subject: str, message: Mapping[str, Any]) -> None: ...
