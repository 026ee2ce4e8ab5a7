"""The scheduled reconciler: its function, run every minute by EventBridge Scheduler, one run at a time."""

from __future__ import annotations

from aws_cdk import Acknowledgment, Duration, RemovalPolicy, Stack, Validations
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_scheduler as scheduler
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from cdk.arbiter_constructs.lambda_layers import LAMBDA_ARCHITECTURE, LAMBDA_RUNTIME, REPO_ROOT
from cdk.config import DeploymentConfig

FUNCTION_TIMEOUT_SECONDS = 55
"""Under the schedule's minute: the next run starts after this one has ended (reserved concurrency 1)."""
SCHEDULE = "rate(1 minute)"


class Reconciler(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: DeploymentConfig,
        layers: list[lambda_.ILayerVersion],
        environment: dict[str, str],
    ) -> None:
        super().__init__(scope, construct_id)
        retention = logs.RetentionDays.ONE_YEAR if config.is_prod else logs.RetentionDays.ONE_MONTH
        removal = RemovalPolicy.RETAIN if config.is_prod else RemovalPolicy.DESTROY
        log_group = logs.LogGroup(self, "Logs", retention=retention, removal_policy=removal)
        self.function = lambda_.Function(
            self,
            "Function",
            runtime=LAMBDA_RUNTIME,
            architecture=LAMBDA_ARCHITECTURE,
            handler="handler.handler",
            code=lambda_.Code.from_asset(str(REPO_ROOT / "functions" / "reconciler")),
            layers=layers,
            memory_size=512,
            timeout=Duration.seconds(FUNCTION_TIMEOUT_SECONDS),
            reserved_concurrent_executions=1,
            tracing=lambda_.Tracing.ACTIVE,
            logging_format=lambda_.LoggingFormat.JSON,
            log_group=log_group,
            environment={**environment, "POWERTOOLS_SERVICE_NAME": "reconciler"},
            description="Arbiter reconciler: what the venues hold, checked against the journal every minute",
        )
        # A run the scheduler could not deliver (throttled, the function failing) is kept, not dropped.
        self.dead_letters = sqs.Queue(
            self,
            "ScheduleDeadLetters",
            retention_period=Duration.days(14),
            enforce_ssl=True,
            encryption=sqs.QueueEncryption.SQS_MANAGED,
        )
        role = iam.Role(self, "ScheduleRole", assumed_by=iam.ServicePrincipal("scheduler.amazonaws.com"))
        self.function.grant_invoke(role)
        self.dead_letters.grant_send_messages(role)
        self.schedule = scheduler.CfnSchedule(
            self,
            "Schedule",
            schedule_expression=SCHEDULE,
            flexible_time_window=scheduler.CfnSchedule.FlexibleTimeWindowProperty(mode="OFF"),
            target=scheduler.CfnSchedule.TargetProperty(
                arn=self.function.function_arn,
                role_arn=role.role_arn,
                input='{"source": "arbiter.reconciler.schedule"}',
                retry_policy=scheduler.CfnSchedule.RetryPolicyProperty(
                    maximum_event_age_in_seconds=60, maximum_retry_attempts=0
                ),
                dead_letter_config=scheduler.CfnSchedule.DeadLetterConfigProperty(arn=self.dead_letters.queue_arn),
            ),
            description="Arbiter reconciler sweep",
        )
        _acknowledge(self)


def _acknowledge(reconciler: Reconciler) -> None:
    stack = Stack.of(reconciler)
    logical_id = stack.get_logical_id(reconciler.function.node.default_child)  # type: ignore[arg-type]
    acknowledgments = {
        "AwsSolutions::AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/"
        "AWSLambdaBasicExecutionRole]": "Only AWSLambdaBasicExecutionRole, which writes the function's own logs.",
        "AwsSolutions::AwsSolutions-IAM5[Resource::*]": "X-Ray accepts trace segments only on Resource '*'.",
        "AwsSolutions::AwsSolutions-IAM5[Action::kms:GenerateDataKey*]": (
            "CDK's grant to publish on the KMS-encrypted alert topic; scoped to that one key."
        ),
        f"AwsSolutions::AwsSolutions-IAM5[Resource::<{logical_id}.Arn>:*]": (
            "The schedule may invoke any version of the reconciler function (CDK's grant_invoke)."
        ),
        "AwsSolutions::AwsSolutions-L1": (
            "Pinned to Python 3.13 with the saga's functions until the dependency layer is verified on 3.14."
        ),
        "Serverless::Serverless-LambdaLatestVersion": "Same pin as AwsSolutions-L1: Python 3.13 on purpose.",
        "AwsSolutions::AwsSolutions-SQS3": "This queue is the schedule's dead-letter queue itself.",
        "Serverless::Serverless-SQSRedrivePolicy": "This queue is the schedule's dead-letter queue itself.",
        "Serverless::Serverless-LambdaDLQ": (
            "Invoked by EventBridge Scheduler, whose target keeps undeliverable runs in its own dead-letter queue."
        ),
    }
    for rule, reason in acknowledgments.items():
        Validations.of(reconciler).acknowledge(Acknowledgment(id=rule, reason=reason))
