"""Fault injection for the paper venue, configured per venue and per call (deterministic, no randomness)."""

from __future__ import annotations

from decimal import Decimal
from enum import StrEnum

from pydantic import Field, field_validator

from arbiter.models.common import Side, ValueModel


class PlaceFault(StrEnum):
    REJECT = "reject"
    TIMEOUT_BEFORE_ACCEPT = "timeout_before_accept"
    TIMEOUT_AFTER_ACCEPT = "timeout_after_accept"
    PARTIAL_FILL = "partial_fill"
    NO_FILL = "no_fill"
    """Accepted and left open unfilled, as a venue without IOC support would (until cancelled)."""
    EXECUTED_TWICE = "executed_twice"
    """The venue executes the order twice under one clientOrderId; every lookup returns only one of them, so
    only the balances show the second."""


class FaultRule(ValueModel):
    """Applies ``fault`` to the ``nth`` placement (0-based) matching ``symbol`` and ``side`` (None: any)."""

    fault: PlaceFault
    symbol: str | None = None
    side: Side | None = None
    nth: int = Field(default=0, ge=0)


class VenueFaults(ValueModel):
    place: tuple[FaultRule, ...] = ()
    fault_rates: dict[PlaceFault, float] = Field(
        default_factory=dict, description="chance that any placement gets each fault (seeded, after the rules)"
    )
    seed: int = 0
    partial_fill_ratio: Decimal = Field(default=Decimal("0.5"), gt=0, lt=1)
    cancel_failures: int = Field(default=0, ge=-1, description="cancels that fail before one works; -1: all fail")
    outage_from_call: int | None = Field(default=None, ge=0, description="API call number the outage starts at")
    outage_calls: int | None = Field(default=None, ge=1, description="how many calls it lasts; None: forever")
    stale_book_ms: int = Field(default=0, ge=0, description="age added to every book the venue serves")
    latency_ms: int = Field(default=0, ge=0, le=10_000, description="delay of every API call, as a network adds")
    read_lag_ms: int = Field(
        default=0,
        ge=0,
        description="for this long after an order changes, reads serve what the venue last acknowledged (a "
        "placement: open, unfilled; a cancel: its acknowledgement), as a lagging read replica does",
    )
    fee_currency: str | None = Field(
        default=None, description="fees charged in this currency instead (a venue's fee discount: BNB, KCS, OKB)"
    )
    fee_currency_per_quote: dict[str, Decimal] = Field(
        default_factory=dict, description="units of fee_currency per unit of each quote asset; others pay in quote"
    )
    fee_in_received: bool = Field(default=False, description="a buy's fee is charged in the base asset it receives")
    fill_at_cancel: bool = Field(
        default=False,
        description="a resting order fills in full at its limit as its cancel arrives; the cancel is still "
        "acknowledged as canceled with what had filled before",
    )

    @field_validator("fault_rates")
    @classmethod
    def _rates_are_probabilities(cls, rates: dict[PlaceFault, float]) -> dict[PlaceFault, float]:
        if any(not 0 <= rate <= 1 for rate in rates.values()) or sum(rates.values()) > 1:
            raise ValueError(f"each rate must be in [0, 1] and they must add up to at most 1, got {rates}")
        return rates
