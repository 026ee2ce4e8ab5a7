"""An execution: one opportunity carried through the saga, with the orders it created."""

from __future__ import annotations

from enum import StrEnum

from pydantic import Field, model_validator

from arbiter.models.common import Asset, FiniteDecimal, RecordModel, TimestampMs
from arbiter.models.opportunity import Opportunity
from arbiter.models.order import Order


class ExecutionStatus(StrEnum):
    PENDING = "pending"
    REFUSED = "refused"
    PLACING = "placing"
    AWAITING_FILLS = "awaiting_fills"
    SETTLED = "settled"
    COMPENSATING = "compensating"
    COMPENSATED = "compensated"
    INCIDENT = "incident"

    @property
    def is_terminal(self) -> bool:
        return self in {
            ExecutionStatus.REFUSED,
            ExecutionStatus.SETTLED,
            ExecutionStatus.COMPENSATED,
            ExecutionStatus.INCIDENT,
        }


def holds_execution_slot(status: ExecutionStatus) -> bool:
    """A running execution holds one of the journal's execution slots (and an ``ACTIVE`` entry): from its first
    status after PENDING until a terminal one."""
    return status is not ExecutionStatus.PENDING and not status.is_terminal


def slot_change(before: ExecutionStatus, after: ExecutionStatus) -> int:
    """+1 when a status change takes a slot, -1 when it gives one back, 0 otherwise."""
    return int(holds_execution_slot(after)) - int(holds_execution_slot(before))


class ExecutionSlotsTakenError(RuntimeError):
    """Every execution slot is taken (``ExecutionSettings.execution_slots``): the execution did not start and
    nothing was written."""


class CompensationStrategy(StrEnum):
    NOTHING = "nothing"
    COMPLETE = "complete"
    UNWIND = "unwind"


class Execution(RecordModel):
    execution_id: str = Field(min_length=1, max_length=80, pattern=r"^[A-Za-z0-9_-]+$")
    opportunity: Opportunity
    status: ExecutionStatus = ExecutionStatus.PENDING
    created_at: TimestampMs
    updated_at: TimestampMs
    orders: tuple[Order, ...] = ()
    realised_pnl: dict[Asset, FiniteDecimal] = Field(default_factory=dict)
    reason: str | None = Field(default=None, description="why it was refused or ended in an incident")
    strategy: CompensationStrategy | None = Field(
        default=None, description="how a compensated execution was flattened: recorded when it ended"
    )

    @model_validator(mode="after")
    def _times_ordered(self) -> Execution:
        if self.updated_at < self.created_at:
            raise ValueError(f"updated_at: {self.updated_at} is before created_at {self.created_at}")
        return self
