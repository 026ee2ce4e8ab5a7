"""The retraining end to end on the local runtime: the real ASL on moto's interpreter, the real handlers, the
real training script run in script mode in-process; promotion only of a better model, and every stop leaving
the live model in place with an alert naming the reason."""

from __future__ import annotations

import io
import json
import os
import tarfile
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from arbiter.local.retraining import SOURCE_KEY, LocalRetraining, local_scoring_settings
from arbiter.local.runtime import LocalAws
from arbiter.models.time import ManualClock
from arbiter.scoring.registry import ModelRegistry
from arbiter.storage.journal import DynamoExecutionJournal
from arbiter.storage.opportunities import DynamoOpportunityStore
from tests.support.scoring_history import START_MS, write_history

pytestmark = pytest.mark.integration
SETTINGS = local_scoring_settings(min_training_rows=60, promotion_margin_usd=0.05)


@dataclass
class World:
    aws: LocalAws
    clock: ManualClock
    journal: DynamoExecutionJournal
    opportunities: DynamoOpportunityStore

    def history(self, count: int, **options: object) -> None:
        last = write_history(self.journal, self.opportunities, count, **options)  # type: ignore[arg-type]
        self.clock.ms = max(self.clock.ms, last + 60_000)

    def retraining(self, **options: object) -> LocalRetraining:
        return LocalRetraining(self.aws, self.clock, SETTINGS, **options).start()  # type: ignore[arg-type]


@pytest.fixture
def world() -> Iterator[World]:
    os.environ.setdefault("POWERTOOLS_LOG_LEVEL", "CRITICAL")
    os.environ.setdefault("POWERTOOLS_TRACE_DISABLED", "true")
    os.environ.setdefault("POWERTOOLS_METRICS_DISABLED", "true")
    with LocalAws() as aws:
        tables = aws.tables
        yield World(
            aws,
            ManualClock(START_MS),
            DynamoExecutionJournal(aws.dynamodb, tables["executions"], tables["orders"]),
            DynamoOpportunityStore(aws.dynamodb, tables["opportunities"], 30),
        )


def test_promotes_a_better_model_and_then_refuses_a_worse_one(world: World) -> None:
    world.history(400)
    first = world.retraining()
    report = first.run()
    assert report.status == "SUCCEEDED", report.reason
    assert report.promoted, report.reason
    assert report.live_version is not None
    assert report.live_version.startswith("arbiter-retrain-")
    assert report.candidate["pnl_per_start_usd"] > report.live["pnl_per_start_usd"] + SETTINGS.promotion_margin_usd
    assert report.candidate["auc"] is not None
    assert report.candidate["auc"] > 0.8
    record = first.registry.record(report.live_version)
    assert record.promoted_at_ms == world.clock.now_ms()
    assert record.holdout_from_ms > record.data_to_ms  # evaluated on a later window than anything trained on
    assert record.training_job == report.live_version
    first.stop()

    weak = world.retraining(name="retrain-weak", tree_iterations=1)  # one shallow tree: hardly better than a mean
    refused = weak.run()
    assert refused.status == "SUCCEEDED"
    assert not refused.promoted
    assert refused.live_version == report.live_version  # the live model stays
    assert "not better by the margin" in refused.reason or "fewer than" in refused.reason
    assert [a["promote"] for a in refused.alerts] == [False]  # people are told, with the evaluation
    assert weak.registry.record(weak.registry.live_version() or "").version == report.live_version
    weak.stop()


def _missing_feature(i: int, features: dict[str, float]) -> dict[str, float]:
    return {k: v for k, v in features.items() if not (i == 7 and k == "leg0_spread_bps")}


def _unvalued_label(i: int, features: dict[str, float]) -> dict[str, float]:
    return {k: v for k, v in features.items() if not (i == 11 and k == "ref_usd_USDT")}


@pytest.mark.parametrize(
    ("count", "edit", "reason"),
    [
        (0, None, "no ended execution with stored features"),
        (20, None, "20 ended executions, fewer than the 60 required"),
        (200, _unvalued_label, "label_pnl_usd is NaN (no USD rate for USDT)"),
        (200, _missing_feature, "feature 'leg0_spread_bps' is missing"),
    ],
    ids=["empty", "too-small", "nan-label", "missing-feature"],
)
def test_bad_input_stops_with_the_reason_and_alerts(world: World, count: int, edit: object, reason: str) -> None:
    if count:
        world.history(count, edit=edit)
    retraining = world.retraining()
    report = retraining.run()
    assert report.status == "FAILED"
    assert reason in report.reason
    assert report.live_version is None  # nothing was promoted
    assert len(report.alerts) == 1
    assert reason in json.dumps(report.alerts[0])
    retraining.stop()


def _source_directory(script: bytes) -> bytes:
    archive = io.BytesIO()
    with tarfile.open(fileobj=archive, mode="w:gz") as tar:
        info = tarfile.TarInfo("train.py")
        info.size = len(script)
        tar.addfile(info, io.BytesIO(script))
    return archive.getvalue()


WRITES_GARBAGE = (
    b"import os, pathlib\npathlib.Path(os.environ['SM_MODEL_DIR'], 'model.json').write_text('{\"format\": 0}')\n"
)
FAILS = (
    b"import sys, os, pathlib\n"
    b"pathlib.Path(os.environ['SM_OUTPUT_DIR'], 'failure').write_text('out of memory')\n"
    b"sys.exit(2)\n"
)


def test_an_artifact_that_fails_to_load_stops_and_the_live_model_stays(world: World) -> None:
    world.history(300)
    retraining = world.retraining()
    live = retraining.run().live_version
    assert live is not None
    registry: ModelRegistry = retraining.registry
    registry.s3.put_object(Bucket=registry.bucket, Key=SOURCE_KEY, Body=_source_directory(WRITES_GARBAGE))
    report = retraining.run()
    assert report.status == "FAILED"
    assert "format: 0, expected 'arbiter-trees/1'" in report.reason
    assert report.live_version == live
    assert any("format" in json.dumps(alert) for alert in report.alerts)
    retraining.stop()


def test_a_failed_training_job_stops_with_its_failure_reason(world: World) -> None:
    world.history(300)
    retraining = world.retraining(name="retrain-strict")
    registry = retraining.registry
    registry.s3.put_object(Bucket=registry.bucket, Key=SOURCE_KEY, Body=_source_directory(FAILS))
    report = retraining.run()
    assert report.status == "FAILED"
    assert "failed: AlgorithmError: out of memory" in report.reason
    assert report.live_version is None
    retraining.stop()
