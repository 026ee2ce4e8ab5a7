"""The arbitrage saga: its task functions and the Standard state machine loaded from the ASL file."""

from __future__ import annotations

from collections.abc import Iterable

from aws_cdk import Acknowledgment, ArnFormat, Duration, RemovalPolicy, Stack, Validations
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_sns as sns
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from arbiter.execution.topology import ALERT_TOPIC_SUBSTITUTION, SAGA_DEFINITION, SAGA_TASKS
from cdk.arbiter_constructs.lambda_layers import LAMBDA_ARCHITECTURE, LAMBDA_RUNTIME, REPO_ROOT
from cdk.config import DeploymentConfig


class ArbitrageSaga(Construct):
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
        retention = logs.RetentionDays.ONE_YEAR if config.is_prod else logs.RetentionDays.ONE_MONTH
        removal = RemovalPolicy.RETAIN if config.is_prod else RemovalPolicy.DESTROY
        self.functions: dict[str, lambda_.Function] = {}
        for task in SAGA_TASKS:
            log_group = logs.LogGroup(self, f"{task.state}Logs", retention=retention, removal_policy=removal)
            self.functions[task.state] = lambda_.Function(
                self,
                task.state,
                runtime=LAMBDA_RUNTIME,
                architecture=LAMBDA_ARCHITECTURE,
                handler="handler.handler",
                code=lambda_.Code.from_asset(str(REPO_ROOT / "functions" / task.folder)),
                layers=layers,
                memory_size=512,
                timeout=Duration.seconds(task.function_timeout_seconds),
                tracing=lambda_.Tracing.ACTIVE,
                logging_format=lambda_.LoggingFormat.JSON,
                log_group=log_group,
                environment={**environment, "POWERTOOLS_SERVICE_NAME": f"saga-{task.folder}"},
                description=f"Arbiter saga task {task.state}",
            )
        state_machine_logs = logs.LogGroup(self, "StateMachineLogs", retention=retention, removal_policy=removal)
        self.state_machine = sfn.StateMachine(
            self,
            "StateMachine",
            state_machine_type=sfn.StateMachineType.STANDARD,
            definition_body=sfn.DefinitionBody.from_file(str(REPO_ROOT / SAGA_DEFINITION)),
            definition_substitutions={
                **{t.substitution: self.functions[t.state].function_arn for t in SAGA_TASKS},
                ALERT_TOPIC_SUBSTITUTION: alert_topic.topic_arn,
            },
            tracing_enabled=True,
            logs=sfn.LogOptions(destination=state_machine_logs, level=sfn.LogLevel.ALL, include_execution_data=True),
            timeout=Duration.minutes(15),
        )
        for function in self.functions.values():
            function.grant_invoke(self.state_machine)
        alert_topic.grant_publish(self.state_machine)
        _acknowledge_saga_findings(self)

    def grant_tasks(self, statement: iam.PolicyStatement) -> None:
        for function in self.functions.values():
            function.add_to_role_policy(statement)

    def grant_secrets(self, names: Iterable[str]) -> None:
        self.grant_tasks(self.secrets_statement(names))

    def secrets_statement(self, names: Iterable[str]) -> iam.PolicyStatement:
        """Reading exactly these secrets. Secrets Manager ends a secret's ARN with ``-`` and six random
        characters: ``??????`` matches them and nothing longer, so no other secret under the prefix."""
        stack = Stack.of(self)
        arns = [
            stack.format_arn(
                service="secretsmanager",
                resource="secret",
                resource_name=f"{name}-??????",
                arn_format=ArnFormat.COLON_RESOURCE_NAME,
            )
            for name in names
        ]
        return iam.PolicyStatement(actions=["secretsmanager:GetSecretValue"], resources=arns)


SAGA_ACKNOWLEDGMENTS = {
    "AwsSolutions::AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/"
    "AWSLambdaBasicExecutionRole]": "Only AWSLambdaBasicExecutionRole, which writes the function's own logs.",
    "AwsSolutions::AwsSolutions-IAM5[Resource::*]": "X-Ray accepts trace segments only on Resource '*'.",
    "AwsSolutions::AwsSolutions-IAM5[Action::kms:GenerateDataKey*]": (
        "CDK's grant to publish on the KMS-encrypted alert topic; scoped to that one key."
    ),
    "AwsSolutions::AwsSolutions-L1": (
        "Pinned to Python 3.13 until the dependency layer's wheels (pydantic-core, numpy) are verified on 3.14."
    ),
    "Serverless::Serverless-LambdaLatestVersion": "Same pin as AwsSolutions-L1: Python 3.13 on purpose.",
    "Serverless::Serverless-LambdaDLQ": (
        "Saga tasks are invoked synchronously by Step Functions, whose Retry/Catch handle failures; "
        "there is no asynchronous invocation for a DLQ to catch."
    ),
}


def _acknowledge_saga_findings(saga: ArbitrageSaga) -> None:
    acknowledgments = dict(SAGA_ACKNOWLEDGMENTS)
    stack = Stack.of(saga)
    for function in saga.functions.values():
        logical_id = stack.get_logical_id(function.node.default_child)  # type: ignore[arg-type]
        acknowledgments[f"AwsSolutions::AwsSolutions-IAM5[Resource::<{logical_id}.Arn>:*]"] = (
            "The state machine may invoke any version of its own task function (CDK's grant_invoke)."
        )
    for rule, reason in acknowledgments.items():
        Validations.of(saga).acknowledge(Acknowledgment(id=rule, reason=reason))
