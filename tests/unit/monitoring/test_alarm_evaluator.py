"""The local evaluator of the catalog's alarms: thresholds, periods, M of N, missing data, ratios, composites."""

from __future__ import annotations

import pytest

from arbiter.monitoring.catalog import (
    ALARMS,
    EXECUTIONS_COMPENSATED,
    EXECUTIONS_INCIDENT,
    EXECUTIONS_REFUSED,
    EXECUTIONS_SETTLED,
    KILL_SWITCH_ENGAGED,
    RECONCILER_INCIDENTS,
    RECONCILER_SWEEPS,
    Alarm,
    Comparison,
    CompositeAlarm,
    Metric,
    MissingData,
    Statistic,
    Threshold,
    thresholds,
)
from arbiter.monitoring.evaluator import AlarmEvaluator, DataPoint, emf_data_points, statistic

MINUTE = 60_000
T0 = 1_699_999_200_000
"""On the hour: every period (1, 5, 15 minutes) starts at T0, as CloudWatch aligns them."""


def point(metric: Metric, minute: float, value: float = 1, **open_dimensions: str) -> DataPoint:
    return DataPoint(
        metric.namespace, metric.name, metric.series_dimensions(**open_dimensions), int(T0 + minute * MINUTE), value
    )


def alarm(alarm_id: str) -> Alarm:
    return next(a for a in ALARMS if a.id == alarm_id)


def evaluate(points: list[DataPoint], minutes: int, **overrides: float) -> dict[str, list[tuple[float, str]]]:
    histories = AlarmEvaluator("prod", overrides).evaluate(points, T0 + minutes * MINUTE)
    return {
        alarm_id: [((t.at_ms - T0) / MINUTE, t.state) for t in history.transitions]
        for alarm_id, history in histories.items()
    }


def test_an_incident_fires_the_incident_alarm_in_its_minute_and_clears_the_next() -> None:
    found = evaluate([point(EXECUTIONS_INCIDENT, 0.5)], minutes=3)
    assert found["Incident"] == [(1, "ALARM"), (2, "OK")]


def test_the_incident_alarm_adds_the_reconcilers_incidents_to_the_sagas() -> None:
    found = evaluate([point(RECONCILER_INCIDENTS, 1.2, value=0), point(RECONCILER_INCIDENTS, 2.2, value=2)], 4)
    assert found["Incident"] == [(3, "ALARM"), (4, "OK")]


def test_a_quiet_platform_fires_nothing_but_the_missing_heartbeat() -> None:
    sweeps = [point(RECONCILER_SWEEPS, m + 0.1) for m in range(10)]
    quiet = evaluate([*sweeps, *(point(KILL_SWITCH_ENGAGED, m + 0.1, value=0) for m in range(10))], minutes=10)
    assert all(transitions == [] for transitions in quiet.values())


def test_missing_data_counts_as_breaching_for_the_reconciler_heartbeat() -> None:
    """Sweeps stop after minute 4: the five-minute period from minute 5 has none, and no data is a breach."""
    found = evaluate([point(RECONCILER_SWEEPS, m + 0.1) for m in range(5)], minutes=10)
    assert found["ReconcilerNotRunning"] == [(10, "ALARM")]
    # And missing data does not breach an alarm that treats it as not breaching.
    assert found["Incident"] == []


def test_threshold_comparison_is_the_declared_one() -> None:
    """The compensation rate alarms strictly above 0.25 in prod: one compensated of four is at the threshold."""
    ended = [point(EXECUTIONS_SETTLED, 1) for _ in range(3)]
    assert evaluate([*ended, point(EXECUTIONS_COMPENSATED, 2)], 15)["CompensationRate"] == []
    found = evaluate([*ended[:2], point(EXECUTIONS_COMPENSATED, 2), point(EXECUTIONS_INCIDENT, 3)], 15)
    assert found["CompensationRate"] == [(15, "ALARM")]


def test_a_rate_over_too_few_executions_is_no_data() -> None:
    """Two executions, both compensated: 100 %, but below the three the rate needs, so no alarm."""
    found = evaluate([point(EXECUTIONS_COMPENSATED, 1), point(EXECUTIONS_COMPENSATED, 2)], 15)
    assert found["CompensationRate"] == []


def test_an_operator_threshold_replaces_the_environments() -> None:
    ended = [point(EXECUTIONS_SETTLED, 1) for _ in range(3)]
    points = [*ended, point(EXECUTIONS_COMPENSATED, 2)]
    assert evaluate(points, 15, CompensationRate=0.2)["CompensationRate"] == [(15, "ALARM")]


def test_consecutive_failed_trades_needs_three_periods_running_with_none_settled() -> None:
    failed = [point(EXECUTIONS_COMPENSATED, m) for m in (1, 6, 11)]
    assert evaluate(failed, 15)["ConsecutiveFailedTrades"] == [(15, "ALARM")]
    interrupted = [*failed, point(EXECUTIONS_SETTLED, 7)]
    assert evaluate(interrupted, 15)["ConsecutiveFailedTrades"] == []


def test_balance_sync_failing_needs_five_sweeps_in_a_row() -> None:
    metric = next(a for a in ALARMS if a.id == "BalanceSyncFailing").signal
    assert isinstance(metric, Metric)
    four = [point(metric, m + 0.5) for m in range(4)]
    assert evaluate([*four, point(metric, 4.5, value=0)], 6)["BalanceSyncFailing"] == []
    five = [point(metric, m + 0.5) for m in range(5)]
    assert evaluate(five, 6)["BalanceSyncFailing"] == [(5, "ALARM"), (6, "OK")]


def test_an_alarm_on_one_reason_ignores_the_others() -> None:
    on_breakers = Alarm(
        "Breaker",
        "",
        EXECUTIONS_REFUSED.fixed(reason="venue_breaker_open"),
        Statistic.SUM,
        Comparison.AT_LEAST,
        Threshold(1, 1),
    )
    evaluator = AlarmEvaluator("dev", alarms=(on_breakers,), composites=())
    other = point(EXECUTIONS_REFUSED, 0.5, reason="stale_quote")
    assert evaluator.evaluate([other], T0 + 2 * MINUTE)["Breaker"].transitions == []
    breaker = point(EXECUTIONS_REFUSED, 0.5, reason="venue_breaker_open")
    assert [t.state for t in evaluator.evaluate([breaker], T0 + 2 * MINUTE)["Breaker"].transitions] == ["ALARM", "OK"]


def test_the_composite_follows_its_children() -> None:
    engaged = [point(KILL_SWITCH_ENGAGED, m + 0.5, value=1 if 2 <= m < 4 else 0) for m in range(6)]
    found = evaluate(engaged, 6)
    assert found["KillSwitchEngaged"] == [(3, "ALARM"), (5, "OK")]
    assert found["TradingHalted"] == found["KillSwitchEngaged"]


def test_a_composite_is_in_alarm_while_any_child_is() -> None:
    a = Alarm("A", "", KILL_SWITCH_ENGAGED, Statistic.MAXIMUM, Comparison.AT_LEAST, Threshold(1, 1))
    b = Alarm(
        "B", "", RECONCILER_SWEEPS, Statistic.SUM, Comparison.BELOW, Threshold(1, 1), missing_data=MissingData.BREACHING
    )
    evaluator = AlarmEvaluator("dev", alarms=(a, b), composites=(CompositeAlarm("Halted", "", ("A", "B")),))
    points = [point(KILL_SWITCH_ENGAGED, 0.5), *(point(RECONCILER_SWEEPS, m + 0.5) for m in range(3))]
    histories = evaluator.evaluate(points, T0 + 5 * MINUTE)
    assert [((t.at_ms - T0) / MINUTE, t.state) for t in histories["Halted"].transitions] == [
        (1, "ALARM"),
        (2, "OK"),
        (4, "ALARM"),
    ]
    assert histories["Halted"].transitions[-1].reason == "in ALARM: B"


def test_the_reason_says_what_breached() -> None:
    histories = AlarmEvaluator("prod").evaluate([point(EXECUTIONS_INCIDENT, 0.5, value=2)], T0 + MINUTE)
    assert histories["Incident"].fired[0].reason == "Sum 2 >= 1"


def test_percentiles_are_nearest_rank() -> None:
    values = [float(v) for v in range(1, 101)]
    assert [statistic(values, s) for s in (Statistic.P50, Statistic.P95, Statistic.P99)] == [50, 95, 99]
    assert statistic([3.0], Statistic.P99) == 3


def test_emf_documents_become_data_points() -> None:
    document = {
        "_aws": {
            "Timestamp": 123,
            "CloudWatchMetrics": [
                {
                    "Namespace": "Arbiter",
                    "Dimensions": [["service", "reason"]],
                    "Metrics": [{"Name": "ExecutionsRefused", "Unit": "Count"}],
                }
            ],
        },
        "service": "saga",
        "reason": "stale_quote",
        "ExecutionsRefused": [1.0, 2.0],
    }
    points = emf_data_points(document, at_ms=T0)
    assert [(p.value, p.at_ms) for p in points] == [(1.0, T0), (2.0, T0)]
    assert points[0].matches(EXECUTIONS_REFUSED.fixed(reason="stale_quote"))
    assert not points[0].matches(EXECUTIONS_REFUSED.fixed(reason="kill_switch_engaged"))
    assert emf_data_points(document)[0].at_ms == 123


def test_a_document_that_is_not_emf_is_refused_clearly() -> None:
    with pytest.raises(ValueError, match="not an EMF document"):
        emf_data_points({"message": "hello"})


def test_thresholds_per_environment_and_unknown_overrides() -> None:
    assert thresholds("dev")["CompensationRate"] == 0.5
    assert thresholds("prod")["CompensationRate"] == 0.25
    with pytest.raises(ValueError, match="no alarm named Nope"):
        thresholds("prod", {"Nope": 1})


def test_a_metric_names_its_missing_or_unknown_dimensions() -> None:
    with pytest.raises(ValueError, match="reason"):
        EXECUTIONS_REFUSED.series_dimensions()
    with pytest.raises(ValueError, match="venue"):
        EXECUTIONS_REFUSED.fixed(venue="binance")


def test_a_platform_alarm_is_evaluated_per_resource_with_data() -> None:
    def error(function: str, minute: float) -> DataPoint:
        return DataPoint("AWS/Lambda", "Errors", {"FunctionName": function}, int(T0 + minute * MINUTE), 1)

    histories = AlarmEvaluator("prod").evaluate([error("Compensate", 0.5), error("Compensate", 0.7)], T0 + 2 * MINUTE)
    assert [t.reason for t in histories["LambdaErrors Compensate"].fired] == ["Sum 2 > 0"]
    assert "LambdaErrors" not in histories  # listed under its own id only while no resource has data
    assert histories["SagaFailed"].transitions == []
    assert "LambdaThrottles" not in histories  # nothing records throttles locally: not evaluated at all
    tolerant = AlarmEvaluator("prod", {"LambdaErrors": 2}).evaluate([error("Compensate", 0.5)], T0 + MINUTE)
    assert tolerant["LambdaErrors Compensate"].fired == []
