from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from aws_cdk import assertions
from aws_cdk import aws_sns as sns
from cfnlint.api import ManualArgs, lint_file

from arbiter.execution.topology import SAGA_TASKS, SAGA_TIMEOUT_SECONDS
from arbiter.scoring.topology import RETRAIN_TASKS
from arbiter.storage import TABLES, table_name
from cdk.stacks.arbiter_stack import ArbiterStack
from tests.infra.conftest import AppBuilder


def test_every_table_is_created_from_the_shared_layout(dev_assembly: tuple[ArbiterStack, Path]) -> None:
    stack, _ = dev_assembly
    template = assertions.Template.from_stack(stack)
    template.resource_count_is("AWS::DynamoDB::GlobalTable", len(TABLES))
    assert {spec.key for spec in TABLES if spec.ttl_attribute} == {"opportunities", "timeseries", "idempotency"}
    for spec in TABLES:
        keys = [{"AttributeName": spec.partition_key, "KeyType": "HASH"}]
        if spec.sort_key:
            keys.append({"AttributeName": spec.sort_key, "KeyType": "RANGE"})
        expected: dict[str, object] = {
            "TableName": table_name("arbiter-dev", spec),
            "KeySchema": keys,
            "BillingMode": "PAY_PER_REQUEST",
            "Replicas": [
                assertions.Match.object_like({"PointInTimeRecoverySpecification": {"PointInTimeRecoveryEnabled": True}})
            ],
        }
        if spec.ttl_attribute:
            expected["TimeToLiveSpecification"] = {"AttributeName": spec.ttl_attribute, "Enabled": True}
        else:  # the audit record (executions, orders, configuration) never expires
            expected["TimeToLiveSpecification"] = assertions.Match.absent()
        if spec.indexes:
            expected["GlobalSecondaryIndexes"] = [
                assertions.Match.object_like(
                    {
                        "IndexName": index.name,
                        "KeySchema": [
                            {"AttributeName": index.partition_key, "KeyType": "HASH"},
                            {"AttributeName": index.sort_key, "KeyType": "RANGE"},
                        ],
                        "Projection": {"ProjectionType": "ALL"},
                    }
                )
                for index in spec.indexes
            ]
        template.has_resource_properties("AWS::DynamoDB::GlobalTable", expected)


def test_dev_tables_can_be_torn_down(dev_assembly: tuple[ArbiterStack, Path]) -> None:
    template = assertions.Template.from_stack(dev_assembly[0])
    template.all_resources("AWS::DynamoDB::GlobalTable", {"DeletionPolicy": "Delete"})


def test_prod_tables_are_retained_and_protected(make_app: AppBuilder) -> None:
    _, stack = make_app(env="prod")
    template = assertions.Template.from_stack(stack)
    template.all_resources("AWS::DynamoDB::GlobalTable", {"DeletionPolicy": "Retain"})
    template.all_resources_properties(
        "AWS::DynamoDB::GlobalTable",
        {"Replicas": [assertions.Match.object_like({"DeletionProtectionEnabled": True})]},
    )


def test_alert_topic_is_encrypted_and_refuses_plain_http(dev_assembly: tuple[ArbiterStack, Path]) -> None:
    template = assertions.Template.from_stack(dev_assembly[0])
    template.has_resource_properties("AWS::SNS::Topic", {"KmsMasterKeyId": assertions.Match.any_value()})
    template.has_resource_properties("AWS::KMS::Key", {"EnableKeyRotation": True})
    template.has_resource_properties(
        "AWS::SNS::TopicPolicy",
        {
            "PolicyDocument": {
                "Statement": assertions.Match.array_with(
                    [
                        assertions.Match.object_like(
                            {"Effect": "Deny", "Condition": {"Bool": {"aws:SecureTransport": "false"}}}
                        )
                    ]
                )
            }
        },
    )


def test_invalid_context_is_refused_with_its_name(make_app: AppBuilder) -> None:
    with pytest.raises(ValueError, match="context 'env': Input should be 'dev' or 'prod'"):
        make_app(env="staging")


def test_cdk_nag_packs_are_attached_and_fail_the_synth(make_app: AppBuilder) -> None:
    app, stack = make_app()
    sns.Topic(stack, "PlainTopic")  # unencrypted, no SSL policy: both packs must object
    with pytest.raises(RuntimeError, match="ValidationFailed"):
        app.synth()


def test_synthesized_template_is_cfn_lint_clean(dev_assembly: tuple[ArbiterStack, Path]) -> None:
    _, template_path = dev_assembly
    # W3005: CDK writes DependsOn that cfn-lint calls redundant; the design ignores that rule only.
    matches = lint_file(template_path, config=ManualArgs(ignore_checks=["W3005"], regions=["eu-west-1"]))
    assert [str(m) for m in matches] == []


def test_the_saga_deploys_the_asl_file_with_every_placeholder_substituted(
    dev_assembly: tuple[ArbiterStack, Path],
) -> None:
    from arbiter.execution.topology import ALERT_TOPIC_SUBSTITUTION, SAGA_DEFINITION, SAGA_TASKS
    from tests.infra.conftest import REPO_ROOT

    template = assertions.Template.from_stack(dev_assembly[0])
    machine = _saga_machine(template)
    properties = machine["Properties"]
    assert properties["StateMachineType"] == "STANDARD"
    assert properties["TracingConfiguration"] == {"Enabled": True}
    assert properties["LoggingConfiguration"]["Level"] == "ALL"
    substitutions = set(properties["DefinitionSubstitutions"])
    assert substitutions == {t.substitution for t in SAGA_TASKS} | {ALERT_TOPIC_SUBSTITUTION}
    # The definition ships as a file asset of the cloud assembly: byte for byte the ASL file the local runtime runs.
    asset = dev_assembly[1].parent / f"asset.{properties['DefinitionS3Location']['Key']}"
    assert asset.read_bytes() == (REPO_ROOT / SAGA_DEFINITION).read_bytes()
    template.resource_properties_count_is(
        "AWS::Lambda::Function",
        {"Runtime": "python3.13", "Architectures": ["arm64"], "TracingConfig": {"Mode": "Active"}},
        len(SAGA_TASKS) + 3 + len(RETRAIN_TASKS),  # the reconciler, the scanner, the API and the retraining's tasks
    )


def _actions(statement: dict[str, Any]) -> list[str]:
    action = statement["Action"]
    return [action] if isinstance(action, str) else list(action)


def _saga_machine(template: assertions.Template) -> dict[str, Any]:
    """The arbitrage saga's state machine (the retraining has its own)."""
    machines = template.find_resources("AWS::StepFunctions::StateMachine").values()
    (machine,) = [m for m in machines if "PrepareFunctionArn" in m["Properties"].get("DefinitionSubstitutions", {})]
    return machine


def _deployed_definition(stack: ArbiterStack, template_path: Path) -> tuple[dict[str, Any], dict[str, Any]]:
    """The state machine's definition as the cloud assembly ships it (the S3 asset), and its properties."""
    machine = _saga_machine(assertions.Template.from_stack(stack))
    properties = machine["Properties"]
    asset = template_path.parent / f"asset.{properties['DefinitionS3Location']['Key']}"
    definition: dict[str, Any] = json.loads(asset.read_text(encoding="utf-8"))
    return definition, properties


def test_the_deployed_state_machine_has_its_timeout(dev_assembly: tuple[ArbiterStack, Path]) -> None:
    """CDK drops a construct's ``timeout`` for a file-based definition: the shipped definition must carry it."""
    definition, properties = _deployed_definition(*dev_assembly)
    assert definition["TimeoutSeconds"] == SAGA_TIMEOUT_SECONDS
    assert "TimeoutSeconds" not in json.dumps(properties.get("DefinitionString", ""))  # one place only: the file


def test_every_timeout_chain_is_consistent(dev_assembly: tuple[ArbiterStack, Path]) -> None:
    """Lambda timeout < its state's TimeoutSeconds < the machine's TimeoutSeconds, for every Task state of the
    shipped definition: a state that times out while its function still runs would let compensation start beside
    a step that may still be sending orders; a state longer than the machine could never time out."""
    stack, template_path = dev_assembly
    definition, properties = _deployed_definition(stack, template_path)
    functions = assertions.Template.from_stack(stack).find_resources("AWS::Lambda::Function")
    machine_timeout = definition["TimeoutSeconds"]
    tasks = {name: state for name, state in definition["States"].items() if state["Type"] == "Task"}
    assert {t.state for t in SAGA_TASKS} <= set(tasks)
    checked = set()
    for name, state in tasks.items():
        assert 0 < state.get("TimeoutSeconds", 0) < machine_timeout, name
        function_name = state["Parameters"].get("FunctionName")
        if function_name is None:
            continue  # a service integration (the SNS fallback alert): no function of ours runs
        substitution = function_name.removeprefix("${").removesuffix("}")
        (logical_id, _) = properties["DefinitionSubstitutions"][substitution]["Fn::GetAtt"]
        assert functions[logical_id]["Properties"]["Timeout"] < state["TimeoutSeconds"], name
        checked.add(name)
    assert checked == {t.state for t in SAGA_TASKS}
    for task in SAGA_TASKS:  # and the topology the local runtime uses says the same
        assert tasks[task.state]["TimeoutSeconds"] == task.timeout_seconds, task.state
        assert task.function_timeout_seconds < task.timeout_seconds


def test_the_reconciler_runs_every_minute_one_run_at_a_time(dev_assembly: tuple[ArbiterStack, Path]) -> None:
    template = assertions.Template.from_stack(dev_assembly[0])
    functions = template.find_resources(
        "AWS::Lambda::Function", {"Properties": {"Handler": "handler.handler", "ReservedConcurrentExecutions": 1}}
    )
    [(logical_id, function)] = functions.items()
    assert function["Properties"]["Timeout"] < 60  # ends before the next minute's run
    template.has_resource_properties(
        "AWS::Scheduler::Schedule",
        {
            "ScheduleExpression": "rate(1 minute)",
            "FlexibleTimeWindow": {"Mode": "OFF"},
            "Target": assertions.Match.object_like(
                {
                    "Arn": {"Fn::GetAtt": [logical_id, "Arn"]},
                    "DeadLetterConfig": assertions.Match.object_like({"Arn": assertions.Match.any_value()}),
                }
            ),
        },
    )
    statements = [
        statement
        for policy in template.find_resources("AWS::IAM::Policy").values()
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]
        if "sns:Publish" in json.dumps(statement)
    ]
    assert len(statements) >= len(SAGA_TASKS) + 1  # it alerts people like the saga does


def test_the_scanner_runs_each_shard_every_minute_and_may_start_executions_only(
    make_app: AppBuilder,
) -> None:
    app, stack = make_app(scanner_shards=3)
    app.synth()  # cdk-nag clean
    template = assertions.Template.from_stack(stack)
    functions = template.find_resources(
        "AWS::Lambda::Function", {"Properties": {"Description": assertions.Match.string_like_regexp("scanner")}}
    )
    [(logical_id, function)] = functions.items()
    properties = function["Properties"]
    assert properties["Architectures"] == ["arm64"]
    assert properties["MemorySize"] == 1769
    assert properties["ReservedConcurrentExecutions"] == 6  # a holder and a warm successor per shard
    assert properties["Timeout"] * 1000 > 65_000  # a run outlasts the next minute's invocation
    environment = properties["Environment"]["Variables"]
    assert environment["ARBITER_SCANNER__SHARDS"] == "3"
    assert "ARBITER_SCANNER__STATE_MACHINE_ARN" in environment
    schedules = template.find_resources("AWS::Scheduler::Schedule")
    inputs = sorted(
        json.loads(s["Properties"]["Target"]["Input"])["shard"]
        for s in schedules.values()
        if s["Properties"]["Target"]["Arn"] == {"Fn::GetAtt": [logical_id, "Arn"]}
    )
    assert inputs == [0, 1, 2]
    for schedule in schedules.values():
        nightly = schedule["Properties"]["Description"] == "Arbiter retraining, nightly"  # (test_retraining.py)
        assert schedule["Properties"]["ScheduleExpression"] == ("cron(30 3 * * ? *)" if nightly else "rate(1 minute)")
        assert "DeadLetterConfig" in schedule["Properties"]["Target"]
    role = properties["Role"]["Fn::GetAtt"][0]
    statements = [
        statement
        for policy in template.find_resources("AWS::IAM::Policy").values()
        if {"Ref": role} in policy["Properties"]["Roles"]
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]
    ]
    actions = {a for st in statements for a in ([st["Action"]] if isinstance(st["Action"], str) else st["Action"])}
    assert {a for a in actions if a.startswith("states:")} == {"states:StartExecution"}
    (start,) = [st for st in statements if st["Action"] == "states:StartExecution"]
    assert start["Resource"] == {"Ref": stack.get_logical_id(stack.saga.state_machine.node.default_child)}  # type: ignore[arg-type]
    assert not any(a.startswith(("sns:", "lambda:")) for a in actions)
    # The live scoring model: read from the model bucket's models/ prefix only, never written.
    s3 = [st for st in statements if any(a.startswith("s3:") for a in _actions(st))]
    assert s3
    assert all(not a.startswith(("s3:Put", "s3:Delete")) for st in s3 for a in _actions(st))
    assert all("/models/*" in json.dumps(st["Resource"]) or "Arn" in json.dumps(st["Resource"]) for st in s3)
    orders = stack.get_logical_id(stack.data.tables["orders"].node.default_child)  # type: ignore[arg-type]
    # The orders table: read only (a venue's recent rejections and partial fills are features), never written.
    on_orders = [st for st in statements if orders in json.dumps(st["Resource"])]
    assert [_actions(st) for st in on_orders] == [["dynamodb:GetItem"]]
