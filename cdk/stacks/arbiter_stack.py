"""The whole platform in one stack; each concern is one construct inside it."""

from __future__ import annotations

import json
from typing import Any

from aws_cdk import Acknowledgment, CfnOutput, RemovalPolicy, Stack, Validations
from constructs import Construct

from arbiter.storage import TABLES
from cdk.arbiter_constructs.alerts import Alerts
from cdk.arbiter_constructs.api import OperatorApi
from cdk.arbiter_constructs.lambda_layers import LambdaLayers
from cdk.arbiter_constructs.monitoring import Monitoring
from cdk.arbiter_constructs.reconciler import Reconciler
from cdk.arbiter_constructs.saga import ArbitrageSaga
from cdk.arbiter_constructs.scanner import Scanner
from cdk.arbiter_constructs.tables import DataTables
from cdk.config import DeploymentConfig


class ArbiterStack(Stack):
    def __init__(self, scope: Construct, construct_id: str, *, config: DeploymentConfig, **kwargs: Any) -> None:
        super().__init__(scope, construct_id, **kwargs)
        self.alerts = Alerts(self, "Alerts", config=config)
        self.data = DataTables(self, "Data", config=config)
        self.layers = LambdaLayers(
            self, "Layers", removal_policy=RemovalPolicy.RETAIN if config.is_prod else RemovalPolicy.DESTROY
        )
        # Everything arbiter.bootstrap needs to build the saga's dependencies in a task function.
        environment = {
            "ARBITER_MODE": config.mode,
            "ARBITER_ENVIRONMENT": config.env,
            "ARBITER_ALERT_TOPIC_ARN": self.alerts.topic.topic_arn,
            "ARBITER_VENUES": json.dumps(list(config.venues)),
            "ARBITER_GATEWAY__CREDENTIALS_SECRET_PREFIX": config.credentials_secret_prefix,
            **{f"ARBITER_TABLES__{key.upper()}": table.table_name for key, table in self.data.tables.items()},
        }
        if config.mode == "paper":
            environment["ARBITER_PAPER__BALANCES"] = json.dumps(
                {
                    venue: {asset: str(amount) for asset, amount in assets.items()}
                    for venue, assets in config.paper_balances.items()
                }
            )
        self.saga = ArbitrageSaga(
            self,
            "Saga",
            config=config,
            layers=self.layers.all,
            environment=environment,
            alert_topic=self.alerts.topic,
        )
        self.reconciler = Reconciler(self, "Reconciler", config=config, layers=self.layers.all, environment=environment)
        self.api = OperatorApi(
            self, "Api", config=config, layers=self.layers.all, environment=environment, tables=self.data.tables
        )
        for function in [*self.saga.functions.values(), self.reconciler.function]:
            for table in self.data.tables.values():
                table.grant_read_write_data(function)
            self.alerts.topic.grant_publish(function)
        self.scanner = Scanner(
            self,
            "Scanner",
            config=config,
            layers=self.layers.all,
            environment=environment,
            state_machine=self.saga.state_machine,
        )
        # What the scanner reads and writes, nothing more: running executions and P&L (read), the kill switch and
        # limits (read; the risk engine may engage the switch), leases and venue state, its opportunities.
        tables = self.data.tables
        tables["executions"].grant_read_data(self.scanner.function)
        for key in ("configuration", "venue_state", "opportunities"):
            tables[key].grant_read_write_data(self.scanner.function)
        for key, table in self.data.tables.items():
            if any(spec.key == key and spec.indexes for spec in TABLES):
                logical_id = self.get_logical_id(table.node.default_child)  # type: ignore[arg-type]
                for construct in (self.saga, self.reconciler, self.scanner, self.api):
                    Validations.of(construct).acknowledge(
                        Acknowledgment(
                            id=f"AwsSolutions::AwsSolutions-IAM5[Resource::<{logical_id}.Arn>/index/*]",
                            reason=f"Queries on the indexes of the {key} table; the grant covers that table's only.",
                        )
                    )
        if config.mode == "live":
            # The secrets themselves are put by the team (README, "Exchange credentials"), never by the stack.
            secrets = [config.secret_name(venue) for venue in config.venues]
            self.saga.grant_secrets(secrets)
            self.reconciler.function.add_to_role_policy(self.saga.secrets_statement(secrets))
            self.scanner.function.add_to_role_policy(self.saga.secrets_statement(secrets))
        functions = {
            **self.saga.functions,
            "Reconciler": self.reconciler.function,
            "Scanner": self.scanner.function,
            "Api": self.api.function,
        }
        self.monitoring = Monitoring(
            self,
            "Monitoring",
            config=config,
            topic=self.alerts.topic,
            functions=functions,
            state_machine=self.saga.state_machine,
            tables=self.data.tables,
            dead_letter_queues={
                "ReconcilerSchedule": self.reconciler.dead_letters,
                "ScannerSchedule": self.scanner.dead_letters,
                **({"UndeliveredAlerts": self.alerts.dead_letters} if self.alerts.dead_letters else {}),
            },
            log_groups=[*(f.log_group for f in functions.values()), self.saga.log_group],
        )
        CfnOutput(self, "AlertTopicArn", value=self.alerts.topic.topic_arn)
        CfnOutput(self, "ApiUrl", value=self.api.api.url)
        CfnOutput(self, "SagaStateMachineArn", value=self.saga.state_machine.state_machine_arn)
