"""What the API's use cases read and write, as small protocols (``arbiter.storage`` satisfies them)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from decimal import Decimal
from typing import Protocol

from arbiter.models import Execution, ExecutionStatus, Opportunity, Order, OrderIntent
from arbiter.models.events import AnyEventDetail
from arbiter.models.heartbeat import ShardHeartbeat
from arbiter.models.verification import VenueVerification
from arbiter.storage.audit import AuditEvent, ChainReport
from arbiter.storage.breakers import BreakerState


class OperatorJournal(Protocol):
    def get(self, execution_id: str) -> Execution: ...

    def events(self, execution_id: str) -> Sequence[AuditEvent]: ...

    def append_event(self, execution_id: str, detail: AnyEventDetail, at_ms: int) -> None: ...


class ReadJournal(OperatorJournal, Protocol):
    def executions_between(
        self, start_ms: int, end_ms: int, *, before: str | None = None, status: ExecutionStatus | None = None
    ) -> Iterator[tuple[str, Execution]]: ...

    def intents(self, execution_id: str) -> Sequence[OrderIntent]: ...

    def order(self, client_order_id: str) -> Order | None: ...

    def pnl(self, execution_id: str) -> Mapping[str, Decimal]: ...

    def pnl_on(self, day: str) -> Mapping[str, Mapping[str, Decimal]]: ...

    def realised(self, day: str) -> Mapping[str, Decimal]: ...

    def verify(self, execution_id: str) -> ChainReport: ...


class Opportunities(Protocol):
    def between(self, start_ms: int, end_ms: int) -> list[Opportunity]: ...


class Verifications(Protocol):
    def get(self, venue: str) -> VenueVerification | None: ...


class Breakers(Protocol):
    def get(self, venue: str) -> BreakerState: ...


class Heartbeats(Protocol):
    """The scanner's heartbeats."""

    def latest(self) -> Sequence[ShardHeartbeat]:
        """Each deployed shard's newest heartbeat (a shard that never wrote one is left out)."""
        ...
