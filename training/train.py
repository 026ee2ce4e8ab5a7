"""Arbiter's training script, run by SageMaker in script mode in its own scikit-learn framework container (no
custom image), and in-process by the local runtime in the same layout:

    SM_CHANNEL_TRAIN   the training channel: train.csv, exported from the execution history
    SM_MODEL_DIR       where the model goes (SageMaker packs it as model.tar.gz under the job's output path)
    SM_OUTPUT_DIR      a failure's reason goes to its file ``failure`` (SageMaker shows it as FailureReason)

train.csv has one row per ended execution: ``opportunity_id``, ``decided_at`` (ms), the labels ``label_pnl_usd``
(realised P&L in USD) and ``label_outcome`` (completed, compensated or incident), and every other column is a
feature measured when the scanner decided on the opportunity.

It fits two HistGradientBoosting models (realised P&L; completed or not) and writes them as model.json, the small
tree document ``arbiter.scoring.trees`` scores without scikit-learn. The P&L model learns the shortfall, realised
P&L less ``expected_profit_usd`` when that feature is there, and names it as its offset: the prediction is the
expected profit plus the learnt shortfall (the detector already knows the first; what the history teaches is the
second). Only numpy and scikit-learn are needed here
(both in SageMaker's container); nothing of Arbiter is imported, so the script is the whole source directory."""

from __future__ import annotations

import argparse
import csv
import json
import math
import os
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

FORMAT = "arbiter-trees/1"
LABELS = ("label_pnl_usd", "label_outcome")
KEYS = ("opportunity_id", "decided_at")
OUTCOMES = ("completed", "compensated", "incident")
MIN_ROWS = 50
OFFSET_FEATURE = "expected_profit_usd"


class TrainingInputError(ValueError):
    """The training set cannot train a model; the message says why."""


def read_training_set(path: Path) -> tuple[list[str], np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(feature names, X, realised P&L, completed (0/1), decided_at) from a train.csv, every problem named."""
    if not path.is_file():
        raise TrainingInputError(f"{path.name}: no training set in the channel")
    with path.open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        header = list(reader.fieldnames or [])
        missing = [c for c in (*KEYS, *LABELS) if c not in header]
        if missing:
            raise TrainingInputError(f"{path.name}: columns missing: {', '.join(missing)}")
        features = [c for c in header if c not in KEYS and c not in LABELS]
        if not features:
            raise TrainingInputError(f"{path.name}: no feature columns")
        rows = list(reader)
    if not rows:
        raise TrainingInputError(f"{path.name}: the training set is empty")
    x = np.empty((len(rows), len(features)))
    pnl, completed, decided = np.empty(len(rows)), np.empty(len(rows)), np.empty(len(rows))
    for i, row in enumerate(rows, start=2):  # line numbers as an editor shows them (header is line 1)
        for j, name in enumerate(features):
            x[i - 2, j] = _number(row, name, i)
        pnl[i - 2] = _number(row, "label_pnl_usd", i)
        outcome = row.get("label_outcome")
        if outcome not in OUTCOMES:
            raise TrainingInputError(f"line {i}: label_outcome {outcome!r}, expected one of {', '.join(OUTCOMES)}")
        completed[i - 2] = float(outcome == "completed")
        decided[i - 2] = _number(row, "decided_at", i)
    return features, x, pnl, completed, decided


def _number(row: dict[str, str], name: str, line: int) -> float:
    raw = row.get(name)
    if raw is None or raw == "":
        raise TrainingInputError(f"line {line}: {name} is missing")
    try:
        value = float(raw)
    except ValueError:
        raise TrainingInputError(f"line {line}: {name} is {raw!r}, not a number") from None
    if not math.isfinite(value):
        raise TrainingInputError(f"line {line}: {name} is {raw}, not a finite number")
    return value


def fit(x: np.ndarray, pnl: np.ndarray, completed: np.ndarray, hyper: dict[str, Any]) -> tuple[Any, Any]:
    from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor

    common = {
        "max_iter": int(hyper["max_iter"]),
        "learning_rate": float(hyper["learning_rate"]),
        "max_depth": int(hyper["max_depth"]),
        "min_samples_leaf": int(hyper["min_samples_leaf"]),
        "l2_regularization": float(hyper["l2_regularization"]),
        "early_stopping": False,
        "random_state": int(hyper["seed"]),
    }
    regressor = HistGradientBoostingRegressor(loss="squared_error", **common).fit(x, pnl)
    if len(set(completed.tolist())) < 2:
        raise TrainingInputError("label_outcome: every execution has the same outcome; nothing to tell apart")
    classifier = HistGradientBoostingClassifier(**common).fit(x, completed)
    return regressor, classifier


def export_ensemble(estimator: Any, link: str, offset: str | None = None) -> dict[str, Any]:
    """scikit-learn's fitted predictors as the tree document's arrays (thresholds on raw values, the learning
    rate already applied to the leaves, NaN sent where the model learnt to send it); ``offset``: the feature the
    estimator's target was taken relative to, added back when scoring."""
    trees = []
    for iteration in estimator._predictors:  # one predictor per iteration (regression and binary)
        nodes = iteration[0].nodes
        leaf = nodes["is_leaf"].astype(bool)
        trees.append(
            {
                "feature": [-1 if leaf[i] else int(f) for i, f in enumerate(nodes["feature_idx"])],
                "threshold": [0.0 if leaf[i] else float(t) for i, t in enumerate(nodes["num_threshold"])],
                "missing_left": [bool(m) for m in nodes["missing_go_to_left"]],
                "left": [int(v) for v in nodes["left"]],
                "right": [int(v) for v in nodes["right"]],
                "value": [float(v) if leaf[i] else 0.0 for i, v in enumerate(nodes["value"])],
            }
        )
    baseline = float(np.ravel(estimator._baseline_prediction)[0])
    document: dict[str, Any] = {"link": link, "baseline": baseline, "trees": trees}
    if offset is not None:
        document["offset"] = offset
    return document


def train(channel: Path, model_dir: Path, hyper: dict[str, Any]) -> dict[str, Any]:
    started = time.perf_counter()
    features, x, pnl, completed, decided = read_training_set(channel / "train.csv")
    if len(x) < int(hyper["min_rows"]):
        raise TrainingInputError(f"train.csv: {len(x)} executions, fewer than the {hyper['min_rows']} required")
    offset = OFFSET_FEATURE if OFFSET_FEATURE in features else None
    target = pnl - x[:, features.index(OFFSET_FEATURE)] if offset is not None else pnl
    regressor, classifier = fit(x, target, completed, hyper)
    document = {
        "format": FORMAT,
        "features": features,
        "models": {
            "pnl_usd": export_ensemble(regressor, "identity", offset),
            "completed": export_ensemble(classifier, "logistic"),
        },
        "metadata": {
            "rows": len(x),
            "decided_from_ms": int(decided.min()),
            "decided_to_ms": int(decided.max()),
            "completed_share": float(completed.mean()),
            "hyperparameters": hyper,
            "train_seconds": round(time.perf_counter() - started, 3),
        },
    }
    model_dir.mkdir(parents=True, exist_ok=True)
    (model_dir / "model.json").write_text(json.dumps(document, separators=(",", ":")), encoding="utf-8")
    return document


def hyperparameters(argv: list[str]) -> dict[str, Any]:
    """SageMaker passes each hyperparameter as ``--name value``."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--max_iter", "--max-iter", type=int, default=150)
    parser.add_argument("--learning_rate", "--learning-rate", type=float, default=0.06)
    parser.add_argument("--max_depth", "--max-depth", type=int, default=5)
    parser.add_argument("--min_samples_leaf", "--min-samples-leaf", type=int, default=20)
    parser.add_argument("--l2_regularization", "--l2-regularization", type=float, default=1.0)
    parser.add_argument("--min_rows", "--min-rows", type=int, default=MIN_ROWS)
    parser.add_argument("--seed", type=int, default=0)
    known, _unknown = parser.parse_known_args(argv)  # SageMaker adds its own (sagemaker_program ...)
    return vars(known)


def main(argv: list[str] | None = None) -> int:
    channel = Path(os.environ.get("SM_CHANNEL_TRAIN", "/opt/ml/input/data/train"))
    model_dir = Path(os.environ.get("SM_MODEL_DIR", "/opt/ml/model"))
    output_dir = Path(os.environ.get("SM_OUTPUT_DIR", "/opt/ml/output"))
    try:
        train(channel, model_dir, hyperparameters(sys.argv[1:] if argv is None else argv))
    except TrainingInputError as error:
        output_dir.mkdir(parents=True, exist_ok=True)
        (output_dir / "failure").write_text(str(error), encoding="utf-8")
        print(f"training stopped: {error}", file=sys.stderr)  # noqa: T201 - the job's log
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
