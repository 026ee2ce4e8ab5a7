"""The retraining's dependencies and the scanner's live model, built in one place for every deployment: on AWS
from the environment (the executions and opportunities tables, the model bucket, the SSM parameter naming the
live model), and in one process by the local runtime (the same, on moto)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from arbiter.bootstrap.saga import WiringError
from arbiter.models.time import Clock
from arbiter.scoring.registry import ModelRegistry
from arbiter.scoring.retraining import RetrainingDependencies
from arbiter.scoring.scorer import ExpectedProfitScorer, LiveModel, LiveModelScorer, OpportunityScorer
from arbiter.settings import ScoringSettings, Settings
from arbiter.storage.journal import DynamoExecutionJournal
from arbiter.storage.opportunities import DynamoOpportunityStore

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_ssm import SSMClient

BUCKET_VARIABLE = "ARBITER_SCORING__MODEL_BUCKET"
PARAMETER_VARIABLE = "ARBITER_SCORING__LIVE_MODEL_PARAMETER"


def model_registry(settings: ScoringSettings, s3: S3Client, ssm: SSMClient) -> ModelRegistry:
    bucket, parameter = settings.model_bucket, settings.live_model_parameter
    if not bucket or not parameter:
        missing = [name for name, value in ((BUCKET_VARIABLE, bucket), (PARAMETER_VARIABLE, parameter)) if not value]
        raise WiringError(f"{', '.join(missing)}: not set; the model registry needs them")
    return ModelRegistry(s3, ssm, bucket, parameter)


def build_retraining(
    settings: Settings,
    tables: Mapping[str, str],
    *,
    dynamodb: DynamoDBClient,
    s3: S3Client,
    ssm: SSMClient,
    clock: Clock,
) -> RetrainingDependencies:
    missing = [key for key in ("executions", "orders", "opportunities") if not tables.get(key)]
    if missing:
        raise WiringError(f"{', '.join(f'ARBITER_TABLES__{key.upper()}' for key in missing)}: not set")
    return RetrainingDependencies(
        history=DynamoExecutionJournal(dynamodb, tables["executions"], tables["orders"]),
        opportunities=DynamoOpportunityStore(
            dynamodb, tables["opportunities"], settings.scanner.opportunity_retention_days
        ),
        s3=s3,
        registry=model_registry(settings.scoring, s3, ssm),
        settings=settings.scoring,
        clock=clock,
    )


def live_model_scorer(settings: ScoringSettings, s3: S3Client, ssm: SSMClient, clock: Clock) -> OpportunityScorer:
    """The live model as the scanner scores with it; expected profit when no registry is configured."""
    if not settings.model_bucket or not settings.live_model_parameter:
        return ExpectedProfitScorer(f"no model registry configured ({PARAMETER_VARIABLE})")
    registry = ModelRegistry(s3, ssm, settings.model_bucket, settings.live_model_parameter)

    def load() -> LiveModel | None:
        record = registry.live()
        return None if record is None else (record.version, registry.load(record))

    return LiveModelScorer(load, clock, settings.refresh_ms)
