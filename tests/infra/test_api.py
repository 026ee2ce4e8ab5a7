"""The operators' API in the stack: IAM by default (Cognito groups as a context option), one stage with X-Ray,
JSON access logs and throttling per method, a usage plan, CORS for the console's origin only, and a function that
may write only the execution and configuration tables."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from aws_cdk import assertions
from cfnlint.api import ManualArgs, lint_file

from arbiter.api.identity import OPERATOR_GROUP, READ_ONLY_GROUP
from cdk.arbiter_constructs.api import CHANGE_RATE_LIMIT, RATE_LIMIT, STAGE
from cdk.stacks.arbiter_stack import ArbiterStack
from tests.infra.conftest import AppBuilder

WRITES = {"dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem", "dynamodb:BatchWriteItem"}


def _methods(template: assertions.Template) -> list[dict[str, Any]]:
    return [r["Properties"] for r in template.find_resources("AWS::ApiGateway::Method").values()]


def test_every_method_but_preflight_needs_iam(dev_assembly: tuple[ArbiterStack, Path]) -> None:
    template = assertions.Template.from_stack(dev_assembly[0])
    methods = _methods(template)
    assert {m["HttpMethod"] for m in methods} == {"ANY", "OPTIONS"}
    for method in methods:
        expected = "NONE" if method["HttpMethod"] == "OPTIONS" else "AWS_IAM"
        assert method["AuthorizationType"] == expected, method
        if method["HttpMethod"] == "ANY":
            assert "RequestValidatorId" in method


def test_the_stage_traces_logs_and_throttles_per_method(dev_assembly: tuple[ArbiterStack, Path]) -> None:
    template = assertions.Template.from_stack(dev_assembly[0])
    (stage,) = [r["Properties"] for r in template.find_resources("AWS::ApiGateway::Stage").values()]
    assert stage["StageName"] == STAGE
    assert stage["TracingEnabled"] is True
    assert '"status"' in stage["AccessLogSetting"]["Format"]
    limits = {(m["HttpMethod"], m["ResourcePath"]): m.get("ThrottlingRateLimit") for m in stage["MethodSettings"]}
    assert limits == {
        ("*", "/*"): RATE_LIMIT,
        ("PUT", "/*"): CHANGE_RATE_LIMIT,
        ("POST", "/*"): CHANGE_RATE_LIMIT,
        ("DELETE", "/*"): CHANGE_RATE_LIMIT,
    }
    (plan,) = [r["Properties"] for r in template.find_resources("AWS::ApiGateway::UsagePlan").values()]
    assert plan["Throttle"]["RateLimit"] == RATE_LIMIT


def test_cors_allows_the_console_origin_only(make_app: AppBuilder) -> None:
    _, stack = make_app(api_cors_origin="https://console.example.com")
    template = assertions.Template.from_stack(stack)
    preflight = [m for m in _methods(template) if m["HttpMethod"] == "OPTIONS"]
    assert preflight
    for method in preflight:
        headers = method["Integration"]["IntegrationResponses"][0]["ResponseParameters"]
        assert headers["method.response.header.Access-Control-Allow-Origin"] == "'https://console.example.com'"


def test_the_function_writes_only_the_execution_and_configuration_tables(
    dev_assembly: tuple[ArbiterStack, Path],
) -> None:
    stack = dev_assembly[0]
    template = assertions.Template.from_stack(stack)
    role = stack.resolve(stack.api.function.role.role_name)  # type: ignore[union-attr]
    policies = [
        p["Properties"]
        for p in template.find_resources("AWS::IAM::Policy").values()
        if role in p["Properties"].get("Roles", [])
    ]
    written: set[str] = set()
    for policy in policies:
        for statement in policy["PolicyDocument"]["Statement"]:
            actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
            if WRITES & set(actions):
                resources = (
                    statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
                )
                written |= {str(r) for r in resources}
    tables = {key: stack.resolve(table.table_arn) for key, table in stack.data.tables.items()}
    assert any(str(tables["executions"]) in r for r in written)
    assert any(str(tables["configuration"]) in r for r in written)
    for key in ("orders", "venue_state", "opportunities", "timeseries", "idempotency"):
        assert not any(str(tables[key]) in r for r in written), key


def test_the_cognito_option_has_the_two_groups_and_stays_nag_and_lint_clean(
    cognito_assembly: tuple[ArbiterStack, Path],
) -> None:
    stack, path = cognito_assembly
    template = assertions.Template.from_stack(stack)
    for method in _methods(template):
        expected = "NONE" if method["HttpMethod"] == "OPTIONS" else "COGNITO_USER_POOLS"
        assert method["AuthorizationType"] == expected
    groups = {r["Properties"]["GroupName"] for r in template.find_resources("AWS::Cognito::UserPoolGroup").values()}
    assert groups == {OPERATOR_GROUP, READ_ONLY_GROUP}
    template.has_resource_properties("AWS::Cognito::UserPool", {"MfaConfiguration": "ON"})
    matches = lint_file(path, config=ManualArgs(ignore_checks=["W3005"], regions=["eu-west-1"]))
    assert [str(m) for m in matches] == []


def test_the_function_knows_the_console_origin(make_app: AppBuilder) -> None:
    from arbiter.api import CORS_ORIGIN_VARIABLE

    _, stack = make_app(api_cors_origin="https://console.example.com")
    template = assertions.Template.from_stack(stack)
    template.has_resource_properties(
        "AWS::Lambda::Function",
        {
            "Environment": {
                "Variables": assertions.Match.object_like({CORS_ORIGIN_VARIABLE: "https://console.example.com"})
            }
        },
    )
