"""The kill switch's state. Every change makes a new version; a change by hand names the version it saw, so
disengaging cannot silently undo an automatic engage (incident, daily loss, breaker) that happened meanwhile."""

from __future__ import annotations

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
