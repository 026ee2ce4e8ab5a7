"""Deployment configuration from CDK context (``-c env=prod -c mode=live -c venues=binance,kraken``).

Nothing is hard-coded per account."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, ValidationInfo, field_validator

from arbiter.models.common import Asset, NonNegativeDecimal, VenueId
from arbiter.models.risk import RiskLimits
from arbiter.monitoring.catalog import thresholds
from arbiter.settings import GatewaySettings


class DeploymentConfig(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    env: Literal["dev", "prod"] = "dev"
    mode: Literal["paper", "live"] = "paper"
    venues: tuple[VenueId, ...] = Field(default=("binance", "kraken", "coinbase"), min_length=1)
    paper_balances: dict[VenueId, dict[Asset, NonNegativeDecimal]] = Field(
        default_factory=dict, description='paper mode: opening balances per venue, e.g. {"binance": {"USDT": 10000}}'
    )
    max_concurrent_executions: int = Field(
        default=RiskLimits.model_fields["max_concurrent_executions"].default,
        ge=1,
        le=100,
        description="reserved concurrency of each order-sending saga function (PlaceLegs, Compensate): at most "
        "this many send orders at once, and this many can always run; keep the risk limit of the same name at or "
        "below it",
    )
    credentials_secret_prefix: str = Field(
        default=GatewaySettings().credentials_secret_prefix, pattern=r"^[A-Za-z0-9/_+=.@-]*$"
    )
    alert_email: str | None = Field(
        default=None,
        pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$",
        description="an address subscribed to the alert topic (it must confirm the subscription once)",
    )
    alarm_thresholds: dict[str, float] = Field(
        default_factory=dict,
        description='operator overrides of alarm thresholds by alarm id, e.g. {"CompensationRate": 0.1}',
    )

    @field_validator("venues", mode="before")
    @classmethod
    def _venue_list(cls, value: object) -> object:
        # ``-c venues=binance,kraken`` arrives as one string; cdk.json may hold a list.
        return tuple(v.strip() for v in value.split(",") if v.strip()) if isinstance(value, str) else value

    @field_validator("paper_balances", "alarm_thresholds", mode="before")
    @classmethod
    def _json_object(cls, value: object) -> object:
        if not isinstance(value, str):
            return value
        try:
            return json.loads(value)
        except json.JSONDecodeError as error:
            raise ValueError(f"not valid JSON ({error.msg})") from None

    @field_validator("paper_balances")
    @classmethod
    def _balances_of_deployed_venues(
        cls, balances: dict[str, dict[str, Decimal]], info: ValidationInfo
    ) -> dict[str, dict[str, Decimal]]:
        venues = info.data.get("venues", ())
        unknown = sorted(set(balances) - set(venues))
        if unknown:
            raise ValueError(f"balances for venues not deployed (context 'venues'): {', '.join(unknown)}")
        return balances

    @field_validator("alarm_thresholds")
    @classmethod
    def _known_alarms(cls, overrides: dict[str, float], info: ValidationInfo) -> dict[str, float]:
        thresholds(info.data.get("env", "dev"), overrides)  # names the unknown alarm ids
        return overrides

    @property
    def alarm_threshold_values(self) -> dict[str, float]:
        """Every alarm's threshold in this environment, with the operator's overrides."""
        return thresholds(self.env, self.alarm_thresholds)

    @property
    def is_prod(self) -> bool:
        return self.env == "prod"

    @property
    def resource_prefix(self) -> str:
        return f"arbiter-{self.env}"

    def secret_name(self, venue: str) -> str:
        """Where a venue's credentials live in Secrets Manager (live mode); the gateway reads the same name."""
        return GatewaySettings(credentials_secret_prefix=self.credentials_secret_prefix).secret_name(venue)

    @classmethod
    def from_context(cls, context: dict[str, object]) -> DeploymentConfig:
        given = {k: v for k, v in context.items() if k in cls.model_fields and v is not None}
        try:
            return cls.model_validate(given)
        except ValidationError as error:
            problems = "; ".join(
                f"context '{'.'.join(str(p) for p in e['loc'])}': {e['msg']}" for e in error.errors(include_input=False)
            )
            raise ValueError(f"invalid deployment context: {problems}") from None
