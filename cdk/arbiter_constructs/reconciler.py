"""The scheduled reconciler: its function, run every minute by EventBridge Scheduler, one run at a time."""

from __future__ import annotations

from typing import cast

from aws_cdk import Acknowledgment, Validations
from aws_cdk import aws_lambda as lambda_
from constructs import Construct

from cdk.arbiter_constructs.functions import acknowledge_function_findings, arbiter_function
from cdk.arbiter_constructs.schedules import minute_schedules
from cdk.config import DeploymentConfig

FUNCTION_TIMEOUT_SECONDS = 55
"""Under the schedule's minute: the next run starts after this one has ended (reserved concurrency 1)."""


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
        self.dead_letters, (self.schedule,) = minute_schedules(
            self, self.function, {"Schedule": ({"source": "arbiter.reconciler.schedule"}, "Arbiter reconciler sweep")}
        )
        _acknowledge(self)


def _acknowledge(reconciler: Reconciler) -> None:
    acknowledge_function_findings(
        reconciler,
        [reconciler.function],
        "The schedule",
        {},
        invoker_scope=cast(Construct, reconciler.node.find_child("ScheduleRole")),
    )
    Validations.of(reconciler.function).acknowledge(
        Acknowledgment(
            id="Serverless::Serverless-LambdaDLQ",
            reason="Invoked by EventBridge Scheduler, whose target keeps undeliverable runs in its dead-letter queue.",
        )
    )
