from __future__ import annotations

from decimal import Decimal

import pytest

from arbiter.local.scenarios import cross_venue
from arbiter.models import Execution, ExecutionStatus, Opportunity
from arbiter.models.risk import RiskLimits
from arbiter.risk.engine import CountingMetrics, RiskEngine, utc_day
from arbiter.storage.memory import InMemoryExecutionJournal, InMemoryKillSwitch

NOW = 1_767_225_600_000
PRICES = {"USDT": Decimal(1), "SOL": Decimal(150)}


class Breakers:
    def __init__(self, open_venues: set[str]) -> None:
        self.open_venues = open_venues

    def is_open(self, venue: str) -> bool:
        return venue in self.open_venues


def engine(limits: RiskLimits, journal: InMemoryExecutionJournal | None = None, breakers: set[str] | None = None):  # type: ignore[no-untyped-def]
    journal = journal or InMemoryExecutionJournal()
    kill_switch, metrics = InMemoryKillSwitch(), CountingMetrics()
    risk = RiskEngine(
        limits=lambda: limits,
        executions=journal,
        pnl=journal,
        kill_switch=kill_switch,
        usd_value=PRICES.get,
        metrics=metrics,
        breakers=Breakers(breakers or set()),
    )
    return risk, kill_switch, metrics


def check(
    limits: RiskLimits, opportunity: Opportunity | None = None, **kwargs: object
) -> tuple[str | None, InMemoryKillSwitch, CountingMetrics]:
    risk, kill_switch, metrics = engine(limits, **kwargs)  # type: ignore[arg-type]
    return risk.refusal(opportunity or cross_venue(), {}, NOW), kill_switch, metrics


def test_a_sound_opportunity_passes() -> None:
    reason, kill_switch, metrics = check(RiskLimits())
    assert reason is None
    assert not kill_switch.engaged
    assert not metrics.counts


@pytest.mark.parametrize(
    ("limits", "code"),
    [
        (RiskLimits(max_notional_per_execution=Decimal(100)), "max_notional_per_execution"),
        (RiskLimits(max_notional_per_venue=Decimal(100)), "max_notional_per_venue"),
        (RiskLimits(max_asset_exposure={"SOL": Decimal("0.5")}), "max_asset_exposure"),
        (RiskLimits(min_profit_abs=Decimal(5)), "min_profit_abs"),
        (RiskLimits(min_profit_bps=Decimal(100)), "min_profit_bps"),
    ],
)
def test_each_limit_refuses_with_its_reason_code_and_counts_it(limits: RiskLimits, code: str) -> None:
    reason, _, metrics = check(limits)
    assert reason is not None
    assert reason.startswith(f"{code}: ")
    assert metrics.counts == {code: 1}


def test_too_many_running_executions_are_refused() -> None:
    journal = InMemoryExecutionJournal()
    for n in range(2):
        journal.create(Execution(execution_id=f"e{n}", opportunity=cross_venue(), created_at=NOW, updated_at=NOW))
        journal.set_status(f"e{n}", ExecutionStatus.PLACING, NOW)
    reason, _, _ = check(RiskLimits(max_concurrent_executions=2), journal=journal)
    assert reason is not None
    assert reason.startswith("max_concurrent_executions: 2 running")
    journal.set_status("e0", ExecutionStatus.SETTLED, NOW)
    assert check(RiskLimits(max_concurrent_executions=2), journal=journal)[0] is None


def test_the_daily_loss_limit_refuses_and_engages_the_kill_switch() -> None:
    journal = InMemoryExecutionJournal()
    journal.create(Execution(execution_id="lost", opportunity=cross_venue(), created_at=NOW, updated_at=NOW))
    journal.record_pnl("lost", {"USDT": Decimal(-600)}, NOW)
    journal.record_pnl("lost", {"USDT": Decimal(-600)}, NOW)  # a retried step counts once
    assert journal.realised(utc_day(NOW)) == {"USDT": Decimal(-600)}
    reason, kill_switch, _ = check(RiskLimits(daily_loss_limit=Decimal(500)), journal=journal)
    assert reason is not None
    assert reason.startswith("daily_loss_limit: lost 600")
    assert kill_switch.engaged


def test_an_open_breaker_refuses_and_engages_the_kill_switch() -> None:
    reason, kill_switch, _ = check(RiskLimits(), breakers={"beta"})
    assert reason == "venue_breaker_open: beta"
    assert kill_switch.engaged


def test_an_asset_without_usd_value_is_refused() -> None:
    risk, _, _ = engine(RiskLimits())
    risk.usd_value = {"SOL": Decimal(150)}.get
    reason = risk.refusal(cross_venue(), {}, NOW)
    assert reason is not None
    assert reason.startswith("unknown_usd_value")
