"""Each function's role, read from the synthesized template: exactly the DynamoDB actions on exactly the tables
(and indexes) its code uses, and on the executions table the guard that keeps audit events from being deleted or
changed. A function added to the stack adds its row to EXPECTED."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from aws_cdk import assertions

from arbiter.execution.topology import SAGA_TASKS
from arbiter.models.risk import RiskLimits
from arbiter.scoring.topology import RETRAIN_TASKS
from cdk.stacks.arbiter_stack import ArbiterStack
from tests.infra.conftest import AppBuilder

G, Q, P, U, D, C = "GetItem", "Query", "PutItem", "UpdateItem", "DeleteItem", "ConditionCheckItem"
VENUES = {"venue_state": {G, P}}
IDEMPOTENCY = {"idempotency": {G, P, U, D}}
ORDERS = {"orders": {G, P, C}}
EXPECTED: dict[str, dict[str, set[str]]] = {
    # function description -> table (or "table/index/<name>") -> DynamoDB actions
    "Arbiter retraining task ExportTrainingSet": {
        "executions": {G, Q},
        "executions/index/by_day": {Q},
        "opportunities": {G},
    },
    "Arbiter retraining task EvaluateCandidate": {},
    "Arbiter retraining task Promote": {},
    "Arbiter saga task Prepare": {"executions": {G, Q, P, U, D}, "configuration": {G, Q}, **VENUES, **IDEMPOTENCY},
    "Arbiter saga task PlaceLegs": {"executions": {G, P}, **ORDERS, **VENUES, **IDEMPOTENCY},
    "Arbiter saga task PollFills": {"executions": {G, P}, **ORDERS, **VENUES},
    "Arbiter saga task Settle": {"executions": {G, P, U, D}, **ORDERS, **VENUES},
    "Arbiter saga task Compensate": {"executions": {G, Q, P, U}, **ORDERS, **VENUES, **IDEMPOTENCY},
    "Arbiter saga task Reconcile": {"executions": {G, Q, P, U, D}, "configuration": {G}, **ORDERS, **VENUES},
    "Arbiter saga task Incident": {
        "executions": {G, Q, P, U, D},
        "configuration": {G, P},
        **ORDERS,
        **VENUES,
        **IDEMPOTENCY,
    },
    "Arbiter reconciler: what the venues hold, checked against the journal every minute": {
        "executions": {G, Q, P, U},
        "executions/index/by_day": {Q},
        "configuration": {G, P},
        "venue_state": {G, P, D},
        **ORDERS,
    },
    "Arbiter scanner: follows its shard's books, starts executions of the opportunities": {
        "executions": {G, Q},
        "executions/index/by_day": {Q},
        "configuration": {G, P},
        "venue_state": {G, P, D},
        "opportunities": {P},
        "orders": {G},
    },
    "Arbiter operators' API: health, executions, incidents, limits, kill switch, pause, locks": {
        "executions": {G, Q, P, U, D, C},
        "executions/index/by_day": {Q},
        "configuration": {G, Q, P, D, C},
        "orders": {G},
        "venue_state": {G, Q},
        "opportunities": {G, Q},
    },
}
GUARD_DENIES = {
    ("DeleteItem", ("ACTIVE",)),
    ("UpdateItem", ("PNL#*", "SLOTS")),
}
NEVER = {"BatchWriteItem", "PartiQLInsert", "PartiQLUpdate", "PartiQLDelete", "DeleteTable", "UpdateTable"}


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _table_keys(template: assertions.Template) -> dict[str, str]:
    """Table logical id -> table key (``arbiter-dev-venue-state`` -> ``venue_state``)."""
    tables = template.find_resources("AWS::DynamoDB::GlobalTable")
    return {
        logical_id: table["Properties"]["TableName"].removeprefix("arbiter-dev-").replace("-", "_")
        for logical_id, table in tables.items()
    }


def _resource_name(resource: Any, tables: dict[str, str]) -> str | None:
    if isinstance(resource, dict) and "Fn::GetAtt" in resource:
        return tables.get(resource["Fn::GetAtt"][0])
    if isinstance(resource, dict) and "Fn::Join" in resource:
        parts = resource["Fn::Join"][1]
        base = _resource_name(parts[0], tables)
        return None if base is None else base + "".join(p for p in parts[1:] if isinstance(p, str))
    return None


def _role_statements(template: assertions.Template) -> dict[str, list[dict[str, Any]]]:
    """Function description -> every statement of its role's policies."""
    policies = template.find_resources("AWS::IAM::Policy")
    by_role: dict[str, list[dict[str, Any]]] = {}
    for policy in policies.values():
        for role in policy["Properties"]["Roles"]:
            by_role.setdefault(role["Ref"], []).extend(policy["Properties"]["PolicyDocument"]["Statement"])
    functions = template.find_resources("AWS::Lambda::Function")
    return {
        f["Properties"]["Description"]: by_role.get(f["Properties"]["Role"]["Fn::GetAtt"][0], [])
        for f in functions.values()
    }


def test_every_function_gets_exactly_its_table_access(dev_assembly: tuple[ArbiterStack, Path]) -> None:
    template = assertions.Template.from_stack(dev_assembly[0])
    tables = _table_keys(template)
    granted: dict[str, dict[str, set[str]]] = {}
    for function, statements in _role_statements(template).items():
        access: dict[str, set[str]] = {}
        for statement in statements:
            actions = [a for a in _list(statement["Action"]) if a.startswith("dynamodb:")]
            if statement["Effect"] != "Allow" or not actions:
                continue
            assert "Condition" not in statement, statement
            for resource in _list(statement["Resource"]):
                name = _resource_name(resource, tables)
                assert name is not None, f"{function}: DynamoDB actions on {resource}"
                access.setdefault(name, set()).update(a.removeprefix("dynamodb:") for a in actions)
        granted[function] = access
    assert granted == EXPECTED


def test_no_function_may_delete_or_change_audit_events(dev_assembly: tuple[ArbiterStack, Path]) -> None:
    template = assertions.Template.from_stack(dev_assembly[0])
    tables = _table_keys(template)
    roles = _role_statements(template)
    assert set(roles) == set(EXPECTED)
    for function, statements in roles.items():
        denies = [s for s in statements if s["Effect"] == "Deny"]
        assert {_resource_name(r, tables) for s in denies for r in _list(s["Resource"])} == {"executions"}, function
        conditional = {
            (
                _list(s["Action"])[0].removeprefix("dynamodb:"),
                tuple(s["Condition"]["ForAnyValue:StringNotLike"]["dynamodb:LeadingKeys"]),
            )
            for s in denies
            if "Condition" in s
        }
        assert conditional == GUARD_DENIES, function
        (unconditional,) = [s for s in denies if "Condition" not in s]
        assert {a.removeprefix("dynamodb:") for a in _list(unconditional["Action"])} >= NEVER, function
        # And nothing allows what the guard is there for: no wildcard action, no table-wide write of any kind.
        for statement in statements:
            assert not any(a in ("dynamodb:*", "*") for a in _list(statement["Action"])), function
    assert json.dumps(EXPECTED, default=sorted).count("Scan") == 0  # no function scans a table


def test_every_function_role_writes_only_its_own_log_group(dev_assembly: tuple[ArbiterStack, Path]) -> None:
    """No AWSLambdaBasicExecutionRole (logs:CreateLogGroup and writes to any log group): the function's own
    group, created by the stack, and nothing else."""
    template = assertions.Template.from_stack(dev_assembly[0])
    functions = template.find_resources("AWS::Lambda::Function")
    roles = template.find_resources("AWS::IAM::Role")
    statements = _role_statements(template)
    for function in functions.values():
        properties = function["Properties"]
        role = roles[properties["Role"]["Fn::GetAtt"][0]]["Properties"]
        assert "ManagedPolicyArns" not in role, properties["Description"]
        log_group = properties["LoggingConfig"]["LogGroup"]["Ref"]
        logs = [s for s in statements[properties["Description"]] if any("logs:" in a for a in _list(s["Action"]))]
        assert logs == [
            {
                "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
                "Effect": "Allow",
                "Resource": {"Fn::GetAtt": [log_group, "Arn"]},
            }
        ], properties["Description"]


def test_the_order_sending_functions_have_reserved_concurrency_from_the_context(make_app: AppBuilder) -> None:
    for context, expected in (({}, RiskLimits().max_concurrent_executions), ({"max_concurrent_executions": "7"}, 7)):
        _, stack = make_app(**context)
        functions = assertions.Template.from_stack(stack).find_resources("AWS::Lambda::Function")
        reserved = {
            f["Properties"]["Description"].removeprefix("Arbiter saga task "): f["Properties"].get(
                "ReservedConcurrentExecutions"
            )
            for f in functions.values()
        }
        for task in SAGA_TASKS:
            assert reserved.pop(task.state) == (expected if task.state in ("PlaceLegs", "Compensate") else None)
        for task in RETRAIN_TASKS:  # the retraining sends no order; one run at a time is the state machine's
            assert reserved.pop(f"Arbiter retraining task {task.state}") is None
        # The reconciler: one sweep at a time; the scanner: two runs per shard (a holder and its successor warming
        # up); the operators' API sends no order.
        assert sorted(reserved.values(), key=str) == sorted([1, 2, None], key=str)
        # The journal's cap on running executions is the same number (held even if Prepare's check is bypassed).
        for function in functions.values():
            assert function["Properties"]["Environment"]["Variables"]["ARBITER_EXECUTION__EXECUTION_SLOTS"] == str(
                expected
            )
