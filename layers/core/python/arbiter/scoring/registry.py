"""The model registry: each trained model's record (metrics, data range, training job) in the model bucket
(encrypted and versioned, so no record is lost when rewritten), and an SSM parameter naming the live model's
version. Promoting writes the record and then points the parameter at it; nothing else changes the live model."""

from __future__ import annotations

import io
import tarfile
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError
from pydantic import BaseModel, ConfigDict, Field

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_ssm import SSMClient

    from arbiter.scoring.trees import TreeModel

RECORDS = "models/records/"
ARTIFACT_FILE = "model.json"


class ModelRecord(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    version: str = Field(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9_.-]+$")
    training_job: str
    artifact: str = Field(description="s3://bucket/key of the training job's model.tar.gz")
    data_from_ms: int
    data_to_ms: int
    holdout_from_ms: int
    holdout_to_ms: int
    metrics: dict[str, dict[str, float | int | None]] = Field(
        default_factory=dict, description="the candidate's and the live model's metrics on the held-out window"
    )
    promoted_at_ms: int | None = None
    verdict: str = ""


def split_s3_uri(uri: str) -> tuple[str, str]:
    if not uri.startswith("s3://") or "/" not in uri[5:]:
        raise ValueError(f"{uri!r}: not an s3://bucket/key URI")
    bucket, key = uri[5:].split("/", 1)
    return bucket, key


def artifact_document(archive: bytes) -> bytes:
    """model.json out of a training job's model.tar.gz (SageMaker packs the model directory so)."""
    from arbiter.scoring.trees import ModelLoadError

    try:
        with tarfile.open(fileobj=io.BytesIO(archive), mode="r:gz") as tar:
            member = next((m for m in tar.getmembers() if m.name.lstrip("./") == ARTIFACT_FILE), None)
            extracted = tar.extractfile(member) if member is not None else None
            if extracted is None:
                raise ModelLoadError(f"model.tar.gz: no {ARTIFACT_FILE} in it")
            return extracted.read()
    except (tarfile.TarError, OSError, EOFError) as error:
        raise ModelLoadError(f"model.tar.gz: not a gzipped tar ({error})") from None


class ModelRegistry:
    def __init__(self, s3: S3Client, ssm: SSMClient, bucket: str, parameter: str) -> None:
        self.s3, self.ssm, self.bucket, self.parameter = s3, ssm, bucket, parameter

    def live_version(self) -> str | None:
        try:
            value = self.ssm.get_parameter(Name=self.parameter)["Parameter"].get("Value")
        except self.ssm.exceptions.ParameterNotFound:
            return None
        return None if not value or value == "none" else value

    def record(self, version: str) -> ModelRecord:
        body = self.s3.get_object(Bucket=self.bucket, Key=f"{RECORDS}{version}.json")["Body"].read()
        return ModelRecord.model_validate_json(body)

    def live(self) -> ModelRecord | None:
        version = self.live_version()
        return None if version is None else self.record(version)

    def put_record(self, record: ModelRecord) -> None:
        self.s3.put_object(
            Bucket=self.bucket,
            Key=f"{RECORDS}{record.version}.json",
            Body=record.model_dump_json(indent=2).encode(),
            ContentType="application/json",
        )

    def promote(self, record: ModelRecord) -> None:
        """The record first (versioned), then the parameter: a reader never finds a version without a record."""
        self.put_record(record)
        self.ssm.put_parameter(Name=self.parameter, Value=record.version, Type="String", Overwrite=True)

    def artifact(self, uri: str) -> bytes:
        from arbiter.scoring.trees import ModelLoadError

        try:
            bucket, key = split_s3_uri(uri)
            archive = self.s3.get_object(Bucket=bucket, Key=key)["Body"].read()
        except (ValueError, ClientError) as error:
            raise ModelLoadError(f"artifact {uri}: {error}") from None
        return artifact_document(archive)

    def load(self, record: ModelRecord) -> TreeModel:
        """The record's model, checked (``ModelLoadError`` names what is wrong)."""
        return self.load_uri(record.artifact)

    def load_uri(self, uri: str) -> TreeModel:
        from arbiter.scoring.trees import load_model

        return load_model(self.artifact(uri))


def describe(record: ModelRecord | None) -> dict[str, Any]:
    return {"version": None} if record is None else {"version": record.version, "training_job": record.training_job}
