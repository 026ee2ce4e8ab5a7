"""Audit events: append-only, numbered, and hash-chained so that a changed or missing event is detectable."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import Field

from arbiter.models import CompensationStrategy, Execution, ExecutionStatus, Order
from arbiter.models.common import ValueModel
from arbiter.models.events import OrderReportRefused, StatusChanged

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


class ChainHead(ValueModel):
    """The last event of an execution's trail, stored with every append: without it, cutting off the last
    events would leave a shorter trail that still verifies."""

    sequence: int = Field(ge=0)
    hash: str


EMPTY_HEAD = ChainHead(sequence=0, hash=GENESIS)


def next_event(head: ChainHead, execution_id: str, kind: str, detail: Mapping[str, Any], at_ms: int) -> AuditEvent:
    """The event that follows ``head``; ``ChainHead(sequence=event.sequence, hash=event.hash)`` is the new head."""
    sequence, previous_hash = head.sequence + 1, head.hash
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


def head_of(event: AuditEvent) -> ChainHead:
    return ChainHead(sequence=event.sequence, hash=event.hash)


def chain_event(
    previous: AuditEvent | None, execution_id: str, kind: str, detail: Mapping[str, Any], at_ms: int
) -> AuditEvent:
    return next_event(head_of(previous) if previous else EMPTY_HEAD, execution_id, kind, detail, at_ms)


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


@dataclass(frozen=True)
class ChainReport:
    """What the verifier found in one execution's audit trail."""

    events: int
    head_sequence: int | None
    """The last sequence number the journal recorded writing; None when no head is stored."""
    first_broken_link: int | None
    """The first event that does not follow from the one before it (changed, removed, reordered, forged)."""
    truncated: bool
    """The head names events that are no longer there: the trail was cut off at its end."""

    @property
    def intact(self) -> bool:
        return (
            self.first_broken_link is None
            and not self.truncated
            and (self.head_sequence is not None or not self.events)
        )


def verify_chain(events: Sequence[AuditEvent], head: ChainHead | None) -> ChainReport:
    broken = first_broken_link(events)
    truncated = False
    if head is not None:
        if head.sequence > len(events):
            truncated = True
        elif head.sequence < len(events):
            # Events past the head were not written by the journal, which moves the head with every event.
            broken = min(broken or head.sequence + 1, head.sequence + 1)
        elif events and events[-1].hash != head.hash:
            broken = min(broken or len(events), len(events))
    return ChainReport(
        events=len(events),
        head_sequence=None if head is None else head.sequence,
        first_broken_link=broken,
        truncated=truncated,
    )


def order_regression(recorded: Order, reported: Order) -> str | None:
    """Why ``reported`` contradicts ``recorded``, else None. A venue's word on an order only moves forward: its
    filled amount and the fees it was charged never shrink, a final order never opens again, and it stays the
    same order (its id)."""
    if reported.filled < recorded.filled:
        return f"filled {reported.filled} < recorded {recorded.filled}"
    if recorded.exchange_order_id and reported.exchange_order_id not in (None, recorded.exchange_order_id):
        return f"order id {reported.exchange_order_id} is not the recorded {recorded.exchange_order_id}"
    if recorded.status.is_final and not reported.status.is_final:
        return f"status {reported.status.value} after final {recorded.status.value}"
    charged = reported.fees_by_currency
    for currency, cost in recorded.fees_by_currency.items():
        if charged.get(currency, 0) < cost:  # a fee charged is never refunded by a later read
            return f"fees in {currency} {charged.get(currency, 0)} < recorded {cost}"
    return None


def stale_report(reported: Order, regression: str) -> OrderReportRefused:
    return OrderReportRefused(
        client_order_id=reported.client_order_id, status=reported.status, filled=reported.filled, why=regression
    )


def status_change(
    current: Execution,
    status: ExecutionStatus,
    at_ms: int,
    reason: str | None,
    strategy: CompensationStrategy | None,
) -> tuple[Execution, StatusChanged]:
    """The execution after a status change, and the change's audit event (one rule for every journal)."""
    updated = current.model_copy(
        update={
            "status": status,
            "updated_at": max(at_ms, current.updated_at),
            "reason": reason,
            "strategy": strategy or current.strategy,
        }
    )
    return updated, StatusChanged(from_=current.status, to=status, reason=reason, strategy=strategy)
