"""Settings of the venue gateways: retry policy, circuit breaker thresholds, shared rate limits."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class GatewaySettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    retry_attempts: int = Field(default=4, ge=1, le=10)
    retry_initial_s: float = Field(default=0.2, gt=0, le=5)
    retry_max_wait_s: float = Field(default=2.0, gt=0, le=30)
    retry_budget_s: float = Field(default=8.0, gt=0, le=60, description="total time one call may spend retrying")
    breaker_failure_threshold: int = Field(default=5, ge=1)
    breaker_open_ms: int = Field(default=30_000, ge=1_000)
    rate_per_s: float = Field(default=8.0, gt=0, description="requests per second per venue, all invocations")
    rate_burst: float = Field(default=16.0, ge=1)
