"""SageMaker training jobs in-process, for the local runtime: moto's Step Functions interpreter has no
``sagemaker:createTrainingJob.sync`` integration (and moto's SageMaker completes a job without running it), so
this module gives the interpreter one that runs the job's script as SageMaker's script mode would:

- the source directory (``sagemaker_submit_directory``, a sourcedir.tar.gz in the emulated S3) is unpacked and
  its ``sagemaker_program`` run with the job's other hyperparameters as ``--name value`` arguments;
- each input channel's S3 prefix is copied to ``<root>/input/data/<channel>`` (``SM_CHANNEL_<CHANNEL>``), the
  model directory is ``SM_MODEL_DIR`` and failures are read from ``SM_OUTPUT_DIR/failure``;
- the model directory is packed as ``<S3OutputPath>/<job>/output/model.tar.gz`` in the emulated S3.

A job that fails ends the task with ``States.TaskFailed`` and DescribeTrainingJob's JSON (``FailureReason``) as
its cause, as the .sync integration does on AWS. Jobs run one at a time (the script's environment is the
process's)."""

from __future__ import annotations

import contextlib
import io
import json
import os
import runpy
import sys
import tarfile
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
from moto.stepfunctions.parser.api import HistoryEventType, TaskFailedEventDetails
from moto.stepfunctions.parser.asl.component.common.error_name.failure_event import (
    FailureEvent,
    FailureEventException,
)
from moto.stepfunctions.parser.asl.component.common.error_name.states_error_name import StatesErrorName
from moto.stepfunctions.parser.asl.component.common.error_name.states_error_name_type import StatesErrorNameType
from moto.stepfunctions.parser.asl.component.state.exec.state_task import state_task_factory
from moto.stepfunctions.parser.asl.component.state.exec.state_task.service.resource import ResourceCondition
from moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service import (
    StateTaskService,
)
from moto.stepfunctions.parser.asl.eval.event.event_detail import EventDetails

from arbiter.local.lambda_invoke import LOCAL_ACCOUNT

_LOCK = threading.Lock()
_original_factory = state_task_factory.state_task_service_for  # type: ignore[attr-defined]


def _split(uri: str) -> tuple[str, str]:
    if not uri.startswith("s3://"):
        raise ValueError(f"{uri!r}: not an s3:// URI")
    bucket, _, key = uri[5:].partition("/")
    return bucket, key


def _hyperparameter(value: str) -> str:
    # The SageMaker SDK writes its own (sagemaker_*) hyperparameters JSON-encoded.
    with contextlib.suppress(ValueError):
        decoded = json.loads(value)
        if isinstance(decoded, str):
            return decoded
    return value


@dataclass
class TrainingJob:
    name: str
    status: str
    failure_reason: str = ""
    artifact: str = ""
    seconds: float = 0.0

    def describe(self, region: str) -> dict[str, Any]:
        described: dict[str, Any] = {
            "TrainingJobName": self.name,
            "TrainingJobArn": f"arn:aws:sagemaker:{region}:{LOCAL_ACCOUNT}:training-job/{self.name}",
            "TrainingJobStatus": self.status,
            "SecondaryStatus": self.status,
            "TrainingTimeInSeconds": round(self.seconds),
        }
        if self.artifact:
            described["ModelArtifacts"] = {"S3ModelArtifacts": self.artifact}
        if self.failure_reason:
            described["FailureReason"] = self.failure_reason
        return described


@dataclass
class LocalTrainingJobs:
    """Every job run in this process, by name (tests read them)."""

    region: str = "eu-west-1"
    jobs: dict[str, TrainingJob] = field(default_factory=dict)

    def run(self, request: dict[str, Any]) -> TrainingJob:
        name = str(request["TrainingJobName"])
        if name in self.jobs:
            raise ValueError(f"training job {name} already exists")  # SageMaker's ResourceInUse
        started = time.perf_counter()
        s3 = boto3.client("s3", region_name=self.region)
        with tempfile.TemporaryDirectory(prefix="arbiter-training-") as root_text, _LOCK:
            root = Path(root_text)
            try:
                job = self._run_in(root, name, request, s3)
            except Exception as error:  # noqa: BLE001 - whatever stops the job is its failure reason
                job = TrainingJob(name, "Failed", failure_reason=f"ClientError: {error}")
        job.seconds = time.perf_counter() - started
        self.jobs[name] = job
        return job

    def _run_in(self, root: Path, name: str, request: dict[str, Any], s3: Any) -> TrainingJob:
        hyper = {k: _hyperparameter(str(v)) for k, v in (request.get("HyperParameters") or {}).items()}
        program = hyper.pop("sagemaker_program", None)
        source = hyper.pop("sagemaker_submit_directory", None)
        if not program or not source:
            raise ValueError("script mode needs the sagemaker_program and sagemaker_submit_directory hyperparameters")
        code = root / "code"
        bucket, key = _split(source)
        with tarfile.open(fileobj=io.BytesIO(s3.get_object(Bucket=bucket, Key=key)["Body"].read()), mode="r:gz") as t:
            t.extractall(code, filter="data")
        channels: dict[str, Path] = {}
        for channel in request.get("InputDataConfig") or []:
            target = channels[channel["ChannelName"]] = root / "input" / "data" / channel["ChannelName"]
            target.mkdir(parents=True)
            bucket, prefix = _split(channel["DataSource"]["S3DataSource"]["S3Uri"])
            for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
                for item in page.get("Contents", []):
                    relative = item["Key"][len(prefix) :].lstrip("/") or Path(item["Key"]).name
                    (target / relative).parent.mkdir(parents=True, exist_ok=True)
                    (target / relative).write_bytes(s3.get_object(Bucket=bucket, Key=item["Key"])["Body"].read())
        model_dir, output_dir = root / "model", root / "output"
        model_dir.mkdir()
        output_dir.mkdir()
        environment = {
            "SM_MODEL_DIR": str(model_dir),
            "SM_OUTPUT_DIR": str(output_dir),
            "SM_CHANNELS": json.dumps(sorted(channels)),
            "SM_HPS": json.dumps(hyper),
            **{f"SM_CHANNEL_{c.upper()}": str(path) for c, path in channels.items()},
        }
        arguments = [item for k, v in sorted(hyper.items()) for item in (f"--{k}", v)]
        code_status = _run_script(code / program, arguments, environment)
        if code_status != 0:
            failure = output_dir / "failure"
            reason = failure.read_text(encoding="utf-8") if failure.exists() else f"exit code {code_status}"
            return TrainingJob(name, "Failed", failure_reason=f"AlgorithmError: {reason}")
        archive = io.BytesIO()
        with tarfile.open(fileobj=archive, mode="w:gz") as tar:
            for path in sorted(model_dir.rglob("*")):
                tar.add(path, arcname=str(path.relative_to(model_dir)))
        bucket, prefix = _split(request["OutputDataConfig"]["S3OutputPath"])
        key = f"{prefix.rstrip('/')}/{name}/output/model.tar.gz".lstrip("/")
        s3.put_object(Bucket=bucket, Key=key, Body=archive.getvalue())
        return TrainingJob(name, "Completed", artifact=f"s3://{bucket}/{key}")


@contextlib.contextmanager
def _script_environment(environment: dict[str, str], argv: list[str]) -> Iterator[None]:
    saved_env = {k: os.environ.get(k) for k in environment}
    saved_argv = sys.argv
    os.environ.update(environment)
    sys.argv = argv
    try:
        yield
    finally:
        sys.argv = saved_argv
        for k, v in saved_env.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def _run_script(script: Path, arguments: list[str], environment: dict[str, str]) -> int:
    """The program as ``python <script> <arguments>`` would run it, in this process; its exit code."""
    if not script.is_file():
        raise ValueError(f"sagemaker_program {script.name}: not in the source directory")
    with _script_environment(environment, [str(script), *arguments]):
        try:
            runpy.run_path(str(script), run_name="__main__")
        except SystemExit as exit_:
            return exit_.code if isinstance(exit_.code, int) else (0 if exit_.code is None else 1)
    return 0


class _LocalCreateTrainingJobSync(StateTaskService):
    """``arn:aws:states:::sagemaker:createTrainingJob.sync`` for moto's interpreter."""

    jobs: LocalTrainingJobs

    def _get_supported_parameters(self) -> set[str] | None:
        return {
            "TrainingJobName",
            "AlgorithmSpecification",
            "HyperParameters",
            "InputDataConfig",
            "OutputDataConfig",
            "ResourceConfig",
            "RoleArn",
            "StoppingCondition",
            "Tags",
            "EnableNetworkIsolation",
            "VpcConfig",
        }

    def _eval_service_task(
        self, env: Any, resource_runtime_part: Any, normalised_parameters: dict[str, Any], state_credentials: Any
    ) -> None:
        if self.resource.api_action.lower() != "createtrainingjob" or self.resource.condition != ResourceCondition.Sync:
            raise ValueError(f"{self.resource.resource_arn}: only createTrainingJob.sync runs locally")
        job = self.jobs.run(normalised_parameters)
        described = job.describe(self.jobs.region)
        if job.status != "Completed":
            raise FailureEventException(
                FailureEvent(
                    env=env,
                    error_name=StatesErrorName(typ=StatesErrorNameType.StatesTaskFailed),
                    event_type=HistoryEventType.TaskFailed,
                    event_details=EventDetails(  # type: ignore[typeddict-item]
                        taskFailedEventDetails=TaskFailedEventDetails(
                            resource=self._get_sfn_resource(),
                            resourceType=self._get_sfn_resource_type(),
                            error=StatesErrorNameType.StatesTaskFailed.to_name(),
                            cause=json.dumps(described),
                        )
                    ),
                )
            )
        env.stack.append(described)


def install_local_training(jobs: LocalTrainingJobs) -> None:
    """From now on the interpreter runs ``sagemaker:createTrainingJob.sync`` tasks with ``jobs``."""

    def service_for(service_name: str) -> StateTaskService:
        if service_name == "sagemaker":
            task = _LocalCreateTrainingJobSync()  # type: ignore[no-untyped-call]
            task.jobs = jobs
            return task
        return _original_factory(service_name)

    state_task_factory.state_task_service_for = service_for  # type: ignore[attr-defined]


def uninstall_local_training() -> None:
    state_task_factory.state_task_service_for = _original_factory  # type: ignore[attr-defined]
