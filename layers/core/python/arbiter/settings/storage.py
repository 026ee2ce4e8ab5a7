"""Settings of the stores."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class StorageSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    time_series_backend: Literal["dynamodb", "timestream"] = Field(
        default="dynamodb",
        description="timestream only for accounts that already have Timestream for LiveAnalytics (closed to new ones)",
    )
    time_series_retention_days: int = Field(default=30, ge=1, le=3650)
    timestream_database: str = Field(default="arbiter", min_length=3, max_length=256)
    timestream_table: str = Field(default="series", min_length=3, max_length=256)
