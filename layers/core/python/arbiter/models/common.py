"""Value types shared by every model: money amounts, venues, symbols, sides, timestamps."""

from __future__ import annotations

from decimal import Decimal
from enum import StrEnum
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

# Money never travels as float: pydantic parses floats through their shortest repr, so 0.1 stays 0.1.
PositiveDecimal = Annotated[Decimal, Field(gt=0, allow_inf_nan=False)]
NonNegativeDecimal = Annotated[Decimal, Field(ge=0, allow_inf_nan=False)]
FiniteDecimal = Annotated[Decimal, Field(allow_inf_nan=False)]

VenueId = Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=r"^[a-z0-9][a-z0-9_.-]*$")]
"""A venue is named by its ccxt exchange id (``binance``, ``kraken``), lower case."""

Asset = Annotated[str, StringConstraints(min_length=1, max_length=32, pattern=r"^[A-Za-z0-9._-]+$")]

Symbol = Annotated[
    str,
    StringConstraints(min_length=3, max_length=64, pattern=r"^[A-Za-z0-9._-]+/[A-Za-z0-9._-]+(:[A-Za-z0-9._-]+)?$"),
]
"""A unified ccxt symbol: ``BASE/QUOTE`` for spot, ``BASE/QUOTE:SETTLE`` for contracts."""

TimestampMs = Annotated[int, Field(gt=0, description="milliseconds since the Unix epoch, UTC")]


class Side(StrEnum):
    BUY = "buy"
    SELL = "sell"

    @property
    def opposite(self) -> Side:
        return Side.SELL if self is Side.BUY else Side.BUY


class ValueModel(BaseModel):
    """A value: immutable, hashable, and strict about unknown fields."""

    model_config = ConfigDict(frozen=True, extra="forbid")


class RecordModel(BaseModel):
    """A record that changes through explicit copies (``model_copy``), never in place."""

    model_config = ConfigDict(frozen=True, extra="forbid", validate_default=True)
