"""The saga's state as it travels through the state machine: each task receives it and returns it updated.

Serialised with ``model_dump(mode="json")`` (Decimals as strings), validated again at every task boundary.
"""

from __future__ import annotations

from decimal import Decimal

from pydantic import BaseModel, ConfigDict, Field

from arbiter.models import CompensationStrategy, Opportunity, OrderStatus
from arbiter.models.common import NonNegativeDecimal, PositiveDecimal
from arbiter.models.events import Reconciled, StepFailure


class _State(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)


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


class SagaState(_State):
    execution_id: str = Field(min_length=1, max_length=80, pattern=r"^[A-Za-z0-9_-]+$")
    opportunity: Opportunity
    poll_seconds: int = Field(default=0, ge=0, description="Wait between fill polls (zero locally)")
    deadline_ms: int | None = None
    accepted: bool | None = None
    refusal: str | None = None
    fills: Fills | None = None
    compensation_rounds: int = Field(default=0, ge=0, description="rounds placed (each its own clientOrderIds)")
    unsent_rounds: int = Field(
        default=0, ge=0, description="of those, rounds whose every order provably never reached its venue"
    )
    progress_rounds: int = Field(
        default=0, ge=0, description="of those, rounds after which the open position was smaller in every asset"
    )
    reconciliation: Reconciled | None = None
    compensate_again: bool = False
    error: StepFailure | None = None
    strategy: CompensationStrategy | None = None
    """The strongest strategy any compensation round traded with (unwind over complete over nothing)."""
    predicted_pnl_usd: float | None = Field(
        default=None, description="the live model's prediction when the scanner started it (None: no model)"
    )


class RefusedInput(_State):
    """Prepare's answer to an input that is not an execution (it has no opportunity to carry on): refused and
    recorded, nothing sent. The state machine's Choice reads ``accepted`` as it does on a ``SagaState``."""

    execution_id: str
    accepted: bool = Field(default=False, frozen=True)
    refusal: str
