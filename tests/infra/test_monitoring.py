"""The dashboard, the alarms and the alert subscription, as synthesized from ``arbiter.monitoring.catalog``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from aws_cdk import assertions
from cfnlint.api import ManualArgs, lint_file

from arbiter.execution.topology import SAGA_TASKS
from arbiter.monitoring.catalog import (
    ALARMS,
    BUSINESS_WIDGETS,
    COMPOSITE_ALARMS,
    PLATFORM_ALARMS,
    MissingData,
    signal_metrics,
)
from arbiter.storage import TABLES
from cdk.stacks.arbiter_stack import ArbiterStack
from tests.infra.conftest import AppBuilder


@pytest.fixture(scope="module")
def prod_with_email(make_app: AppBuilder) -> tuple[ArbiterStack, Path]:
    app, stack = make_app(
        env="prod", alert_email="ops@example.com", alarm_thresholds=json.dumps({"CompensationRate": 0.1})
    )
    assembly = app.synth()  # raises on an unacknowledged cdk-nag finding
    return stack, Path(assembly.directory) / f"{stack.stack_name}.template.json"


def _alarms(stack: ArbiterStack) -> dict[str, dict[str, Any]]:
    template = assertions.Template.from_stack(stack)
    found = {
        **template.find_resources("AWS::CloudWatch::Alarm"),
        **template.find_resources("AWS::CloudWatch::CompositeAlarm"),
    }
    return {r["Properties"]["AlarmName"]: r["Properties"] for r in found.values()}


def _topic(stack: ArbiterStack) -> dict[str, str]:
    return {"Ref": stack.get_logical_id(stack.alerts.topic.node.default_child)}  # type: ignore[arg-type]


def _metric_names(properties: dict[str, Any]) -> set[tuple[str, str]]:
    if "MetricName" in properties:
        return {(properties["MetricName"], properties["Namespace"])}
    return {
        (m["MetricStat"]["Metric"]["MetricName"], m["MetricStat"]["Metric"]["Namespace"])
        for m in properties["Metrics"]
        if "MetricStat" in m
    }


@pytest.mark.parametrize("env", ["dev", "prod"])
def test_every_catalog_alarm_with_its_metric_threshold_and_both_actions(
    env: str, dev_assembly: tuple[ArbiterStack, Path], prod_with_email: tuple[ArbiterStack, Path]
) -> None:
    stack = dev_assembly[0] if env == "dev" else prod_with_email[0]
    alarms = _alarms(stack)
    for alarm in ALARMS:
        properties = alarms[f"arbiter-{env}-{alarm.id}"]
        expected = 0.1 if (env, alarm.id) == ("prod", "CompensationRate") else alarm.threshold.of(env)  # type: ignore[arg-type]
        assert properties["Threshold"] == expected, alarm.id
        assert properties["ComparisonOperator"] == alarm.comparison.value
        assert properties["EvaluationPeriods"] == alarm.evaluation_periods
        assert properties["DatapointsToAlarm"] == alarm.datapoints_to_alarm
        assert properties["TreatMissingData"] == alarm.missing_data.value
        assert properties["AlarmActions"] == [_topic(stack)]
        assert properties["OKActions"] == [_topic(stack)]
        assert _metric_names(properties) == {(m.name, m.namespace) for m in signal_metrics(alarm.signal)}
        assert properties["AlarmDescription"] == alarm.description


def test_the_reconciler_heartbeat_treats_missing_data_as_breaching(dev_assembly: tuple[ArbiterStack, Path]) -> None:
    alarm = next(a for a in ALARMS if a.id == "ReconcilerNotRunning")
    assert alarm.missing_data is MissingData.BREACHING
    assert _alarms(dev_assembly[0])["arbiter-dev-ReconcilerNotRunning"]["TreatMissingData"] == "breaching"


def test_platform_alarms_cover_every_function_the_state_machine_tables_and_dead_letters(
    prod_with_email: tuple[ArbiterStack, Path],
) -> None:
    stack, _ = prod_with_email
    alarms = _alarms(stack)
    expected = [
        *(f"arbiter-prod-{t.state}-{kind}-Count-Critical" for t in SAGA_TASKS for kind in ("Fault", "Throttled")),
        "arbiter-prod-Reconciler-Fault-Count-Critical",
        "arbiter-prod-Reconciler-Throttled-Count-Critical",
        "arbiter-prod-Saga-Failure-Count-Critical",
        "arbiter-prod-Saga-TimedOut-Count-Critical",
        *(f"arbiter-prod-Table-{s.key}-{op}-Throttled-Events-Critical" for s in TABLES for op in ("Read", "Write")),
        "arbiter-prod-DeadLetters-ReconcilerSchedule-Queue-Message-Count-Max-Critical",
        "arbiter-prod-DeadLetters-UndeliveredAlerts-Queue-Message-Count-Max-Critical",
    ]
    missing = [name for name in expected if name not in alarms]
    assert missing == []
    for name in expected:
        assert alarms[name]["AlarmActions"] == [_topic(stack)], name
        assert alarms[name]["OKActions"] == [_topic(stack)], name
        assert alarms[name]["Threshold"] == 0, name
    watched = set().union(*(_metric_names(alarms[name]) for name in expected))
    assert {(a.metric_name, a.namespace) for a in PLATFORM_ALARMS} <= watched
    assert _metric_names(alarms["arbiter-prod-Saga-Failure-Count-Critical"]) == {("ExecutionsFailed", "AWS/States")}
    assert _metric_names(alarms["arbiter-prod-Saga-TimedOut-Count-Critical"]) == {("ExecutionsTimedOut", "AWS/States")}
    # A minute, not the library's default five: someone hears of a failing saga within a minute or two.
    periods = {m["MetricStat"]["Period"] for n in expected for m in alarms[n].get("Metrics", []) if "MetricStat" in m}
    periods |= {alarms[n]["Period"] for n in expected if "Period" in alarms[n]}
    assert periods == {60}


def test_the_trading_halted_composite_follows_its_children(dev_assembly: tuple[ArbiterStack, Path]) -> None:
    stack, _ = dev_assembly
    template = assertions.Template.from_stack(stack)
    (composite,) = COMPOSITE_ALARMS
    found = template.find_resources("AWS::CloudWatch::CompositeAlarm")
    (properties,) = [r["Properties"] for r in found.values()]
    assert properties["AlarmName"] == f"arbiter-dev-{composite.id}"
    rule = json.dumps(properties["AlarmRule"])
    children = [stack.get_logical_id(stack.monitoring.alarms[c].node.default_child) for c in composite.any_of]  # type: ignore[arg-type]
    assert all(child in rule for child in children)
    assert rule.count("ALARM(") == len(composite.any_of)
    assert properties["AlarmActions"] == [_topic(stack)]
    assert properties["OKActions"] == [_topic(stack)]


def test_alert_email_subscribes_with_a_dead_letter_queue(prod_with_email: tuple[ArbiterStack, Path]) -> None:
    template = assertions.Template.from_stack(prod_with_email[0])
    template.has_resource_properties(
        "AWS::SNS::Subscription",
        {
            "Protocol": "email",
            "Endpoint": "ops@example.com",
            "TopicArn": _topic(prod_with_email[0]),
            "RedrivePolicy": {"deadLetterTargetArn": assertions.Match.any_value()},
        },
    )


def test_without_alert_email_nothing_is_subscribed(dev_assembly: tuple[ArbiterStack, Path]) -> None:
    assertions.Template.from_stack(dev_assembly[0]).resource_count_is("AWS::SNS::Subscription", 0)


def test_bad_monitoring_context_is_refused_with_its_name(make_app: AppBuilder) -> None:
    with pytest.raises(ValueError, match="context 'alert_email'"):
        make_app(alert_email="not-an-address")
    with pytest.raises(ValueError, match=r"context 'alarm_thresholds'.*no alarm named Nope"):
        make_app(alarm_thresholds='{"Nope": 1}')
    with pytest.raises(ValueError, match=r"context 'alarm_thresholds'.*not valid JSON"):
        make_app(alarm_thresholds="{")


def test_the_dashboard_has_every_business_widget_and_the_platform_view(
    dev_assembly: tuple[ArbiterStack, Path],
) -> None:
    template = json.loads(dev_assembly[1].read_text(encoding="utf-8"))
    (dashboard,) = [r for r in template["Resources"].values() if r["Type"] == "AWS::CloudWatch::Dashboard"]
    body = json.dumps(dashboard["Properties"]["DashboardBody"])
    for widget in BUSINESS_WIDGETS:
        assert json.dumps(widget.title)[1:-1] in body, widget.title
        for metric in widget.signals:
            assert metric.name in body, metric.name
    assert "SEARCH(" in body  # refusals by reason: one line per reason emitted
    for platform in ("AWS/Lambda", "AWS/States", "AWS/DynamoDB", "AWS/SQS", "ConcurrentExecutions", "Throttles"):
        assert platform in body, platform


def test_saved_log_queries(dev_assembly: tuple[ArbiterStack, Path]) -> None:
    template = assertions.Template.from_stack(dev_assembly[0])
    found = template.find_resources("AWS::Logs::QueryDefinition")
    queries = {r["Properties"]["Name"]: r["Properties"] for r in found.values()}
    assert set(queries) == {"arbiter-dev/trace-one-execution", "arbiter-dev/refusals-by-reason"}
    assert "correlation_id = 'EXECUTION_ID'" in queries["arbiter-dev/trace-one-execution"]["QueryString"]
    assert len(queries["arbiter-dev/trace-one-execution"]["LogGroupNames"]) == len(SAGA_TASKS) + 2
    assert "by reason" in queries["arbiter-dev/refusals-by-reason"]["QueryString"]


def test_the_template_with_subscription_is_cfn_lint_clean(prod_with_email: tuple[ArbiterStack, Path]) -> None:
    matches = lint_file(prod_with_email[1], config=ManualArgs(ignore_checks=["W3005"], regions=["eu-west-1"]))
    assert [str(m) for m in matches] == []
