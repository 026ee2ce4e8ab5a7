"""``arbiter demo`` and ``arbiter replay``: the platform as deployed, in one process. The schedule invokes the
scanner's handler for every shard each simulated minute (leases in DynamoDB, as on AWS), the executions it starts
run on the real ASL (moto's Step Functions, the Lambda handlers in-process), the reconciler's handler runs every
simulated minute, and the catalog's alarms are evaluated on the metrics the handlers emitted.

On AWS the shards run at once; in one process they take turns within each minute (each follows the market for
``60 s / shards``), so every shard's books are fresh whenever it evaluates them. Before the market moves on, the
executions the last tick started run to their end: a run is the same for the same seed and fault profile."""

from __future__ import annotations

import random
import time
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from arbiter.gateway.paper import PaperVenue, PlaceFault, VenueFaults
from arbiter.local.platform import ENDED_BADLY, LocalPlatform
from arbiter.local.retraining import local_scoring_settings, retrain_once
from arbiter.local.scanning import LocalMarket, LocalScanning, SimulatedMarket
from arbiter.models import OrderRequest
from arbiter.models.heartbeat import FeedHealth
from arbiter.monitoring import AlarmEvaluator, AlarmHistory
from arbiter.scanner import CountingScannerMetrics
from arbiter.scoring.outcomes import outcome_label
from arbiter.scoring.scorer import ScoringStatus
from arbiter.settings import ScannerSettings, Settings
from arbiter.storage.errors import ExecutionNotFoundError
from arbiter_handlers.metrics import PowertoolsScannerMetrics

MINUTE_MS = 60_000
PLACEMENT_FAULT_RATES: Mapping[PlaceFault, float] = {
    PlaceFault.REJECT: 0.06,
    PlaceFault.TIMEOUT_AFTER_ACCEPT: 0.04,
    PlaceFault.TIMEOUT_BEFORE_ACCEPT: 0.03,
    PlaceFault.PARTIAL_FILL: 0.08,
}
"""Chance of each fault on any placement, the legs' and the compensation orders' alike (so a compensation order's
answer is lost as often as a leg's)."""
FEE_TOKEN = "USDT"  # noqa: S105 - an asset, not a secret
"""The currency one venue charges every fee in, whatever the market's quote: a third currency for the markets
quoted in BTC or ETH. (A discount token such as BNB would need its own book in every shard: the risk engine
cannot value today's losses in an asset no followed book prices, and refuses every start until the next day.)"""
READ_LAG_MS = 1_500
DUPLICATE_DELIVERY_RATE = 0.05
"""Share of ticks whose starts get PlaceLegs delivered twice (Lambda's at-least-once delivery)."""
DUPLICATE_LEAD_S = 0.02
PROGRESS_EVERY_S = 0.25


@dataclass(frozen=True)
class FaultProfile:
    name: str
    description: str
    placement: bool
    post_trade: bool

    def venue_faults(
        self, venues: tuple[str, ...], seed: int, prices_usd: Mapping[str, float], quotes: set[str]
    ) -> dict[str, VenueFaults]:
        """Each venue's faults: the placement faults at their rates on every venue and, with the post-trade faults,
        one of them per venue in turn: fees in a third currency, reads that lag (and orders that fill as their
        cancel arrives), buys whose fee is taken from what they receive."""
        faults: dict[str, VenueFaults] = {}
        for index, venue in enumerate(venues):
            options: dict[str, Any] = {"seed": seed + index}
            if self.placement:
                options["fault_rates"] = dict(PLACEMENT_FAULT_RATES)
            if self.post_trade:
                kind = index % 3
                if kind == 0:
                    token = Decimal(repr(prices_usd[FEE_TOKEN]))
                    options["fee_currency"] = FEE_TOKEN
                    options["fee_currency_per_quote"] = {
                        quote: Decimal(repr(prices_usd[quote])) / token
                        for quote in sorted(quotes)
                        if quote in prices_usd
                    }
                elif kind == 1:
                    options["read_lag_ms"] = READ_LAG_MS
                    options["fill_at_cancel"] = True
                else:
                    options["fee_in_received"] = True
            faults[venue] = VenueFaults.model_validate(options)
        return faults

    def post_trade_by_venue(self, venues: tuple[str, ...]) -> dict[str, str]:
        if not self.post_trade:
            return {}
        what = (
            f"fees charged in {FEE_TOKEN} whatever the quote (a third currency on BTC- and ETH-quoted markets)",
            f"reads lag {READ_LAG_MS} ms; a resting order fills as its cancel arrives",
            "a buy's fee is taken from the asset it receives",
        )
        return {venue: what[index % 3] for index, venue in enumerate(venues)}


FAULT_PROFILES: Mapping[str, FaultProfile] = {
    "default": FaultProfile(
        "default",
        "placement faults (rejections, lost answers before and after the venue accepted, partial fills) on legs and "
        "compensation orders, and the post-trade faults: fees in a third currency, lagging reads, fills at cancel, "
        "fees taken from what a buy receives, PlaceLegs delivered twice under the same clientOrderIds",
        placement=True,
        post_trade=True,
    ),
    "placement": FaultProfile(
        "placement", "placement faults only (rejections, lost answers, partial fills)", placement=True, post_trade=False
    ),
    "none": FaultProfile("none", "no injected fault: the venues answer and fill as asked", False, False),
}


@dataclass
class Progress:
    """What the live display shows, updated before every tick."""

    simulated_ms: int = 0
    start_ms: int = 0
    ticks: int = 0
    books: int = 0
    opportunities: int = 0
    started: int = 0
    outcomes: Counter[str] = field(default_factory=Counter)
    pnl_usd: Decimal = Decimal(0)
    sweeps: int = 0
    alarms_firing: tuple[str, ...] = ()


@dataclass
class TickSample:
    at_ms: int
    scan_ms: float
    """Wall time the scanner spent on the tick (from the batch delivered to the next one asked for)."""


@dataclass
class RunRecord:
    """Everything a finished run leaves for its report (the stores stay reachable on ``DemoRun.scanning``)."""

    settings: Settings
    profile: FaultProfile
    source: str
    start_ms: int
    end_ms: int
    wall_s: float
    started: list[str]
    scan_results: list[dict[str, Any]]
    ticks: list[TickSample]
    sweeps: list[dict[str, Any]]
    placed_at: dict[str, float]
    """Wall time each clientOrderId was first placed (``time.perf_counter``)."""
    book_ages: list[tuple[int, str, float, float]]
    """(simulated ms, venue, p50, p99) per heartbeat."""
    tick_to_start_ms: list[float]
    refusals: dict[str, int]
    """The scanner's refusals by reason (starts it did not make)."""
    saga_refusals: dict[str, int]
    """The risk engine's refusals by reason code (in the scanner's checks and in Prepare)."""
    alarms: dict[str, AlarmHistory]
    post_trade: dict[str, str]
    added_latency_ms: int = 0
    updates: int = 0
    retraining: dict[str, Any] = field(default_factory=dict)
    """The retraining at the run's end: its verdict, and the candidate's metrics beside the live model's on the
    held-out window (or why the run was too short to retrain)."""


class RecordingMetrics(CountingScannerMetrics):
    """The scanner's metrics counted, emitted as the deployed handler emits them (EMF, captured by the local
    platform for the alarms), and the book ages kept over simulated time for the report."""

    def __init__(self, clock: Callable[[], int]) -> None:
        super().__init__()
        self.now = clock
        self.emitted = PowertoolsScannerMetrics()
        self.age_samples: list[tuple[int, str, float, float]] = []

    def detected(self, count: int) -> None:
        super().detected(count)
        self.emitted.detected(count)

    def started(self, tick_to_start_ms: float) -> None:
        super().started(tick_to_start_ms)
        self.emitted.started(tick_to_start_ms)

    def refused(self, reason: str) -> None:
        super().refused(reason)
        self.emitted.refused(reason)

    def updates(self, count: int) -> None:
        super().updates(count)
        self.emitted.updates(count)

    def book_ages(self, venue: str, p50_ms: float, p99_ms: float) -> None:
        super().book_ages(venue, p50_ms, p99_ms)
        self.emitted.book_ages(venue, p50_ms, p99_ms)
        self.age_samples.append((self.now(), venue, p50_ms, p99_ms))

    def heartbeat(self, shard: str, health: Mapping[str, FeedHealth], scoring: ScoringStatus | None = None) -> None:
        super().heartbeat(shard, health, scoring)
        self.emitted.heartbeat(shard, health, scoring)


def demo_settings(settings: Settings, shards: int | None) -> Settings:
    """The loaded settings with what the one-process schedule needs: shards take turns within each minute."""
    scanner = settings.scanner
    count = shards or scanner.shards
    turn_ms = MINUTE_MS // count
    update: dict[str, Any] = {
        "shards": count,
        "run_ms": max(1_000, min(scanner.run_ms, turn_ms)),
        "stop_margin_ms": 0,
        "lease_ms": min(scanner.lease_ms, max(1_000, turn_ms)),
    }
    return settings.model_copy(update={"scanner": ScannerSettings.model_validate(scanner.model_dump() | update)})


class DemoRun:
    """One run: ``with DemoRun(...) as run: record = run.run(minutes)``; the platform (its stores on moto) stays
    up until the context ends, for a report or an API served over it."""

    def __init__(
        self,
        settings: Settings,
        *,
        market: LocalMarket | None = None,
        profile: FaultProfile = FAULT_PROFILES["default"],
        shards: int | None = None,
        source: str = "simulated market",
        added_latency_ms: int = 0,
        on_progress: Callable[[Progress], None] | None = None,
        progress_every_s: float = PROGRESS_EVERY_S,
    ) -> None:
        """``progress_every_s``: ``on_progress`` is called before a tick at most this often (0: every tick)."""
        self.settings = demo_settings(settings, shards)
        self.market: LocalMarket = market if market is not None else SimulatedMarket(self.settings)
        self.profile, self.source, self.added_latency_ms = profile, source, added_latency_ms
        self.on_progress, self.progress_every_s = on_progress, progress_every_s
        venues = tuple(sorted(self.market.listed))
        quotes = {market.quote for market in self.market.markets.values()}
        prices = self.prices_usd = dict(self.market.prices_usd)
        faults = profile.venue_faults(venues, self.settings.simulation.seed, prices, quotes)
        clock_box: list[Callable[[], int]] = []
        self.metrics = RecordingMetrics(lambda: clock_box[0]())
        self.scanning = LocalScanning(self.settings, market=self.market, faults=faults, metrics=self.metrics)
        clock_box.append(self.scanning.clock.now_ms)
        # Built first: a threshold override naming no alarm stops the run before it starts (ValueError).
        self.evaluator = AlarmEvaluator(self.settings.environment.value, self.settings.alarm_thresholds)
        self.progress = Progress(start_ms=self.market.start_ms, simulated_ms=self.market.start_ms)
        self._rng = random.Random(self.settings.simulation.seed)  # noqa: S311 - fault injection, not cryptography
        self._ticks: list[TickSample] = []
        self._sweeps: list[dict[str, Any]] = []
        self._placed_at: dict[str, float] = {}
        self._swept_minute: int | None = None
        self._returned_at: float | None = None
        self._settled_starts = 0
        self._progress_at = 0.0
        self._stepfunctions: Any = None

    def __enter__(self) -> DemoRun:
        self.scanning.start()
        self._stepfunctions = self.scanning.platform.aws.stepfunctions  # one client (each property read makes one)
        for venue in self.scanning.platform.venues.values():
            self._time_placements(venue)
        self.market.set_before_step(self._before_step)
        return self

    def __exit__(self, *exc: object) -> None:
        self.market.set_before_step(None)
        self.scanning.stop()

    @property
    def platform(self) -> LocalPlatform:
        return self.scanning.platform

    def _time_placements(self, venue: PaperVenue) -> None:
        place = venue.place_order
        placed_at = self._placed_at

        def timed(request: OrderRequest) -> Any:
            if request.client_order_id is not None:
                placed_at.setdefault(request.client_order_id, time.perf_counter())
            return place(request)

        venue.place_order = timed  # type: ignore[method-assign]

    def _settle_executions(self) -> None:
        """Let every running execution end before the market moves: a run is then the same for the same seed."""
        started = len(self.metrics.starts)
        if started == self._settled_starts:  # nothing started since the last look: nothing can be running
            return
        self._settled_starts = started
        platform = self.scanning.platform
        machines, client = platform.aws.state_machines(), self._stepfunctions
        running = client.list_executions(stateMachineArn=platform.state_machine_arn, statusFilter="RUNNING")
        for execution in running["executions"]:
            described = machines.wait(execution["executionArn"], timeout_s=120)
            self._count_ended(described["status"])
        platform.aws.lambdas.join_background()

    def _count_ended(self, status: str) -> None:
        if status in ENDED_BADLY:  # as AWS/States counts them
            self.scanning.platform.metrics.record_aws(
                "AWS/States", ENDED_BADLY[status], {"StateMachineArn": "arbitrage"}
            )

    def _before_step(self) -> None:
        now_wall = time.perf_counter()
        clock = self.scanning.clock
        if self._returned_at is not None:
            self._ticks.append(TickSample(at_ms=clock.now_ms(), scan_ms=(now_wall - self._returned_at) * 1000))
        self._settle_executions()
        minute = clock.now_ms() // MINUTE_MS
        if self._swept_minute != minute:  # the reconciler's schedule: every minute
            self._swept_minute = minute
            self._sweep()
        if self.profile.post_trade:
            lead = DUPLICATE_LEAD_S if self._rng.random() < DUPLICATE_DELIVERY_RATE else None
            self.scanning.platform.duplicate_task("PlaceLegs", lead)
        self._report_progress()
        self._returned_at = time.perf_counter()

    def _sweep(self) -> None:
        result = self.scanning.platform.sweep()
        self._sweeps.append({"at_ms": self.scanning.clock.now_ms(), **result})

    def _report_progress(self, final: bool = False) -> None:
        if self.on_progress is None:
            return
        now = time.perf_counter()
        if not final and now - self._progress_at < self.progress_every_s:  # the journal is read at most this often
            return
        self._progress_at = now
        progress, platform = self.progress, self.scanning.platform
        progress.simulated_ms = self.scanning.clock.now_ms()
        progress.ticks = len(self._ticks)
        progress.books = sum(len(symbols) for symbols in self.scanning.settings.scanner.universe.values())
        progress.opportunities = self.metrics.detections
        progress.started = len(self.metrics.starts)
        progress.sweeps = len(self._sweeps)
        outcomes: Counter[str] = Counter()
        pnl = Decimal(0)
        for name in self._started_so_far():
            record = platform.journal.get(name)
            outcomes[record.status.value] += 1
            for asset, amount in platform.journal.pnl(name).items():
                pnl += amount * Decimal(repr(self.prices_usd.get(asset, 0.0)))
        progress.outcomes, progress.pnl_usd = outcomes, pnl
        self.on_progress(progress)

    def _started_so_far(self) -> list[str]:
        journal = self.scanning.platform.journal
        return [e.execution_id for _, e in journal.executions_between(self.market.start_ms, self.scanning.clock.ms)]

    def run(self, minutes: int) -> RunRecord:
        """``minutes`` of the schedule (a replay ends earlier when its recording does)."""
        started_wall = time.perf_counter()
        results: list[dict[str, Any]] = []
        for _ in range(minutes):
            if self.market.exhausted:
                break
            minute_start = self.scanning.clock.now_ms()
            results += self.scanning.scheduled_minute()
            # The next invocation is at the next minute (a run that ended early leaves the rest unscanned).
            next_minute = (minute_start // MINUTE_MS + 1) * MINUTE_MS
            self.scanning.clock.ms = max(self.scanning.clock.ms, next_minute)
        self._settle_executions()
        self._returned_at = None
        self._sweep()  # the schedule's next run: it sees what the last executions left
        end_ms = self.scanning.clock.now_ms()
        alarms = self.evaluator.evaluate(self.scanning.platform.metrics.points, end_ms + 1)
        self.progress.alarms_firing = tuple(sorted(h.alarm_id for h in alarms.values() if h.fired))
        self._report_progress(final=True)
        started = [name for result in results for name in result.get("started", ())]
        retraining = self._retrain(started)
        venues = tuple(sorted(self.market.listed))
        return RunRecord(
            settings=self.scanning.settings,
            profile=self.profile,
            source=self.source,
            start_ms=self.market.start_ms,
            end_ms=end_ms,
            wall_s=time.perf_counter() - started_wall,
            started=started,
            scan_results=results,
            ticks=list(self._ticks),
            sweeps=list(self._sweeps),
            placed_at=dict(self._placed_at),
            book_ages=list(self.metrics.age_samples),
            tick_to_start_ms=list(self.metrics.starts),
            refusals=dict(self.metrics.refusals),
            saga_refusals=dict(self.scanning.platform.risk_metrics.counts),
            alarms=alarms,
            post_trade=self.profile.post_trade_by_venue(venues),
            added_latency_ms=self.added_latency_ms,
            updates=self.metrics.updates_processed,
            retraining=retraining,
        )

    def _retrain(self, started: list[str]) -> dict[str, Any]:
        """The retraining pipeline once over this run's history, when enough executions ended to train on."""
        journal = self.scanning.platform.journal
        ended = 0
        for name in started:
            try:
                ended += outcome_label(journal.get(name)) is not None
            except ExecutionNotFoundError:
                continue  # refused before Prepare recorded it
        scoring = self.settings.scoring
        needed = scoring.min_training_rows
        if ended < needed:
            return {
                "ran": False,
                "verdict": f"not retrained: {ended} executions ended, fewer than the {needed} a training needs "
                "(ARBITER_SCORING__MIN_TRAINING_ROWS); a longer run (--minutes) retrains at its end",
            }
        own = {"model_bucket", "live_model_parameter"}  # the local registry's
        report = retrain_once(self.platform, local_scoring_settings(**scoring.model_dump(exclude=own)))
        return {
            "ran": True,
            "run": report.run,
            "status": report.status,
            "promoted": report.promoted,
            "verdict": report.describe(),
            "candidate": report.candidate,
            "live": report.live,
            "training_s": report.training_seconds,
        }
