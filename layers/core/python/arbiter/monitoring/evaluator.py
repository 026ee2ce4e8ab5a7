"""The catalog's alarms evaluated on captured data points, as CloudWatch evaluates them: per period (aligned to
the epoch) the statistic of the alarm's series, the threshold compared, M out of N periods breaching to go into
ALARM, and a period without data counted as the alarm's missing-data treatment says. The local runtime feeds it
what the handlers emitted (EMF), so a demo can say which alarms would have fired, when and why.

Simplifications, on purpose: only the statistics and signals the catalog declares; a percentile is the nearest
rank; periods run from the first data point's period to ``until_ms``."""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from arbiter.monitoring.catalog import (
    ALARMS,
    COMPOSITE_ALARMS,
    PLATFORM_ALARMS,
    Alarm,
    AwsMetric,
    Comparison,
    CompositeAlarm,
    Environment,
    Metric,
    MissingData,
    PlatformAlarm,
    Ratio,
    Statistic,
    Threshold,
    Total,
    signal_metrics,
    thresholds,
)


@dataclass(frozen=True)
class DataPoint:
    namespace: str
    name: str
    dimensions: Mapping[str, str]
    at_ms: int
    value: float

    def matches(self, metric: Metric | AwsMetric) -> bool:
        if self.namespace != metric.namespace or self.name != metric.name:
            return False
        if isinstance(metric, AwsMetric):
            return dict(self.dimensions) == dict(metric.dimensions)
        wanted = dict(metric.dimensions, service=metric.service)
        if set(self.dimensions) != set(wanted):
            return False
        return all(value is None or self.dimensions[key] == value for key, value in wanted.items())


def emf_data_points(document: Mapping[str, Any], at_ms: int | None = None) -> list[DataPoint]:
    """The data points of one CloudWatch Embedded Metric Format document (what Powertools prints); ``at_ms``
    replaces the document's own timestamp (the local runtime stamps its simulated time)."""
    try:
        aws = document["_aws"]
        stamp = int(aws["Timestamp"]) if at_ms is None else at_ms
        points: list[DataPoint] = []
        for directive in aws["CloudWatchMetrics"]:
            for dimension_set in directive["Dimensions"]:
                dimensions = {key: str(document[key]) for key in dimension_set}
                for metric in directive["Metrics"]:
                    raw = document[metric["Name"]]
                    for value in raw if isinstance(raw, list) else [raw]:
                        points.append(
                            DataPoint(directive["Namespace"], metric["Name"], dimensions, stamp, float(value))
                        )
    except (KeyError, TypeError, ValueError) as error:
        raise ValueError(
            f"not an EMF document ({type(error).__name__}: {error}): {json.dumps(document)[:200]}"
        ) from None
    return points


def statistic(values: Sequence[float], stat: Statistic) -> float:
    if stat is Statistic.SUM:
        return math.fsum(values)
    if stat is Statistic.MAXIMUM:
        return max(values)
    if stat is Statistic.AVERAGE:
        return math.fsum(values) / len(values)
    rank = {Statistic.P50: 0.50, Statistic.P95: 0.95, Statistic.P99: 0.99}[stat]
    ordered = sorted(values)
    return ordered[max(0, math.ceil(rank * len(ordered)) - 1)]


def _breaches(value: float, comparison: Comparison, threshold: float) -> bool:
    if comparison is Comparison.AT_LEAST:
        return value >= threshold
    if comparison is Comparison.ABOVE:
        return value > threshold
    return value < threshold


@dataclass(frozen=True)
class Transition:
    at_ms: int
    """The end of the period whose evaluation changed the state."""
    state: str
    """ALARM or OK."""
    reason: str
    period_start_ms: int
    """The start of that period."""


@dataclass
class AlarmHistory:
    alarm_id: str
    description: str
    transitions: list[Transition] = field(default_factory=list)
    states: list[tuple[int, bool]] = field(default_factory=list)
    """(period end, in ALARM) for every period evaluated."""

    @property
    def fired(self) -> list[Transition]:
        return [t for t in self.transitions if t.state == "ALARM"]


class AlarmEvaluator:
    """The catalog's alarms (or ``alarms``) with the thresholds of ``env`` and the operator's overrides."""

    def __init__(
        self,
        env: Environment = "dev",
        overrides: Mapping[str, float] | None = None,
        alarms: Sequence[Alarm] = ALARMS,
        composites: Sequence[CompositeAlarm] = COMPOSITE_ALARMS,
        platform: Sequence[PlatformAlarm] = PLATFORM_ALARMS,
    ) -> None:
        self.alarms, self.composites, self.platform = tuple(alarms), tuple(composites), tuple(platform)
        self.thresholds = thresholds(env, overrides, self.alarms)

    def evaluate(self, points: Iterable[DataPoint], until_ms: int) -> dict[str, AlarmHistory]:
        """Every alarm's history; a platform alarm the local runtime records is evaluated once per resource that
        has data (``"<id> <resource>"``), and listed under its own id with no history when none has."""
        points = list(points)
        histories = {alarm.id: self._evaluate(alarm, points, until_ms) for alarm in self.alarms}
        periods = {alarm.id: alarm.period_s * 1000 for alarm in self.alarms}
        for composite in self.composites:
            histories[composite.id] = self._composite(composite, histories, periods)
        for platform in (p for p in self.platform if p.recorded_locally):
            per_resource = [self._evaluate(rule, points, until_ms) for rule in self._per_resource(platform, points)]
            histories |= {h.alarm_id: h for h in per_resource} or {platform.id: AlarmHistory(platform.id, "")}
        return histories

    def _per_resource(self, platform: PlatformAlarm, points: Sequence[DataPoint]) -> list[Alarm]:
        found = {
            p.dimensions[platform.dimension]
            for p in points
            if (p.namespace, p.name) == (platform.namespace, platform.metric_name)
            and platform.dimension in p.dimensions
        }
        threshold = self.thresholds[platform.id]
        return [
            Alarm(
                f"{platform.id} {resource}",
                platform.description,
                AwsMetric(platform.namespace, platform.metric_name, {platform.dimension: resource}),
                Statistic.SUM,
                Comparison.ABOVE,
                Threshold(dev=threshold, prod=threshold),
                period_s=platform.period_s,
            )
            for resource in sorted(found)
        ]

    def _period_values(self, alarm: Alarm, points: Sequence[DataPoint], start: int, end: int) -> float | None:
        window = [p for p in points if start <= p.at_ms < end]

        def of(metric: Metric | AwsMetric) -> float | None:
            values = [p.value for p in window if p.matches(metric)]
            return statistic(values, alarm.statistic) if values else None

        signal = alarm.signal
        if isinstance(signal, Metric | AwsMetric):
            return of(signal)
        if isinstance(signal, Total):
            found = [v for v in (of(m) for m in signal.terms) if v is not None]
            return math.fsum(found) if found else None
        assert isinstance(signal, Ratio)
        numerator = math.fsum(v for v in (of(m) for m in signal.numerator) if v is not None)
        denominator = math.fsum(v for v in (of(m) for m in signal.denominator) if v is not None)
        return numerator / denominator if denominator >= signal.minimum and denominator > 0 else None

    def _evaluate(self, alarm: Alarm, points: Sequence[DataPoint], until_ms: int) -> AlarmHistory:
        history = AlarmHistory(alarm.id, alarm.description)
        period_ms = alarm.period_s * 1000
        relevant = [p for p in points if any(p.matches(m) for m in signal_metrics(alarm.signal))]
        first = min((p.at_ms for p in points), default=until_ms)
        threshold = self.thresholds.get(alarm.id, alarm.threshold.dev)  # a platform alarm's resource: its own
        recent: list[tuple[bool, str]] = []
        in_alarm = False
        start = first - first % period_ms
        while start < until_ms:
            end = start + period_ms
            value = self._period_values(alarm, relevant, start, end)
            if value is None:
                breaching = alarm.missing_data is MissingData.BREACHING
                why = f"no data in the {alarm.period_s} s period (missing data counts as {alarm.missing_data.value})"
            else:
                breaching = _breaches(value, alarm.comparison, threshold)
                what = "rate" if isinstance(alarm.signal, Ratio) else alarm.statistic.value
                why = f"{what} {value:.4g} {_symbol(alarm.comparison)} {threshold:g}"
            recent = [*recent, (breaching, why)][-alarm.evaluation_periods :]
            now_alarm = sum(b for b, _ in recent) >= alarm.datapoints_to_alarm
            if now_alarm != in_alarm:
                reasons = "; ".join(w for b, w in recent if b == now_alarm) or why
                history.transitions.append(Transition(end, "ALARM" if now_alarm else "OK", reasons, start))
                in_alarm = now_alarm
            history.states.append((end, now_alarm))
            start = end
        return history

    @staticmethod
    def _composite(
        composite: CompositeAlarm, histories: Mapping[str, AlarmHistory], periods: Mapping[str, int]
    ) -> AlarmHistory:
        history = AlarmHistory(composite.id, composite.description)
        changes = sorted({at for child in composite.any_of for at, _ in histories[child].states})
        in_alarm = False
        for at in changes:
            firing = [c for c in composite.any_of if _state_at(histories[c], at)]
            if bool(firing) != in_alarm:
                in_alarm = bool(firing)
                reason = f"in ALARM: {', '.join(firing)}" if firing else "no child alarm in ALARM"
                period = min(periods[c] for c in (firing or composite.any_of))
                history.transitions.append(Transition(at, "ALARM" if in_alarm else "OK", reason, at - period))
            history.states.append((at, in_alarm))
        return history


def _state_at(history: AlarmHistory, at_ms: int) -> bool:
    state = False
    for end, in_alarm in history.states:
        if end > at_ms:
            break
        state = in_alarm
    return state


def _symbol(comparison: Comparison) -> str:
    return {Comparison.AT_LEAST: ">=", Comparison.ABOVE: ">", Comparison.BELOW: "<"}[comparison]
