"""Fault scenarios for the saga on the local platform: a small two-venue world, an opportunity (two legs
across venues, or a triangle on one venue) and a fault schedule; run through the real ASL and checked
against the money-safety invariants. Used by the integration tests, the property tests and ``make bench``."""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Literal

from arbiter.execution.topology import SAGA_TASKS
from arbiter.gateway.paper import FaultRule, PlaceFault, VenueFaults
from arbiter.local.invariants import InvariantReport, check_invariants
from arbiter.local.platform import ExecutionOutcome, LocalPlatform
from arbiter.markets import market_from_ccxt, round_price
from arbiter.models import Leg, Market, Opportunity, OpportunityKind, OrderBook, PrecisionMode, QuoteStamp, Side
from arbiter.models.time import ManualClock
from arbiter.settings import ExecutionSettings
from arbiter.simulation import generated_market_dict

NOW = 1_767_225_600_000
RUN_SPACING_MS = 2 * 86_400_000
"""Each run on its own days: the reconciler's window (a day) never reaches back into an earlier run's venues."""
PRICES_USD = {"USDT": 1.0, "BTC": 60_000.0, "SOL": 150.0, "BNB": 600.0}
SYMBOLS = ("SOL/USDT", "SOL/BTC", "BTC/USDT")
VENUES = ("alpha", "beta")
# (best bid, best ask, tick, size per level) per book; beta's SOL is dearer, which the cross-venue trade uses.
TOP_OF_BOOK: Mapping[tuple[str, str], tuple[str, str, str, str]] = {
    ("alpha", "SOL/USDT"): ("149.98", "150.00", "0.01", "5"),
    ("beta", "SOL/USDT"): ("151.98", "152.00", "0.01", "5"),
    ("alpha", "BTC/USDT"): ("59990", "60000", "1", "0.5"),
    ("beta", "BTC/USDT"): ("59990", "60000", "1", "0.5"),
    ("alpha", "SOL/BTC"): ("0.0025200", "0.0025210", "0.0000001", "5"),
    ("beta", "SOL/BTC"): ("0.0025300", "0.0025310", "0.0000001", "5"),
}
BALANCES = {"USDT": Decimal(100_000), "BTC": Decimal(2), "SOL": Decimal(500), "BNB": Decimal(10)}
BNB_PER_QUOTE = {"USDT": Decimal(1) / Decimal(600), "BTC": Decimal(100)}
"""How a venue with a BNB fee discount converts a fee due in each quote asset into BNB."""
FeeCharging = Literal["quote", "bnb", "received"]
DuplicatedTask = Literal["Prepare", "PlaceLegs", "PollFills", "Settle", "Compensate", "Reconcile", "Incident"]
DUPLICATE_LATENCY_MS = 60
"""Venue latency while a task is delivered twice: the earlier delivery is still at the venues when the later one
arrives ``DUPLICATE_LEAD_S`` after it."""
DUPLICATE_LEAD_S = 0.02
MAX_SWEEPS = 8
"""The reconciler's runs after an execution: the first at the end of its re-read window, then one a minute while
a venue cannot be read."""


def scenario_markets() -> dict[tuple[str, str], Market]:
    return {
        (venue, symbol): market_from_ccxt(
            venue, generated_market_dict(symbol, PRICES_USD, 0.001, 0.001), PrecisionMode.TICK_SIZE
        )
        for venue in VENUES
        for symbol in SYMBOLS
    }


def cross_venue(amount: str = "1") -> Opportunity:
    legs = (
        Leg(venue="alpha", symbol="SOL/USDT", side=Side.BUY, amount=Decimal(amount), limit_price=Decimal("150.00")),
        Leg(venue="beta", symbol="SOL/USDT", side=Side.SELL, amount=Decimal(amount), limit_price=Decimal("151.98")),
    )
    return _opportunity(OpportunityKind.CROSS_VENUE, legs)


def cross_venue_btc() -> Opportunity:
    """SOL bought on alpha and sold on beta for BTC: the profit, and the exposure tolerance, are in BTC."""
    legs = (
        Leg(venue="alpha", symbol="SOL/BTC", side=Side.BUY, amount=Decimal(5), limit_price=Decimal("0.0025210")),
        Leg(venue="beta", symbol="SOL/BTC", side=Side.SELL, amount=Decimal(5), limit_price=Decimal("0.0025300")),
    )
    return _opportunity(OpportunityKind.CROSS_VENUE, legs, profit=Decimal("0.00002"), currency="BTC")


def triangle() -> Opportunity:
    """USDT -> BTC -> SOL -> USDT on alpha."""
    legs = (
        Leg(venue="alpha", symbol="BTC/USDT", side=Side.BUY, amount=Decimal("0.0026"), limit_price=Decimal(60000)),
        Leg(venue="alpha", symbol="SOL/BTC", side=Side.BUY, amount=Decimal("1.0"), limit_price=Decimal("0.0025210")),
        Leg(venue="alpha", symbol="SOL/USDT", side=Side.SELL, amount=Decimal("1.0"), limit_price=Decimal("149.98")),
    )
    return _opportunity(OpportunityKind.CYCLE, legs)


def _opportunity(
    kind: OpportunityKind, legs: tuple[Leg, ...], profit: Decimal = Decimal(1), currency: str = "USDT"
) -> Opportunity:
    keys = dict.fromkeys((leg.venue, leg.symbol) for leg in legs)
    quotes = tuple(QuoteStamp(venue=venue, symbol=symbol, timestamp=NOW) for venue, symbol in keys)
    return Opportunity(
        kind=kind, legs=legs, expected_profit=profit, profit_currency=currency, quotes=quotes, detected_at=NOW
    )


SHAPES: Mapping[str, Callable[[], Opportunity]] = {
    "cross_venue": cross_venue,
    "cross_venue_btc": cross_venue_btc,
    "triangle": triangle,
}


@dataclass(frozen=True)
class Scenario:
    shape: Literal["cross_venue", "cross_venue_btc", "triangle"] = "cross_venue"
    leg_faults: Mapping[int, PlaceFault] = field(default_factory=dict)
    cancel_failures: int = 0
    """Cancels that fail on every venue before one works (-1: they all fail)."""
    outage_venue: str | None = None
    outage_from_call: int = 0
    outage_calls: int | None = None
    price_shock: Decimal = Decimal(0)
    """Relative move of every price once all legs have been sent (before compensation looks at the books)."""
    quote_age_ms: int = 100
    balance_factor: Decimal = Decimal(1)
    read_lag_ms: int = 0
    """Every venue's reads serve its last acknowledgement for this long after an order changes."""
    fill_at_cancel: bool = False
    """Every venue fills a resting order in full as its cancel arrives (acknowledged as canceled)."""
    duplicated_task: DuplicatedTask | None = None
    """This task is delivered twice, the state machine's delivery while the first is still at the venues (they
    answer slowly): Lambda's at-least-once delivery."""
    predicted_pnl_usd: float | None = None
    """The scoring model's prediction the scanner would have started it with (None: no model)."""
    fees: FeeCharging = "quote"
    """Where every venue charges its fees: the quote asset, BNB (a third currency), or a buy's received asset."""
    compensation_faults: tuple[PlaceFault, ...] = ()
    """Faults of each venue's placements after the legs' (its compensation orders), in turn."""

    def label(self) -> str:
        parts = [self.shape] + [f"leg{leg}:{fault.value}" for leg, fault in sorted(self.leg_faults.items())]
        if self.cancel_failures:
            parts.append(f"cancel_fails:{self.cancel_failures}")
        if self.outage_venue:
            parts.append(f"outage:{self.outage_venue}@{self.outage_from_call}+{self.outage_calls}")
        if self.price_shock:
            parts.append(f"shock:{self.price_shock}")
        if self.quote_age_ms > 1000:
            parts.append("stale_quote")
        if self.balance_factor < 1:
            parts.append("low_balance")
        if self.read_lag_ms:
            parts.append(f"read_lag:{self.read_lag_ms}ms")
        if self.fill_at_cancel:
            parts.append("fill_at_cancel")
        if self.duplicated_task:
            parts.append(f"duplicated:{self.duplicated_task}")
        if self.fees != "quote":
            parts.append(f"fees_in:{self.fees}")
        if self.compensation_faults:
            parts.append("compensation:" + ",".join(fault.value for fault in self.compensation_faults))
        return " ".join(parts)


@dataclass(frozen=True)
class ScenarioResult:
    scenario: Scenario
    outcome: ExecutionOutcome
    report: InvariantReport
    seconds: float
    """Wall time from StartExecution until the execution was terminal."""
    sweeps: list[dict[str, object]] = field(default_factory=list)
    """What each of the reconciler's runs after the execution found (``SweepResult``)."""
    sweep_seconds: float = 0.0
    """Wall time of the reconciler's run after the execution."""

    @property
    def summary(self) -> str:
        return f"{self.outcome.record.status.value:<12} {self.scenario.label()}"


def _book(venue: str, symbol: str, market: Market, factor: Decimal, at: int) -> OrderBook:
    bid, ask, tick, size = (Decimal(x) for x in TOP_OF_BOOK[(venue, symbol)])
    levels = range(5)
    return OrderBook.model_validate(
        {
            "venue": venue,
            "symbol": symbol,
            "bids": [[round_price(market, (bid - i * tick) * factor), size] for i in levels],
            "asks": [[round_price(market, (ask + i * tick) * factor), size] for i in levels],
            "timestamp": at,
        }
    )


def _faults(scenario: Scenario, opportunity: Opportunity) -> dict[str, VenueFaults]:
    rules: dict[str, list[FaultRule]] = {venue: [] for venue in VENUES}
    for index, fault in scenario.leg_faults.items():
        leg = opportunity.legs[index]
        rules[leg.venue].append(FaultRule(fault=fault, symbol=leg.symbol, side=leg.side))
    for venue in VENUES:
        legs_here = sum(1 for leg in opportunity.legs if leg.venue == venue)
        rules[venue] += [FaultRule(fault=f, nth=legs_here + i) for i, f in enumerate(scenario.compensation_faults)]
    return {
        venue: VenueFaults(
            place=tuple(rules[venue]),
            cancel_failures=scenario.cancel_failures,
            outage_from_call=scenario.outage_from_call if scenario.outage_venue == venue else None,
            outage_calls=scenario.outage_calls if scenario.outage_venue == venue else None,
            read_lag_ms=scenario.read_lag_ms,
            fill_at_cancel=scenario.fill_at_cancel,
            fee_currency="BNB" if scenario.fees == "bnb" else None,
            fee_currency_per_quote=BNB_PER_QUOTE if scenario.fees == "bnb" else {},
            fee_in_received=scenario.fees == "received",
            latency_ms=DUPLICATE_LATENCY_MS if scenario.duplicated_task else 0,
        )
        for venue in VENUES
    }


class ScenarioRunner:
    """Runs scenarios one after another on one local platform (starting AWS once), each on fresh venues."""

    def __init__(self, settings: ExecutionSettings | None = None) -> None:
        self.markets = scenario_markets()
        self._scenario = Scenario()
        self._opportunity = cross_venue()
        self.clock = ManualClock(NOW)
        self._runs = 0
        self.platform = LocalPlatform(
            markets=self.markets,
            books=self._books,
            balances={},
            clock=self.clock,
            settings=settings or ExecutionSettings(poll_seconds=0, fill_deadline_ms=0),
            usd_value=lambda asset: Decimal(repr(PRICES_USD[asset])) if asset in PRICES_USD else None,
        )

    def __enter__(self) -> ScenarioRunner:
        self.platform.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.platform.stop()

    def _books(self, venue: str, symbol: str) -> OrderBook:
        sent = sum(len(v.placements) for v in self.platform.venues.values())
        shock = self._scenario.price_shock if sent >= len(self._opportunity.legs) else Decimal(0)
        return _book(venue, symbol, self.markets[(venue, symbol)], 1 + shock, self.clock.ms)

    def run(self, scenario: Scenario) -> ScenarioResult:
        self._runs += 1
        # Each run trades on quotes of its own moment, so every opportunity (and execution name) is new.
        quoted_at = NOW + self._runs * RUN_SPACING_MS
        opportunity = SHAPES[scenario.shape]()
        opportunity = opportunity.model_copy(
            update={
                "quotes": tuple(q.model_copy(update={"timestamp": quoted_at}) for q in opportunity.quotes),
                "detected_at": quoted_at,
            }
        )
        self._scenario, self._opportunity = scenario, opportunity
        self.clock.ms = quoted_at + scenario.quote_age_ms
        balances = {v: {a: amount * scenario.balance_factor for a, amount in BALANCES.items()} for v in VENUES}
        self.platform.reset_venues(balances, _faults(scenario, opportunity))
        for task in SAGA_TASKS:
            lead = DUPLICATE_LEAD_S if task.state == scenario.duplicated_task else None
            self.platform.duplicate_task(task.state, lead)
        kill_switch = self.platform.kill_switch
        kill_switch.disengage("next scenario", self.clock.ms, expected_version=kill_switch.state().version)
        started = time.perf_counter()
        outcome = self.platform.execute(opportunity, predicted_pnl_usd=scenario.predicted_pnl_usd)
        seconds = time.perf_counter() - started
        self.platform.aws.lambdas.join_background()
        swept_at = time.perf_counter()
        sweeps = self._sweeps(outcome)
        sweep_seconds = time.perf_counter() - swept_at
        report = check_invariants(self.platform, opportunity, outcome, self.platform.aws.alerts(), sweeps)
        return ScenarioResult(
            scenario=scenario,
            outcome=outcome,
            report=report,
            seconds=seconds,
            sweeps=sweeps,
            sweep_seconds=sweep_seconds,
        )

    def _sweeps(self, outcome: ExecutionOutcome) -> list[dict[str, object]]:
        """The reconciler's run at the end of the execution's re-read window: it re-reads the orders once (the
        last age covers the earlier ones) and checks the balances. Each age on its own is the unit tests'."""
        ended = self.platform.journal.get(outcome.execution_id).updated_at
        self.clock.ms = max(self.clock.ms, ended + max(self.platform.reconcile.reread_ages_ms))
        results = [self.platform.sweep()]
        # A venue it could not read is read again by the next run, a minute later, as the schedule does.
        while len(results) < MAX_SWEEPS and any("unreadable" in why for why in results[-1]["skipped"].values()):
            self.clock.ms += 60_000
            results.append(self.platform.sweep())
        return results


COMPENSATION_FAULTS: tuple[tuple[PlaceFault, ...], ...] = (
    (PlaceFault.TIMEOUT_BEFORE_ACCEPT,),
    (PlaceFault.TIMEOUT_BEFORE_ACCEPT, PlaceFault.TIMEOUT_BEFORE_ACCEPT),
    (PlaceFault.TIMEOUT_AFTER_ACCEPT,),
    (PlaceFault.REJECT,),
    (PlaceFault.PARTIAL_FILL,),
    (PlaceFault.NO_FILL,),
)
"""What a compensation order may meet in the generated schedules (review finding: rules fired only on legs)."""


DUPLICATED_TASKS: tuple[DuplicatedTask, ...] = ("PlaceLegs", "PollFills", "Settle", "Compensate", "Reconcile")
"""The tasks the generated schedules deliver twice (review finding: only PlaceLegs was)."""


def random_scenario(rng: random.Random) -> Scenario:
    """A fault schedule drawn from the same space the property tests explore."""
    shape = rng.choice(sorted(SHAPES))
    legs = len(SHAPES[shape]().legs)
    faults = {leg: fault for leg in range(legs) if (fault := rng.choice([None, None, *PlaceFault])) is not None}
    return Scenario(
        shape=shape,  # type: ignore[arg-type]
        leg_faults=faults,
        cancel_failures=rng.choice([0, 0, 1, 2, 5, -1]),
        outage_venue=rng.choice([None, None, "alpha", "beta"]),
        outage_from_call=rng.randint(0, 12),
        outage_calls=rng.choice([None, 1, 3, 8]),
        price_shock=rng.choice([Decimal(0), Decimal("0.002"), Decimal("-0.002"), Decimal("0.03"), Decimal("-0.03")]),
        quote_age_ms=rng.choice([100] * 7 + [5_000]),
        balance_factor=rng.choice([Decimal(1)] * 7 + [Decimal("0.00001")]),
        read_lag_ms=rng.choice([0, 0, 500, 1_500]),
        fill_at_cancel=rng.random() < 0.25,
        fees=rng.choice(["quote", "quote", "bnb", "received"]),
        # Each costs about a second of real venue latency.
        duplicated_task=rng.choice(DUPLICATED_TASKS) if rng.random() < 0.05 else None,
        compensation_faults=rng.choice([(), (), (), *COMPENSATION_FAULTS]),
    )


def run_scenario(scenario: Scenario, settings: ExecutionSettings | None = None) -> ScenarioResult:
    with ScenarioRunner(settings) as runner:
        return runner.run(scenario)
