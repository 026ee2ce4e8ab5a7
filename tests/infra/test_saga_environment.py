"""The saga's functions get what ``arbiter.execution.wiring`` needs from the stack, and in live mode may read
their venues' secrets and nothing else."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from aws_cdk import assertions
from cfnlint.api import ManualArgs, lint_file

from arbiter.bootstrap.saga import REQUIRED_TABLES
from arbiter.execution.topology import SAGA_TASKS
from arbiter.settings import Settings
from cdk.stacks.arbiter_stack import ArbiterStack
from tests.infra.conftest import AppBuilder


def saga_environments(template: assertions.Template) -> list[dict[str, Any]]:
    functions = template.find_resources("AWS::Lambda::Function")
    every = [f["Properties"]["Environment"]["Variables"] for f in functions.values()]
    # The operators' API opens no venue (tests/infra/test_api.py covers it).
    # Nor do the retraining's tasks (tests/infra/test_retraining.py).
    environments = [
        variables
        for variables in every
        if variables.get("POWERTOOLS_SERVICE_NAME") != "api"
        and not variables.get("POWERTOOLS_SERVICE_NAME", "").startswith("retrain-")
    ]
    assert len(environments) == len(SAGA_TASKS) + 2  # and the reconciler and the scanner, which open the same venues
    return environments


def secret_statements(template: assertions.Template) -> list[dict[str, Any]]:
    return [
        statement
        for policy in template.find_resources("AWS::IAM::Policy").values()
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]
        if any("secretsmanager" in action for action in _list(statement["Action"]))
    ]


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def test_paper_saga_functions_get_mode_venues_balances_tables_and_topic(make_app: AppBuilder) -> None:
    _, stack = make_app(
        venues="binance,kraken", paper_balances='{"binance": {"USDT": 10000}, "kraken": {"BTC": "0.5"}}'
    )
    template = assertions.Template.from_stack(stack)
    for environment in saga_environments(template):
        assert environment["ARBITER_MODE"] == "paper"
        assert json.loads(environment["ARBITER_VENUES"]) == ["binance", "kraken"]
        assert json.loads(environment["ARBITER_PAPER__BALANCES"]) == {
            "binance": {"USDT": "10000"},
            "kraken": {"BTC": "0.5"},
        }
        assert set(environment["ARBITER_ALERT_TOPIC_ARN"]) == {"Ref"}  # the stack's alert topic
        assert {f"ARBITER_TABLES__{key.upper()}" for key in REQUIRED_TABLES} <= set(environment)
        # The literal values are valid settings for the functions' loader (tables and topic are tokens here).
        literal = {k.removeprefix("ARBITER_").lower(): v for k, v in environment.items() if isinstance(v, str)}
        settings = Settings.model_validate(
            {
                "mode": literal["mode"],
                "venues": json.loads(literal["venues"]),
                "paper": {"balances": json.loads(literal["paper__balances"])},
                "gateway": {"credentials_secret_prefix": literal["gateway__credentials_secret_prefix"]},
            }
        )
        assert settings.paper.balances["kraken"]["BTC"] == 0.5
    assert secret_statements(template) == []  # paper mode reads no secret


def test_live_saga_functions_may_read_exactly_their_venues_secrets(make_app: AppBuilder) -> None:
    app, stack = make_app(mode="live", venues="binance,kraken")
    assembly = app.synth()  # cdk-nag clean in live mode too: an unacknowledged finding raises here
    template_path = Path(assembly.directory) / f"{stack.stack_name}.template.json"
    lint = lint_file(template_path, config=ManualArgs(ignore_checks=["W3005"], regions=["eu-west-1"]))
    assert [str(m) for m in lint] == []
    template = assertions.Template.from_stack(stack)
    for environment in saga_environments(template):
        assert environment["ARBITER_MODE"] == "live"
        assert environment["ARBITER_GATEWAY__CREDENTIALS_SECRET_PREFIX"] == "arbiter/venues/"
        assert "ARBITER_PAPER__BALANCES" not in environment
    statements = secret_statements(template)
    assert statements, "live mode must grant the venues' secrets"
    resources: set[str] = set()
    for statement in statements:
        assert statement["Effect"] == "Allow"
        assert _list(statement["Action"]) == ["secretsmanager:GetSecretValue"]
        resources |= {json.dumps(r, sort_keys=True) for r in _list(statement["Resource"])}
    expected = {
        json.dumps(
            {
                "Fn::Join": [
                    "",
                    [
                        "arn:",
                        {"Ref": "AWS::Partition"},
                        ":secretsmanager:",
                        {"Ref": "AWS::Region"},
                        ":",
                        {"Ref": "AWS::AccountId"},
                        f":secret:arbiter/venues/{venue}-??????",
                    ],
                ]
            },
            sort_keys=True,
        )
        for venue in ("binance", "kraken")
    }
    assert resources == expected
    policies = template.find_resources("AWS::IAM::Policy")
    granted_roles = {
        json.dumps(role, sort_keys=True)
        for policy in policies.values()
        if any(s in policy["Properties"]["PolicyDocument"]["Statement"] for s in statements)
        for role in policy["Properties"]["Roles"]
    }
    # Every task builds the gateways, and so do the reconciler and the scanner: each of them reads the secrets.
    assert len(granted_roles) == len(SAGA_TASKS) + 2


@pytest.mark.parametrize(
    ("context", "problem"),
    [
        ({"paper_balances": '{"okx": {"USDT": 1}}'}, "context 'paper_balances': Value error, balances for venues not"),
        ({"paper_balances": "{usdt: 1"}, "context 'paper_balances': Value error, not valid JSON"),
        ({"paper_balances": '{"kraken": {"USDT": -1}}'}, "context 'paper_balances.kraken.USDT'"),
        ({"venues": "binance,Kraken!"}, "context 'venues.1'"),
    ],
)
def test_invalid_venue_context_is_refused_with_its_name(
    make_app: AppBuilder, context: dict[str, str], problem: str
) -> None:
    with pytest.raises(ValueError, match=problem.replace(".", r"\.")):
        make_app(**context)


def test_dev_assembly_is_paper_by_default(dev_assembly: tuple[ArbiterStack, Path]) -> None:
    template = assertions.Template.from_stack(dev_assembly[0])
    for environment in saga_environments(template):
        assert json.loads(environment["ARBITER_VENUES"]) == ["binance", "kraken", "coinbase"]
        assert json.loads(environment["ARBITER_PAPER__BALANCES"]) == {}
