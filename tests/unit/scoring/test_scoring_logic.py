"""The scoring package's logic without AWS: the training set's rows and their refusals, the time-ordered split,
the evaluation's measures and verdict, and the scanner's scorer falling back to expected profit."""

from __future__ import annotations

import math
import random
from decimal import Decimal

import pytest

from arbiter.models import Execution, ExecutionStatus
from arbiter.models.time import ManualClock
from arbiter.scoring.dataset import TrainingRow, TrainingSetError, check_rows, split_by_time, training_row
from arbiter.scoring.evaluation import judge, roc_auc, selection_metrics
from arbiter.scoring.scorer import ExpectedProfitScorer, LiveModelScorer
from arbiter.scoring.trees import FORMAT, load_model
from tests.support.scoring_history import opportunity

pytestmark = pytest.mark.unit


def _execution(status: ExecutionStatus, at: int = 1_000) -> Execution:
    opp = opportunity(1, at, "beta")
    return Execution(execution_id=opp.id, opportunity=opp, status=status, created_at=at, updated_at=at)


def test_a_row_takes_the_stored_features_and_values_the_pnl_at_decision_time() -> None:
    row = training_row(
        _execution(ExecutionStatus.COMPENSATED),
        {"spread_bps": 2.0, "ref_usd_USDT": 1.0, "ref_usd_SOL": 150.0},
        {"USDT": Decimal("-3"), "SOL": Decimal("0.01")},
    )
    assert row.features == {"spread_bps": 2.0}  # the valuations are not model inputs
    assert row.pnl_usd == pytest.approx(-1.5)
    assert row.outcome == "compensated"


@pytest.mark.parametrize(
    ("status", "stored", "pnl", "message"),
    [
        (ExecutionStatus.SETTLED, None, {}, "no features were stored"),
        (ExecutionStatus.SETTLED, {"a": 1.0}, {"BTC": Decimal(1)}, "label_pnl_usd is NaN \\(no USD rate for BTC\\)"),
        (ExecutionStatus.SETTLED, {"a": math.inf, "ref_usd_USDT": 1.0}, {}, "feature 'a' is inf"),
        (ExecutionStatus.PLACING, {"a": 1.0}, {}, "has not ended \\(placing\\)"),
    ],
)
def test_a_row_that_cannot_be_labelled_is_refused(
    status: ExecutionStatus, stored: dict[str, float] | None, pnl: dict[str, Decimal], message: str
) -> None:
    with pytest.raises(TrainingSetError, match=message):
        training_row(_execution(status), stored, pnl)


def _rows(count: int) -> list[TrainingRow]:
    return [TrainingRow(f"o{i}", 1_000 * (count - i), {"a": float(i)}, 1.0, "completed") for i in range(count)]


def test_too_few_rows_and_a_missing_feature_stop_the_training_set() -> None:
    with pytest.raises(TrainingSetError, match="no ended execution"):
        check_rows([], 10)
    with pytest.raises(TrainingSetError, match="3 ended executions, fewer than the 10 required"):
        check_rows(_rows(3), 10)
    rows = [*_rows(12), TrainingRow("odd", 5, {"b": 1.0}, 1.0, "completed")]
    with pytest.raises(TrainingSetError, match="o0: feature 'b' is missing"):  # every name any row has
        check_rows(rows, 10)


def test_the_held_out_window_is_the_latest_never_shuffled() -> None:
    train, holdout = split_by_time(_rows(20), 0.25)
    assert len(holdout) == 5
    assert max(r.decided_at for r in train) < min(r.decided_at for r in holdout)
    assert [r.decided_at for r in train] == sorted(r.decided_at for r in train)


def test_auc_matches_the_rank_definition_with_ties() -> None:
    rng = random.Random(5)
    labels = [rng.random() < 0.4 for _ in range(200)]
    scores = [round(rng.random() + 0.5 * y, 1) for y in labels]  # rounded: many ties
    positives = [s for s, y in zip(scores, labels, strict=True) if y]
    negatives = [s for s, y in zip(scores, labels, strict=True) if not y]
    pairs = [(s1 > s0) + 0.5 * (s1 == s0) for s1 in positives for s0 in negatives]
    assert roc_auc(labels, scores) == pytest.approx(sum(pairs) / len(pairs))
    assert roc_auc([True, True], [0.1, 0.2]) is None


def test_selection_and_verdict() -> None:
    rows = [
        TrainingRow(f"o{i}", i, {}, pnl, "completed" if pnl > 0 else "compensated")
        for i, pnl in enumerate([2, -4, 3, -1] * 5)
    ]
    by_profit = selection_metrics(rows, None, None, 0.0)
    assert by_profit.started == 20
    assert by_profit.pnl_per_start_usd == pytest.approx(0.0)
    by_model = selection_metrics(
        rows, [1 if r.pnl_usd > 0 else -1 for r in rows], [0.9 if r.pnl_usd > 0 else 0.1 for r in rows], 0.0
    )
    assert by_model.started == 10
    assert by_model.pnl_per_start_usd == pytest.approx(2.5)
    assert by_model.auc == 1.0
    assert by_model.brier == pytest.approx(0.01)
    assert judge(by_model, by_profit, "expected profit", 0.1).promote
    verdict = judge(by_profit, by_model, "live model m1", 0.1)
    assert not verdict.promote
    assert "not better by the margin" in verdict.reason


def _constant_model(value: float) -> dict[str, object]:
    leaf = {"feature": [-1], "threshold": [0.0], "missing_left": [False], "left": [0], "right": [0], "value": [value]}
    return {
        "format": FORMAT,
        "features": ["a"],
        "models": {
            "pnl_usd": {"link": "identity", "baseline": 0.0, "trees": [leaf]},
            "completed": {"link": "logistic", "baseline": 0.0, "trees": []},
        },
    }


def test_the_scorer_falls_back_to_expected_profit_and_says_why() -> None:
    clock = ManualClock(0)
    assert ExpectedProfitScorer().score([{"a": 1.0}]) is None

    def broken() -> None:
        raise ValueError("artifact s3://models/m1: NoSuchKey")

    failing = LiveModelScorer(broken, clock, 1_000)  # type: ignore[arg-type]
    assert failing.score([{"a": 1.0}]) is None
    assert (
        failing.status().describe()
        == "by expected profit (the live model cannot be loaded: artifact s3://models/m1: NoSuchKey)"
    )

    none = LiveModelScorer(lambda: None, clock, 1_000)
    assert none.status().reason == "no model promoted"

    live = LiveModelScorer(lambda: ("m2", load_model(_constant_model(1.5))), clock, 1_000)
    assert live.score([{"a": 1.0, "ref_usd_USDT": 1.0}]) == [1.5]
    assert live.status().describe() == "by model m2"
    assert live.score([{"b": 1.0}]) is None  # a candidate the model cannot score: this tick by expected profit
    assert "model m2 cannot score: opportunity 0: feature 'a' is missing" in live.status().reason
