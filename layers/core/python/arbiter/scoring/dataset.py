"""The training set: one row per ended execution, its opportunity's features as the scanner stored them when it
decided (never recomputed) and its labels from the outcome (realised P&L in USD, completed / compensated /
incident). Split by decision time, never shuffled: the latest share is held out for evaluation."""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal

from arbiter.models import Execution
from arbiter.scoring.outcomes import outcome_label, realised_usd

REFERENCE_PREFIX = "ref_usd_"
"""Stored beside the features, not model inputs: the USD rate of each traded asset when the scanner decided."""
KEY_COLUMNS = ("opportunity_id", "decided_at")
LABEL_COLUMNS = ("label_pnl_usd", "label_outcome")


class TrainingSetError(ValueError):
    """The history cannot make a training set; the message says which execution or feature and why."""


def model_inputs(features: Mapping[str, float]) -> dict[str, float]:
    """The features a model reads (the ``ref_`` valuations left out)."""
    return {name: value for name, value in features.items() if not name.startswith("ref_")}


@dataclass(frozen=True)
class TrainingRow:
    opportunity_id: str
    decided_at: int
    features: Mapping[str, float]
    pnl_usd: float
    outcome: str

    @property
    def completed(self) -> bool:
        return self.outcome == "completed"


def training_row(execution: Execution, stored: Mapping[str, float] | None, pnl: Mapping[str, Decimal]) -> TrainingRow:
    """The row of one ended execution; ``TrainingSetError`` when its features were not stored or its P&L cannot
    be valued (a label with NaN is refused, not guessed)."""
    opportunity = execution.opportunity
    label = outcome_label(execution)
    if label is None:
        raise TrainingSetError(f"{opportunity.id}: execution has not ended ({execution.status.value})")
    if stored is None:
        raise TrainingSetError(f"{opportunity.id}: no features were stored when it was decided on")
    value = realised_usd(pnl, lambda asset: stored.get(REFERENCE_PREFIX + asset))
    if value is None or not math.isfinite(value):
        assets = ", ".join(sorted(a for a in pnl if stored.get(REFERENCE_PREFIX + a) is None)) or "a non-finite value"
        raise TrainingSetError(f"{opportunity.id}: label_pnl_usd is NaN (no USD rate for {assets})")
    features = model_inputs(stored)
    for name, feature in features.items():
        if not math.isfinite(feature):
            raise TrainingSetError(f"{opportunity.id}: feature {name!r} is {feature}, not a finite number")
    return TrainingRow(opportunity.id, opportunity.detected_at, features, value, label)


def check_rows(rows: Sequence[TrainingRow], min_rows: int) -> tuple[str, ...]:
    """The feature names every row has; ``TrainingSetError`` for too few rows or a row missing a feature."""
    if not rows:
        raise TrainingSetError("training set: no ended execution with stored features in the window")  # (see export)
    if len(rows) < min_rows:
        raise TrainingSetError(f"training set: {len(rows)} ended executions, fewer than the {min_rows} required")
    names = sorted(set().union(*(row.features for row in rows)))
    for row in rows:
        missing = [n for n in names if n not in row.features]
        if missing:
            raise TrainingSetError(f"{row.opportunity_id}: feature {missing[0]!r} is missing")
    return tuple(names)


def split_by_time(rows: Iterable[TrainingRow], holdout_fraction: float) -> tuple[list[TrainingRow], list[TrainingRow]]:
    """The earliest rows to train on and the latest to evaluate on (by decision time, ties by id: never
    shuffled, so the evaluation is on a later time window than anything trained on)."""
    ordered = sorted(rows, key=lambda r: (r.decided_at, r.opportunity_id))
    cut = len(ordered) - max(1, round(len(ordered) * holdout_fraction))
    return ordered[:cut], ordered[cut:]


def to_csv(rows: Sequence[TrainingRow], features: Sequence[str]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow([*KEY_COLUMNS, *LABEL_COLUMNS, *features])
    for row in rows:
        writer.writerow(
            [
                row.opportunity_id,
                row.decided_at,
                repr(row.pnl_usd),
                row.outcome,
                *(repr(row.features[f]) for f in features),
            ]
        )
    return out.getvalue()


def from_csv(text: str) -> list[TrainingRow]:
    """Rows written by ``to_csv`` (the held-out window, read back by the evaluation); every problem named."""
    reader = csv.DictReader(io.StringIO(text))
    header = list(reader.fieldnames or [])
    missing = [c for c in (*KEY_COLUMNS, *LABEL_COLUMNS) if c not in header]
    if missing:
        raise TrainingSetError(f"columns missing: {', '.join(missing)}")
    names = [c for c in header if c not in KEY_COLUMNS and c not in LABEL_COLUMNS]
    rows = []
    for line, raw in enumerate(reader, start=2):
        try:
            features = {n: float(raw[n]) for n in names}
            pnl = float(raw["label_pnl_usd"])
            decided = int(raw["decided_at"])
        except (TypeError, ValueError):
            raise TrainingSetError(f"line {line}: a value is not a number") from None
        if not math.isfinite(pnl):
            raise TrainingSetError(f"line {line}: label_pnl_usd is {pnl}")
        rows.append(TrainingRow(raw["opportunity_id"], decided, features, pnl, raw["label_outcome"]))
    return rows
