"""Functions run by EventBridge Scheduler every minute (the reconciler, the scanner's shards): the schedules, the
role they invoke with, and the dead-letter queue that keeps a run the scheduler could not deliver."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_scheduler as scheduler
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from cdk.arbiter_constructs.queues import dead_letter_queue

EVERY_MINUTE = "rate(1 minute)"
SCHEDULED_FUNCTION_ACKNOWLEDGMENTS = {
    "Serverless::Serverless-LambdaDLQ": (
        "Invoked by EventBridge Scheduler, whose target keeps undeliverable runs in its own dead-letter queue."
    ),
}
"""The cdk-nag findings every scheduled function raises, with their reasons (for acknowledge_function_findings)."""


def minute_schedules(
    scope: Construct, function: lambda_.IFunction, schedules: Mapping[str, tuple[Mapping[str, Any], str]]
) -> tuple[sqs.Queue, list[scheduler.CfnSchedule]]:
    """One schedule per ``construct id -> (input, description)``, each invoking ``function`` every minute; a run
    not delivered within the minute goes to the returned dead-letter queue rather than piling up."""
    dead_letters = dead_letter_queue(scope, "ScheduleDeadLetters", "runs the scheduler could not deliver")
    role = iam.Role(scope, "ScheduleRole", assumed_by=iam.ServicePrincipal("scheduler.amazonaws.com"))
    function.grant_invoke(role)
    dead_letters.grant_send_messages(role)
    made = [
        scheduler.CfnSchedule(
            scope,
            construct_id,
            schedule_expression=EVERY_MINUTE,
            flexible_time_window=scheduler.CfnSchedule.FlexibleTimeWindowProperty(mode="OFF"),
            target=scheduler.CfnSchedule.TargetProperty(
                arn=function.function_arn,
                role_arn=role.role_arn,
                input=json.dumps(dict(payload)),
                retry_policy=scheduler.CfnSchedule.RetryPolicyProperty(
                    maximum_event_age_in_seconds=60, maximum_retry_attempts=0
                ),
                dead_letter_config=scheduler.CfnSchedule.DeadLetterConfigProperty(arn=dead_letters.queue_arn),
            ),
            description=description,
        )
        for construct_id, (payload, description) in schedules.items()
    ]
    return dead_letters, made
