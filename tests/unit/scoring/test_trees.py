"""The tree artifact: what the training script exports scores exactly as scikit-learn's models predict, with
numpy only; a malformed artifact or an unscorable opportunity is refused with the field named."""

from __future__ import annotations

import importlib.util
import json
import math
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np
import pytest

from arbiter.scoring.trees import FORMAT, ModelInputError, ModelLoadError, load_model
from tests.conftest import REPO_ROOT

pytestmark = pytest.mark.unit
pytest.importorskip("sklearn")


def _train_module() -> ModuleType:
    spec = importlib.util.spec_from_file_location("arbiter_training_script", REPO_ROOT / "training" / "train.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def trained() -> tuple[Any, Any, Any, np.ndarray, dict[str, Any]]:
    train = _train_module()
    rng = np.random.default_rng(4)
    x = rng.normal(size=(1500, 6))
    x[rng.random(x.shape) < 0.05] = np.nan  # the exported trees send NaN where scikit-learn learnt to
    pnl = 2 * np.nan_to_num(x[:, 0]) - np.abs(np.nan_to_num(x[:, 1])) + rng.normal(size=1500) * 0.1
    completed = (np.nan_to_num(x[:, 2]) + rng.normal(size=1500) * 0.3 > 0).astype(float)
    regressor, classifier = train.fit(x, pnl, completed, train.hyperparameters([]))
    document = {
        "format": FORMAT,
        "features": [f"f{i}" for i in range(6)],
        "models": {
            "pnl_usd": train.export_ensemble(regressor, "identity"),
            "completed": train.export_ensemble(classifier, "logistic"),
        },
    }
    return train, regressor, classifier, x, document


def test_exported_trees_predict_what_scikit_learn_predicts(trained: tuple[Any, ...]) -> None:
    _, regressor, classifier, x, document = trained
    model = load_model(json.dumps(document))
    predicted = model.predict_matrix(x)
    np.testing.assert_allclose(predicted.pnl_usd, regressor.predict(x), rtol=0, atol=1e-9)
    np.testing.assert_allclose(predicted.completed, classifier.predict_proba(x)[:, 1], rtol=0, atol=1e-9)


def test_an_offset_feature_is_added_to_the_ensembles_sum(trained: tuple[Any, ...]) -> None:
    _, regressor, _, x, document = trained
    with_offset = json.loads(json.dumps(document))
    with_offset["models"]["pnl_usd"]["offset"] = "f4"
    predicted = load_model(with_offset).predict_matrix(x).pnl_usd
    np.testing.assert_allclose(predicted, regressor.predict(x) + x[:, 4], rtol=0, atol=1e-9)  # NaN where f4 is


def test_the_training_script_learns_the_shortfall_from_expected_profit(tmp_path: Path) -> None:
    train = _train_module()
    rng = np.random.default_rng(5)
    expected = rng.uniform(0, 10, 400)
    slow_venue = rng.random(400) < 0.4
    pnl = np.where(slow_venue, -5.0, expected) + rng.normal(size=400) * 0.1  # the slow venue's edges are gone
    channel = tmp_path / "train"
    channel.mkdir()
    lines = ["opportunity_id,decided_at,label_pnl_usd,label_outcome,expected_profit_usd,slow"]
    for i in range(400):
        outcome = "compensated" if slow_venue[i] else "completed"
        lines.append(f"o{i},{i},{float(pnl[i])!r},{outcome},{float(expected[i])!r},{float(slow_venue[i])}")
    (channel / "train.csv").write_text("\n".join(lines) + "\n")
    document = train.train(channel, tmp_path / "model", train.hyperparameters([]))
    assert document["models"]["pnl_usd"]["offset"] == "expected_profit_usd"
    model = load_model(document)
    rows = [{"expected_profit_usd": e, "slow": s} for e in (1.0, 4.0, 9.0) for s in (0.0, 1.0)]
    predicted = model.predict(rows).pnl_usd
    np.testing.assert_allclose(predicted[0::2], [1.0, 4.0, 9.0], atol=0.5)  # a fast venue: the expected profit
    np.testing.assert_allclose(predicted[1::2], [-5.0, -5.0, -5.0], atol=0.8)  # a slow one: the loss


def test_rows_are_read_by_feature_name(trained: tuple[Any, ...]) -> None:
    _, regressor, _, x, document = trained
    model = load_model(document)
    rows = [
        {f"f{j}": float(x[i, j]) for j in reversed(range(6))} | {"unused": 1.0}
        for i in range(3)
        if not np.isnan(x[i]).any()
    ]
    expected = regressor.predict(np.array([[row[f"f{j}"] for j in range(6)] for row in rows]))
    np.testing.assert_allclose(model.predict(rows).pnl_usd, expected, atol=1e-9)


@pytest.mark.parametrize(
    ("row", "message"),
    [
        ({"f0": 1.0}, "opportunity 0: feature 'f1' is missing"),
        (
            {f"f{j}": 1.0 for j in range(6)} | {"f3": math.nan},
            "opportunity 0: feature 'f3' is nan, not a finite number",
        ),
    ],
)
def test_an_unscorable_opportunity_is_named(trained: tuple[Any, ...], row: dict[str, float], message: str) -> None:
    model = load_model(trained[4])
    with pytest.raises(ModelInputError, match=message):
        model.predict([row])


def _broken(document: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    copy = json.loads(json.dumps(document))
    target = copy
    *parents, last = path.split(".")
    for part in parents:
        target = target[int(part)] if part.isdigit() else target[part]
    target[int(last) if last.isdigit() else last] = value
    return copy


@pytest.mark.parametrize(
    ("path", "value", "message"),
    [
        ("format", "xgboost", "format: 'xgboost', expected 'arbiter-trees/1'"),
        ("features", [], "features: must be a non-empty list"),
        ("models.pnl_usd.link", "softmax", "models.pnl_usd.link: 'softmax'"),
        ("models.completed.baseline", None, "models.completed.baseline: must be a finite number"),
        ("models.pnl_usd.trees.0.feature.0", 99, r"models.pnl_usd.trees\[0\].feature: refers to a feature beyond"),
        ("models.pnl_usd.trees.0.left", [0], r"models.pnl_usd.trees\[0\]: columns of different lengths"),
        ("models.pnl_usd.trees.0.left.0", 0, r"models.pnl_usd.trees\[0\]: a child must come after its parent"),
        ("models.pnl_usd.offset", "f9", "models.pnl_usd.offset: 'f9', must be a listed feature"),
        ("models.completed.offset", "f0", "models.completed.offset: 'f0', must be a listed feature of an identity"),
    ],
)
def test_a_malformed_artifact_is_refused_naming_the_field(
    trained: tuple[Any, ...], path: str, value: Any, message: str
) -> None:
    with pytest.raises(ModelLoadError, match=message):
        load_model(_broken(trained[4], path, value))


def test_not_json_is_refused() -> None:
    with pytest.raises(ModelLoadError, match="model: not JSON"):
        load_model(b"\x1f\x8b not a model")


def test_the_training_script_refuses_bad_input(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    train = _train_module()
    channel, output = tmp_path / "train", tmp_path / "output"
    channel.mkdir()
    for variable, path in (
        ("SM_CHANNEL_TRAIN", channel),
        ("SM_MODEL_DIR", tmp_path / "model"),
        ("SM_OUTPUT_DIR", output),
    ):
        monkeypatch.setenv(variable, str(path))
    header = "opportunity_id,decided_at,label_pnl_usd,label_outcome,f0\n"
    (channel / "train.csv").write_text(header + "a,1,nan,completed,1.0\n", encoding="utf-8")
    assert train.main([]) == 1
    assert (output / "failure").read_text(encoding="utf-8") == "line 2: label_pnl_usd is nan, not a finite number"
    (channel / "train.csv").write_text(header, encoding="utf-8")
    assert train.main([]) == 1
    assert (output / "failure").read_text(encoding="utf-8") == "train.csv: the training set is empty"
    (channel / "train.csv").write_text(header + "a,1,0.5,settled,1.0\n", encoding="utf-8")
    assert train.main([]) == 1
    assert "label_outcome 'settled'" in (output / "failure").read_text(encoding="utf-8")
