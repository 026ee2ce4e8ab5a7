"""The whole platform in one stack; each concern is one construct inside it."""

from __future__ import annotations

import json
from typing import Any

from aws_cdk import Aspects, CfnOutput, RemovalPolicy, Stack
from constructs import Construct

from arbiter.execution.topology import SAGA_TASKS
from arbiter.scoring.topology import RETRAIN_TASKS
from cdk.arbiter_constructs.access import AUDITED_TABLE, AuditTrailGuard, grant_tables
from cdk.arbiter_constructs.alerts import Alerts
from cdk.arbiter_constructs.api import OperatorApi
from cdk.arbiter_constructs.console import Console
from cdk.arbiter_constructs.lambda_layers import LambdaLayers
from cdk.arbiter_constructs.monitoring import Monitoring
from cdk.arbiter_constructs.reconciler import Reconciler
from cdk.arbiter_constructs.retraining import Retraining
from cdk.arbiter_constructs.saga import ArbitrageSaga
from cdk.arbiter_constructs.scanner import Scanner
from cdk.arbiter_constructs.tables import DataTables
from cdk.config import DeploymentConfig

VENUE_SETTINGS = ("ARBITER_VENUES", "ARBITER_PAPER__", "ARBITER_GATEWAY__")


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
            # The journal's hard cap on running executions: the same number as the order senders' reserved
            # concurrency, held even if Prepare's risk check is bypassed.
            "ARBITER_EXECUTION__EXECUTION_SLOTS": str(config.max_concurrent_executions),
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
        self.console: Console | None = None
        if self.api.user_pool is not None:
            self.console = Console(self, "Console", config=config, api=self.api.api, user_pool=self.api.user_pool)
        self.retraining = Retraining(
            self,
            "Retraining",
            config=config,
            layers=self.layers.all,
            # What the retraining's tasks read: the tables, the topic; no venue is opened, so no venue settings.
            environment={k: v for k, v in environment.items() if not k.startswith(VENUE_SETTINGS)},
            alert_topic=self.alerts.topic,
        )
        self.scanner = Scanner(
            self,
            "Scanner",
            config=config,
            layers=self.layers.all,
            environment={**environment, **self.retraining.registry_environment},  # ranks by the live model
            state_machine=self.saga.state_machine,
        )
        self.retraining.grant_live_model_read(self.scanner.function)
        functions = {task.folder: self.saga.functions[task.state] for task in SAGA_TASKS}
        functions["reconciler"] = self.reconciler.function
        for folder, function in functions.items():
            grant_tables(function, folder, self.data.tables)
            self.alerts.topic.grant_publish(function)
        grant_tables(self.scanner.function, "scanner", self.data.tables)
        for task in RETRAIN_TASKS:
            grant_tables(self.retraining.functions[task.state], task.folder, self.data.tables)
        grant_tables(self.api.function, "api", self.data.tables)
        # Every function of the stack, those other constructs add included: audit events are never deleted or changed.
        Aspects.of(self).add(AuditTrailGuard(self.data.tables[AUDITED_TABLE]))
        if config.mode == "live":
            # The secrets themselves are put by the team (README, "Exchange credentials"), never by the stack.
            secrets = [config.secret_name(venue) for venue in config.venues]
            self.saga.grant_secrets(secrets)
            self.reconciler.function.add_to_role_policy(self.saga.secrets_statement(secrets))
            self.scanner.function.add_to_role_policy(self.saga.secrets_statement(secrets))
        traced = {
            **self.saga.functions,
            "Reconciler": self.reconciler.function,
            "Scanner": self.scanner.function,
            "Api": self.api.function,
        }
        monitored = {**traced, **{f"Retrain{state}": fn for state, fn in self.retraining.functions.items()}}
        self.monitoring = Monitoring(
            self,
            "Monitoring",
            config=config,
            topic=self.alerts.topic,
            functions=monitored,
            state_machine=self.saga.state_machine,
            tables=self.data.tables,
            dead_letter_queues={
                "ReconcilerSchedule": self.reconciler.dead_letters,
                "ScannerSchedule": self.scanner.dead_letters,
                "RetrainingStarts": self.retraining.dead_letters,
                **({"UndeliveredAlerts": self.alerts.dead_letters} if self.alerts.dead_letters else {}),
            },
            log_groups=[*(f.log_group for f in traced.values()), self.saga.log_group],  # where an execution is traced
        )
        CfnOutput(self, "AlertTopicArn", value=self.alerts.topic.topic_arn)
        CfnOutput(self, "ApiUrl", value=self.api.api.url)
        if self.console is not None:
            CfnOutput(self, "ConsoleUrl", value=f"https://{self.console.distribution.distribution_domain_name}/")
        CfnOutput(self, "SagaStateMachineArn", value=self.saga.state_machine.state_machine_arn)
        CfnOutput(self, "RetrainStateMachineArn", value=self.retraining.state_machine.state_machine_arn)
        CfnOutput(self, "ModelBucketName", value=self.retraining.bucket.bucket_name)
