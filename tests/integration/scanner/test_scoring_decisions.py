"""The scanner with a scoring model: candidates ranked by the live model's predicted P&L and those it expects to
lose on refused; the prediction travels with the execution (the drift metric compares it with the outcome); the
features stored are the issue's list; and a model that cannot load leaves the scanner on expected profit, saying
so."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator

import pytest

from arbiter.local.scanning import LocalScanning
from arbiter.scanner import ShardScanner
from arbiter.scanner.scanner import PREDICTED_LOSS
from arbiter.scoring.scorer import LiveModelScorer
from arbiter.scoring.trees import FORMAT, load_model
from tests.integration.scanner.test_decisions import SETTINGS, scanner_of, started_opportunity, ticks

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def local() -> Iterator[LocalScanning]:
    with LocalScanning(SETTINGS) as scanning:
        yield scanning


def _model(pnl_when_cycle: float, otherwise: float) -> dict[str, object]:
    """One stump on ``kind_cycle``: a cycle is predicted to earn ``pnl_when_cycle``, a cross-venue trade the rest."""
    stump = {
        "feature": [0, -1, -1],
        "threshold": [0.5, 0.0, 0.0],
        "missing_left": [True, False, False],
        "left": [1, 0, 0],
        "right": [2, 0, 0],
        "value": [0.0, otherwise, pnl_when_cycle],
    }
    return {
        "format": FORMAT,
        "features": ["kind_cycle"],
        "models": {
            "pnl_usd": {"link": "identity", "baseline": 0.0, "trees": [stump]},
            "completed": {"link": "logistic", "baseline": 0.0, "trees": []},
        },
    }


def _with_scorer(local: LocalScanning, scorer: object, **settings: object) -> ShardScanner:
    scanner, starter = scanner_of(local, **settings)
    scanner = ShardScanner(dataclasses.replace(scanner.d, scorer=scorer))  # type: ignore[arg-type]
    scanner.starter_for_test = starter  # type: ignore[attr-defined]
    return scanner


def test_candidates_the_model_expects_to_lose_on_are_refused(local: LocalScanning) -> None:
    model = load_model(_model(pnl_when_cycle=-1.0, otherwise=-2.0))
    scanner = _with_scorer(
        local, LiveModelScorer(lambda: ("m-losing", model), local.clock, 60_000), route_cooldown_ms=0
    )
    decisions = [d for _, report in ticks(local, scanner, 15) for d in report.decisions]
    assert decisions
    assert {d.outcome for d in decisions} == {PREDICTED_LOSS}
    assert scanner.starter_for_test.started == {}  # type: ignore[attr-defined]


def test_the_model_ranks_and_its_prediction_travels_with_the_execution(local: LocalScanning) -> None:
    model = load_model(_model(pnl_when_cycle=-1.0, otherwise=3.0))  # cross-venue trades only
    scanner = _with_scorer(
        local, LiveModelScorer(lambda: ("m-cycles", model), local.clock, 60_000), route_cooldown_ms=0
    )
    reports = [report for _, report in ticks(local, scanner, 25)]
    starter = scanner.starter_for_test  # type: ignore[attr-defined]
    started = [started_opportunity(starter, name) for name in starter.started]
    assert started, "nothing was started"
    assert {o.kind.value for o in started} == {"cross_venue"}
    refused = [d for r in reports for d in r.decisions if d.outcome == PREDICTED_LOSS]
    assert all(d.opportunity_id.startswith("cycle") for d in refused)
    from arbiter.execution.state import SagaState

    states = [SagaState.model_validate_json(body) for body in starter.started.values()]
    assert {s.predicted_pnl_usd for s in states} == {3.0}
    features = scanner.d.opportunities.features_of(started[0])
    assert features is not None
    for name in (
        "expected_profit_bps",
        "venues",
        "route_recent_executions",
        "leg0_depth_share",
        "leg0_mid_vol_bps",
        "leg0_venue_failure_rate",
        "leg0_venue_compensation_rate",
        "leg0_venue_partial_rate",
        "decided_hour_utc",
    ):
        assert name in features, name
    assert any(name.startswith("ref_usd_") for name in features)
    # Whatever it trades, the profit currencies' rates are stored too: a fee charged in USDT on a BTC-quoted
    # market can then be valued as the label.
    currencies = scanner.d.detector.detector.settings.profit_currencies
    valued = {asset for asset in currencies if scanner.d.usd_value(asset) is not None}
    assert valued
    assert {f"ref_usd_{asset}" for asset in valued} <= set(features)


def test_a_model_that_cannot_load_leaves_the_scanner_on_expected_profit(local: LocalScanning) -> None:
    def broken() -> None:
        raise ValueError("format: 'xgboost', expected 'arbiter-trees/1'")

    scorer = LiveModelScorer(broken, local.clock, 60_000)  # type: ignore[arg-type]
    scanner = _with_scorer(local, scorer, route_cooldown_ms=0)
    reports = [report for _, report in ticks(local, scanner, 15)]
    assert any(report.started for report in reports)  # it still trades, by expected profit
    status = scorer.status()
    assert not status.by_model
    assert status.describe() == (
        "by expected profit (the live model cannot be loaded: format: 'xgboost', expected 'arbiter-trees/1')"
    )
