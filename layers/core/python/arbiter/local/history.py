"""A simulated trading history for the scoring model: the seeded market model's books, the detector on every tick,
the scanner's features measured and stored at decision time, and every candidate carried through the real saga
(moto's interpreter, the paper venues) one tick later, against books that moved while its orders travelled.

The outcomes depend on what real venues do, never on a label the simulator writes: each venue injects its own
rates of rejections, timeouts and partial fills (``VENUE_PROFILES``, which the model never sees: it sees only
what recently ended executions show, as the scanner does), dislocations close while orders are on their way,
a leg that takes much of a thin book is exposed to what the next tick's book holds, and faster traders take the
best levels of the wider edges first, more often on the slower venues (``CROWDING``).

Every candidate of a tick is executed (not only the best): the same opportunities then tell what selecting by
the model and selecting by expected profit would have earned (``ml.pnl_lift_pct``)."""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

from arbiter.detection import DetectionIndex, Detector, IncrementalDetector
from arbiter.gateway.paper import PlaceFault, VenueFaults
from arbiter.local.platform import LocalPlatform
from arbiter.local.session import opening_balances
from arbiter.local.simulated_feed import SimulatedBookFeed
from arbiter.marketdata import LiveBooks
from arbiter.markets import BookUsdValuation
from arbiter.models import Execution, Opportunity, OrderBook
from arbiter.models.time import ManualClock
from arbiter.scanner.features import MidVolatility, opportunity_features
from arbiter.scoring.dataset import REFERENCE_PREFIX
from arbiter.scoring.outcomes import EndedOrders, OutcomeStats, outcome_label, outcome_stats, realised_usd
from arbiter.settings import ExecutionSettings, Settings, SimulationSettings
from arbiter.simulation import BookFrame, MarketModel
from arbiter.storage.opportunities import DynamoOpportunityStore

OUTCOME_WINDOW_MS = 3_600_000
VENUE_PROFILES: Mapping[str, Mapping[PlaceFault, float]] = {
    "binance": {PlaceFault.REJECT: 0.01, PlaceFault.PARTIAL_FILL: 0.02, PlaceFault.TIMEOUT_AFTER_ACCEPT: 0.01},
    "kraken": {
        PlaceFault.REJECT: 0.12,
        PlaceFault.PARTIAL_FILL: 0.12,
        PlaceFault.TIMEOUT_AFTER_ACCEPT: 0.06,
        PlaceFault.TIMEOUT_BEFORE_ACCEPT: 0.04,
    },
    "coinbase": {PlaceFault.REJECT: 0.04, PlaceFault.PARTIAL_FILL: 0.06, PlaceFault.TIMEOUT_AFTER_ACCEPT: 0.03},
}
"""What each simulated venue does to orders (hidden from the model)."""
LATE_ORDERS: Mapping[str, float] = {"binance": 0.0, "kraken": 0.6, "coinbase": 0.25}
"""The chance that a venue's orders meet the next tick's book instead of the one they were sized on (its
latency, hidden from the model, which sees the venue's recent outcomes and the book's recent volatility)."""
CROWDING: Mapping[str, float] = {"binance": 0.1, "kraken": 0.55, "coinbase": 0.3}
"""How often faster traders reach a venue's quotes first (hidden from the model): for an edge of
``CROWDED_AT_BPS`` or more, the chance that the levels an order was sized on are gone when it arrives; a smaller
edge draws fewer of them (the chance scales down with the edge). Real venues show it: the wider an apparent edge,
the more bots race for it, and the slower venue's orders lose the race."""
CROWDED_AT_BPS = 40.0
TAKEN_LEVELS = (1, 3)
"""How many of a crowded book's best levels, on each side, competitors took (uniform in this range)."""


class _Lookahead:
    """The market model one frame ahead: the feed delivers frame t while orders to a slow venue meet t+1."""

    def __init__(self, model: MarketModel) -> None:
        self.model, self.universe = model, model.universe
        self.next: BookFrame = model.step()

    def step(self) -> BookFrame:
        frame, self.next = self.next, self.model.step()
        return frame


def history_settings(seed: int = 11, symbols_per_venue: int = 6) -> Settings:
    return Settings(
        simulation=SimulationSettings(
            seed=seed,
            venues=tuple(VENUE_PROFILES),
            symbols_per_venue=symbols_per_venue,
            dislocation_probability=0.05,
        )
    )


@dataclass(frozen=True)
class Candidate:
    """One detected opportunity with what was known when it was decided on, and (once run) how it ended."""

    opportunity: Opportunity
    features: Mapping[str, float]
    tick: int
    outcome: str | None = None
    """completed, compensated or incident; None: refused by Prepare (nothing traded)."""
    pnl_usd: float = 0.0


@dataclass
class SimulatedHistory:
    """Owns a started ``LocalPlatform`` (``with SimulatedHistory(...) as history``); ``run(ticks)`` appends to
    ``candidates``."""

    settings: Settings = field(default_factory=history_settings)
    candidates_per_tick: int = 3
    profiles: Mapping[str, Mapping[PlaceFault, float]] = field(default_factory=lambda: VENUE_PROFILES)
    late_orders: Mapping[str, float] = field(default_factory=lambda: LATE_ORDERS)
    crowding: Mapping[str, float] = field(default_factory=lambda: CROWDING)
    candidates: list[Candidate] = field(init=False, default_factory=list)
    platform: LocalPlatform = field(init=False)
    ticks: int = field(init=False, default=0)

    def __post_init__(self) -> None:
        sim = self.settings.simulation
        self.model = MarketModel.from_settings(sim, dict(self.settings.markets.fee_tier_volume))
        universe = self.model.universe
        self.clock = ManualClock(sim.start_ms)
        self.lookahead = _Lookahead(self.model)
        self.feed = SimulatedBookFeed(self.lookahead, self.clock)  # type: ignore[arg-type]
        self._late: frozenset[str] = frozenset()
        self._taken: dict[str, int] = {}
        """Per venue of the running execution, how many best levels competitors took (none: not crowded)."""
        self._rng = random.Random(sim.seed * 7919)  # noqa: S311 - a seeded simulation, not a secret
        self.books = LiveBooks(universe.venues, universe.symbols, self.settings.scanner.depth)
        catalog = universe.catalog
        self.detector = IncrementalDetector(
            Detector(
                catalog,
                DetectionIndex.build(
                    catalog, universe.venues, universe.symbols, self.settings.detection.profit_currencies
                ),
                self.settings.detection,
            )
        )
        self.volatility = MidVolatility(self.books)
        self.usd_value = BookUsdValuation(dict(catalog.items()), self._live_book)
        self.platform = LocalPlatform(
            markets=dict(catalog.items()),
            books=self._book,
            balances=opening_balances(universe),
            clock=self.clock,
            settings=ExecutionSettings(poll_seconds=0, fill_deadline_ms=0),
            faults={
                venue: VenueFaults(fault_rates=dict(self.profiles.get(venue, {})), seed=sim.seed * 31 + i)
                for i, venue in enumerate(universe.venues)
            },
            usd_value=self.usd_value,
        )
        self._ended: list[Execution] = []
        self.refusals: list[str] = []

    def _live_book(self, venue: str, symbol: str) -> OrderBook | None:
        return self.books.order_book(venue, symbol) if self.books.update_of(venue, symbol) is not None else None

    def _book(self, venue: str, symbol: str) -> OrderBook:
        if self.feed.frame is None:
            raise LookupError("no simulated frame yet")
        frame = self.lookahead.next if venue in self._late else self.feed.frame
        book = frame.order_book(venue, symbol)
        taken = self._taken.get(venue, 0)
        if not taken:
            return book
        return book.model_copy(update={"bids": book.bids[taken:], "asks": book.asks[taken:]})

    def start(self) -> SimulatedHistory:
        self.platform.start()
        journal = self.platform.journal
        self._orders_of = EndedOrders(journal.intents, journal.order)
        aws = self.platform.aws
        self.opportunities = DynamoOpportunityStore(
            aws.dynamodb, aws.tables["opportunities"], self.settings.scanner.opportunity_retention_days
        )
        return self

    def stop(self) -> None:
        self.platform.stop()

    def __enter__(self) -> SimulatedHistory:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _stats(self, now: int) -> OutcomeStats:
        recent = [e for e in self._ended if e.updated_at >= now - OUTCOME_WINDOW_MS]
        self._ended = recent
        return outcome_stats(recent, lambda e: realised_usd(e.realised_pnl, self._rate), self._orders_of)

    def _rate(self, asset: str) -> float | None:
        value = self.usd_value(asset)
        return None if value is None else float(value)

    def run(
        self,
        ticks: int,
        select: Callable[[Sequence[Candidate]], Sequence[Candidate]] | None = None,
    ) -> list[Candidate]:
        """``ticks`` more ticks; each tick's candidates (``select``: which of them run; default all) run on the
        next tick. Returns the candidates decided on in these ticks, with their outcomes."""
        decided: list[Candidate] = []
        for _ in range(ticks):
            updates = self.feed.step()
            changed = self.books.apply_all(updates)
            self.volatility.observe(changed)
            now = self.clock.now_ms()
            self.detector.detector.refresh_usd_values(self.books)
            # The scanner's pre-check refuses quotes too old to trade (Prepare would): they are never started.
            fresh_within = self.settings.execution.max_quote_age_ms
            found = [
                o
                for o in self.detector.full(self.books, now).top(self.candidates_per_tick * 3)
                if o.quote_age_ms(now) <= fresh_within
            ][: self.candidates_per_tick]
            stats = self._stats(now)
            health = self.feed.health(now)
            tick = [
                Candidate(
                    o,
                    opportunity_features(
                        o,
                        self.books,
                        health,
                        self.usd_value,
                        now,
                        self.volatility,
                        stats,
                        self.settings.detection.profit_currencies,
                    ),
                    self.ticks,
                )
                for o in found
            ]
            for candidate in tick:
                self.opportunities.put(candidate.opportunity, candidate.features)
            for candidate in select(tick) if select is not None else tick:
                # A tick's executions run side by side, as the scanner starts them: each from the tick's time.
                self.clock.ms = now
                decided.append(self._execute(candidate))
            self.clock.ms = now  # (the saga's settle waits moved it; the market's next tick follows this one)
            self.ticks += 1
        self.candidates.extend(decided)
        return decided

    def _execute(self, candidate: Candidate) -> Candidate:
        venues = sorted({leg.venue for leg in candidate.opportunity.legs})
        self._late = frozenset(v for v in venues if self._rng.random() < self.late_orders.get(v, 0.0))
        edge = min(1.0, max(0.0, candidate.features["expected_profit_bps"]) / CROWDED_AT_BPS)
        self._taken = {
            v: self._rng.randint(*TAKEN_LEVELS) for v in venues if self._rng.random() < self.crowding.get(v, 0.0) * edge
        }
        try:
            outcome = self.platform.execute(candidate.opportunity)
        finally:
            self._late, self._taken = frozenset(), {}
        label = outcome_label(outcome.record)
        self.refusals.append(outcome.record.reason or "")
        if label is None:
            return candidate
        self._ended.append(outcome.record)
        if self.platform.kill_switch.is_engaged():
            # An incident engaged it: people resolve the incident and trading resumes (the history goes on).
            state = self.platform.kill_switch.state()
            self.platform.kill_switch.disengage(
                "resolved (simulated history)", self.clock.now_ms(), expected_version=state.version
            )
        pnl = self.platform.journal.pnl(outcome.execution_id)
        value = realised_usd(pnl, lambda a: candidate.features.get(REFERENCE_PREFIX + a))
        return Candidate(candidate.opportunity, candidate.features, candidate.tick, label, value or 0.0)
