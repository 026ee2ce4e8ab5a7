"""The retraining's Lambda tasks and the substitutions of ``statemachines/retrain.asl.json``: one source for
the function folders CDK deploys and the handlers the local runtime registers."""

from __future__ import annotations

import gzip
import io
import tarfile
from dataclasses import dataclass
from pathlib import Path

RETRAIN_DEFINITION = "statemachines/retrain.asl.json"
TRAINING_SOURCE = "training"
"""The training script's folder (script mode: the whole source directory is ``train.py``)."""
RETRAIN_TIMEOUT_SECONDS = 7200
FRAMEWORK = "sklearn"
FRAMEWORK_VERSION = "1.2-1"
"""SageMaker's own scikit-learn framework container (``sagemaker.image_uris.retrieve('sklearn', region,
'1.2-1')``): no custom image."""
FRAMEWORK_ACCOUNTS = {
    "us-east-1": "683313688378",
    "us-east-2": "257758044811",
    "us-west-1": "746614075791",
    "us-west-2": "246618743249",
    "eu-west-1": "141502667606",
    "eu-west-2": "764974769150",
    "eu-west-3": "659782779980",
    "eu-central-1": "492215442770",
    "eu-north-1": "662702820516",
    "ap-northeast-1": "354813040037",
    "ap-southeast-1": "121021644041",
    "ap-southeast-2": "783357654285",
}
"""The accounts SageMaker publishes the scikit-learn image from, by region (the SageMaker Python SDK's
image_uri_config/sklearn.json)."""


def framework_image(region: str) -> str:
    account = FRAMEWORK_ACCOUNTS.get(region)
    if account is None:
        raise ValueError(f"region {region!r}: no SageMaker scikit-learn image known here (add it from the SDK)")
    return f"{account}.dkr.ecr.{region}.amazonaws.com/sagemaker-scikit-learn:{FRAMEWORK_VERSION}-cpu-py3"


@dataclass(frozen=True)
class RetrainTask:
    state: str
    folder: str
    substitution: str
    timeout_seconds: int


RETRAIN_TASKS: tuple[RetrainTask, ...] = (
    RetrainTask("ExportTrainingSet", "retrain_export", "ExportFunctionArn", 600),
    RetrainTask("EvaluateCandidate", "retrain_evaluate", "EvaluateFunctionArn", 600),
    RetrainTask("Promote", "retrain_promote", "PromoteFunctionArn", 120),
)
TRAINING_SUBSTITUTIONS = (
    "TrainingImage",
    "SourceDirectory",
    "MinTrainingRows",
    "TreeIterations",
    "TreeDepth",
    "ModelKeyArn",
    "TrainingInstanceType",
    "TrainingRoleArn",
)


def source_directory_archive(training: Path) -> bytes:
    """The training script's folder as the sourcedir.tar.gz SageMaker's script mode unpacks; byte for byte the same
    for the same files (no timestamps or owners), so the stack's asset changes only when the script does."""
    archive = io.BytesIO()
    with gzip.GzipFile(fileobj=archive, mode="wb", mtime=0) as zipped, tarfile.open(fileobj=zipped, mode="w") as tar:
        for path in sorted(training.glob("*.py")):
            info = tar.gettarinfo(str(path), arcname=path.name)
            info.mtime, info.uid, info.gid, info.uname, info.gname = 0, 0, 0, "", ""
            with path.open("rb") as handle:
                tar.addfile(info, handle)
    return archive.getvalue()
