"""The whole platform in one stack; each concern is one construct inside it."""

from __future__ import annotations

from typing import Any

from aws_cdk import CfnOutput, Stack
from constructs import Construct

from cdk.arbiter_constructs.alerts import Alerts
from cdk.arbiter_constructs.tables import DataTables
from cdk.config import DeploymentConfig


class ArbiterStack(Stack):
    def __init__(self, scope: Construct, construct_id: str, *, config: DeploymentConfig, **kwargs: Any) -> None:
        super().__init__(scope, construct_id, **kwargs)
        self.alerts = Alerts(self, "Alerts", config=config)
        self.data = DataTables(self, "Data", config=config)
        CfnOutput(self, "AlertTopicArn", value=self.alerts.topic.topic_arn)
