"""What the reconciler needs: the journal's reads and writes it uses, and the store of verified balances
(``arbiter.storage`` satisfies both structurally)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from arbiter.execution.ports import ExecutionJournal
from arbiter.models import Execution
from arbiter.models.verification import VenueVerification
from arbiter.storage.audit import AuditEvent


class ReconciledJournal(ExecutionJournal, Protocol):
    def executions_on(self, day: str) -> Sequence[Execution]: ...

    def active_executions(self) -> Sequence[Execution]: ...

    def events(self, execution_id: str) -> Sequence[AuditEvent]: ...


class VerificationStore(Protocol):
    def get(self, venue: str) -> VenueVerification | None: ...

    def put(self, verification: VenueVerification) -> None: ...

    def forget(self, venue: str) -> None: ...
