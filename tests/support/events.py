"""An audit event kind for storage tests alone: the journals append any detail model, whatever its kind."""

from __future__ import annotations

from arbiter.models.events import EventDetail


class Note(EventDetail):
    kind = "note"  # type: ignore[assignment]  # a test-only kind, outside the saga's vocabulary
    n: int
    writer: int | str = ""
