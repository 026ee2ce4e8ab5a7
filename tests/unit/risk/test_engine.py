"""Each rule of the risk engine refuses with its reason code, counted as a metric; the ones that protect the
whole platform (daily loss, open breaker) also engage the kill switch."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal

import pytest

from arbiter.local.scenarios import NOW, cross_venue, cross_venue_btc, scenario_markets, triangle
from arbiter.models import Balance, Balances, Execution, ExecutionStatus, Opportunity
from arbiter.models.risk import RiskLimits
from arbiter.models.time import utc_day
from arbiter.risk.balances import StaleBalancesError
from arbiter.risk.engine import CountingMetrics, Decision, PortfolioLimits, RiskEngine
from arbiter.settings import ExecutionSettings
from arbiter.storage.journal import InMemoryExecutionJournal
from arbiter.storage.kill_switch import InMemoryKillSwitch

PRICES = {"USDT": Decimal(1), "SOL": Decimal(150), "BTC": Decimal(60_000)}
MARKETS = scenario_markets()
PLENTY = {"USDT": Decimal(100_000), "SOL": Decimal(500), "BTC": Decimal(2)}


class Breakers:
    def __init__(self, open_venues: set[str]) -> None:
        self.open_venues = open_venues

    def is_open(self, venue: str) -> bool:
        return venue in self.open_venues


class Venues:
    """Balances as the saga's Prepare passes them: a function of the venue that may raise."""

    def __init__(self, held: dict[str, Decimal] | None = None, at_ms: int = NOW, error: Exception | None = None):
        self.held, self.at_ms, self.error, self.calls = held or PLENTY, at_ms, error, 0

    def __call__(self, venue: str) -> Balances:
        self.calls += 1
        if self.error is not None:
            raise self.error
        held = {a: Balance(asset=a, free=v) for a, v in self.held.items()}
        return Balances(venue=venue, balances=held, timestamp=self.at_ms)


class Setup:
    def __init__(
        self,
        limits: RiskLimits | None = None,
        settings: ExecutionSettings | None = None,
        breakers: set[str] | None = None,
        usd_value: Callable[[str], Decimal | None] = PRICES.get,
    ) -> None:
        self.journal, self.kill_switch, self.metrics = (
            InMemoryExecutionJournal(),
            InMemoryKillSwitch(),
            CountingMetrics(),
        )
        self.limits = limits or RiskLimits()
        self.engine = RiskEngine(
            kill_switch=self.kill_switch,
            settings=settings or ExecutionSettings(),
            metrics=self.metrics,
            portfolio=PortfolioLimits(
                limits=lambda: self.limits, executions=self.journal, pnl=self.journal, usd_value=usd_value
            ),
            breakers=Breakers(breakers or set()),
        )

    def assess(
        self, opportunity: Opportunity | None = None, now_ms: int = NOW, venues: Venues | None = None
    ) -> Decision:
        return self.engine.assess(
            opportunity or cross_venue(),
            now_ms,
            markets=MARKETS,
            connected={"alpha", "beta"},
            balances=venues or Venues(),
        )

    def running(self, *opportunities: Opportunity) -> None:
        for n, opportunity in enumerate(opportunities):
            self.journal.create(
                Execution(execution_id=f"r{n}", opportunity=opportunity, created_at=NOW, updated_at=NOW)
            )
            self.journal.set_status(f"r{n}", ExecutionStatus.PLACING, NOW)


def only(decision: Decision, code: str) -> str:
    assert decision.codes == (code,), decision.reason
    assert decision.reason is not None
    return decision.reason


def test_a_sound_opportunity_passes_and_counts_nothing() -> None:
    setup = Setup()
    decision = setup.assess()
    assert decision.accepted
    assert decision.reason is None
    assert not setup.kill_switch.is_engaged()
    assert not setup.metrics.counts
    assert setup.assess(triangle()).accepted


@pytest.mark.parametrize(
    ("limits", "code", "detail"),
    [
        (RiskLimits(max_notional_per_execution=Decimal(100)), "max_notional_per_execution", "151.98 USD, limit 100"),
        (RiskLimits(max_notional_per_venue=Decimal(151)), "max_notional_per_venue", "beta 151.98 USD, limit 151"),
        (RiskLimits(max_asset_exposure={"SOL": Decimal("0.5")}), "max_asset_exposure", "1 SOL at risk"),
        (RiskLimits(min_profit_abs=Decimal(5)), "min_profit_abs", "1.0000 USD, minimum 5"),
        (RiskLimits(min_profit_bps=Decimal(100)), "min_profit_bps", "65.80 bps, minimum 100"),
    ],
)
def test_each_limit_refuses_with_its_reason_code_and_counts_it(limits: RiskLimits, code: str, detail: str) -> None:
    setup = Setup(limits)
    reason = only(setup.assess(), code)
    assert reason.startswith(f"{code}: {detail}")
    assert setup.metrics.counts == {code: 1}
    assert not setup.kill_switch.is_engaged()


def test_a_limit_just_met_passes() -> None:
    limits = RiskLimits(
        max_notional_per_execution=Decimal("151.98"),
        max_notional_per_venue=Decimal("151.98"),
        max_asset_exposure={"SOL": Decimal(1)},
        min_profit_abs=Decimal(1),
    )
    assert Setup(limits).assess().accepted


def test_running_executions_count_towards_venue_notional_and_asset_exposure() -> None:
    limits = RiskLimits(max_notional_per_venue=Decimal(400), max_asset_exposure={"SOL": Decimal("2.5")})
    setup = Setup(limits)
    setup.running(cross_venue())
    assert setup.assess().accepted  # 2 x 151.98 on beta, 2 SOL at risk
    setup.running(cross_venue(), cross_venue())  # r0 again (no-op), r1: now 2 running
    decision = setup.assess()
    assert decision.codes == ("max_notional_per_venue", "max_notional_per_venue", "max_asset_exposure")
    assert setup.metrics.counts == {"max_notional_per_venue": 2, "max_asset_exposure": 1}


def test_too_many_running_executions_are_refused_until_one_ends() -> None:
    setup = Setup(RiskLimits(max_concurrent_executions=2))
    setup.running(cross_venue(), cross_venue())
    assert only(setup.assess(), "max_concurrent_executions").startswith("max_concurrent_executions: 2 running")
    setup.journal.set_status("r0", ExecutionStatus.SETTLED, NOW)
    assert setup.assess().accepted


def test_the_daily_loss_limit_refuses_and_engages_the_kill_switch() -> None:
    setup = Setup(RiskLimits(daily_loss_limit=Decimal(500)))
    setup.running(cross_venue())
    setup.journal.record_pnl("r0", {"USDT": Decimal(-300), "SOL": Decimal(-1)}, NOW)  # 450 USD lost
    assert setup.assess().accepted
    setup.journal.create(Execution(execution_id="x", opportunity=cross_venue(), created_at=NOW, updated_at=NOW))
    setup.journal.record_pnl("x", {"USDT": Decimal(-60)}, NOW)
    assert setup.journal.realised(utc_day(NOW)) == {"USDT": Decimal(-360), "SOL": Decimal(-1)}
    reason = only(setup.assess(), "daily_loss_limit")
    assert reason.startswith("daily_loss_limit: lost 510.00 USD today")
    assert setup.kill_switch.is_engaged()
    assert setup.kill_switch.state().reason.startswith("daily loss 510.00 USD")
    assert setup.assess(now_ms=NOW + 86_400_000).codes == ("kill_switch_engaged",)  # stays off the next day too


def test_yesterdays_losses_do_not_count_today() -> None:
    setup = Setup(RiskLimits(daily_loss_limit=Decimal(500)))
    setup.running(cross_venue())
    setup.journal.record_pnl("r0", {"USDT": Decimal(-600)}, NOW - 1)
    assert setup.assess(now_ms=NOW + 1).accepted


def test_the_kill_switch_refuses_before_anything_else_is_asked() -> None:
    setup = Setup(RiskLimits(min_profit_abs=Decimal(5)))
    setup.kill_switch.engage("by hand", NOW)
    venues = Venues()
    assert setup.assess(venues=venues).codes == ("kill_switch_engaged",)
    assert venues.calls == 0
    assert setup.metrics.counts == {"kill_switch_engaged": 1}


def test_an_open_breaker_refuses_engages_the_kill_switch_and_asks_no_venue() -> None:
    setup = Setup(breakers={"beta"})
    venues = Venues()
    assert only(setup.assess(venues=venues), "venue_breaker_open") == "venue_breaker_open: beta"
    assert setup.kill_switch.is_engaged()
    assert venues.calls == 0


def test_a_stale_quote_is_refused() -> None:
    setup = Setup(settings=ExecutionSettings(max_quote_age_ms=2_000))
    assert setup.assess(now_ms=NOW + 2_000).accepted
    assert only(setup.assess(now_ms=NOW + 2_001), "stale_quote") == "stale_quote: 2001 ms old, limit 2000 ms"


def test_balances_must_cover_every_leg_after_the_reserve() -> None:
    # alpha buys 1 SOL at 150 USDT plus the 0.1 % taker fee: 150.15 USDT needed.
    held = {"USDT": Decimal(160), "SOL": Decimal(2)}
    assert Setup().assess(venues=Venues(held)).accepted
    setup = Setup(settings=ExecutionSettings(balance_reserve=Decimal("0.1")))  # 144 USDT usable
    reason = only(setup.assess(venues=Venues(held)), "insufficient_balance")
    assert reason.startswith("insufficient_balance: alpha USDT needs 150.15")


def test_balances_older_than_the_limit_are_refused() -> None:
    setup = Setup(settings=ExecutionSettings(max_balance_age_ms=10_000))
    assert setup.assess(venues=Venues(at_ms=NOW - 10_000)).accepted
    reason = only(setup.assess(venues=Venues(at_ms=NOW - 10_001)), "stale_balances")
    assert "10001 ms old, limit 10000 ms" in reason
    cached = Venues(error=StaleBalancesError("alpha", 20_000, 10_000))
    assert only(setup.assess(venues=cached), "stale_balances").startswith("stale_balances: alpha: balances 20000")


def test_unreadable_balances_are_refused() -> None:
    reason = only(Setup().assess(venues=Venues(error=TimeoutError())), "balances_unavailable")
    assert reason == "balances_unavailable: alpha: TimeoutError"


def test_balances_are_not_fetched_for_an_opportunity_already_refused() -> None:
    venues = Venues()
    setup = Setup(RiskLimits(min_profit_abs=Decimal(5)))
    assert setup.assess(venues=venues).codes == ("min_profit_abs",)
    assert venues.calls == 0


def test_every_broken_limit_is_reported_and_counted() -> None:
    setup = Setup(RiskLimits(max_notional_per_execution=Decimal(100), min_profit_abs=Decimal(5)))
    decision = setup.assess(now_ms=NOW + 60_000)
    assert decision.codes == ("stale_quote", "max_notional_per_execution", "min_profit_abs")
    assert decision.reason is not None
    assert decision.reason.startswith("stale_quote: 60000 ms old")
    assert setup.metrics.counts == {"stale_quote": 1, "max_notional_per_execution": 1, "min_profit_abs": 1}


def test_a_leg_the_markets_would_refuse_is_refused() -> None:
    decision = Setup().assess(cross_venue("1.00001"))
    assert decision.codes == ("invalid_leg", "invalid_leg")
    assert decision.reason is not None
    assert decision.reason.startswith("invalid_leg: legs[0] amount 1.00001 is not on the market's precision")
    unknown = cross_venue().model_copy(
        update={"legs": (cross_venue().legs[0].model_copy(update={"venue": "gamma"}), cross_venue().legs[1])}
    )
    assert only(Setup().assess(unknown), "invalid_leg") == "invalid_leg: legs[0] venue gamma is not connected"


def test_an_asset_without_usd_value_is_refused() -> None:
    setup = Setup(usd_value={"SOL": Decimal(150)}.get)
    assert setup.assess().codes == ("unknown_usd_value",)


def test_without_configured_limits_only_the_gates_quotes_and_balances_are_checked() -> None:
    kill_switch, metrics = InMemoryKillSwitch(), CountingMetrics()
    engine = RiskEngine(kill_switch=kill_switch, settings=ExecutionSettings(), metrics=metrics)
    big = cross_venue("100")
    assert engine.assess(big, NOW, markets=MARKETS, connected={"alpha", "beta"}, balances=Venues()).accepted
    decision = engine.assess(big, NOW + 5_000, markets=MARKETS, connected={"alpha", "beta"}, balances=Venues())
    assert decision.codes == ("stale_quote",)
    assert metrics.counts == {"stale_quote": 1}


def test_a_btc_profit_is_measured_in_dollars() -> None:
    # 0.00002 BTC is 1.20 USD at 60,000: over a 0.05 USD minimum, under a 2 USD one. Compared in BTC units, as
    # if they were dollars, it would pass neither.
    assert Setup().assess(cross_venue_btc()).accepted
    reason = only(Setup(RiskLimits(min_profit_abs=Decimal(2))).assess(cross_venue_btc()), "min_profit_abs")
    assert "1.2" in reason


def test_a_profit_currency_without_a_dollar_value_is_refused() -> None:
    prices_without_btc = {k: v for k, v in PRICES.items() if k != "BTC"}
    decision = Setup(usd_value=prices_without_btc.get).assess(cross_venue_btc())
    assert not decision.accepted
    assert "unknown_usd_value" in decision.codes


def test_a_loss_today_in_a_currency_without_a_dollar_value_refuses_instead_of_vanishing() -> None:
    setup = Setup(usd_value=lambda asset: PRICES.get(asset) if asset != "BTC" else None)
    setup.journal.create(Execution(execution_id="lost", opportunity=cross_venue(), created_at=NOW, updated_at=NOW))
    setup.journal.record_pnl("lost", {"BTC": Decimal("-0.5")}, NOW)
    decision = setup.assess()
    assert "unknown_usd_value" in decision.codes
    assert "BTC" in (decision.reason or "")


def test_a_gain_without_a_dollar_value_does_not_refuse() -> None:
    setup = Setup(usd_value=lambda asset: PRICES.get(asset) if asset != "BTC" else None)
    setup.journal.create(Execution(execution_id="won", opportunity=cross_venue(), created_at=NOW, updated_at=NOW))
    setup.journal.record_pnl("won", {"BTC": Decimal("0.5")}, NOW)
    assert setup.assess().accepted


def test_a_running_execution_without_a_dollar_value_refuses_instead_of_counting_zero() -> None:
    setup = Setup(usd_value=lambda asset: PRICES.get(asset) if asset != "BTC" else None)
    setup.running(cross_venue_btc())  # BTC-quoted legs: their notional cannot be valued now
    decision = setup.assess()
    assert decision.codes == ("unknown_usd_value",), decision.reason
