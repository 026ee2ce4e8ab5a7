"""The kill switch's state. Every change makes a new version; a change by hand names the version it saw, so
disengaging cannot silently undo an automatic engage (incident, daily loss, breaker) that happened meanwhile."""

from __future__ import annotations

from abc import ABC, abstractmethod

from pydantic import Field

from arbiter.models.common import ValueModel
from arbiter.storage.errors import StorageConflictError


class KillSwitchState(ValueModel):
    engaged: bool = False
    reason: str = ""
    version: int = Field(default=0, ge=0)
    """0: never changed."""
    at_ms: int = Field(default=0, ge=0)


class KillSwitchConflictError(StorageConflictError):
    """A change by hand named a version that is no longer current; nothing was written."""

    def __init__(self, expected: int, current: KillSwitchState) -> None:
        self.expected, self.current = expected, current
        state = "engaged" if current.engaged else "disengaged"
        super().__init__(f"kill switch is at version {current.version} ({state}: {current.reason!r}), not {expected}")


class VersionedKillSwitch(ABC):
    """The kill switch's operations over one primitive: write the next version, or refuse when a change by hand
    named a version that is no longer current. Stores (memory, DynamoDB) implement ``state`` and ``_set``."""

    @abstractmethod
    def state(self) -> KillSwitchState: ...

    @abstractmethod
    def _set(self, engaged: bool, reason: str, at_ms: int, expected_version: int | None) -> None: ...

    def is_engaged(self) -> bool:
        return self.state().engaged

    def engage(self, reason: str, at_ms: int, expected_version: int | None = None) -> None:
        """Automatic engages (``expected_version`` None) always apply; one by hand names the version it saw."""
        self._set(True, reason, at_ms, expected_version)

    def disengage(self, reason: str, at_ms: int, *, expected_version: int) -> None:
        self._set(False, reason, at_ms, expected_version)
