"""The scoring model, trained and judged on a simulated history (``arbiter.local.history``): the seeded market,
the detector, the scanner's features at decision time, every candidate through the real saga on paper venues
whose faults and latencies differ (the model never sees them, only what ended executions show).

The history's first ``ARBITER_BENCH_ML_TRAIN_TICKS`` ticks (default 200) are retrained on through the real
pipeline (``statemachines/retrain.asl.json`` on the local runtime, the training script in script mode); the
next ``ARBITER_BENCH_ML_EVAL_TICKS`` (default 100), a later window the model never saw, judge it. Each tick
carries up to ``ARBITER_BENCH_ML_CANDIDATES_PER_TICK`` (default 4) candidates, every one through the saga:

ml.pnl_lift_pct: realised P&L per started execution when each tick starts the one candidate the model ranks
first (and none when it expects a loss), against the one expected profit ranks first, same candidates, same
budget (one start per tick), in percent of the latter (target >= 20). ml.auc / ml.brier: how well the model tells
completed executions from compensated ones and incidents on that window. ml.train_s: the training job's wall
time. ml.score_us: median time to score one candidate, as the scanner does a tick's (inputs, matrix, trees).
ml.eval_rows: ended executions in the judged window (the figures' sample size). For context, on the same ticks:
ml.pnl_lift_fill_x_profit_pct ranks by the model's completion probability times expected profit instead, and
ml.pnl_lift_hindsight_pct is the most any ranking could gain (each tick's best realised P&L, known afterwards):
the ceiling ml.pnl_lift_pct is measured against."""

from __future__ import annotations

import os
import statistics
import time
from collections import defaultdict

from arbiter.local.history import Candidate, SimulatedHistory
from arbiter.local.retraining import LocalRetraining, local_scoring_settings
from arbiter.scoring.dataset import model_inputs
from arbiter.scoring.evaluation import roc_auc
from arbiter.scoring.scorer import LiveModelScorer
from arbiter.scoring.trees import TreeModel
from benchmarks.figures import Figure


def _per_start(picks: list[Candidate]) -> float:
    return sum(c.pnl_usd for c in picks) / len(picks) if picks else 0.0


def _by_tick(candidates: list[Candidate]) -> list[list[Candidate]]:
    by_tick: dict[int, list[Candidate]] = defaultdict(list)
    for candidate in candidates:
        if candidate.outcome is not None:  # refused by Prepare: neither selection could have traded it
            by_tick[candidate.tick].append(candidate)
    return [by_tick[tick] for tick in sorted(by_tick)]


def _percent(scored: float, baseline: float) -> float:
    return (scored - baseline) / abs(baseline) * 100 if baseline else 0.0


def lift(candidates: list[Candidate], model: TreeModel) -> tuple[float, float, float, int, int]:
    """(lift %, model's P&L per start, expected profit's, model's starts, expected profit's starts): the scanner's
    policy, the best predicted realised P&L if it is positive."""
    by_profit, by_model = [], []
    for group in _by_tick(candidates):
        by_profit.append(max(group, key=lambda c: c.features["expected_profit_usd"]))
        predicted = model.pnl.predict(model.matrix([model_inputs(c.features) for c in group]))
        best = int(predicted.argmax())
        if predicted[best] > 0:
            by_model.append(group[best])
    baseline, scored = _per_start(by_profit), _per_start(by_model)
    return _percent(scored, baseline), scored, baseline, len(by_model), len(by_profit)


def context_lifts(candidates: list[Candidate], model: TreeModel) -> tuple[float, float]:
    """On the same ticks: ranking by completion probability x expected profit (the other reading of the issue),
    and the best any ranking could do (hindsight: each tick's best realised P&L, or none when all lose)."""
    groups = _by_tick(candidates)
    by_profit = [max(g, key=lambda c: c.features["expected_profit_usd"]) for g in groups]
    by_fill, hindsight = [], []
    for group in groups:
        completed = model.completed.predict(model.matrix([model_inputs(c.features) for c in group]))
        scores = [p * c.features["expected_profit_usd"] for p, c in zip(completed, group, strict=True)]
        by_fill.append(group[max(range(len(group)), key=scores.__getitem__)])
        best = max(group, key=lambda c: c.pnl_usd)
        if best.pnl_usd > 0:
            hindsight.append(best)
    baseline = _per_start(by_profit)
    return _percent(_per_start(by_fill), baseline), _percent(_per_start(hindsight), baseline)


def run() -> list[Figure]:
    train_ticks = int(os.environ.get("ARBITER_BENCH_ML_TRAIN_TICKS", "200"))
    eval_ticks = int(os.environ.get("ARBITER_BENCH_ML_EVAL_TICKS", "100"))
    per_tick = int(os.environ.get("ARBITER_BENCH_ML_CANDIDATES_PER_TICK", "4"))
    settings = local_scoring_settings(min_training_rows=60, holdout_fraction=0.25)
    with SimulatedHistory(candidates_per_tick=per_tick) as history:
        history.run(train_ticks)
        with LocalRetraining(history.platform.aws, history.clock, settings) as retraining:
            report = retraining.run(timeout_s=1800)
            record = retraining.registry.record(_version(retraining, report.run))
            model = retraining.registry.load(record)
        judged = history.run(eval_ticks)
    ended = [c for c in judged if c.outcome is not None]
    percent, scored, baseline, model_starts, profit_starts = lift(judged, model)
    fill_percent, hindsight_percent = context_lifts(judged, model)
    predicted = model.predict([model_inputs(c.features) for c in ended])
    completed = [c.outcome == "completed" for c in ended]
    auc = roc_auc(completed, predicted.completed.tolist())
    brier = sum((p - float(y)) ** 2 for p, y in zip(predicted.completed, completed, strict=True)) / len(ended)
    scorer = LiveModelScorer(lambda: ("bench", model), history.clock, 60_000)
    ticks: dict[int, list[Candidate]] = defaultdict(list)
    for candidate in judged:
        ticks[candidate.tick].append(candidate)
    per_candidate = []
    for _ in range(20):
        for group in ticks.values():
            features = [c.features for c in group]
            started = time.perf_counter()
            scorer.score(features)
            per_candidate.append((time.perf_counter() - started) / len(group) * 1e6)
    print(
        f"# ml: {report.describe()}; judged {len(ended)} ended executions over {eval_ticks} ticks: "
        f"model {scored:.4f} USD per start ({model_starts} starts), expected profit {baseline:.4f} ({profit_starts})",
        flush=True,
    )
    return [
        Figure("ml.pnl_lift_pct", percent, "%"),
        Figure("ml.auc", auc if auc is not None else float("nan"), "ratio"),
        Figure("ml.brier", brier, "ratio"),
        Figure("ml.train_s", report.training_seconds or float("nan"), "s"),
        Figure("ml.score_us", statistics.median(per_candidate), "us"),
        Figure("ml.eval_rows", len(ended), "count"),
        Figure("ml.pnl_lift_fill_x_profit_pct", fill_percent, "%"),
        Figure("ml.pnl_lift_hindsight_pct", hindsight_percent, "%"),
    ]


def _version(retraining: LocalRetraining, run: str) -> str:
    """The candidate this run trained (promoted or not: the benchmark judges it either way)."""
    from arbiter.scoring.retraining import training_job_name

    return training_job_name(run)
