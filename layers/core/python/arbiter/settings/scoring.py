"""Settings of the scoring model: where the live model is named and kept, how the scanner uses it, and what a
retrained model must show before it is promoted."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class ScoringSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    model_bucket: str | None = Field(
        default=None, description="S3 bucket (encrypted, versioned) holding training sets, models and their records"
    )
    live_model_parameter: str | None = Field(
        default=None, pattern=r"^/", description="SSM parameter naming the live model's version; None: no model"
    )
    min_predicted_pnl_usd: float = Field(
        default=0.0, description="the scanner starts only opportunities the live model expects to earn more than this"
    )
    refresh_ms: int = Field(default=300_000, ge=1_000, description="how often the scanner looks for a newer model")
    promotion_margin_usd: float = Field(
        default=0.01,
        ge=0,
        description="a candidate is promoted only when its realised P&L per started execution on the held-out "
        "window beats the live model's (or, with none, expected profit's) by this much",
    )
    min_training_rows: int = Field(default=200, ge=10, description="fewer ended executions stop the retraining")
    holdout_fraction: float = Field(
        default=0.25, gt=0, lt=1, description="the latest share of the history (by decision time) kept for evaluation"
    )
    history_days: int = Field(default=30, ge=1, le=3650, description="how far back the training set reaches")
