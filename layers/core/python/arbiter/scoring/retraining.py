"""The retraining's steps, each a Lambda task of ``statemachines/retrain.asl.json`` (the SageMaker training job
between the first two is the state machine's own ``createTrainingJob.sync``):

1. ``export_training_set``: ended executions of the last ``history_days`` with the features stored when they
   were decided on, as train.csv (the training channel) and holdout.csv (the latest ``holdout_fraction``, by
   decision time) in the model bucket. Too few rows, a label that cannot be valued, a missing feature: stops.
2. ``evaluate_candidate``: the trained model and the live one (or expected profit, with none) on the held-out
   window; the verdict: promote only when the candidate is better by the configured margin.
3. ``promote``: the record (versioned in the bucket), then the SSM parameter naming the live model.

Any stop leaves the live model as it is; the state machine alerts with the reason."""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Protocol

from pydantic import BaseModel, ConfigDict, Field

from arbiter.models import Execution, ExecutionStatus
from arbiter.models.time import Clock
from arbiter.scoring.dataset import TrainingSetError, check_rows, from_csv, split_by_time, to_csv, training_row
from arbiter.scoring.evaluation import Verdict, WindowMetrics, judge, selection_metrics
from arbiter.scoring.outcomes import outcome_label
from arbiter.scoring.registry import ModelRecord, ModelRegistry
from arbiter.settings import ScoringSettings
from arbiter.storage.opportunities import OpportunityStore

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

    from arbiter.scoring.trees import TreeModel

DAY_MS = 86_400_000
DATASETS = "datasets/"
EXPECTED_PROFIT = "expected profit"


class History(Protocol):
    """The journal's reads the export needs."""

    def executions_between(
        self, start_ms: int, end_ms: int, *, before: str | None = None, status: ExecutionStatus | None = None
    ) -> Iterator[tuple[str, Execution]]: ...

    def pnl(self, execution_id: str) -> dict[str, Decimal]: ...


class _Step(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ExportRequest(_Step):
    run: str = Field(min_length=1, max_length=80, description="the retraining's execution name")
    trigger: str = Field(default="schedule", max_length=64)


class ExportedSet(_Step):
    run: str
    training_job: str = Field(description="the SageMaker training job's name (unique per run)")
    train_channel: str = Field(description="s3:// prefix of the training channel (train.csv)")
    holdout: str = Field(description="s3:// URI of holdout.csv")
    output_path: str = Field(description="s3:// prefix the training job writes its model under")
    train_rows: int
    holdout_rows: int
    data_from_ms: int
    data_to_ms: int
    holdout_from_ms: int
    holdout_to_ms: int
    features: tuple[str, ...]
    without_features: int = Field(default=0, description="ended executions left out: no features were stored")


class EvaluationRequest(_Step):
    exported: ExportedSet
    model_artifact: str = Field(description="the training job's ModelArtifacts.S3ModelArtifacts")


class Evaluation(_Step):
    promote: bool
    reason: str
    record: ModelRecord
    candidate: dict[str, float | int | None]
    live: dict[str, float | int | None]
    live_name: str


@dataclass
class RetrainingDependencies:
    history: History
    opportunities: OpportunityStore
    s3: S3Client
    registry: ModelRegistry
    settings: ScoringSettings
    clock: Clock

    @property
    def bucket(self) -> str:
        return self.registry.bucket


def training_job_name(run: str) -> str:
    """SageMaker's rule: up to 63 of [A-Za-z0-9-], starting with a letter or digit."""
    cleaned = re.sub(r"[^A-Za-z0-9-]", "-", run).strip("-")[:52] or "run"
    return f"arbiter-{cleaned}"


def export_training_set(deps: RetrainingDependencies, request: ExportRequest, now_ms: int) -> ExportedSet:
    settings = deps.settings
    start = now_ms - settings.history_days * DAY_MS
    rows, unscored = [], 0
    for _, execution in deps.history.executions_between(start, now_ms):
        if outcome_label(execution) is None:
            continue
        stored = deps.opportunities.features_of(execution.opportunity)
        if stored is None:
            # Not decided on by a scanner that stores features (started by hand, or before it did): nothing to
            # learn from, and nothing to guess. A row with features but one missing still stops the run.
            unscored += 1
            continue
        rows.append(training_row(execution, stored, deps.history.pnl(execution.execution_id)))
    features = check_rows(rows, settings.min_training_rows)
    train, holdout = split_by_time(rows, settings.holdout_fraction)
    if len({row.completed for row in train}) < 2:
        raise TrainingSetError("training set: every execution has the same outcome; nothing to tell apart")
    prefix = f"{DATASETS}{request.run}/"
    for name, part in (("train/train.csv", train), ("holdout/holdout.csv", holdout)):
        deps.s3.put_object(Bucket=deps.bucket, Key=prefix + name, Body=to_csv(part, features).encode())
    return ExportedSet(
        run=request.run,
        training_job=training_job_name(request.run),
        train_channel=f"s3://{deps.bucket}/{prefix}train/",
        holdout=f"s3://{deps.bucket}/{prefix}holdout/holdout.csv",
        output_path=f"s3://{deps.bucket}/models/artifacts/",
        train_rows=len(train),
        holdout_rows=len(holdout),
        data_from_ms=train[0].decided_at,
        data_to_ms=train[-1].decided_at,
        holdout_from_ms=holdout[0].decided_at,
        holdout_to_ms=holdout[-1].decided_at,
        features=features,
        without_features=unscored,
    )


def window_metrics(model: TreeModel | None, rows: list[Any], settings: ScoringSettings) -> WindowMetrics:
    if model is None:
        return selection_metrics(rows, None, None, settings.min_predicted_pnl_usd)
    predicted = model.predict([row.features for row in rows])
    return selection_metrics(
        rows, predicted.pnl_usd.tolist(), predicted.completed.tolist(), settings.min_predicted_pnl_usd
    )


def evaluate_candidate(deps: RetrainingDependencies, request: EvaluationRequest) -> Evaluation:
    """The candidate must load and score every held-out row (``ModelLoadError`` / ``ModelInputError`` stop the
    run); a live model that no longer loads or scores is compared as expected profit (and said so)."""
    from arbiter.scoring.trees import ModelInputError, ModelLoadError

    exported = request.exported
    holdout_bucket, holdout_key = exported.holdout[5:].split("/", 1)
    rows = from_csv(deps.s3.get_object(Bucket=holdout_bucket, Key=holdout_key)["Body"].read().decode())
    if not rows:
        raise TrainingSetError("holdout.csv: no rows to evaluate on")
    candidate_model = deps.registry.load_uri(request.model_artifact)
    candidate = window_metrics(candidate_model, rows, deps.settings)
    live_record = deps.registry.live()
    live_name, live_model = EXPECTED_PROFIT, None
    if live_record is not None:
        try:
            live_model = deps.registry.load(live_record)
            live = window_metrics(live_model, rows, deps.settings)
            live_name = f"live model {live_record.version}"
        except (ModelLoadError, ModelInputError) as error:
            live_name = f"expected profit (live model {live_record.version} unusable: {error})"
            live_model = None
    if live_model is None:
        live = window_metrics(None, rows, deps.settings)
    verdict: Verdict = judge(candidate, live, live_name, deps.settings.promotion_margin_usd)
    record = ModelRecord(
        version=exported.training_job,
        training_job=exported.training_job,
        artifact=request.model_artifact,
        data_from_ms=exported.data_from_ms,
        data_to_ms=exported.data_to_ms,
        holdout_from_ms=exported.holdout_from_ms,
        holdout_to_ms=exported.holdout_to_ms,
        metrics={"candidate": candidate.as_dict(), "live": live.as_dict()},
        verdict=verdict.reason,
    )
    deps.registry.put_record(record)  # refused ones too: what was trained, on what, and why it was not used
    return Evaluation(
        promote=verdict.promote,
        reason=verdict.reason,
        record=record,
        candidate=candidate.as_dict(),
        live=live.as_dict(),
        live_name=live_name,
    )


def promote(deps: RetrainingDependencies, evaluation: Evaluation, now_ms: int) -> ModelRecord:
    if not evaluation.promote:
        raise ValueError(f"promote: the evaluation refused {evaluation.record.version}: {evaluation.reason}")
    record = evaluation.record.model_copy(update={"promoted_at_ms": now_ms})
    deps.registry.promote(record)
    return record


def summary(evaluation: Evaluation) -> Mapping[str, Any]:
    return {
        "candidate": evaluation.record.version,
        "promoted": evaluation.promote,
        "reason": evaluation.reason,
        "against": evaluation.live_name,
        "candidate_metrics": evaluation.candidate,
        "live_metrics": evaluation.live,
    }
