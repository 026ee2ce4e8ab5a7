"""Every metric Arbiter emits, every alarm on them and every dashboard widget, declared once.

CDK (``cdk/arbiter_constructs/monitoring.py``) turns this into CloudWatch alarms and a dashboard; the local
evaluator (``arbiter.monitoring.evaluator``) evaluates the same alarms on the metrics the local runtime captured;
the handlers emit through these definitions (``arbiter_handlers.metrics.emit``), so a name is written once.

To add a component's metrics (the scanner's, say): declare its ``Metric``s, add them to ``METRICS``, emit them with
``arbiter_handlers.metrics.emit``, put them on a ``Widget`` in ``BUSINESS_WIDGETS`` and, where someone must act, an
``Alarm`` in ``ALARMS`` (and in ``TRADING_HALTED.any_of`` if their absence halts trading), then run the component
in ``tests/integration/monitoring/test_monitoring_catalog.py``: it fails until every metric on a widget or alarm is
really emitted and every metric emitted is on the dashboard.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Literal

NAMESPACE = "Arbiter"
Environment = Literal["dev", "prod"]


class Unit(StrEnum):
    COUNT = "Count"
    MILLISECONDS = "Milliseconds"
    NONE = "None"


class Statistic(StrEnum):
    SUM = "Sum"
    MAXIMUM = "Maximum"
    AVERAGE = "Average"
    P50 = "p50"
    P95 = "p95"
    P99 = "p99"


class Comparison(StrEnum):
    """CloudWatch's comparison operators (the names its API uses)."""

    AT_LEAST = "GreaterThanOrEqualToThreshold"
    ABOVE = "GreaterThanThreshold"
    BELOW = "LessThanThreshold"


class MissingData(StrEnum):
    """How a period without data counts (CloudWatch's TreatMissingData)."""

    BREACHING = "breaching"
    NOT_BREACHING = "notBreaching"


OPEN = None
"""A dimension whose value is open (a refusal reason, a venue): one series per value the code emits."""


@dataclass(frozen=True)
class Metric:
    """One metric in the Arbiter namespace: its name and dimensions exactly as the code emits them. A dimension
    given a value is fixed (one series); one given ``OPEN`` takes whatever value the emitter passes."""

    name: str
    service: str
    unit: Unit
    description: str
    dimensions: Mapping[str, str | None] = field(default_factory=dict, hash=False)

    @property
    def namespace(self) -> str:
        return NAMESPACE

    @property
    def open_dimensions(self) -> tuple[str, ...]:
        return tuple(sorted(k for k, v in self.dimensions.items() if v is OPEN))

    def fixed(self, **values: str) -> Metric:
        """This metric with some of its open dimensions given a value (an alarm on one refusal reason)."""
        unknown = sorted(set(values) - set(self.open_dimensions))
        if unknown:
            raise ValueError(f"{self.name}: no open dimension {', '.join(unknown)}")
        return Metric(self.name, self.service, self.unit, self.description, {**self.dimensions, **values})

    def series_dimensions(self, **values: str) -> dict[str, str]:
        """The full dimension set of one data point (``service`` first, as Powertools writes it)."""
        missing = [k for k in self.open_dimensions if k not in values]
        unknown = sorted(set(values) - set(self.open_dimensions))
        if missing or unknown:
            raise ValueError(f"{self.name}: dimensions {missing} need a value; {unknown} are not open dimensions")
        fixed = {k: v for k, v in self.dimensions.items() if v is not OPEN}
        return {"service": self.service, **fixed, **values}

    @property
    def identity(self) -> tuple[str, str, frozenset[tuple[str, str | None]]]:
        """What makes two declarations the same series family: name, and dimensions with fixed values."""
        return self.name, self.service, frozenset(self.dimensions.items())


# -- the saga (its task handlers, arbiter_handlers.saga_metrics) ----------------------------------------------
EXECUTIONS_STARTED = Metric("ExecutionsStarted", "saga", Unit.COUNT, "Prepare accepted an execution")
_OUTCOME = "Executions that ended with this outcome"
EXECUTIONS_SETTLED = Metric("ExecutionsEnded", "saga", Unit.COUNT, _OUTCOME, {"outcome": "settled"})
EXECUTIONS_COMPENSATED = Metric("ExecutionsEnded", "saga", Unit.COUNT, _OUTCOME, {"outcome": "compensated"})
EXECUTIONS_INCIDENT = Metric("ExecutionsEnded", "saga", Unit.COUNT, _OUTCOME, {"outcome": "incident"})
EXECUTIONS_REFUSED = Metric(
    "ExecutionsRefused", "saga", Unit.COUNT, "Refusals by the risk engine, by reason code", {"reason": OPEN}
)
REALISED_PNL_USD = Metric(
    "RealisedPnlUsd", "saga", Unit.NONE, "Realised P&L of each ended execution, in USD (what could be valued)"
)
DAILY_LOSS_LIMIT_USED = Metric(
    "DailyLossLimitUsed", "saga", Unit.NONE, "Today's realised loss as a share of the daily loss limit (0 to 1+)"
)
PLACE_LEGS_LATENCY = Metric(
    "PlaceLegsLatency", "saga", Unit.MILLISECONDS, "Wall time for PlaceLegs to send every leg and read it back"
)
QUOTE_AGE_AT_PREPARE = Metric(
    "QuoteAgeAtPrepare", "saga", Unit.MILLISECONDS, "Age of the opportunity's oldest quote when Prepare judged it"
)

# -- the scheduled reconciler (arbiter_handlers.reconciler) ----------------------------------------------------
RECONCILER_SWEEPS = Metric("ReconcilerSweeps", "reconciler", Unit.COUNT, "Sweeps run (its heartbeat, every minute)")
RECONCILER_INCIDENTS = Metric(
    "ReconcilerIncidents", "reconciler", Unit.COUNT, "Incidents the sweep raised (executions and venues)"
)
RECONCILER_VENUES_UNVERIFIED = Metric(
    "ReconcilerVenuesUnverified", "reconciler", Unit.COUNT, "Venues whose balances the sweep could not read"
)
KILL_SWITCH_ENGAGED = Metric(
    "KillSwitchEngaged", "reconciler", Unit.COUNT, "1 while the kill switch is engaged (read by every sweep)"
)
VENUE_BREAKER_OPEN = Metric(
    "VenueBreakerOpen", "reconciler", Unit.COUNT, "1 while a venue's circuit breaker is open", {"venue": OPEN}
)
BREAKERS_OPEN = Metric("BreakersOpen", "reconciler", Unit.COUNT, "How many venues' circuit breakers are open")

# -- the scanner (arbiter_handlers.metrics.PowertoolsScannerMetrics) -----------------------------------------
SCANNER_RUNS = Metric("ScannerRuns", "scanner", Unit.COUNT, "Invocations that held their shard's lease and ran")
OPPORTUNITIES_DETECTED = Metric("OpportunitiesDetected", "scanner", Unit.COUNT, "Opportunities the detector found")
SCANNER_STARTS = Metric("ExecutionsStarted", "scanner", Unit.COUNT, "Executions the scanner started")
TICK_TO_START = Metric(
    "TickToStart", "scanner", Unit.MILLISECONDS, "From the book update that opened an opportunity to its start"
)
SCANNER_REFUSED = Metric(
    "ExecutionsRefused", "scanner", Unit.COUNT, "Opportunities the scanner's pre-check refused, by reason",
    {"reason": OPEN},
)  # fmt: skip
UPDATES_PROCESSED = Metric("UpdatesProcessed", "scanner", Unit.COUNT, "Book updates the detector took in")
BOOK_AGE_P50 = Metric("BookAgeP50", "scanner", Unit.MILLISECONDS, "Median age of a venue's books", {"venue": OPEN})
BOOK_AGE_P99 = Metric("BookAgeP99", "scanner", Unit.MILLISECONDS, "p99 age of a venue's books", {"venue": OPEN})
SCANNER_HEARTBEAT = Metric("Heartbeat", "scanner", Unit.COUNT, "A shard's scanner is running", {"shard": OPEN})
SCANNER_HEARTBEATS = Metric("Heartbeats", "scanner", Unit.COUNT, "Heartbeats of every shard's scanner")
FEED_RECONNECTS = Metric("FeedReconnects", "scanner", Unit.COUNT, "A venue's stream reconnects", {"venue": OPEN})
FEED_CONNECTED = Metric(
    "FeedConnected", "scanner", Unit.COUNT, "1 while a venue's stream is connected", {"venue": OPEN}
)

SCORING_BY_MODEL = Metric(
    "ScoringByModel", "scanner", Unit.COUNT, "1 while a shard ranks by the live model; 0: by expected profit"
)

# -- the scoring model's drift (arbiter_handlers.saga_metrics, when an execution the model scored ends) -------
PREDICTION_ERROR_USD = Metric(
    "PredictionErrorUsd", "saga", Unit.NONE, "Realised minus predicted P&L (USD) of an execution the model scored"
)

# -- the venue gateway, in whichever function calls the venue (arbiter_handlers.metrics.record_rate_limited) ----
VENUE_RATE_LIMITED = Metric(
    "VenueRateLimited", "gateway", Unit.COUNT, "Venue calls that ended rate limited, by venue", {"venue": OPEN}
)
RATE_LIMITED = Metric("RateLimited", "gateway", Unit.COUNT, "Venue calls that ended rate limited, all venues")

METRICS: tuple[Metric, ...] = (
    EXECUTIONS_STARTED,
    EXECUTIONS_SETTLED,
    EXECUTIONS_COMPENSATED,
    EXECUTIONS_INCIDENT,
    EXECUTIONS_REFUSED,
    REALISED_PNL_USD,
    DAILY_LOSS_LIMIT_USED,
    PLACE_LEGS_LATENCY,
    QUOTE_AGE_AT_PREPARE,
    RECONCILER_SWEEPS,
    RECONCILER_INCIDENTS,
    RECONCILER_VENUES_UNVERIFIED,
    KILL_SWITCH_ENGAGED,
    VENUE_BREAKER_OPEN,
    BREAKERS_OPEN,
    VENUE_RATE_LIMITED,
    RATE_LIMITED,
    SCANNER_RUNS,
    OPPORTUNITIES_DETECTED,
    SCANNER_STARTS,
    TICK_TO_START,
    SCANNER_REFUSED,
    UPDATES_PROCESSED,
    BOOK_AGE_P50,
    BOOK_AGE_P99,
    SCANNER_HEARTBEAT,
    SCANNER_HEARTBEATS,
    FEED_RECONNECTS,
    FEED_CONNECTED,
    SCORING_BY_MODEL,
    PREDICTION_ERROR_USD,
)
"""Every metric the code emits."""


@dataclass(frozen=True)
class Total:
    """The sum of several metrics' statistic in a period (a missing one counts 0; all missing: no data)."""

    terms: tuple[Metric, ...]


@dataclass(frozen=True)
class Ratio:
    """``numerator / denominator`` per period, each a sum of metrics; no data while the denominator is below
    ``minimum`` (a rate over too few executions says nothing)."""

    numerator: tuple[Metric, ...]
    denominator: tuple[Metric, ...]
    minimum: float = 1


@dataclass(frozen=True)
class AwsMetric:
    """One of AWS's own metrics (a platform alarm's, for one resource): only the local evaluator makes these."""

    namespace: str
    name: str
    dimensions: Mapping[str, str] = field(default_factory=dict, hash=False)


Signal = Metric | Total | Ratio | AwsMetric


def signal_metrics(signal: Signal) -> tuple[Metric | AwsMetric, ...]:
    if isinstance(signal, Metric | AwsMetric):
        return (signal,)
    if isinstance(signal, Total):
        return signal.terms
    return tuple(dict.fromkeys((*signal.numerator, *signal.denominator)))


@dataclass(frozen=True)
class Threshold:
    dev: float
    prod: float

    def of(self, env: Environment) -> float:
        return self.dev if env == "dev" else self.prod


@dataclass(frozen=True)
class Alarm:
    id: str
    """Names the alarm (``arbiter-<env>-<id>``) and its threshold override (context ``alarm_thresholds``)."""
    description: str
    """What it means and what to do: the text of the alert."""
    signal: Signal
    statistic: Statistic
    comparison: Comparison
    threshold: Threshold
    period_s: int = 60
    evaluation_periods: int = 1
    datapoints_to_alarm: int = 1
    missing_data: MissingData = MissingData.NOT_BREACHING


@dataclass(frozen=True)
class CompositeAlarm:
    id: str
    description: str
    any_of: tuple[str, ...]
    """Alarm ids: this one is in ALARM while any of them is."""


_ENDED = (EXECUTIONS_SETTLED, EXECUTIONS_COMPENSATED, EXECUTIONS_INCIDENT)

ALARMS: tuple[Alarm, ...] = (
    Alarm(
        "Incident",
        "An execution or a venue has an incident: money may be at risk and the kill switch is engaged. "
        "Read the incident (API /incidents), resolve the position, then disengage the kill switch.",
        Total((EXECUTIONS_INCIDENT, RECONCILER_INCIDENTS)),
        Statistic.SUM,
        Comparison.AT_LEAST,
        Threshold(dev=1, prod=1),
    ),
    Alarm(
        "CompensationRate",
        "Too many executions needed compensation (legs not filled together): check venue health and slippage.",
        Ratio(numerator=(EXECUTIONS_COMPENSATED, EXECUTIONS_INCIDENT), denominator=_ENDED, minimum=3),
        Statistic.SUM,
        Comparison.ABOVE,
        Threshold(dev=0.5, prod=0.25),
        period_s=900,
    ),
    Alarm(
        "ConsecutiveFailedTrades",
        "Executions ended compensated or in an incident in three periods running, with none settled between.",
        Ratio(numerator=(EXECUTIONS_COMPENSATED, EXECUTIONS_INCIDENT), denominator=_ENDED, minimum=1),
        Statistic.SUM,
        Comparison.AT_LEAST,
        Threshold(dev=1, prod=1),
        period_s=300,
        evaluation_periods=3,
        datapoints_to_alarm=3,
    ),
    Alarm(
        "DailyLossNearLimit",
        "Today's realised loss passed this share of the daily loss limit; at the limit trading stops.",
        DAILY_LOSS_LIMIT_USED,
        Statistic.MAXIMUM,
        Comparison.AT_LEAST,
        Threshold(dev=0.8, prod=0.8),
    ),
    Alarm(
        "VenueBreakerOpen",
        "A venue's circuit breaker is open (repeated venue failures): no call reaches it, and Prepare engages the "
        "kill switch when an opportunity needs it. See the breaker states on the dashboard and /health.",
        BREAKERS_OPEN,
        Statistic.MAXIMUM,
        Comparison.AT_LEAST,
        Threshold(dev=1, prod=1),
    ),
    Alarm(
        "BalanceSyncFailing",
        "The reconciler could not verify a venue's balances in consecutive sweeps (unreachable or malformed).",
        RECONCILER_VENUES_UNVERIFIED,
        Statistic.MAXIMUM,
        Comparison.AT_LEAST,
        Threshold(dev=1, prod=1),
        evaluation_periods=5,
        datapoints_to_alarm=5,
    ),
    Alarm(
        "VenueRateLimited",
        "Venue calls keep ending rate limited (after retries, or the shared budget exhausted): lower the request "
        "rate (ARBITER_GATEWAY__RATE_PER_S) or the concurrency, or ask the venue for a higher limit.",
        RATE_LIMITED,
        Statistic.SUM,
        Comparison.AT_LEAST,
        Threshold(dev=5, prod=3),
        period_s=300,
    ),
    Alarm(
        "ReconcilerNotRunning",
        "No reconciler sweep for five minutes: what the venues hold is no longer checked against the journal.",
        RECONCILER_SWEEPS,
        Statistic.SUM,
        Comparison.BELOW,
        Threshold(dev=1, prod=1),
        period_s=300,
        missing_data=MissingData.BREACHING,
    ),
    Alarm(
        "ScannerNotRunning",
        "No scanner heartbeat for five minutes: no opportunity is followed or started (lease stuck, schedule or "
        "function failing). See the scanner's logs and its schedule's dead-letter queue.",
        SCANNER_HEARTBEATS,
        Statistic.SUM,
        Comparison.BELOW,
        Threshold(dev=1, prod=1),
        period_s=300,
        missing_data=MissingData.BREACHING,
    ),
    Alarm(
        "KillSwitchEngaged",
        "The kill switch is engaged: no execution starts until someone disengages it (API /kill-switch).",
        KILL_SWITCH_ENGAGED,
        Statistic.MAXIMUM,
        Comparison.AT_LEAST,
        Threshold(dev=1, prod=1),
    ),
)

TRADING_HALTED = CompositeAlarm(
    "TradingHalted",
    "Arbiter is not trading: the kill switch is engaged, or no scanner is running.",
    any_of=("KillSwitchEngaged", "ScannerNotRunning"),
)
COMPOSITE_ALARMS: tuple[CompositeAlarm, ...] = (TRADING_HALTED,)


@dataclass(frozen=True)
class Widget:
    title: str
    signals: tuple[Metric, ...]
    statistics: tuple[Statistic, ...] = (Statistic.SUM,)
    period_s: int = 60


BUSINESS_WIDGETS: tuple[Widget, ...] = (
    Widget("Executions started and by outcome", (EXECUTIONS_STARTED, *_ENDED)),
    Widget("Refusals by reason", (EXECUTIONS_REFUSED,)),
    Widget("Realised P&L (USD)", (REALISED_PNL_USD,), period_s=300),
    Widget("Daily loss, share of its limit", (DAILY_LOSS_LIMIT_USED,), (Statistic.MAXIMUM,)),
    Widget("Leg latency (PlaceLegs)", (PLACE_LEGS_LATENCY,), (Statistic.P50, Statistic.P95, Statistic.P99)),
    Widget("Quote age at Prepare", (QUOTE_AGE_AT_PREPARE,), (Statistic.P50, Statistic.P95, Statistic.MAXIMUM)),
    Widget(
        "Reconciler: sweeps, incidents, unverified venues",
        (RECONCILER_SWEEPS, RECONCILER_INCIDENTS, RECONCILER_VENUES_UNVERIFIED),
    ),
    Widget("Kill switch", (KILL_SWITCH_ENGAGED,), (Statistic.MAXIMUM,)),
    Widget("Breaker states (1: open)", (VENUE_BREAKER_OPEN, BREAKERS_OPEN), (Statistic.MAXIMUM,)),
    Widget("Rate-limited venue calls", (VENUE_RATE_LIMITED, RATE_LIMITED)),
    Widget("Scanner: opportunities, starts, refusals", (OPPORTUNITIES_DETECTED, SCANNER_STARTS, SCANNER_REFUSED)),
    Widget("Scanner: tick to start", (TICK_TO_START,), (Statistic.P50, Statistic.P99)),
    Widget("Scanner: book updates", (UPDATES_PROCESSED,)),
    Widget("Book age per venue", (BOOK_AGE_P50, BOOK_AGE_P99), (Statistic.MAXIMUM,)),
    Widget("Scanner heartbeat per shard, and runs", (SCANNER_HEARTBEAT, SCANNER_HEARTBEATS, SCANNER_RUNS)),
    Widget("Feeds: connected and reconnects", (FEED_CONNECTED, FEED_RECONNECTS), (Statistic.MAXIMUM, Statistic.SUM)),
    Widget("Scoring: by the live model (1) or expected profit (0)", (SCORING_BY_MODEL,), (Statistic.AVERAGE,)),
    Widget("Scoring: realised minus predicted P&L (USD)", (PREDICTION_ERROR_USD,), (Statistic.AVERAGE,), period_s=3600),
)


@dataclass(frozen=True)
class PlatformAlarm:
    """An alarm on AWS's own metric, one per resource of its kind (cdk-monitoring-constructs builds them): in
    ALARM when the metric's Sum in a minute exceeds the threshold. Locally, the runtime records the Lambda and
    Step Functions ones as AWS would (``arbiter.local.metrics``) and the evaluator evaluates them per resource."""

    id: str
    resource: Literal["lambda", "state_machine", "table", "dead_letter_queue"]
    namespace: str
    metric_name: str
    dimension: str
    """The dimension naming the resource (one alarm per value)."""
    threshold: Threshold
    description: str
    recorded_locally: bool = False
    """Whether the local runtime records this metric (it runs the functions and the state machine, not
    DynamoDB's capacity or SQS)."""
    period_s: int = 60


_ZERO = Threshold(dev=0, prod=0)
PLATFORM_ALARMS: tuple[PlatformAlarm, ...] = (
    PlatformAlarm("LambdaErrors", "lambda", "AWS/Lambda", "Errors", "FunctionName", _ZERO, "A function raised", True),
    PlatformAlarm(
        "LambdaThrottles", "lambda", "AWS/Lambda", "Throttles", "FunctionName", _ZERO, "A function throttled"
    ),
    PlatformAlarm(
        "SagaFailed",
        "state_machine",
        "AWS/States",
        "ExecutionsFailed",
        "StateMachineArn",
        _ZERO,
        "A saga ended failed (an incident ends in the Fail state)",
        True,
    ),
    PlatformAlarm(
        "SagaTimedOut",
        "state_machine",
        "AWS/States",
        "ExecutionsTimedOut",
        "StateMachineArn",
        _ZERO,
        "A saga ran past its time limit",
        True,
    ),
    PlatformAlarm(
        "TableReadThrottles", "table", "AWS/DynamoDB", "ReadThrottleEvents", "TableName", _ZERO, "Reads throttled"
    ),
    PlatformAlarm(
        "TableWriteThrottles", "table", "AWS/DynamoDB", "WriteThrottleEvents", "TableName", _ZERO, "Writes throttled"
    ),
    PlatformAlarm(
        "DeadLetters",
        "dead_letter_queue",
        "AWS/SQS",
        "ApproximateNumberOfMessagesVisible",
        "QueueName",
        _ZERO,
        "A scheduled run or an alert could not be delivered",
    ),
)


def thresholds(
    env: Environment, overrides: Mapping[str, float] | None = None, alarms: Sequence[Alarm | PlatformAlarm] = ()
) -> dict[str, float]:
    """Every metric alarm's threshold in ``env`` (the catalog's, and ``alarms``), with the operator's
    ``overrides`` (alarm id -> threshold)."""
    overrides = dict(overrides or {})
    metric_alarms: tuple[Alarm | PlatformAlarm, ...] = (*ALARMS, *PLATFORM_ALARMS, *alarms)
    known = {a.id for a in metric_alarms}
    unknown = sorted(set(overrides) - known)
    if unknown:
        raise ValueError(f"no alarm named {', '.join(unknown)} (alarms: {', '.join(sorted(known))})")
    return {a.id: float(overrides.get(a.id, a.threshold.of(env))) for a in metric_alarms}
