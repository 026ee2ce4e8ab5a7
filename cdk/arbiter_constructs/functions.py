"""How every Arbiter Lambda function is made (the saga's tasks, the reconciler, and any function added later):
one runtime and architecture (arm64), tracing, JSON logs with a retention, the two layers (bytecode compiled), a
role of its own that may write its own log group and nothing else until granted (no AWSLambdaBasicExecutionRole),
and reserved concurrency when asked; and the cdk-nag findings every such function raises, each acknowledged on
that function and its role only, with its reason."""

from __future__ import annotations

from collections.abc import Mapping

from aws_cdk import Acknowledgment, Duration, RemovalPolicy, Stack, Validations
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from constructs import Construct

from cdk.arbiter_constructs.lambda_layers import LAMBDA_ARCHITECTURE, LAMBDA_RUNTIME, REPO_ROOT
from cdk.config import DeploymentConfig

FUNCTION_ACKNOWLEDGMENTS = {
    "AwsSolutions::AwsSolutions-IAM5[Resource::*]": "X-Ray accepts trace segments only on Resource '*'.",
    "AwsSolutions::AwsSolutions-IAM5[Action::kms:GenerateDataKey*]": (
        "CDK's grant to publish on the KMS-encrypted alert topic; scoped to that one key."
    ),
    "AwsSolutions::AwsSolutions-L1": (
        "Pinned to Python 3.13 until the dependency layer's wheels (pydantic-core, numpy) are verified on 3.14; "
        "the layers' bytecode is compiled for it."
    ),
    "Serverless::Serverless-LambdaLatestVersion": "Same pin as AwsSolutions-L1: Python 3.13 on purpose.",
}


def arbiter_function(
    scope: Construct,
    construct_id: str,
    *,
    folder: str,
    config: DeploymentConfig,
    layers: list[lambda_.ILayerVersion],
    environment: dict[str, str],
    timeout_seconds: int,
    service: str,
    description: str,
    reserved_concurrency: int | None = None,
    memory_size: int = 512,
) -> lambda_.Function:
    """The function whose code is ``functions/<folder>`` (its ``handler.py`` exposes ``handler``).

    Its role may write its own log group (``logs:CreateLogStream``, ``logs:PutLogEvents`` on that group) and, for
    tracing, X-Ray segments; everything else is granted by the caller (DynamoDB: ``cdk.arbiter_constructs.access``).
    ``reserved_concurrency``: at most that many run at once, and that many are always available to it."""
    retention = logs.RetentionDays.ONE_YEAR if config.is_prod else logs.RetentionDays.ONE_MONTH
    removal = RemovalPolicy.RETAIN if config.is_prod else RemovalPolicy.DESTROY
    log_group = logs.LogGroup(scope, f"{construct_id}Logs", retention=retention, removal_policy=removal)
    role = iam.Role(
        scope,
        f"{construct_id}Role",
        assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
        description=f"{description}: its own logs, traces, and what the stack grants it",
    )
    log_group.grant_write(role)
    return lambda_.Function(
        scope,
        construct_id,
        runtime=LAMBDA_RUNTIME,
        architecture=LAMBDA_ARCHITECTURE,
        handler="handler.handler",
        code=lambda_.Code.from_asset(str(REPO_ROOT / "functions" / folder)),
        layers=layers,
        memory_size=memory_size,
        role=role,
        timeout=Duration.seconds(timeout_seconds),
        reserved_concurrent_executions=reserved_concurrency,
        tracing=lambda_.Tracing.ACTIVE,
        logging_format=lambda_.LoggingFormat.JSON,
        log_group=log_group,
        environment={**environment, "POWERTOOLS_SERVICE_NAME": service},
        description=description,
    )


def acknowledge_function_findings(
    scope: Construct,
    functions: list[lambda_.Function],
    invoker: str,
    more: Mapping[str, str],
    *,
    invoker_scope: Construct | None = None,
) -> None:
    """The findings every function raises, acknowledged on each function and its role only; ``more`` (rule ->
    reason) on ``scope``, for findings of the scope's own resources. ``invoker`` says who may invoke any version of
    the functions (CDK's grant_invoke): that finding is on the invoker's role, acknowledged on ``invoker_scope``
    (default: ``scope``)."""
    stack = Stack.of(scope)
    for function in functions:
        for target in (function, function.role):
            if target is not None:
                for rule, reason in FUNCTION_ACKNOWLEDGMENTS.items():
                    Validations.of(target).acknowledge(Acknowledgment(id=rule, reason=reason))
        logical_id = stack.get_logical_id(function.node.default_child)  # type: ignore[arg-type]
        Validations.of(invoker_scope or scope).acknowledge(
            Acknowledgment(
                id=f"AwsSolutions::AwsSolutions-IAM5[Resource::<{logical_id}.Arn>:*]",
                reason=f"{invoker} may invoke any version of its own function (CDK's grant_invoke).",
            )
        )
    for rule, reason in more.items():
        Validations.of(scope).acknowledge(Acknowledgment(id=rule, reason=reason))
