"""The retraining as deployed: the ASL file with every placeholder substituted (SageMaker's own scikit-learn
image, the script-mode source directory, the training role), a KMS-encrypted versioned bucket, the live-model
parameter, the nightly schedule and the drift alarm's rule both starting the state machine; cdk-nag (the
assembly synthesizes) and cfn-lint clean."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from aws_cdk import assertions
from cfnlint.api import ManualArgs, lint_file

from arbiter.scoring.topology import RETRAIN_DEFINITION, RETRAIN_TASKS, RETRAIN_TIMEOUT_SECONDS
from cdk.stacks.arbiter_stack import ArbiterStack
from tests.infra.conftest import REPO_ROOT

pytestmark = pytest.mark.infra


def _template(dev_assembly: tuple[ArbiterStack, Path]) -> assertions.Template:
    return assertions.Template.from_stack(dev_assembly[0])


def test_the_state_machine_is_the_asl_file_with_every_placeholder_substituted(
    dev_assembly: tuple[ArbiterStack, Path],
) -> None:
    machines = _template(dev_assembly).find_resources("AWS::StepFunctions::StateMachine")
    (machine,) = [m for m in machines.values() if "TrainingImage" in m["Properties"].get("DefinitionSubstitutions", {})]
    properties = machine["Properties"]
    # The definition ships as a file asset: byte for byte the ASL file the local runtime runs.
    asset = dev_assembly[1].parent / f"asset.{properties['DefinitionS3Location']['Key']}"
    assert asset.read_bytes() == (REPO_ROOT / RETRAIN_DEFINITION).read_bytes()
    asl = json.loads(asset.read_text(encoding="utf-8"))
    placeholders = set(re.findall(r"\$\{([A-Za-z0-9_]+)\}", json.dumps(asl)))
    assert placeholders == set(properties["DefinitionSubstitutions"])  # every one substituted, none extra
    deployed = json.dumps(properties["DefinitionSubstitutions"])
    assert asl["TimeoutSeconds"] == RETRAIN_TIMEOUT_SECONDS
    assert asl["States"]["Train"]["Resource"] == "arn:aws:states:::sagemaker:createTrainingJob.sync"
    assert properties["StateMachineType"] == "STANDARD"
    assert "sagemaker-scikit-learn:1.2-1-cpu-py3" in deployed  # SageMaker's own image, no custom one
    assert "141502667606.dkr.ecr.eu-west-1" in deployed or "SklearnImageAccounts" in deployed
    for task in RETRAIN_TASKS:
        assert f"${{{task.substitution}}}" in json.dumps(asl)


def test_the_model_bucket_is_encrypted_versioned_and_private(dev_assembly: tuple[ArbiterStack, Path]) -> None:
    template = _template(dev_assembly)
    template.has_resource_properties(
        "AWS::S3::Bucket",
        {
            "VersioningConfiguration": {"Status": "Enabled"},
            "BucketEncryption": {
                "ServerSideEncryptionConfiguration": [
                    assertions.Match.object_like(
                        {"ServerSideEncryptionByDefault": assertions.Match.object_like({"SSEAlgorithm": "aws:kms"})}
                    )
                ]
            },
            "PublicAccessBlockConfiguration": {
                "BlockPublicAcls": True,
                "BlockPublicPolicy": True,
                "IgnorePublicAcls": True,
                "RestrictPublicBuckets": True,
            },
        },
    )
    template.has_resource_properties("AWS::KMS::Key", {"EnableKeyRotation": True})
    template.has_resource_properties(
        "AWS::SSM::Parameter", {"Name": "/arbiter-dev/scoring/live-model", "Value": "none", "Type": "String"}
    )


def test_nightly_and_on_drift_the_retraining_starts(dev_assembly: tuple[ArbiterStack, Path]) -> None:
    template = _template(dev_assembly)
    schedules = template.find_resources("AWS::Scheduler::Schedule")
    nightly = [s for s in schedules.values() if s["Properties"]["ScheduleExpression"].startswith("cron(")]
    assert len(nightly) == 1
    template.has_resource_properties(
        "AWS::CloudWatch::Alarm",
        {"AlarmName": "arbiter-dev-ModelDrift", "ComparisonOperator": "GreaterThanThreshold", "Threshold": 1},
    )
    rules = template.find_resources("AWS::Events::Rule")
    (drift,) = [r for r in rules.values() if "CloudWatch Alarm State Change" in json.dumps(r)]
    assert drift["Properties"]["EventPattern"]["detail"] == {"state": {"value": ["ALARM"]}}
    assert drift["Properties"]["Targets"][0]["DeadLetterConfig"]


def test_the_state_machine_may_run_only_arbiter_training_jobs_with_its_own_role(
    dev_assembly: tuple[ArbiterStack, Path],
) -> None:
    policies = _template(dev_assembly).find_resources("AWS::IAM::Policy")
    statements = [s for p in policies.values() for s in p["Properties"]["PolicyDocument"]["Statement"]]
    sagemaker = [s for s in statements if "sagemaker:CreateTrainingJob" in json.dumps(s["Action"])]
    assert len(sagemaker) == 1
    assert "training-job/arbiter-*" in json.dumps(sagemaker[0]["Resource"])
    passes = [s for s in statements if s["Action"] == "iam:PassRole"]
    assert passes
    assert all("TrainingRole" in json.dumps(s["Resource"]) for s in passes)


def test_the_template_with_the_retraining_is_cfn_lint_clean(dev_assembly: tuple[ArbiterStack, Path]) -> None:
    matches = lint_file(dev_assembly[1], config=ManualArgs(ignore_checks=["W3005"], regions=["eu-west-1"]))
    assert [str(m) for m in matches] == []


def test_the_retraining_tasks_know_the_registry_and_no_venue(dev_assembly: tuple[ArbiterStack, Path]) -> None:
    functions = _template(dev_assembly).find_resources("AWS::Lambda::Function").values()
    tasks = [f for f in functions if f["Properties"]["Description"].startswith("Arbiter retraining task")]
    assert len(tasks) == len(RETRAIN_TASKS)
    for task in tasks:
        variables = task["Properties"]["Environment"]["Variables"]
        assert "ARBITER_SCORING__MODEL_BUCKET" in variables
        assert "ARBITER_SCORING__LIVE_MODEL_PARAMETER" in variables
        assert not [name for name in variables if name.startswith(("ARBITER_VENUES", "ARBITER_PAPER__"))]
        assert task["Properties"]["Architectures"] == ["arm64"]


def test_the_source_directory_is_the_training_script_as_script_mode_unpacks_it(tmp_path: Path) -> None:
    import tarfile

    from cdk.arbiter_constructs.retraining import write_source_archive

    archive = write_source_archive(tmp_path / "sourcedir.tar.gz")
    with tarfile.open(archive, mode="r:gz") as tar:
        assert tar.getnames() == ["train.py"]
        member = tar.extractfile("train.py")
        assert member is not None
        assert member.read() == (REPO_ROOT / "training" / "train.py").read_bytes()
    again = write_source_archive(tmp_path / "again" / "sourcedir.tar.gz")
    assert again.read_bytes() == archive.read_bytes()  # deterministic: no timestamps
