"""Settings of the venue gateways: retry policy, circuit breaker thresholds, shared rate limits."""

from __future__ import annotations

from typing import Self

from pydantic import BaseModel, ConfigDict, Field, model_validator


class GatewaySettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    retry_attempts: int = Field(default=4, ge=1, le=10)
    retry_initial_s: float = Field(default=0.2, gt=0, le=5)
    retry_max_wait_s: float = Field(default=2.0, gt=0, le=30)
    retry_budget_s: float = Field(default=8.0, gt=0, le=60, description="total time one call may spend retrying")
    request_timeout_ms: int = Field(
        default=3_000, ge=100, le=30_000, description="ccxt's timeout of one HTTP request (its default is 10 s)"
    )
    breaker_failure_threshold: int = Field(default=5, ge=1)
    breaker_open_ms: int = Field(default=30_000, ge=1_000)
    breaker_probe_lease_ms: int = Field(
        default=20_000, ge=1_000, description="how long a half-open probe may stay silent before another takes over"
    )
    rate_per_s: float = Field(default=8.0, gt=0, description="requests per second per venue, all invocations")
    rate_burst: float = Field(default=16.0, ge=1)
    credentials_secret_prefix: str = Field(
        default="arbiter/venues/",
        pattern=r"^[A-Za-z0-9/_+=.@-]*$",
        description="Secrets Manager name of a venue's credentials: this prefix, then the venue id",
    )

    def secret_name(self, venue: str) -> str:
        return f"{self.credentials_secret_prefix}{venue}"

    @model_validator(mode="after")
    def _probe_lease_outlasts_a_call(self) -> Self:
        budget_ms = self.retry_budget_s * 1000
        if self.request_timeout_ms >= budget_ms:
            raise ValueError(
                f"request_timeout_ms: {self.request_timeout_ms} ms leaves no retry within retry_budget_s "
                f"({self.retry_budget_s} s)"
            )
        # A probe may spend the budget waiting for rate tokens, the budget again retrying, and one request
        # timeout on its last attempt: a shorter lease would hand a live probe's venue to a second prober.
        longest_call_ms = 2 * budget_ms + self.request_timeout_ms
        if self.breaker_probe_lease_ms < longest_call_ms:
            raise ValueError(
                f"breaker_probe_lease_ms: {self.breaker_probe_lease_ms} ms is shorter than the longest call "
                f"({longest_call_ms:.0f} ms: twice retry_budget_s plus request_timeout_ms); a live probe would be "
                "overtaken"
            )
        return self
