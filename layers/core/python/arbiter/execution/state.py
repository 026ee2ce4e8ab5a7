"""The saga's state as it travels through the state machine: each task receives it and returns it updated.

Serialised with ``model_dump(mode="json")`` (Decimals as strings), validated again at every task boundary.
"""

from __future__ import annotations

from decimal import Decimal

from pydantic import BaseModel, ConfigDict, Field

from arbiter.models import Opportunity, OrderStatus
from arbiter.models.common import NonNegativeDecimal, PositiveDecimal


class _State(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)


class StepError(_State):
    """What a Catch puts at ``$.error``: Step Functions' own field names."""

    error: str = Field(alias="Error")
    cause: str | None = Field(default=None, alias="Cause")


class LegFill(_State):
    index: int = Field(ge=0)
    client_order_ids: tuple[str, ...] = ()
    status: OrderStatus | None = Field(default=None, description="None: no order reached the venue")
    filled: NonNegativeDecimal = Decimal(0)
    average: PositiveDecimal | None = None


class Fills(_State):
    legs: tuple[LegFill, ...]
    all_filled: bool
    all_final: bool
    deadline_passed: bool = False


class Reconciliation(_State):
    flat: bool
    open_orders: int = Field(ge=0)
    exposure: dict[str, Decimal]
    residual: dict[str, Decimal]


class SagaState(_State):
    execution_id: str = Field(min_length=1, max_length=80, pattern=r"^[A-Za-z0-9_-]+$")
    opportunity: Opportunity
    poll_seconds: int = Field(default=0, ge=0, description="Wait between fill polls (zero locally)")
    deadline_ms: int | None = None
    accepted: bool | None = None
    refusal: str | None = None
    fills: Fills | None = None
    compensation_rounds: int = Field(default=0, ge=0)
    reconciliation: Reconciliation | None = None
    compensate_again: bool = False
    error: StepError | None = None
