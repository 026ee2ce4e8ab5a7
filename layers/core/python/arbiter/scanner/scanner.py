"""One shard's scanner: books in, executions out.

Each batch of book updates is written into the live snapshot and evaluated incrementally (only what the changed
books touch is screened again). Each opportunity this shard owns, best first, goes through: the route's
cooldown (no second start on the same legs while one runs), the concurrent-execution limit, the risk engine's
pre-check (the engine Prepare uses, over views of the kill switch, limits and running executions read at most
once a second, and balances through ``BalanceCache``), then it is persisted with its features and its
execution started, named by its id (a start of a name that exists is a no-op). Prepare checks everything again
before any order: the scanner's checks only spare starts that would be refused."""

from __future__ import annotations

import time
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from arbiter.detection import IncrementalDetector
from arbiter.execution.ports import VenueGateway
from arbiter.execution.state import SagaState
from arbiter.marketdata import BookUpdate, LiveBooks
from arbiter.markets import ReadAheadUsdValuation
from arbiter.models import Balances, Market, Opportunity
from arbiter.models.heartbeat import FeedHealth
from arbiter.models.risk import RiskLimits
from arbiter.models.time import Clock, utc_day
from arbiter.risk.balances import BalanceCache
from arbiter.risk.engine import RiskEngine
from arbiter.scanner.features import MidVolatility, opportunity_features
from arbiter.scanner.ports import ScannerMetrics
from arbiter.scanner.shards import Shard
from arbiter.scanner.views import Refreshed, ThrottledExecutions, ThrottledKillSwitch
from arbiter.scoring.outcomes import OutcomeStats
from arbiter.scoring.scorer import ExpectedProfitScorer, OpportunityScorer
from arbiter.settings import ScannerSettings
from arbiter.storage.execution_starts import ExecutionStarter
from arbiter.storage.opportunities import OpportunityStore

Route = frozenset[tuple[str, str, str]]
PREDICTED_LOSS = "model_predicts_loss"
"""The refusal of a candidate the live model expects to earn no more than ``min_predicted_pnl_usd``."""
USD_REFRESH_MS = 5_000
"""USD values (notional caps and ranking only) are refreshed this often, and whenever more books are present."""
PENDING_START_MS = 10_000
"""A start counts as running for this long even before the journal lists it."""


def route_of(opportunity: Opportunity) -> Route:
    return frozenset((leg.venue, leg.symbol, leg.side.value) for leg in opportunity.legs)


@dataclass(frozen=True)
class Decision:
    opportunity_id: str
    outcome: str
    """``started``, ``already_started``, or the refusal's reason code (``route_cooldown``, ``kill_switch_engaged``
    ...)."""
    detail: str = ""


@dataclass
class TickReport:
    updates: int
    detected: int
    decisions: list[Decision] = field(default_factory=list)

    @property
    def started(self) -> list[str]:
        return [d.opportunity_id for d in self.decisions if d.outcome == "started"]


@dataclass
class ScannerDependencies:
    shard: Shard
    books: LiveBooks
    detector: IncrementalDetector
    risk: RiskEngine
    executions: ThrottledExecutions
    limits: Refreshed[RiskLimits]
    gateways: Mapping[str, VenueGateway]
    markets: Mapping[tuple[str, str], Market]
    balances: BalanceCache
    opportunities: OpportunityStore
    starter: ExecutionStarter
    usd_value: ReadAheadUsdValuation
    metrics: ScannerMetrics
    clock: Clock
    settings: ScannerSettings
    health: Callable[[int], Mapping[str, FeedHealth]] = lambda now_ms: {}
    scorer: OpportunityScorer = field(default_factory=ExpectedProfitScorer)
    outcomes: Refreshed[OutcomeStats] | None = None
    """What recently ended executions say of each venue and route (read at most every few seconds, ahead of the
    decisions); None: nothing known (every rate 0)."""
    min_predicted_pnl_usd: float = 0.0


class ShardScanner:
    def __init__(self, dependencies: ScannerDependencies) -> None:
        self.d = dependencies
        self._routes: dict[Route, int] = {}
        self._recent_starts: dict[str, int] = {}
        self._usd_refreshed_at: int | None = None
        self._books_present = 0
        self.volatility = MidVolatility(dependencies.books)

    def process(self, batch: Sequence[BookUpdate], received: float | None = None) -> TickReport:
        """Apply ``batch`` and act on what it opened. ``received``: ``time.perf_counter()`` when the batch was
        read, so that TickToStart covers the whole path from the update to StartExecution returning."""
        received = time.perf_counter() if received is None else received
        d = self.d
        now = d.clock.now_ms()
        changed = d.books.apply_all(batch)
        self.volatility.observe(changed)
        present = int((d.books.timestamps > 0).sum())
        if (
            self._usd_refreshed_at is None
            or now - self._usd_refreshed_at >= USD_REFRESH_MS
            or present > self._books_present
        ):
            # New USD values change every candidate's budget: evaluate everything again, not incrementally.
            d.detector.detector.refresh_usd_values(d.books)
            self._usd_refreshed_at, self._books_present = now, present
            result = d.detector.full(d.books, now)
        else:
            result = d.detector.update(d.books, now, changed)
        d.metrics.updates(len(batch))
        owned = [o for o in result.top(d.settings.max_starts_per_tick * 4) if d.shard.owns(o)]
        report = TickReport(updates=len(batch), detected=len(owned))
        if owned:
            d.metrics.detected(len(owned))
        starts = 0
        for opportunity, features, predicted in self.rank(owned, now, report):
            if starts >= d.settings.max_starts_per_tick:
                break
            decision = self.decide(opportunity, now, received, features, predicted)
            report.decisions.append(decision)
            starts += decision.outcome == "started"
        return report

    def features(self, opportunity: Opportunity, now: int) -> dict[str, float]:
        d = self.d
        return opportunity_features(
            opportunity,
            d.books,
            d.health(now),
            d.usd_value,
            now,
            self.volatility,
            d.outcomes.get() if d.outcomes is not None else OutcomeStats(),
            d.detector.detector.settings.profit_currencies,
        )

    def rank(
        self, owned: list[Opportunity], now: int, report: TickReport
    ) -> list[tuple[Opportunity, dict[str, float] | None, float | None]]:
        """By the live model's predicted P&L, best first, without those it expects to lose on; by expected profit
        (the detector's order) when there is no model or it cannot score them (``scorer.status()`` says why)."""
        d = self.d
        if not owned or not d.scorer.status().by_model:
            return [(o, None, None) for o in owned]
        features = [self.features(o, now) for o in owned]
        predicted = d.scorer.score(features)
        if predicted is None:
            return [(o, f, None) for o, f in zip(owned, features, strict=True)]
        ranked = sorted(zip(owned, features, predicted, strict=True), key=lambda c: -c[2])
        kept: list[tuple[Opportunity, dict[str, float] | None, float | None]] = []
        for opportunity, f, p in ranked:
            if p > d.min_predicted_pnl_usd:
                kept.append((opportunity, f, p))
            else:
                report.decisions.append(self._refuse(opportunity, PREDICTED_LOSS, f"predicted {p:.4f} USD"))
        return kept

    def decide(
        self,
        opportunity: Opportunity,
        now: int,
        received: float,
        features: dict[str, float] | None = None,
        predicted: float | None = None,
    ) -> Decision:
        d = self.d
        route = route_of(opportunity)
        if self._route_busy(route, now):
            return self._refuse(opportunity, "route_cooldown")
        limit = d.limits.get().max_concurrent_executions
        running = self._running(now)
        if running >= limit:
            return self._refuse(opportunity, "max_concurrent_executions", f"{running} running, limit {limit}")
        assessed = d.risk.assess(
            opportunity,
            now,
            markets=d.markets,
            connected=self._connected(now),
            balances=self._balances,
        )
        if not assessed.accepted:
            # The engine counted its refusal codes through its own metrics port; the scanner reports the first.
            return self._refuse(opportunity, assessed.codes[0], assessed.reason or "", counted=True)
        features = features if features is not None else self.features(opportunity, now)
        d.opportunities.put(opportunity, features)
        state = SagaState(execution_id=opportunity.id, opportunity=opportunity, predicted_pnl_usd=predicted)
        started = d.starter.start(opportunity.id, state.model_dump_json())
        self._routes[route] = now
        if not started:
            return Decision(opportunity.id, "already_started")
        self._recent_starts[opportunity.id] = now
        d.metrics.started((time.perf_counter() - received) * 1000)
        return Decision(opportunity.id, "started")

    def prefetch_state(self) -> None:
        """Read the shared state (kill switch, limits, running executions, today's P&L) and the balances that are
        getting old, between batches: a decision then never waits for DynamoDB or a venue."""
        d = self.d
        d.balances.prefetch(d.gateways.values())
        d.usd_value.read_ahead()
        d.limits.prefetch()
        d.executions.prefetch(utc_day(d.clock.now_ms()))
        if d.outcomes is not None:
            d.outcomes.prefetch()
        switch = d.risk.kill_switch
        if isinstance(switch, ThrottledKillSwitch):
            switch.prefetch()

    def book_ages(self, now_ms: int) -> dict[str, tuple[float, float]]:
        """Per venue, the p50 and p99 age of its followed books (those that have arrived)."""
        d = self.d
        n_s = len(d.books.symbols)
        ages: dict[str, tuple[float, float]] = {}
        for v, venue in enumerate(d.books.venues):
            stamps = d.books.timestamps[v * n_s : (v + 1) * n_s]
            stamps = stamps[stamps > 0]
            if len(stamps):
                p50, p99 = np.percentile(now_ms - stamps, [50, 99])
                ages[venue] = (float(p50), float(p99))
        return ages

    def _route_busy(self, route: Route, now: int) -> bool:
        d = self.d
        last = self._routes.get(route)
        if last is not None and now - last < d.settings.route_cooldown_ms:
            return True
        return any(route_of(e.opportunity) == route for e in d.executions.active_executions())

    def _connected(self, now: int) -> Collection[str]:
        health = self.d.health(now)
        # A venue whose feed has failed can still be traded on (Prepare checks its own connection); the pre-check
        # refuses only venues with no gateway at all.
        return [venue for venue in self.d.gateways if health.get(venue) is None or health[venue].books > 0]

    def _balances(self, venue: str) -> Balances:
        return self.d.balances.get(self.d.gateways[venue])

    def _refuse(self, opportunity: Opportunity, reason: str, detail: str = "", *, counted: bool = False) -> Decision:
        if not counted:
            self.d.metrics.refused(reason)
        return Decision(opportunity.id, reason, detail)

    def _running(self, now: int) -> int:
        """Running executions: those the journal lists, and this scanner's own recent starts that it may not list
        yet (an execution appears there once its Prepare step has run)."""
        active = {e.execution_id for e in self.d.executions.active_executions()}
        recent = now - PENDING_START_MS
        self._recent_starts = {i: at for i, at in self._recent_starts.items() if at >= recent}
        return len(active | set(self._recent_starts))
