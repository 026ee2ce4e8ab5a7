"""How a model is judged on the held-out window: realised P&L per started execution when the scanner starts only
what it expects to pay (against expected profit alone, which starts everything the detector found profitable),
and how well it tells completed executions from the rest (AUC, Brier score)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from arbiter.scoring.dataset import TrainingRow

MIN_STARTED_SHARE = 0.05
"""A selection that starts fewer than this share of the window (or 5 executions) proves nothing."""


@dataclass(frozen=True)
class WindowMetrics:
    rows: int
    started: int
    pnl_usd: float
    pnl_per_start_usd: float
    auc: float | None = None
    brier: float | None = None

    def as_dict(self) -> dict[str, float | int | None]:
        return {
            "rows": self.rows,
            "started": self.started,
            "pnl_usd": round(self.pnl_usd, 6),
            "pnl_per_start_usd": round(self.pnl_per_start_usd, 6),
            "auc": None if self.auc is None else round(self.auc, 6),
            "brier": None if self.brier is None else round(self.brier, 6),
        }


def selection_metrics(
    rows: Sequence[TrainingRow],
    predicted_pnl: Sequence[float] | None,
    completed_probability: Sequence[float] | None,
    min_predicted_pnl_usd: float,
) -> WindowMetrics:
    """``predicted_pnl`` None: expected profit alone (every row was started)."""
    if predicted_pnl is None:
        started = list(rows)
    else:
        started = [row for row, p in zip(rows, predicted_pnl, strict=True) if p > min_predicted_pnl_usd]
    total = sum(row.pnl_usd for row in started)
    auc = brier = None
    if completed_probability is not None:
        labels = [row.completed for row in rows]
        auc = roc_auc(labels, completed_probability)
        brier = sum((p - float(y)) ** 2 for p, y in zip(completed_probability, labels, strict=True)) / len(rows)
    return WindowMetrics(
        rows=len(rows),
        started=len(started),
        pnl_usd=total,
        pnl_per_start_usd=total / len(started) if started else 0.0,
        auc=auc,
        brier=brier,
    )


def roc_auc(labels: Sequence[bool], scores: Sequence[float]) -> float | None:
    """The chance that a random positive scores above a random negative (ties count half); None without both."""
    ranked = sorted(zip(scores, labels, strict=True), key=lambda pair: pair[0])
    positives = sum(1 for _, y in ranked if y)
    negatives = len(ranked) - positives
    if not positives or not negatives:
        return None
    rank_sum, i = 0.0, 0
    while i < len(ranked):
        j = i
        while j < len(ranked) and ranked[j][0] == ranked[i][0]:
            j += 1
        mean_rank = (i + j + 1) / 2  # 1-based ranks i+1 .. j share their mean
        rank_sum += mean_rank * sum(1 for _, y in ranked[i:j] if y)
        i = j
    return (rank_sum - positives * (positives + 1) / 2) / (positives * negatives)


@dataclass(frozen=True)
class Verdict:
    promote: bool
    reason: str


def judge(candidate: WindowMetrics, live: WindowMetrics, live_name: str, margin_usd: float) -> Verdict:
    """Promote only a candidate that beats the live model (or expected profit) by ``margin_usd`` per started
    execution, having started enough of the window to show it."""
    enough = max(5, round(MIN_STARTED_SHARE * candidate.rows))
    if candidate.started < enough:
        return Verdict(False, f"the candidate started {candidate.started} of {candidate.rows}, fewer than {enough}")
    gain = candidate.pnl_per_start_usd - live.pnl_per_start_usd
    if gain <= margin_usd:
        return Verdict(
            False,
            f"the candidate earns {candidate.pnl_per_start_usd:.4f} USD per start against {live_name}'s "
            f"{live.pnl_per_start_usd:.4f}: not better by the margin of {margin_usd} USD",
        )
    return Verdict(
        True,
        f"the candidate earns {candidate.pnl_per_start_usd:.4f} USD per start against {live_name}'s "
        f"{live.pnl_per_start_usd:.4f} (margin {margin_usd} USD)",
    )
