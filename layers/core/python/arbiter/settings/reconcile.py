"""Settings of the scheduled reconciler."""

from __future__ import annotations

from decimal import Decimal

from pydantic import BaseModel, ConfigDict, Field


class ReconcileSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    window_ms: int = Field(default=86_400_000, ge=60_000, description="executions ended this recently are re-read")
    reread_ages_ms: tuple[int, ...] = Field(
        default=(60_000, 600_000, 3_600_000),
        min_length=1,
        description="an ended execution's orders are read again once it is this old (each age once)",
    )
    unreadable_incident_ms: int = Field(
        default=300_000,
        ge=60_000,
        description="a venue unreadable this long after executions traded on it is an incident",
    )
    stuck_after_ms: int = Field(
        default=3_900_000,
        ge=60_000,
        description="an execution still running this long after it was created is one the state machine stopped "
        "(it times out after an hour): an incident. Keep it above the machine's TimeoutSeconds",
    )
    dust_usd: Decimal = Field(
        default=Decimal(1), ge=0, description="a venue's unexplained balance difference worth less is dust"
    )
    dust_alert_usd: Decimal = Field(
        default=Decimal(25),
        ge=0,
        description="a venue's running total of dust in one asset worth more than this is alerted",
    )
