"""The operators' API: a REST API (API Gateway) in front of the api function, versioned by its ``v1`` stage and
routes. IAM (SigV4) authorization by default, a Cognito user pool with an operators' and a readers' group as the
context option ``api_auth=cognito``; access logs, X-Ray, request validation, throttling per method through the
stage and a usage plan, CORS for the console's origin only. The function may read what the API shows and write
only the execution and configuration tables (audit events, the kill switch, pause, locks, limits)."""

from __future__ import annotations

from collections.abc import Mapping

from aws_cdk import Acknowledgment, Duration, RemovalPolicy, Stack, Validations
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_cognito as cognito
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from constructs import Construct

from arbiter.api import CORS_ORIGIN_VARIABLE
from arbiter.api.identity import OPERATOR_GROUP, READ_ONLY_GROUP
from cdk.arbiter_constructs.functions import acknowledge_function_findings, arbiter_function
from cdk.config import DeploymentConfig

STAGE = "v1"
RATE_LIMIT = 20
"""Requests per second across the API (the stage and the usage plan); an operator's API is not a public one."""
BURST_LIMIT = 40
CHANGE_RATE_LIMIT = 2
"""Requests per second for the changes (PUT, POST, DELETE): a few by hand, never a loop."""


class OperatorApi(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: DeploymentConfig,
        layers: list[lambda_.ILayerVersion],
        environment: dict[str, str],
        tables: Mapping[str, dynamodb.ITableV2],
    ) -> None:
        super().__init__(scope, construct_id)
        self.function = arbiter_function(
            self,
            "Function",
            folder="api",
            config=config,
            layers=layers,
            environment={**environment, CORS_ORIGIN_VARIABLE: config.api_cors_origin},
            timeout_seconds=10,
            service="api",
            description="Arbiter operators' API: health, executions, incidents, limits, kill switch, pause, locks",
        )
        # Its DynamoDB access is FUNCTION_ACCESS["api"] (cdk/arbiter_constructs/access.py), granted by the stack.

        removal = RemovalPolicy.RETAIN if config.is_prod else RemovalPolicy.DESTROY
        retention = logs.RetentionDays.ONE_YEAR if config.is_prod else logs.RetentionDays.ONE_MONTH
        self.access_logs = logs.LogGroup(self, "AccessLogs", retention=retention, removal_policy=removal)
        self.user_pool: cognito.UserPool | None = None
        method_options = self._authorization(config)
        self.api = apigw.RestApi(
            self,
            "RestApi",
            rest_api_name=f"{config.resource_prefix}-api",
            description="Arbiter operators' API",
            cloud_watch_role=True,
            cloud_watch_role_removal_policy=removal,
            endpoint_types=[apigw.EndpointType.REGIONAL],
            default_method_options=method_options,
            default_cors_preflight_options=apigw.CorsOptions(
                allow_origins=[config.api_cors_origin],
                allow_methods=["GET", "PUT", "POST", "DELETE"],
                allow_headers=["Content-Type", "Authorization", "X-Amz-Date", "X-Amz-Security-Token"],
                max_age=Duration.hours(1),
            ),
            deploy_options=apigw.StageOptions(
                stage_name=STAGE,
                tracing_enabled=True,
                logging_level=apigw.MethodLoggingLevel.ERROR,
                data_trace_enabled=False,  # request and response bodies stay out of the execution logs
                access_log_destination=apigw.LogGroupLogDestination(self.access_logs),
                access_log_format=apigw.AccessLogFormat.json_with_standard_fields(
                    caller=True,
                    http_method=True,
                    ip=True,
                    protocol=True,
                    request_time=True,
                    resource_path=True,
                    response_length=True,
                    status=True,
                    user=True,
                ),
                throttling_rate_limit=RATE_LIMIT,
                throttling_burst_limit=BURST_LIMIT,
                method_options={
                    f"/*/{method}": apigw.MethodDeploymentOptions(
                        throttling_rate_limit=CHANGE_RATE_LIMIT, throttling_burst_limit=CHANGE_RATE_LIMIT * 2
                    )
                    for method in ("PUT", "POST", "DELETE")
                },
            ),
        )
        # Bodies and parameters are validated by the function against the OpenAPI models; the gateway checks what it
        # can before invoking it.
        validator = self.api.add_request_validator(
            "Validator", validate_request_body=True, validate_request_parameters=True
        )
        integration = apigw.LambdaIntegration(self.function)
        version = self.api.root.add_resource("v1")
        version.add_method("ANY", integration, request_validator=validator)
        version.add_resource("{proxy+}").add_method("ANY", integration, request_validator=validator)
        self.usage_plan = self.api.add_usage_plan(
            "UsagePlan",
            name=f"{config.resource_prefix}-api",
            throttle=apigw.ThrottleSettings(rate_limit=RATE_LIMIT, burst_limit=BURST_LIMIT),
            api_stages=[apigw.UsagePlanPerApiStage(api=self.api, stage=self.api.deployment_stage)],
        )
        self.reader_policy, self.operator_policy = self._invoke_policies()
        self._acknowledge()

    def _authorization(self, config: DeploymentConfig) -> apigw.MethodOptions:
        if config.api_auth == "iam":
            return apigw.MethodOptions(authorization_type=apigw.AuthorizationType.IAM)
        self.user_pool = cognito.UserPool(
            self,
            "Operators",
            user_pool_name=f"{config.resource_prefix}-operators",
            self_sign_up_enabled=False,
            sign_in_aliases=cognito.SignInAliases(email=True),
            mfa=cognito.Mfa.REQUIRED,
            mfa_second_factor=cognito.MfaSecondFactor(sms=False, otp=True),
            password_policy=cognito.PasswordPolicy(
                min_length=14, require_digits=True, require_lowercase=True, require_symbols=True, require_uppercase=True
            ),
            feature_plan=cognito.FeaturePlan.PLUS,
            standard_threat_protection_mode=cognito.StandardThreatProtectionMode.FULL_FUNCTION,
            account_recovery=cognito.AccountRecovery.EMAIL_ONLY,
            removal_policy=RemovalPolicy.RETAIN if config.is_prod else RemovalPolicy.DESTROY,
        )
        for group, description in ((OPERATOR_GROUP, "may change things"), (READ_ONLY_GROUP, "may only read")):
            cognito.CfnUserPoolGroup(
                self, f"Group-{group}", user_pool_id=self.user_pool.user_pool_id, group_name=group,
                description=f"Arbiter API: {description}",
            )  # fmt: skip
        # SRP sign-in for scripts and the SDK; no OAuth (CDK's default would allow the implicit flow to
        # https://example.com). The console's browser login is its own client (cdk/arbiter_constructs/console.py).
        self.user_pool.add_client(
            "Console", auth_flows=cognito.AuthFlow(user_srp=True), generate_secret=False, disable_o_auth=True
        )
        authorizer = apigw.CognitoUserPoolsAuthorizer(self, "Authorizer", cognito_user_pools=[self.user_pool])
        return apigw.MethodOptions(authorization_type=apigw.AuthorizationType.COGNITO, authorizer=authorizer)

    def _invoke_policies(self) -> tuple[iam.ManagedPolicy, iam.ManagedPolicy]:
        """What a team attaches to its people's roles (IAM authorization): readers may GET, operators anything."""

        def may_invoke(construct_id: str, method: str, description: str) -> iam.ManagedPolicy:
            resource = self.api.arn_for_execute_api(method, "/v1/*", STAGE)
            statement = iam.PolicyStatement(actions=["execute-api:Invoke"], resources=[resource])
            return iam.ManagedPolicy(self, construct_id, description=description, statements=[statement])

        return (
            may_invoke("ReaderPolicy", "GET", "Arbiter API: read only (GET)"),
            may_invoke("OperatorPolicy", "*", "Arbiter API: read and change (kill switch, pause, locks, limits)"),
        )

    def _acknowledge(self) -> None:
        acknowledge_function_findings(
            self,
            [self.function],
            "API Gateway",
            {
                "Serverless::Serverless-LambdaDLQ": "Invoked synchronously by API Gateway: the caller gets the error.",
                "AwsSolutions::AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/"
                "AmazonAPIGatewayPushToCloudWatchLogs]": "API Gateway's own role to write the API's logs.",
                "AwsSolutions::AwsSolutions-APIG3": (
                    "WAF is not attached yet (an option the issue asks for, not built): IAM or Cognito authorizes "
                    "every method and the stage throttles."
                ),
                "AwsSolutions::AwsSolutions-APIG4": "CORS preflight (OPTIONS) carries no credentials by definition.",
                "AwsSolutions::AwsSolutions-COG4": (
                    "IAM (SigV4) authorizes every method by default; preflight (OPTIONS) carries no credentials."
                ),
                "Serverless::Serverless-APIGWStructuredLogging": "Access logs are JSON (json_with_standard_fields).",
            },
        )
        logical = Stack.of(self).get_logical_id(self.api.node.default_child)  # type: ignore[arg-type]
        for construct, method in ((self.reader_policy, "GET"), (self.operator_policy, "*")):
            Validations.of(construct).acknowledge(
                Acknowledgment(
                    id=f"AwsSolutions::AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:execute-api:<AWS::Region>:"
                    f"<AWS::AccountId>:<{logical}>/{STAGE}/{method}/v1/*]",
                    reason=f"Every route of the API's {STAGE} stage ({method}), by design of the policy.",
                )
            )
