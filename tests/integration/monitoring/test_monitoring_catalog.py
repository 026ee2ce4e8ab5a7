"""The catalog against the code: the real handlers, run by the local platform through outcomes of every kind,
emit every metric a widget or an alarm uses, and nothing they emit is missing from the dashboard. And the
alarms evaluated on what they emitted fire for the incident, and only where they should."""

from __future__ import annotations

from collections.abc import Iterator

import ccxt
import pytest

from arbiter.gateway import RateLimitedError
from arbiter.gateway.ccxt.gateway import CcxtGateway, RetryPolicy
from arbiter.gateway.paper import PlaceFault
from arbiter.local.scenarios import Scenario, ScenarioRunner
from arbiter.models import ExecutionStatus
from arbiter.models.heartbeat import FeedHealth
from arbiter.monitoring import ALARMS, BUSINESS_WIDGETS, METRICS, NAMESPACE, AlarmEvaluator, DataPoint, Metric
from arbiter.monitoring.catalog import SCANNER_RUNS, signal_metrics
from arbiter.scoring.scorer import ScoringStatus
from arbiter.storage.breakers import BreakerPosition
from arbiter_handlers.metrics import PowertoolsScannerMetrics, emit, record_rate_limited

OUTCOMES = {
    "settled": Scenario(predicted_pnl_usd=0.5),  # started with the model's prediction: the drift metric
    "compensated": Scenario(leg_faults={0: PlaceFault.REJECT}),
    "refused": Scenario(quote_age_ms=5_000),
    "incident": Scenario(leg_faults={0: PlaceFault.NO_FILL}, cancel_failures=-1),
    "venue unreadable": Scenario(outage_venue="alpha", outage_from_call=3),
}


class RateLimitedVenue:
    """A ccxt exchange whose every answer is "too many requests" (the paper venues never rate limit)."""

    id = "binance"

    def fetch_order_book(self, symbol: str, limit: int | None = None) -> object:
        raise ccxt.RateLimitExceeded("429 Too Many Requests")


@pytest.fixture(scope="module")
def emitted() -> Iterator[tuple[ScenarioRunner, dict[str, ExecutionStatus]]]:
    with ScenarioRunner() as runner:
        statuses = {label: runner.run(scenario).outcome.record.status for label, scenario in OUTCOMES.items()}
        # A deployed gateway, wired as arbiter_handlers.wiring wires it, whose venue rate limits every call.
        limited = CcxtGateway(
            RateLimitedVenue(),
            {},
            clock=runner.clock,
            policy=RetryPolicy(attempts=2, initial_s=0, max_wait_s=0),
            sleep=lambda _s: None,
            on_rate_limited=record_rate_limited,
        )
        with pytest.raises(RateLimitedError):
            limited.fetch_order_book("BTC/USDT")
        _scanner_reports()
        yield runner, statuses


def _scanner_reports() -> None:
    """What the scanner reports through its metrics port in a run (its own tests check when it calls each one,
    with the counting twin), through the deployed adapter, and the handler's run count."""
    scanner = PowertoolsScannerMetrics()
    scanner.detected(3)
    scanner.updates(120)
    scanner.refused("route_cooldown")
    scanner.started(12.5)
    scanner.book_ages("alpha", 40.0, 180.0)
    health = FeedHealth(
        venue="alpha", connected=True, last_message_age_ms=20, books=3, reconnects=1, resyncs=0, rest_snapshots=0,
        dropped=0,
    )  # fmt: skip
    scanner.heartbeat("0", {"alpha": health}, ScoringStatus("m1"))
    emit(SCANNER_RUNS, 1)


def _emitted_by_code(points: list[DataPoint], metric: Metric) -> bool:
    return any(p.matches(metric) for p in points)


def test_the_scenarios_cover_every_outcome(emitted: tuple[ScenarioRunner, dict[str, ExecutionStatus]]) -> None:
    _, statuses = emitted
    assert statuses["settled"] is ExecutionStatus.SETTLED
    assert statuses["compensated"] is ExecutionStatus.COMPENSATED
    assert statuses["refused"] is ExecutionStatus.REFUSED
    assert statuses["incident"] is ExecutionStatus.INCIDENT


def test_every_metric_on_a_widget_or_an_alarm_is_emitted(
    emitted: tuple[ScenarioRunner, dict[str, ExecutionStatus]],
) -> None:
    runner, _ = emitted
    points = runner.platform.metrics.points
    used = {m.identity: m for w in BUSINESS_WIDGETS for m in w.signals}
    used |= {m.identity: m for a in ALARMS for m in signal_metrics(a.signal)}
    # An alarm on one value of an open dimension (one refusal reason) needs its family emitted with any value.
    dead = [
        f"{m.name} {dict(m.dimensions)}"
        for m in used.values()
        if not _emitted_by_code(points, m) and not _family_emitted(points, m)
    ]
    assert dead == []


def _family_emitted(points: list[DataPoint], metric: Metric) -> bool:
    family = next((f for f in METRICS if f.name == metric.name and f.open_dimensions), None)
    return family is not None and set(metric.dimensions) == set(family.dimensions) and _emitted_by_code(points, family)


def test_every_metric_emitted_is_declared_and_on_the_dashboard(
    emitted: tuple[ScenarioRunner, dict[str, ExecutionStatus]],
) -> None:
    runner, _ = emitted
    on_dashboard = [m for w in BUSINESS_WIDGETS for m in w.signals]
    invisible = sorted(
        {
            f"{p.name} {dict(p.dimensions)}"
            for p in runner.platform.metrics.points
            if p.namespace == NAMESPACE and not any(p.matches(m) for m in on_dashboard)
        }
    )
    assert invisible == []
    assert {m.identity for m in METRICS} == {m.identity for m in on_dashboard}


def test_the_incident_fires_the_incident_alarm_and_halts_trading(
    emitted: tuple[ScenarioRunner, dict[str, ExecutionStatus]],
) -> None:
    runner, _ = emitted
    platform = runner.platform
    histories = AlarmEvaluator("prod").evaluate(platform.metrics.points, platform.clock.now_ms() + 60_000)
    assert histories["Incident"].fired, "the incident scenario must fire the incident alarm"
    assert histories["KillSwitchEngaged"].fired
    assert histories["TradingHalted"].fired
    # As on AWS: the incident ended in the Fail state, and Compensate raised while its orders stayed open.
    assert histories["SagaFailed arbitrage"].fired
    assert histories["LambdaErrors Compensate"].fired
    # The venue that stays down in the last scenario is unreadable sweep after sweep: five in a row fire.
    unverified = [p for p in platform.metrics.named("ReconcilerVenuesUnverified") if p.value]
    (fired,) = histories["BalanceSyncFailing"].fired
    assert len([p for p in unverified if p.at_ms < fired.at_ms]) >= 5
    assert histories["DailyLossNearLimit"].fired == []


def test_nothing_is_printed(
    emitted: tuple[ScenarioRunner, dict[str, ExecutionStatus]], capsys: pytest.CaptureFixture[str]
) -> None:
    runner, _ = emitted
    runner.run(OUTCOMES["settled"])
    runner.platform.sweep()
    assert '"_aws"' not in capsys.readouterr().out


def test_an_open_breaker_is_on_the_dashboard_and_fires_its_alarm(
    emitted: tuple[ScenarioRunner, dict[str, ExecutionStatus]],
) -> None:
    runner, _ = emitted
    platform = runner.platform
    breakers = platform.breakers
    breakers.replace(breakers.get("beta").model_copy(update={"position": BreakerPosition.OPEN, "version": 1}))
    platform.clock.ms += 60_000
    platform.sweep()
    swept = platform.clock.now_ms()
    open_now = [p for p in platform.metrics.named("VenueBreakerOpen") if p.at_ms == swept]
    assert {p.dimensions["venue"]: p.value for p in open_now} == {"alpha": 0, "beta": 1}
    histories = AlarmEvaluator("prod").evaluate(platform.metrics.points, swept + 1)
    assert [t.period_start_ms <= swept < t.at_ms for t in histories["VenueBreakerOpen"].fired] == [True]


def test_a_metric_that_fails_never_fails_the_step(
    emitted: tuple[ScenarioRunner, dict[str, ExecutionStatus]], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Metrics are for people: one that cannot be recorded is logged, and the saga goes on as if it had been."""

    def broken(*_args: object) -> None:
        raise RuntimeError("the journal could not be read for the metric")

    runner, _ = emitted
    monkeypatch.setattr("arbiter_handlers.saga.record_step", broken)
    assert runner.run(OUTCOMES["settled"]).outcome.record.status is ExecutionStatus.SETTLED
