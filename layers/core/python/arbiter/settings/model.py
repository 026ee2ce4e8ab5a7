"""The settings model and its loader.

An invalid value stops start-up with the variable's name and the rule it broke."""

from __future__ import annotations

from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, ValidationInfo, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from arbiter.models.common import Asset, NonNegativeDecimal, VenueId
from arbiter.settings.detection import DetectionSettings
from arbiter.settings.execution import ExecutionSettings
from arbiter.settings.gateway import GatewaySettings
from arbiter.settings.reconcile import ReconcileSettings
from arbiter.settings.scanner import ScannerSettings
from arbiter.settings.scoring import ScoringSettings
from arbiter.settings.storage import StorageSettings

ENV_PREFIX = "ARBITER_"
ENV_NESTED_DELIMITER = "__"


class Mode(StrEnum):
    LOCAL = "local"
    PAPER = "paper"
    LIVE = "live"


class Environment(StrEnum):
    DEV = "dev"
    PROD = "prod"


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _distinct(venues: tuple[str, ...]) -> tuple[str, ...]:
    duplicates = sorted({v for v in venues if venues.count(v) > 1})
    if duplicates:
        raise ValueError(f"venues must be distinct, repeated: {', '.join(duplicates)}")
    return venues


class SimulationSettings(_Section):
    seed: int = Field(default=7, ge=0, description="same seed, same books")
    venues: tuple[VenueId, ...] = Field(default=("binance", "kraken", "coinbase"), min_length=1)
    symbols_per_venue: int = Field(default=12, ge=1, le=5000)
    levels: int = Field(default=20, ge=1, le=500, description="price levels per book side")
    tick_ms: int = Field(default=1000, ge=1, description="simulated time between two snapshots")
    start_ms: int = Field(default=1_767_225_600_000, gt=0, description="simulated clock at tick 0 (UTC ms)")
    dislocation_probability: float = Field(
        default=0.03, ge=0, le=1, description="chance per book and tick that a dislocation opens"
    )
    dislocation_bps: tuple[float, float] = Field(default=(25.0, 90.0), description="shock size range, bps")
    dislocation_half_life_ticks: float = Field(default=3.0, gt=0)

    _distinct_venues = field_validator("venues")(_distinct)

    @field_validator("dislocation_bps")
    @classmethod
    def _ordered_range(cls, bounds: tuple[float, float]) -> tuple[float, float]:
        low, high = bounds
        if not 0 <= low <= high:
            raise ValueError(f"must be 0 <= low <= high, got {bounds}")
        return bounds


class MarketSettings(_Section):
    fee_tier_volume: dict[VenueId, Annotated[Decimal, Field(ge=0)]] = Field(
        default_factory=dict,
        description="30-day traded volume per venue, in the venue's fee currency, that selects the fee tier",
    )


class PaperSettings(_Section):
    balances: dict[VenueId, dict[Asset, NonNegativeDecimal]] = Field(
        default_factory=dict,
        description='paper mode: opening free balances per venue and asset, e.g. {"binance": {"USDT": "10000"}}; '
        "a venue left out starts empty. They hold until the venue's first change; then its ledger does.",
    )


class VenueCredentials(_Section):
    """Exchange API credentials. On AWS they come from Secrets Manager; this is for local overrides only."""

    api_key: SecretStr
    secret: SecretStr
    password: SecretStr | None = None


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX,
        env_nested_delimiter=ENV_NESTED_DELIMITER,
        extra="forbid",
        frozen=True,
        case_sensitive=False,
    )

    mode: Mode = Mode.LOCAL
    environment: Environment = Environment.DEV
    log_level: str = Field(default="INFO", pattern=r"^(DEBUG|INFO|WARNING|ERROR|CRITICAL)$")
    simulation: SimulationSettings = SimulationSettings()
    markets: MarketSettings = MarketSettings()
    execution: ExecutionSettings = ExecutionSettings()
    detection: DetectionSettings = DetectionSettings()
    storage: StorageSettings = StorageSettings()
    gateway: GatewaySettings = GatewaySettings()
    reconcile: ReconcileSettings = ReconcileSettings()
    scanner: ScannerSettings = ScannerSettings()
    scoring: ScoringSettings = ScoringSettings()
    credentials: dict[VenueId, VenueCredentials] = Field(default_factory=dict)
    venues: tuple[VenueId, ...] = Field(
        default=("binance", "kraken", "coinbase"),
        min_length=1,
        description="venues a deployed platform (paper, live) connects to; local mode simulates simulation.venues",
    )
    paper: PaperSettings = PaperSettings()
    tables: dict[str, str] = Field(
        default_factory=dict, description="physical DynamoDB table name by table key (arbiter.storage.schema)"
    )
    alert_topic_arn: str | None = Field(default=None, pattern=r"^arn:[a-z-]+:sns:")
    alarm_thresholds: dict[str, float] = Field(
        default_factory=dict,
        description="alarm id -> threshold, over the environment's (arbiter.monitoring.catalog); the local "
        'evaluator reads it, a deployment reads CDK context alarm_thresholds, e.g. {"CompensationRate": 0.1}',
    )

    _distinct_venues = field_validator("venues")(_distinct)

    @field_validator("paper")
    @classmethod
    def _balances_of_connected_venues(cls, paper: PaperSettings, info: ValidationInfo) -> PaperSettings:
        unknown = sorted(set(paper.balances) - set(info.data.get("venues", ())))
        if unknown:
            raise ValueError(f"balances for venues not in ARBITER_VENUES: {', '.join(unknown)}")
        return paper


class SettingsError(ValueError):
    """Settings that must not start the platform. The message names each variable and the rule it broke."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("invalid settings:\n  " + "\n  ".join(problems))


def _variable_name(location: tuple[int | str, ...]) -> str:
    return ENV_PREFIX + ENV_NESTED_DELIMITER.join(str(part) for part in location).upper()


def load_settings(**overrides: Any) -> Settings:
    """Read the environment (and explicit overrides, for tests and the CLI) into validated settings."""
    try:
        return Settings(**overrides)
    except ValidationError as error:
        # The input value is left out on purpose: it may be a secret.
        problems = [f"{_variable_name(e['loc'])}: {e['msg']}" for e in error.errors(include_input=False)]
        raise SettingsError(problems) from None
