"""The scoring model's artifact and its evaluator: gradient-boosted trees exported to a small JSON document
(``training/train.py`` writes it from scikit-learn's HistGradientBoosting models) and scored here with numpy.

Why not ship the training library: LightGBM, XGBoost or scikit-learn would add tens of MB (scikit-learn with
scipy: more than 100 MB) beside ccxt in a layer already near half of Lambda's 250 MB, and seconds of cold import
for what, at prediction time, is a walk down a few hundred small trees. The trees as arrays, walked for every
candidate and every tree at once (one numpy step per tree level), cost numpy only, which the scanner already
loads for detection: no new dependency, nothing to import, and a tick's candidates are scored in microseconds.

The document (``FORMAT``)::

    {"format": "arbiter-trees/1",
     "features": ["expected_profit_usd", ...],           # the input columns, in this order
     "models": {"pnl_usd": {"link": "identity", "baseline": 0.12, "trees": [TREE, ...]},
                "completed": {"link": "logistic", "baseline": -0.4, "trees": [...]}},
     "metadata": {...}}                                 # what the trainer wants to say (data range, metrics)

    TREE = {"feature": [...], "threshold": [...], "missing_left": [...], "left": [...], "right": [...],
            "value": [...]}

Node 0 is the root; a leaf has feature -1 and its value; an inner node sends ``x[feature] <= threshold`` left,
a missing (NaN) value to ``missing_left``'s side. A prediction is ``baseline + sum(leaf values)`` through the
link (the learning rate is already in the leaf values, as scikit-learn stores them). An identity ensemble may name
an ``"offset"`` feature whose value is added to its sum: the P&L model learns the shortfall, realised P&L less the
expected profit (``"offset": "expected_profit_usd"``), which trees learn from a few hundred executions far better
than P&L itself, a near-identity of expected profit that piecewise-constant trees approximate only coarsely."""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

FORMAT = "arbiter-trees/1"
PNL_MODEL = "pnl_usd"
"""Predicts the realised P&L of an execution in USD."""
COMPLETED_MODEL = "completed"
"""Predicts the probability that an execution completes (settles) without compensation or incident."""
LINKS = ("identity", "logistic")
MAX_DEPTH = 64

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


class ModelLoadError(ValueError):
    """A model artifact that cannot be used; the message names the field and the problem."""


class ModelInputError(ValueError):
    """Opportunities that cannot be scored (a feature missing or not finite); the message names it."""


@dataclass(frozen=True)
class Ensemble:
    """One boosted ensemble as padded arrays (trees x nodes): leaves point at themselves, so walking every tree
    ``depth`` steps lands each sample on its leaf whatever the tree's own depth."""

    link: str
    baseline: float
    feature: IntArray
    threshold: FloatArray
    missing_left: npt.NDArray[np.bool_]
    left: IntArray
    right: IntArray
    value: FloatArray
    depth: int
    offset: int | None = None
    """The input column added to the sum (identity link only), or None."""

    @property
    def trees(self) -> int:
        return int(self.feature.shape[0])

    def raw(self, x: FloatArray) -> FloatArray:
        """Sum of the leaves reached plus the baseline, before the link, for each row of ``x``."""
        n, width = x.shape[0], self.feature.shape[1]
        offset: FloatArray | float = x[:, self.offset] if self.offset is not None and n else 0.0
        if self.trees == 0 or n == 0:
            return np.full(n, self.baseline) + offset
        # Flat indexes (tree * width + node) into the raveled arrays: one gather per array and level.
        feature, threshold = self.feature.ravel(), self.threshold.ravel()
        missing_left, left, right = self.missing_left.ravel(), self.left.ravel(), self.right.ravel()
        offsets = np.arange(self.trees, dtype=np.int64) * width
        at = np.broadcast_to(offsets, (n, self.trees)).copy()
        flat_x = np.ascontiguousarray(x).ravel()
        row_start = (np.arange(n, dtype=np.int64) * x.shape[1])[:, None]
        for _ in range(self.depth):
            values = flat_x[row_start + np.maximum(feature[at], 0)]
            go_left = np.where(np.isnan(values), missing_left[at], values <= threshold[at])
            at = offsets + np.where(go_left, left[at], right[at])
        summed: FloatArray = self.value.ravel()[at].sum(axis=1)
        return self.baseline + summed + offset

    def predict(self, x: FloatArray) -> FloatArray:
        raw = self.raw(x)
        if self.link == "logistic":
            return 1.0 / (1.0 + np.exp(-raw))
        return raw


@dataclass(frozen=True)
class Predictions:
    pnl_usd: FloatArray
    completed: FloatArray


@dataclass(frozen=True)
class TreeModel:
    """A loaded artifact: the features it reads, in order, and its two ensembles."""

    features: tuple[str, ...]
    pnl: Ensemble
    completed: Ensemble
    metadata: Mapping[str, Any]

    def matrix(self, rows: Sequence[Mapping[str, float]]) -> FloatArray:
        """The rows as the model's input matrix. A feature missing from a row, or not a finite number, raises
        ``ModelInputError`` naming the row and the feature: a model never guesses what was not measured."""
        x = np.empty((len(rows), len(self.features)))
        for i, row in enumerate(rows):
            for j, name in enumerate(self.features):
                value = row.get(name)
                if value is None:
                    raise ModelInputError(f"opportunity {i}: feature {name!r} is missing")
                if not isinstance(value, int | float) or not math.isfinite(value):
                    raise ModelInputError(f"opportunity {i}: feature {name!r} is {value!r}, not a finite number")
                x[i, j] = value
        return x

    def predict(self, rows: Sequence[Mapping[str, float]]) -> Predictions:
        x = self.matrix(rows)
        return Predictions(pnl_usd=self.pnl.predict(x), completed=self.completed.predict(x))

    def predict_matrix(self, x: FloatArray) -> Predictions:
        return Predictions(pnl_usd=self.pnl.predict(x), completed=self.completed.predict(x))


def load_model(document: bytes | str | Mapping[str, Any]) -> TreeModel:
    """Parse and check an artifact; ``ModelLoadError`` names what is wrong."""
    if isinstance(document, bytes | str):
        try:
            parsed = json.loads(document)
        except (ValueError, UnicodeDecodeError) as error:
            raise ModelLoadError(f"model: not JSON ({error})") from None
    else:
        parsed = document
    if not isinstance(parsed, Mapping):
        raise ModelLoadError("model: not a JSON object")
    if parsed.get("format") != FORMAT:
        raise ModelLoadError(f"format: {parsed.get('format')!r}, expected {FORMAT!r}")
    features = parsed.get("features")
    if not isinstance(features, list) or not features or not all(isinstance(f, str) and f for f in features):
        raise ModelLoadError("features: must be a non-empty list of names")
    if len(set(features)) != len(features):
        raise ModelLoadError("features: names repeat")
    models = parsed.get("models")
    if not isinstance(models, Mapping):
        raise ModelLoadError("models: missing")
    ensembles = {name: _ensemble(f"models.{name}", models.get(name), features) for name in (PNL_MODEL, COMPLETED_MODEL)}
    metadata = parsed.get("metadata", {})
    return TreeModel(
        features=tuple(features),
        pnl=ensembles[PNL_MODEL],
        completed=ensembles[COMPLETED_MODEL],
        metadata=metadata if isinstance(metadata, Mapping) else {},
    )


def _ensemble(where: str, raw: Any, features: Sequence[str]) -> Ensemble:
    if not isinstance(raw, Mapping):
        raise ModelLoadError(f"{where}: missing")
    n_features = len(features)
    link = raw.get("link")
    if link not in LINKS:
        raise ModelLoadError(f"{where}.link: {link!r}, expected one of {', '.join(LINKS)}")
    offset_name = raw.get("offset")
    if offset_name is not None and (link != "identity" or offset_name not in features):
        raise ModelLoadError(f"{where}.offset: {offset_name!r}, must be a listed feature of an identity ensemble")
    offset = features.index(offset_name) if offset_name is not None else None
    baseline = raw.get("baseline")
    if not isinstance(baseline, int | float) or not math.isfinite(baseline):
        raise ModelLoadError(f"{where}.baseline: must be a finite number")
    trees = raw.get("trees")
    if not isinstance(trees, list):
        raise ModelLoadError(f"{where}.trees: must be a list")
    width = max((len(t.get("feature", [])) for t in trees if isinstance(t, Mapping)), default=1)
    shape = (len(trees), max(width, 1))
    feature = np.full(shape, -1, dtype=np.int64)
    threshold = np.zeros(shape)
    missing_left = np.zeros(shape, dtype=np.bool_)
    left = np.zeros(shape, dtype=np.int64)
    right = np.zeros(shape, dtype=np.int64)
    value = np.zeros(shape)
    depth = 0
    for t, tree in enumerate(trees):
        at = f"{where}.trees[{t}]"
        columns = _tree_columns(at, tree)
        n = len(columns["feature"])
        f = np.asarray(columns["feature"], dtype=np.int64)
        lo, hi = np.asarray(columns["left"], dtype=np.int64), np.asarray(columns["right"], dtype=np.int64)
        leaf = f < 0
        if (f >= n_features).any():
            raise ModelLoadError(f"{at}.feature: refers to a feature beyond the {n_features} listed")
        inner = ~leaf
        if ((lo[inner] <= np.arange(n)[inner]) | (hi[inner] <= np.arange(n)[inner])).any() or (
            (lo[inner] >= n) | (hi[inner] >= n)
        ).any():
            raise ModelLoadError(f"{at}: a child must come after its parent, within the tree")
        values = np.asarray(columns["value"], dtype=np.float64)
        thresholds = np.asarray(columns["threshold"], dtype=np.float64)
        if not np.isfinite(values[leaf]).all():
            raise ModelLoadError(f"{at}.value: a leaf value is not finite")
        if np.isnan(thresholds[inner]).any():
            raise ModelLoadError(f"{at}.threshold: NaN")
        feature[t, :n] = f
        threshold[t, :n] = thresholds
        missing_left[t, :n] = np.asarray(columns["missing_left"], dtype=np.bool_)
        left[t, :n] = np.where(leaf, np.arange(n), lo)
        right[t, :n] = np.where(leaf, np.arange(n), hi)
        value[t, :n] = np.where(leaf, values, 0.0)
        left[t, n:] = right[t, n:] = np.arange(n, shape[1])
        depth = max(depth, _depth(lo, hi, leaf))
    return Ensemble(str(link), float(baseline), feature, threshold, missing_left, left, right, value, depth, offset)


def _tree_columns(at: str, tree: Any) -> dict[str, list[Any]]:
    if not isinstance(tree, Mapping):
        raise ModelLoadError(f"{at}: not an object")
    names = ("feature", "threshold", "missing_left", "left", "right", "value")
    columns: dict[str, list[Any]] = {}
    for name in names:
        column = tree.get(name)
        if not isinstance(column, list) or not column:
            raise ModelLoadError(f"{at}.{name}: must be a non-empty list")
        columns[name] = column
    if len({len(c) for c in columns.values()}) != 1:
        raise ModelLoadError(f"{at}: columns of different lengths")
    try:
        for name in ("feature", "left", "right"):
            if not all(isinstance(v, int) and not isinstance(v, bool) for v in columns[name]):
                raise ModelLoadError(f"{at}.{name}: must hold integers")
        for name in ("threshold", "value"):
            if not all(isinstance(v, int | float) and not isinstance(v, bool) for v in columns[name]):
                raise ModelLoadError(f"{at}.{name}: must hold numbers")
    except TypeError:
        raise ModelLoadError(f"{at}: malformed") from None
    return columns


def _depth(left: IntArray, right: IntArray, leaf: npt.NDArray[np.bool_]) -> int:
    depth = np.zeros(len(left), dtype=np.int64)
    for node in range(len(left)):  # children come after parents: one pass in order
        if not leaf[node]:
            depth[left[node]] = depth[right[node]] = depth[node] + 1
    deepest = int(depth.max())
    if deepest > MAX_DEPTH:
        raise ModelLoadError(f"tree deeper than {MAX_DEPTH}")
    return deepest
