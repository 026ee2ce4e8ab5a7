"""The scoring model's retraining: the model bucket (KMS-encrypted, versioned, TLS only), the SSM parameter
naming the live model, the training script as a script-mode source directory (sourcedir.tar.gz), SageMaker's
training role, the three Lambda tasks and the Standard state machine ``statemachines/retrain.asl.json``, started
nightly by EventBridge Scheduler and whenever the drift alarm (realised vs predicted P&L) goes off.

The training job runs SageMaker's own scikit-learn framework image (``arbiter.scoring.topology.framework_image``)
with our script: no custom image to build or patch."""

from __future__ import annotations

from pathlib import Path

from aws_cdk import (
    Acknowledgment,
    ArnFormat,
    Duration,
    RemovalPolicy,
    Stack,
    Validations,
)
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as cloudwatch_actions
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_s3_assets as s3_assets
from aws_cdk import aws_scheduler as scheduler
from aws_cdk import aws_sns as sns
from aws_cdk import aws_ssm as ssm
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from arbiter.monitoring.catalog import NAMESPACE, PREDICTION_ERROR_USD
from arbiter.scoring.topology import (
    RETRAIN_DEFINITION,
    RETRAIN_TASKS,
    TRAINING_SOURCE,
    framework_image,
    source_directory_archive,
)
from arbiter.settings import ScoringSettings
from cdk.arbiter_constructs.functions import acknowledge_function_findings, arbiter_function
from cdk.arbiter_constructs.lambda_layers import REPO_ROOT
from cdk.arbiter_constructs.queues import dead_letter_queue
from cdk.config import DeploymentConfig

NIGHTLY = "cron(30 3 * * ? *)"
"""03:30 UTC, when the venues are quietest."""
TRAINING_INSTANCE = "ml.m5.large"
DRIFT_USD = 1.0
"""The drift alarm: realised P&L off the model's prediction by more than this (USD, hourly mean) three hours out
of six."""
DEFAULTS = ScoringSettings()
S3_GRANT_REASONS = {
    "AwsSolutions::AwsSolutions-IAM5[Action::s3:GetObject*]": "CDK's read grant, scoped to one prefix.",
    "AwsSolutions::AwsSolutions-IAM5[Action::s3:GetBucket*]": "CDK's read grant, on the one bucket.",
    "AwsSolutions::AwsSolutions-IAM5[Action::s3:List*]": "CDK's read grant, on the one bucket.",
    "AwsSolutions::AwsSolutions-IAM5[Action::s3:Abort*]": "CDK's put grant, scoped to one prefix.",
}
PREFIX_REASON = "One prefix of the model bucket (datasets, artifacts, records): objects named per run and version."
PREFIXES = ("datasets/*", "models/*", "models/records/*", "models/artifacts/*")


SOURCE_ARCHIVE = REPO_ROOT / "build" / "training" / "sourcedir.tar.gz"
"""Where synthesis writes training/ as the sourcedir.tar.gz SageMaker's script mode unpacks (git-ignored)."""


def write_source_archive(path: Path = SOURCE_ARCHIVE) -> Path:
    """training/ as one deterministic archive (no timestamps), so the asset's hash changes only with the script.
    A file asset, not a bundled one: skipping bundling (as the tests do) must not change the template."""
    path.parent.mkdir(parents=True, exist_ok=True)
    archive = source_directory_archive(REPO_ROOT / TRAINING_SOURCE)
    if not path.exists() or path.read_bytes() != archive:
        path.write_bytes(archive)
    return path


class Retraining(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: DeploymentConfig,
        layers: list[lambda_.ILayerVersion],
        environment: dict[str, str],
        alert_topic: sns.ITopic,
    ) -> None:
        super().__init__(scope, construct_id)
        stack = Stack.of(self)
        removal = RemovalPolicy.RETAIN if config.is_prod else RemovalPolicy.DESTROY
        self.key = kms.Key(
            self,
            "ModelKey",
            enable_key_rotation=True,
            description="Arbiter models and training sets",
            removal_policy=removal,
        )
        self.bucket = s3.Bucket(
            self,
            "ModelBucket",
            encryption=s3.BucketEncryption.KMS,
            encryption_key=self.key,
            bucket_key_enabled=True,
            versioned=True,
            enforce_ssl=True,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
            removal_policy=removal,
            auto_delete_objects=False,
            lifecycle_rules=[
                s3.LifecycleRule(prefix="datasets/", expiration=Duration.days(90)),
                s3.LifecycleRule(noncurrent_version_expiration=Duration.days(365)),
            ],
        )
        self.live_model = ssm.StringParameter(
            self,
            "LiveModel",
            parameter_name=f"/{config.resource_prefix}/scoring/live-model",
            string_value="none",
            description="The live scoring model's version (a record in the model bucket); none: expected profit",
        )
        self.source = s3_assets.Asset(self, "TrainingSource", path=str(write_source_archive()))
        self.registry_environment = {
            "ARBITER_SCORING__MODEL_BUCKET": self.bucket.bucket_name,
            "ARBITER_SCORING__LIVE_MODEL_PARAMETER": self.live_model.parameter_name,
        }
        self.environment = {**environment, **self.registry_environment}
        self.functions: dict[str, lambda_.Function] = {
            task.state: arbiter_function(
                self,
                task.state,
                folder=task.folder,
                config=config,
                layers=layers,
                environment=self.environment,
                timeout_seconds=task.timeout_seconds - 15,
                service=f"retrain-{task.folder}",
                description=f"Arbiter retraining task {task.state}",
                memory_size=1024,
            )
            for task in RETRAIN_TASKS
        }
        export, evaluate, promote = (self.functions[t.state] for t in RETRAIN_TASKS)
        self.bucket.grant_put(export, "datasets/*")
        self.bucket.grant_read(evaluate, "datasets/*")
        self.bucket.grant_read(evaluate, "models/*")
        self.bucket.grant_put(evaluate, "models/records/*")
        self.bucket.grant_put(promote, "models/records/*")
        for function in (evaluate, promote):
            self.live_model.grant_read(function)
        self.live_model.grant_write(promote)

        self.training_role = iam.Role(
            self,
            "TrainingRole",
            assumed_by=iam.ServicePrincipal("sagemaker.amazonaws.com"),
            description="Arbiter's SageMaker training jobs: read the training set, write the model, log",
        )
        self.bucket.grant_read(self.training_role, "datasets/*")
        self.bucket.grant_put(self.training_role, "models/artifacts/*")
        self.source.grant_read(self.training_role)
        self.key.grant_encrypt_decrypt(self.training_role)
        image = framework_image(stack.region) if not _unresolved(stack.region) else framework_image("eu-west-1")
        account = image.split(".")[0]
        self.training_role.add_to_policy(
            iam.PolicyStatement(
                actions=["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer", "ecr:BatchCheckLayerAvailability"],
                resources=[f"arn:aws:ecr:{stack.region}:{account}:repository/sagemaker-scikit-learn"],
            )
        )
        self.training_role.add_to_policy(iam.PolicyStatement(actions=["ecr:GetAuthorizationToken"], resources=["*"]))
        self.training_role.add_to_policy(
            iam.PolicyStatement(
                actions=["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams"],
                resources=[
                    stack.format_arn(
                        service="logs",
                        resource="log-group",
                        resource_name="/aws/sagemaker/TrainingJobs:*",
                        arn_format=ArnFormat.COLON_RESOURCE_NAME,
                    )
                ],
            )
        )
        self.training_role.add_to_policy(
            iam.PolicyStatement(
                actions=["cloudwatch:PutMetricData"],
                resources=["*"],
                conditions={"StringEquals": {"cloudwatch:namespace": "/aws/sagemaker/TrainingJobs"}},
            )
        )

        retention = logs.RetentionDays.ONE_YEAR if config.is_prod else logs.RetentionDays.ONE_MONTH
        self.log_group = logs.LogGroup(self, "StateMachineLogs", retention=retention, removal_policy=removal)
        self.state_machine = sfn.StateMachine(
            self,
            "StateMachine",
            state_machine_type=sfn.StateMachineType.STANDARD,
            definition_body=sfn.DefinitionBody.from_file(str(REPO_ROOT / RETRAIN_DEFINITION)),
            definition_substitutions={
                **{t.substitution: self.functions[t.state].function_arn for t in RETRAIN_TASKS},
                "AlertTopicArn": alert_topic.topic_arn,
                "TrainingImage": image if not _unresolved(stack.region) else _image_for_any_region(stack),
                "SourceDirectory": self.source.s3_object_url,
                "MinTrainingRows": str(DEFAULTS.min_training_rows),
                "TreeIterations": "150",
                "TreeDepth": "5",
                "ModelKeyArn": self.key.key_arn,
                "TrainingInstanceType": TRAINING_INSTANCE,
                "TrainingRoleArn": self.training_role.role_arn,
            },
            tracing_enabled=True,
            logs=sfn.LogOptions(destination=self.log_group, level=sfn.LogLevel.ALL, include_execution_data=True),
        )
        machine_role = self.state_machine.role
        for function in self.functions.values():
            function.grant_invoke(machine_role)
        alert_topic.grant_publish(machine_role)
        training_jobs = stack.format_arn(service="sagemaker", resource="training-job", resource_name="arbiter-*")
        self.state_machine.add_to_role_policy(
            iam.PolicyStatement(
                actions=[
                    "sagemaker:CreateTrainingJob",
                    "sagemaker:DescribeTrainingJob",
                    "sagemaker:StopTrainingJob",
                    "sagemaker:AddTags",
                ],
                resources=[training_jobs],
            )
        )
        self.training_role.grant_pass_role(machine_role)
        # The .sync integration waits on a rule Step Functions manages for SageMaker's job events.
        self.state_machine.add_to_role_policy(
            iam.PolicyStatement(
                actions=["events:PutTargets", "events:PutRule", "events:DescribeRule"],
                resources=[
                    stack.format_arn(
                        service="events",
                        resource="rule",
                        resource_name="StepFunctionsGetEventsForSageMakerTrainingJobsRule",
                    )
                ],
            )
        )
        self.key.grant_encrypt_decrypt(machine_role)

        self.dead_letters = dead_letter_queue(self, "StartDeadLetters", "retraining starts that could not be delivered")
        start_role = iam.Role(self, "StartRole", assumed_by=iam.ServicePrincipal("scheduler.amazonaws.com"))
        self.state_machine.grant_start_execution(start_role)
        self.dead_letters.grant_send_messages(start_role)
        self.schedule = scheduler.CfnSchedule(
            self,
            "NightlySchedule",
            schedule_expression=NIGHTLY,
            flexible_time_window=scheduler.CfnSchedule.FlexibleTimeWindowProperty(mode="OFF"),
            target=scheduler.CfnSchedule.TargetProperty(
                arn=self.state_machine.state_machine_arn,
                role_arn=start_role.role_arn,
                input='{"source": "arbiter.retrain.schedule"}',
                retry_policy=scheduler.CfnSchedule.RetryPolicyProperty(
                    maximum_event_age_in_seconds=3600, maximum_retry_attempts=3
                ),
                dead_letter_config=scheduler.CfnSchedule.DeadLetterConfigProperty(arn=self.dead_letters.queue_arn),
            ),
            description="Arbiter retraining, nightly",
        )
        self.drift_alarm = cloudwatch.Alarm(
            self,
            "DriftAlarm",
            alarm_name=f"{config.resource_prefix}-ModelDrift",
            alarm_description="Realised P&L far from the live model's prediction: retrain (the alarm starts it)",
            metric=cloudwatch.MathExpression(
                expression="ABS(error)",
                using_metrics={
                    "error": cloudwatch.Metric(
                        namespace=NAMESPACE,
                        metric_name=PREDICTION_ERROR_USD.name,
                        statistic="Average",
                        period=Duration.hours(1),
                    )
                },
                period=Duration.hours(1),
                label="|realised - predicted| P&L, USD",
            ),
            threshold=DRIFT_USD,
            evaluation_periods=6,
            datapoints_to_alarm=3,
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
        )
        self.drift_alarm.add_alarm_action(cloudwatch_actions.SnsAction(alert_topic))
        events.Rule(
            self,
            "DriftRule",
            description="The model drift alarm starts a retraining",
            event_pattern=events.EventPattern(
                source=["aws.cloudwatch"],
                detail_type=["CloudWatch Alarm State Change"],
                resources=[self.drift_alarm.alarm_arn],
                detail={"state": {"value": ["ALARM"]}},
            ),
            targets=[targets.SfnStateMachine(self.state_machine, dead_letter_queue=self.dead_letters)],
        )
        _acknowledge(self)

    def grant_live_model_read(self, function: lambda_.IFunction) -> None:
        """What the scanner needs to score with the live model: the parameter, the records and the artifacts."""
        self.live_model.grant_read(function)
        self.bucket.grant_read(function, "models/*")
        for target in (function, function.role):
            for rule, reason in {**S3_GRANT_REASONS, self._prefix_rule("models/*"): PREFIX_REASON}.items():
                if target is not None:
                    Validations.of(target).acknowledge(Acknowledgment(id=rule, reason=reason))

    def _prefix_rule(self, prefix: str) -> str:
        logical_id = Stack.of(self).get_logical_id(self.bucket.node.default_child)  # type: ignore[arg-type]
        return f"AwsSolutions::AwsSolutions-IAM5[Resource::<{logical_id}.Arn>/{prefix}]"


def _unresolved(value: str) -> bool:
    return value.startswith("${Token[")


def _image_for_any_region(stack: Stack) -> str:
    """An environment-agnostic stack: the image account by region, as a CloudFormation mapping lookup."""
    from aws_cdk import CfnMapping, Fn

    from arbiter.scoring.topology import FRAMEWORK_ACCOUNTS, FRAMEWORK_VERSION

    mapping = CfnMapping(
        stack, "SklearnImageAccounts", mapping={r: {"account": a} for r, a in FRAMEWORK_ACCOUNTS.items()}
    )
    account = mapping.find_in_map(stack.region, "account")
    return Fn.join(
        "", [account, ".dkr.ecr.", stack.region, f".amazonaws.com/sagemaker-scikit-learn:{FRAMEWORK_VERSION}-cpu-py3"]
    )


def _acknowledge(retraining: Retraining) -> None:
    for function in retraining.functions.values():
        Validations.of(function).acknowledge(
            Acknowledgment(
                id="Serverless::Serverless-LambdaDLQ",
                reason="Retraining tasks are invoked synchronously by Step Functions; its Retry/Catch handle failures.",
            )
        )
    acknowledge_function_findings(
        retraining,
        list(retraining.functions.values()),
        "The retraining state machine",
        {},
        invoker_scope=retraining.state_machine,
    )
    wildcard_reasons = {
        "AwsSolutions::AwsSolutions-IAM5[Resource::*]": (
            "X-Ray segments, ECR's GetAuthorizationToken and SageMaker's metrics (namespace-conditioned) exist only "
            "on '*'."
        ),
        "AwsSolutions::AwsSolutions-IAM5[Action::kms:GenerateDataKey*]": "CDK's KMS grants, scoped to the one key.",
        "AwsSolutions::AwsSolutions-IAM5[Action::kms:ReEncrypt*]": "CDK's KMS grants, scoped to the one key.",
        **S3_GRANT_REASONS,
        **{retraining._prefix_rule(prefix): PREFIX_REASON for prefix in PREFIXES},
        "AwsSolutions::AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:s3:::cdk-hnb659fds-assets-<AWS::AccountId>-"
        "<AWS::Region>/*]": "CDK's read grant on the asset bucket, for the training script's source directory.",
        "AwsSolutions::AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:logs:<AWS::Region>:<AWS::AccountId>:"
        "log-group:/aws/sagemaker/TrainingJobs:*]": "SageMaker writes each training job's log stream in this group.",
        "AwsSolutions::AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:sagemaker:<AWS::Region>:<AWS::AccountId>:"
        "training-job/arbiter-*]": "Training jobs are named per run (arbiter-<run>): only those.",
    }
    for target in (retraining, *retraining.functions.values(), retraining.training_role, retraining.state_machine):
        for rule, reason in wildcard_reasons.items():
            Validations.of(target).acknowledge(Acknowledgment(id=rule, reason=reason))
    Validations.of(retraining.bucket).acknowledge(
        Acknowledgment(
            id="AwsSolutions::AwsSolutions-S1",
            reason="Only the retraining's own roles read or write it; versioning keeps every object's history.",
        )
    )
