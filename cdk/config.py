"""Deployment configuration from CDK context (``-c env=prod -c mode=live -c venues=binance,kraken``).

Nothing is hard-coded per account."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, ValidationInfo, field_validator

from arbiter.models.common import Asset, NonNegativeDecimal, Symbol, VenueId
from arbiter.models.risk import RiskLimits
from arbiter.monitoring.catalog import thresholds
from arbiter.settings import GatewaySettings

DEFAULT_SCANNER_SYMBOLS = ("BTC/USDT", "ETH/USDT", "ETH/BTC")
"""Books every venue lists: the scanner follows these unless context ``scanner_universe`` says otherwise."""


class DeploymentConfig(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    env: Literal["dev", "prod"] = "dev"
    mode: Literal["paper", "live"] = "paper"
    venues: tuple[VenueId, ...] = Field(default=("binance", "kraken", "coinbase"), min_length=1)
    paper_balances: dict[VenueId, dict[Asset, NonNegativeDecimal]] = Field(
        default_factory=dict, description='paper mode: opening balances per venue, e.g. {"binance": {"USDT": 10000}}'
    )
    scanner_shards: int = Field(default=1, ge=1, le=64, description="the scanner's universe split into this many")
    scanner_universe: dict[VenueId, tuple[Symbol, ...]] = Field(
        default_factory=dict,
        validate_default=True,
        description='books the scanner follows per venue, e.g. {"binance": ["BTC/USDT"]}; default: '
        "DEFAULT_SCANNER_SYMBOLS on every deployed venue",
    )
    api_auth: Literal["iam", "cognito"] = Field(
        default="iam", description="how the operators' API authenticates: SigV4 (IAM) or a Cognito user pool"
    )
    api_cors_origin: str = Field(
        default="https://localhost:5173",
        pattern=r"^https?://[A-Za-z0-9.-]+(:[0-9]{1,5})?$",
        description="the one origin (the console's) browsers may call the API from",
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

    @field_validator("paper_balances", "alarm_thresholds", "scanner_universe", mode="before")
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

    @field_validator("scanner_universe")
    @classmethod
    def _universe_of_deployed_venues(
        cls, universe: dict[str, tuple[str, ...]], info: ValidationInfo
    ) -> dict[str, tuple[str, ...]]:
        venues = info.data.get("venues", ())
        unknown = sorted(set(universe) - set(venues))
        if unknown:
            raise ValueError(f"books on venues not deployed (context 'venues'): {', '.join(unknown)}")
        return universe or dict.fromkeys(venues, DEFAULT_SCANNER_SYMBOLS)

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
