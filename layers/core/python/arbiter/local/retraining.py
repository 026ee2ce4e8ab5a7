"""The retraining in local mode: the same ``statemachines/retrain.asl.json`` on moto's interpreter, its Lambda
tasks the real handlers run in-process, its SageMaker training job the real training script run in-process in
script mode (``arbiter.local.sagemaker``), its bucket (encrypted, versioned) and SSM parameter in moto.

``LocalRetraining(platform.aws, platform.clock).run()`` is one retraining over whatever the platform's journal and
opportunity store hold (a local session's, the scanner's, a benchmark's); ``retrain_once`` is the whole thing for
callers (the CLI, the demo's end)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from arbiter.bootstrap.retraining import build_retraining
from arbiter.local.platform import REPO_ROOT, LocalPlatform, load_handler
from arbiter.local.runtime import LocalAws
from arbiter.local.sagemaker import LocalTrainingJobs, install_local_training, uninstall_local_training
from arbiter.models.time import Clock
from arbiter.scoring.registry import ModelRecord, ModelRegistry
from arbiter.scoring.retraining import RetrainingDependencies
from arbiter.scoring.topology import RETRAIN_DEFINITION, RETRAIN_TASKS, TRAINING_SOURCE, source_directory_archive
from arbiter.settings import ScoringSettings, Settings
from arbiter_handlers import wiring

LOCAL_MODEL_BUCKET = "arbiter-local-models"
LOCAL_LIVE_PARAMETER = "/arbiter/local/scoring/live-model"
SOURCE_KEY = "code/sourcedir.tar.gz"


def local_scoring_settings(**overrides: Any) -> ScoringSettings:
    return ScoringSettings.model_validate(
        {"model_bucket": LOCAL_MODEL_BUCKET, "live_model_parameter": LOCAL_LIVE_PARAMETER, **overrides}
    )


@dataclass(frozen=True)
class RetrainReport:
    run: str
    status: str
    """The state machine's: SUCCEEDED (promoted, or refused and the live model kept) or FAILED (stopped)."""
    promoted: bool
    reason: str
    candidate: dict[str, Any]
    live: dict[str, Any]
    live_version: str | None
    alerts: list[dict[str, Any]]
    training_seconds: float | None

    def describe(self) -> str:
        if self.promoted:
            return f"promoted {self.live_version}: {self.reason}"
        if self.status == "SUCCEEDED":
            return f"candidate refused, live model {self.live_version or '(none: expected profit)'} kept: {self.reason}"
        return f"retraining stopped, live model {self.live_version or '(none: expected profit)'} kept: {self.reason}"


@dataclass
class LocalRetraining:
    aws: LocalAws
    """Started: its moto account holds the history (a local platform's ``aws``)."""
    clock: Clock
    settings: ScoringSettings = field(default_factory=local_scoring_settings)
    training_instance: str = "ml.m5.large"
    tree_iterations: int = 150
    tree_depth: int = 5
    name: str = "retrain"
    jobs: LocalTrainingJobs = field(init=False)
    state_machine_arn: str = field(init=False, default="")
    dependencies: RetrainingDependencies = field(init=False)
    runs: int = field(init=False, default=0)

    def start(self) -> LocalRetraining:
        aws = self.aws
        self.jobs = LocalTrainingJobs(aws.region)
        s3, ssm = aws.client("s3"), aws.client("ssm")
        bucket = self.settings.model_bucket or LOCAL_MODEL_BUCKET
        existing = {b["Name"] for b in s3.list_buckets().get("Buckets", [])}
        if bucket not in existing:  # (a second retraining on the same platform shares the registry)
            s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": aws.region})
            s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
            s3.put_bucket_encryption(
                Bucket=bucket,
                ServerSideEncryptionConfiguration={
                    "Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms"}}]
                },
            )
            s3.put_object(Bucket=bucket, Key=SOURCE_KEY, Body=source_directory_archive(REPO_ROOT / TRAINING_SOURCE))
        self.dependencies = build_retraining(
            Settings(scoring=self.settings),
            aws.tables,
            dynamodb=aws.dynamodb,
            s3=s3,
            ssm=ssm,
            clock=self.clock,
        )
        wiring.install_retraining(self.dependencies)
        install_local_training(self.jobs)
        substitutions = {
            task.substitution: aws.register_function(f"{self.name}-{task.state}", load_handler(task.folder))
            for task in RETRAIN_TASKS
        }
        substitutions |= {
            "AlertTopicArn": aws.alert_topic_arn,
            "TrainingImage": "local/sagemaker-scikit-learn:script-mode",
            "SourceDirectory": f"s3://{bucket}/{SOURCE_KEY}",
            "MinTrainingRows": str(self.settings.min_training_rows),
            "TreeIterations": str(self.tree_iterations),
            "TreeDepth": str(self.tree_depth),
            "ModelKeyArn": f"arn:aws:kms:{aws.region}:123456789012:alias/aws/s3",
            "TrainingInstanceType": self.training_instance,
            "TrainingRoleArn": "arn:aws:iam::123456789012:role/arbiter-local-training",
        }
        self.state_machine_arn = aws.state_machines().create(self.name, REPO_ROOT / RETRAIN_DEFINITION, substitutions)
        return self

    def stop(self) -> None:
        wiring.install_retraining(None)
        uninstall_local_training()

    def __enter__(self) -> LocalRetraining:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def registry(self) -> ModelRegistry:
        return self.dependencies.registry

    def live(self) -> ModelRecord | None:
        return self.registry.live()

    def run(self, timeout_s: float = 300.0) -> RetrainReport:
        """One retraining, as the nightly schedule or the drift alarm starts it; waits for its end."""
        self.runs += 1
        machines = self.aws.state_machines()
        name = f"{self.name}-{self.clock.now_ms()}-{self.runs}"
        arn = machines.start(self.state_machine_arn, name, {"source": "local.retrain"})
        described = machines.wait(arn, timeout_s=timeout_s)
        alerts = self.aws.alerts()
        output = json.loads(described["output"]) if described.get("output") else {}
        evaluation = (output.get("evaluate") or {}).get("evaluation") or {}
        promoted = "promoted" in output
        reason = evaluation.get("reason", "")
        if described["status"] != "SUCCEEDED":
            reason = _failure_reason(machines.history(arn))
        job = self.jobs.jobs.get(_job_name(output, name))
        return RetrainReport(
            run=name,
            status=described["status"],
            promoted=promoted,
            reason=reason,
            candidate=evaluation.get("candidate", {}),
            live=evaluation.get("live", {}),
            live_version=self.registry.live_version(),
            alerts=alerts,
            training_seconds=job.seconds if job else None,
        )


def _job_name(output: dict[str, Any], run: str) -> str:
    from arbiter.scoring.retraining import training_job_name

    return str((output.get("training") or {}).get("job") or training_job_name(run))


def _failure_reason(history: list[Any]) -> str:
    """The cause the state machine caught (the task's error and message), as its alert says it."""
    for event in reversed(history):
        for key in ("taskFailedEventDetails", "lambdaFunctionFailedEventDetails"):
            details = event.get(key)
            if details:
                return _cause_text(details.get("cause", ""), details.get("error", ""))
    return "the retraining stopped"


def _cause_text(cause: str, error: str) -> str:
    try:
        parsed = json.loads(cause)
    except ValueError:
        return f"{error}: {cause}" if cause else error
    if isinstance(parsed, dict):
        if "FailureReason" in parsed:
            return f"training job {parsed.get('TrainingJobName')} failed: {parsed['FailureReason']}"
        if "errorMessage" in parsed:
            return f"{parsed.get('errorType', error)}: {parsed['errorMessage']}"
    return f"{error}: {cause}"


def retrain_once(platform: LocalPlatform, settings: ScoringSettings | None = None) -> RetrainReport:
    """One retraining over what a started local platform has recorded (the demo's end hooks this)."""
    with LocalRetraining(platform.aws, platform.clock, settings or local_scoring_settings()) as retraining:
        return retraining.run()
