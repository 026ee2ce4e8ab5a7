"""Audit events: append-only, numbered, and hash-chained so that a changed or missing event is detectable."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from typing import Any

from pydantic import Field

from arbiter.models.common import ValueModel

GENESIS = "0" * 64


class AuditEvent(ValueModel):
    execution_id: str
    sequence: int = Field(ge=1)
    kind: str = Field(min_length=1)
    detail: dict[str, Any]
    at_ms: int
    previous_hash: str
    hash: str


def event_hash(
    previous_hash: str, execution_id: str, sequence: int, kind: str, detail: Mapping[str, Any], at_ms: int
) -> str:
    canonical = json.dumps(
        [previous_hash, execution_id, sequence, kind, detail, at_ms], sort_keys=True, separators=(",", ":"), default=str
    )
    return hashlib.sha256(canonical.encode()).hexdigest()


def chain_event(
    previous: AuditEvent | None, execution_id: str, kind: str, detail: Mapping[str, Any], at_ms: int
) -> AuditEvent:
    sequence = previous.sequence + 1 if previous else 1
    previous_hash = previous.hash if previous else GENESIS
    plain = json.loads(json.dumps(dict(detail), default=str))
    return AuditEvent(
        execution_id=execution_id,
        sequence=sequence,
        kind=kind,
        detail=plain,
        at_ms=at_ms,
        previous_hash=previous_hash,
        hash=event_hash(previous_hash, execution_id, sequence, kind, plain, at_ms),
    )


def first_broken_link(events: Sequence[AuditEvent]) -> int | None:
    """The sequence number of the first event that does not follow from the one before it, else None."""
    previous_hash = GENESIS
    for expected, event in enumerate(events, start=1):
        fields = (event.execution_id, event.sequence, event.kind, event.detail, event.at_ms)
        recomputed = event_hash(previous_hash, *fields)
        if event.sequence != expected or event.previous_hash != previous_hash or event.hash != recomputed:
            return expected
        previous_hash = event.hash
    return None
