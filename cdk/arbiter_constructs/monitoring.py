"""The CloudWatch dashboard and alarms, from ``arbiter.monitoring.catalog`` (the same definitions the local
evaluator reads). cdk-monitoring-constructs builds the dashboard, the per-resource platform alarms (Lambda,
Step Functions, DynamoDB, SQS) and the business alarms on the catalog's metrics; a composite alarm it has no
builder for is a plain CloudWatch one. Every alarm sends ALARM and OK to the encrypted alert topic."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from aws_cdk import Duration
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as cloudwatch_actions
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sqs as sqs
from aws_cdk import aws_stepfunctions as sfn
from cdk_monitoring_constructs import (
    AlarmFactoryDefaults,
    CustomAlarmThreshold,
    CustomMetricGroup,
    CustomMetricSearch,
    CustomMetricWithAlarm,
    CustomThreshold,
    DefaultDashboardFactory,
    ErrorCountThreshold,
    MaxMessageCountThreshold,
    MetricFactoryDefaults,
    MetricStatistic,
    MonitoringFacade,
    SnsAlarmActionStrategy,
    ThrottledEventsThreshold,
)
from constructs import Construct

from arbiter.monitoring.catalog import (
    ALARMS,
    BUSINESS_WIDGETS,
    COMPOSITE_ALARMS,
    NAMESPACE,
    PLATFORM_ALARMS,
    Alarm,
    AwsMetric,
    Comparison,
    Metric,
    MissingData,
    Ratio,
    Statistic,
    Total,
)
from cdk.config import DeploymentConfig

CRITICAL = "Critical"
SEARCH_STATISTIC = {
    Statistic.SUM: MetricStatistic.SUM,
    Statistic.MAXIMUM: MetricStatistic.MAX,
    Statistic.AVERAGE: MetricStatistic.AVERAGE,
    Statistic.P50: MetricStatistic.P50,
    Statistic.P95: MetricStatistic.P95,
    Statistic.P99: MetricStatistic.P99,
}
PLATFORM_BUILDERS: dict[tuple[str, str], tuple[str, Callable[[float], CustomAlarmThreshold]]] = {
    ("AWS/Lambda", "Errors"): ("add_fault_count_alarm", lambda n: ErrorCountThreshold(max_error_count=n)),
    ("AWS/Lambda", "Throttles"): ("add_throttles_count_alarm", lambda n: ErrorCountThreshold(max_error_count=n)),
    ("AWS/States", "ExecutionsFailed"): (
        "add_failed_execution_count_alarm",
        lambda n: ErrorCountThreshold(max_error_count=n),
    ),
    ("AWS/States", "ExecutionsTimedOut"): (
        "add_timed_out_execution_count_alarm",
        lambda n: ErrorCountThreshold(max_error_count=n),
    ),
    ("AWS/DynamoDB", "ReadThrottleEvents"): (
        "add_read_throttled_events_count_alarm",
        lambda n: ThrottledEventsThreshold(max_throttled_events_threshold=n),
    ),
    ("AWS/DynamoDB", "WriteThrottleEvents"): (
        "add_write_throttled_events_count_alarm",
        lambda n: ThrottledEventsThreshold(max_throttled_events_threshold=n),
    ),
    ("AWS/SQS", "ApproximateNumberOfMessagesVisible"): (
        "add_queue_max_size_alarm",
        lambda n: MaxMessageCountThreshold(max_message_count=n),
    ),
}
"""Which cdk-monitoring-constructs builder makes the alarm on each AWS metric, and its threshold type."""
COMPARISON = {
    Comparison.AT_LEAST: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
    Comparison.ABOVE: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
    Comparison.BELOW: cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
}
SAVED_QUERIES = {
    "trace-one-execution": logs.QueryString(
        fields=["@timestamp", "service", "level", "message", "execution_arn", "type"],
        filter_statements=["correlation_id = 'EXECUTION_ID' or execution_arn like /EXECUTION_ID/"],
        sort="@timestamp asc",
    ),
    "refusals-by-reason": logs.QueryString(
        filter_statements=["ispresent(ExecutionsRefused)"],
        stats_statements=["sum(ExecutionsRefused) as refusals by reason"],
        sort="refusals desc",
    ),
}
"""CloudWatch Logs Insights queries saved in the console. In "trace-one-execution" replace EXECUTION_ID with the
execution's id (the opportunity id: the saga tasks' correlation id and the Step Functions execution name, in
the state machine's log). Refusals are read from the EMF lines the functions write into their log groups."""


class Monitoring(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: DeploymentConfig,
        topic: sns.ITopic,
        functions: Mapping[str, lambda_.Function],
        state_machine: sfn.StateMachine,
        tables: Mapping[str, dynamodb.ITable],
        dead_letter_queues: Mapping[str, sqs.IQueue],
        log_groups: Sequence[logs.ILogGroup],
    ) -> None:
        super().__init__(scope, construct_id)
        self.prefix = config.resource_prefix
        self.thresholds = config.alarm_threshold_values
        self.facade = MonitoringFacade(
            self,
            "Facade",
            alarm_factory_defaults=AlarmFactoryDefaults(
                actions_enabled=True,
                alarm_name_prefix=self.prefix,
                action=SnsAlarmActionStrategy(on_alarm_topic=topic, on_ok_topic=topic),
                datapoints_to_alarm=1,
            ),
            metric_factory_defaults=MetricFactoryDefaults(namespace=NAMESPACE, period=Duration.minutes(1)),
            dashboard_factory=DefaultDashboardFactory(self, "Dashboards", dashboard_name_prefix=self.prefix),
        )
        self.alarms: dict[str, cloudwatch.AlarmBase] = {}
        self._business()
        self._platform(functions, state_machine, tables, dead_letter_queues)
        self._composites(topic)
        for name, query in SAVED_QUERIES.items():
            logs.QueryDefinition(
                self,
                f"Query-{name}",
                query_definition_name=f"{self.prefix}/{name}",
                query_string=query,
                log_groups=list(log_groups),
            )

    # -- business: the catalog's widgets and alarms ------------------------------------------------------
    def _business(self) -> None:
        self.facade.add_large_header("Arbiter: trading")
        groups = [
            CustomMetricGroup(
                title=widget.title,
                metrics=[
                    _widget_metric(metric, statistic, widget.period_s)
                    for metric in widget.signals
                    for statistic in widget.statistics
                ],
            )
            for widget in BUSINESS_WIDGETS
        ]
        self.facade.monitor_custom(
            alarm_friendly_name="Business", human_readable_name="Business view", metric_groups=groups
        )
        alarms = [self._business_alarm(alarm) for alarm in ALARMS]
        self.facade.monitor_custom(
            alarm_friendly_name="Alarms",
            human_readable_name="Alarms (thresholds from arbiter.monitoring.catalog and context alarm_thresholds)",
            metric_groups=[CustomMetricGroup(title=a.alarm_friendly_name, metrics=[a]) for a in alarms],
        )
        for created in self.facade.created_alarms():
            self.alarms[created.alarm_name.removeprefix(f"{self.prefix}-")] = created.alarm

    def _business_alarm(self, alarm: Alarm) -> CustomMetricWithAlarm:
        threshold = CustomThreshold(
            threshold=self.thresholds[alarm.id],
            comparison_operator=COMPARISON[alarm.comparison],
            evaluation_periods=alarm.evaluation_periods,
            datapoints_to_alarm=alarm.datapoints_to_alarm,
            treat_missing_data_override=(
                cloudwatch.TreatMissingData.BREACHING
                if alarm.missing_data is MissingData.BREACHING
                else cloudwatch.TreatMissingData.NOT_BREACHING
            ),
            period=Duration.seconds(alarm.period_s),
            alarm_name_override=f"{self.prefix}-{alarm.id}",
            alarm_description_override=alarm.description,
        )
        return CustomMetricWithAlarm(
            metric=_alarm_signal(alarm), alarm_friendly_name=alarm.id, add_alarm={CRITICAL: threshold}
        )

    # -- platform: every resource's own metrics ----------------------------------------------------------
    def _platform(
        self,
        functions: Mapping[str, lambda_.Function],
        state_machine: sfn.StateMachine,
        tables: Mapping[str, dynamodb.ITable],
        dead_letter_queues: Mapping[str, sqs.IQueue],
    ) -> None:
        self.facade.add_large_header("Arbiter: platform")
        self.facade.monitor_step_function(
            state_machine=state_machine,
            alarm_friendly_name="Saga",
            human_readable_name="Saga state machine",
            **self._platform_alarms("state_machine"),
        )
        for name, function in functions.items():
            self.facade.monitor_lambda_function(
                lambda_function=function,
                alarm_friendly_name=name,
                human_readable_name=f"Function {name}",
                **self._platform_alarms("lambda"),
            )
        for key, table in tables.items():
            self.facade.monitor_dynamo_table(
                table=table,
                alarm_friendly_name=f"Table-{key}",
                human_readable_name=f"Table {key}",
                **self._platform_alarms("table"),
            )
        for name, queue in dead_letter_queues.items():
            self.facade.monitor_sqs_queue(
                queue=queue,
                alarm_friendly_name=f"DeadLetters-{name}",
                human_readable_name=f"Dead letters: {name}",
                **self._platform_alarms("dead_letter_queue"),
            )

    def _platform_alarms(self, resource: str) -> dict[str, Any]:
        """The catalog's platform alarms on ``resource``, as cdk-monitoring-constructs' ``add_*_alarm`` arguments;
        an alarm the mapping does not know fails the synth."""
        found: dict[str, Any] = {}
        for alarm in (a for a in PLATFORM_ALARMS if a.resource == resource):
            builder, threshold = PLATFORM_BUILDERS[(alarm.namespace, alarm.metric_name)]
            found[builder] = {CRITICAL: threshold(self.thresholds[alarm.id])}
        return found

    def _composites(self, topic: sns.ITopic) -> None:
        for composite in COMPOSITE_ALARMS:
            alarm = cloudwatch.CompositeAlarm(
                self,
                composite.id,
                composite_alarm_name=f"{self.prefix}-{composite.id}",
                alarm_description=composite.description,
                alarm_rule=cloudwatch.AlarmRule.any_of(
                    *(
                        cloudwatch.AlarmRule.from_alarm(self.alarms[c], cloudwatch.AlarmState.ALARM)
                        for c in composite.any_of
                    )
                ),
            )
            alarm.add_alarm_action(cloudwatch_actions.SnsAction(topic))
            alarm.add_ok_action(cloudwatch_actions.SnsAction(topic))
            self.alarms[composite.id] = alarm


def _metric(metric: Metric, statistic: Statistic, period_s: int) -> cloudwatch.Metric:
    dimensions = {k: v for k, v in metric.dimensions.items() if v is not None}
    return cloudwatch.Metric(
        namespace=metric.namespace,
        metric_name=metric.name,
        dimensions_map={"service": metric.service, **dimensions},
        statistic=statistic.value,
        period=Duration.seconds(period_s),
        label=" ".join([metric.name, *dimensions.values(), statistic.value]),
    )


def _widget_metric(metric: Metric, statistic: Statistic, period_s: int) -> cloudwatch.Metric | CustomMetricSearch:
    """A metric with an open dimension is a search: one line per value the code emitted (each refusal reason)."""
    if not metric.open_dimensions:
        return _metric(metric, statistic, period_s)
    keys = ",".join(["service", *sorted(metric.dimensions)])
    return CustomMetricSearch(
        namespace=metric.namespace,
        search_query=f'MetricName="{metric.name}"',
        dimensions_map={"service": metric.service, **dict.fromkeys(metric.open_dimensions, "")},
        statistic=SEARCH_STATISTIC[statistic],
        period=Duration.seconds(period_s),
        label=f"{metric.name} by {keys}",
    )


def _alarm_signal(alarm: Alarm) -> cloudwatch.Metric | cloudwatch.MathExpression:
    signal, period = alarm.signal, Duration.seconds(alarm.period_s)
    if isinstance(signal, Metric):
        return _metric(signal, alarm.statistic, alarm.period_s)
    if isinstance(signal, AwsMetric):
        raise TypeError(f"{alarm.id}: alarms on AWS's own metrics are cdk-monitoring-constructs' (PLATFORM_ALARMS)")
    terms = signal.terms if isinstance(signal, Total) else (*signal.numerator, *signal.denominator)
    ids: dict[Metric, str] = {}
    for metric in terms:
        ids.setdefault(metric, f"m{len(ids)}")

    def total(metrics: Sequence[Metric]) -> str:
        return " + ".join(f"FILL({ids[m]}, 0)" for m in metrics)

    if isinstance(signal, Total):
        expression = total(signal.terms)
    else:
        assert isinstance(signal, Ratio)
        numerator, denominator = total(signal.numerator), total(signal.denominator)
        expression = f"IF(({denominator}) >= {signal.minimum:g}, ({numerator}) / ({denominator}))"
    return cloudwatch.MathExpression(
        expression=expression,
        using_metrics={name: _metric(metric, alarm.statistic, alarm.period_s) for metric, name in ids.items()},
        period=period,
        label=alarm.id,
    )
