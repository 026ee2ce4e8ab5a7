"""The scheduled reconciler: its function, run every minute by EventBridge Scheduler, one run at a time."""

from __future__ import annotations

from aws_cdk import Acknowledgment, Validations
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_scheduler as scheduler
from constructs import Construct

from cdk.arbiter_constructs.functions import acknowledge_function_findings, arbiter_function
from cdk.arbiter_constructs.queues import dead_letter_queue
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
        self.function = arbiter_function(
            self,
            "Function",
            folder="reconciler",
            config=config,
            layers=layers,
            environment=environment,
            timeout_seconds=FUNCTION_TIMEOUT_SECONDS,
            service="reconciler",
            description="Arbiter reconciler: what the venues hold, checked against the journal every minute",
            reserved_concurrency=1,
        )
        # A run the scheduler could not deliver (throttled, the function failing) is kept, not dropped.
        self.dead_letters = dead_letter_queue(
            self, "ScheduleDeadLetters", "reconciler runs the scheduler could not deliver"
        )
        self.role = role = iam.Role(self, "ScheduleRole", assumed_by=iam.ServicePrincipal("scheduler.amazonaws.com"))
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
    acknowledge_function_findings(reconciler, [reconciler.function], "The schedule", {}, invoker_scope=reconciler.role)
    Validations.of(reconciler.function).acknowledge(
        Acknowledgment(
            id="Serverless::Serverless-LambdaDLQ",
            reason="Invoked by EventBridge Scheduler, whose target keeps undeliverable runs in its dead-letter queue.",
        )
    )
