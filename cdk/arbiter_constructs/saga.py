"""The arbitrage saga: its task functions and the Standard state machine loaded from the ASL file."""

from __future__ import annotations

from collections.abc import Iterable

from aws_cdk import Acknowledgment, ArnFormat, RemovalPolicy, Stack, Validations
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_sns as sns
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from arbiter.execution.topology import ALERT_TOPIC_SUBSTITUTION, SAGA_DEFINITION, SAGA_TASKS
from cdk.arbiter_constructs.functions import acknowledge_function_findings, arbiter_function
from cdk.arbiter_constructs.lambda_layers import REPO_ROOT
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
        self.functions: dict[str, lambda_.Function] = {
            task.state: arbiter_function(
                self,
                task.state,
                folder=task.folder,
                config=config,
                layers=layers,
                environment=environment,
                timeout_seconds=task.function_timeout_seconds,
                service=f"saga-{task.folder}",
                description=f"Arbiter saga task {task.state}",
                reserved_concurrency=config.max_concurrent_executions if task.sends_orders else None,
            )
            for task in SAGA_TASKS
        }
        retention = logs.RetentionDays.ONE_YEAR if config.is_prod else logs.RetentionDays.ONE_MONTH
        removal = RemovalPolicy.RETAIN if config.is_prod else RemovalPolicy.DESTROY
        state_machine_logs = logs.LogGroup(self, "StateMachineLogs", retention=retention, removal_policy=removal)
        self.log_group = state_machine_logs
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
            # No ``timeout=`` here: with a file-based definition CDK drops it. The ASL file carries TimeoutSeconds
            # (arbiter.execution.topology.SAGA_TIMEOUT_SECONDS), so local runs and AWS stop at the same time.
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


def _acknowledge_saga_findings(saga: ArbitrageSaga) -> None:
    no_dlq = (
        "Saga tasks are invoked synchronously by Step Functions, whose Retry/Catch handle failures; "
        "there is no asynchronous invocation for a DLQ to catch."
    )
    for function in saga.functions.values():
        Validations.of(function).acknowledge(Acknowledgment(id="Serverless::Serverless-LambdaDLQ", reason=no_dlq))
    acknowledge_function_findings(
        saga, list(saga.functions.values()), "The state machine", {}, invoker_scope=saga.state_machine
    )
    for rule, reason in {
        "AwsSolutions::AwsSolutions-IAM5[Resource::*]": "The state machine's X-Ray tracing: segments only on '*'.",
        "AwsSolutions::AwsSolutions-IAM5[Action::kms:GenerateDataKey*]": (
            "CDK's grant to publish the fallback alert on the KMS-encrypted alert topic; scoped to that one key."
        ),
    }.items():
        Validations.of(saga.state_machine).acknowledge(Acknowledgment(id=rule, reason=reason))
