"""A local session: the simulated market ticks, the detector scans every tick, and the best opportunities run
through the real saga on paper venues that inject a default profile of faults. ``make demo`` runs this."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from decimal import Decimal

from arbiter.detection import Detector, ScanResult
from arbiter.gateway.paper import PlaceFault, VenueFaults
from arbiter.local.platform import ExecutionOutcome, LocalPlatform
from arbiter.local.scanning import LOCAL_WAITS
from arbiter.local.scanning import opening_balances as scanning_balances
from arbiter.markets import BookUsdValuation
from arbiter.models import CompensationStrategy, ExecutionStatus, Opportunity, OrderBook
from arbiter.models.events import Reconciled, read_event
from arbiter.models.time import ManualClock
from arbiter.monitoring import ALARMS, AlarmEvaluator, AlarmHistory, Metric
from arbiter.monitoring.catalog import COMPOSITE_ALARMS, Alarm, CompositeAlarm, signal_metrics
from arbiter.settings import ExecutionSettings, Settings
from arbiter.simulation import BookFrame, FrameBooks, MarketModel
from arbiter.simulation.universe import SimulatedUniverse

DEFAULT_FAULT_RATES: Mapping[PlaceFault, float] = {
    PlaceFault.REJECT: 0.06,
    PlaceFault.TIMEOUT_AFTER_ACCEPT: 0.04,
    PlaceFault.TIMEOUT_BEFORE_ACCEPT: 0.03,
    PlaceFault.PARTIAL_FILL: 0.08,
}
MINUTE_MS = 60_000
COMPENSATED_LABELS = {
    CompensationStrategy.UNWIND: "compensated by unwind",
    CompensationStrategy.COMPLETE: "completed with slippage",
    CompensationStrategy.NOTHING: "compensated (nothing to trade)",
}


def opening_balances(universe: SimulatedUniverse) -> dict[str, dict[str, Decimal]]:
    """Every simulated venue opens with ``BALANCE_PER_ASSET_USD`` worth of every asset."""
    return scanning_balances(universe.venues, universe.reference_prices_usd)


NOT_DRIVEN_HERE = frozenset({"scanner"})
"""Components this session does not run: it detects on the simulated books itself instead of driving the scanner's
handler (``arbiter demo`` drives it: ``arbiter.local.demo``). Their alarms would fire on the silence, so they are
left out and named in the report. This session serves ``arbiter api``'s quick start."""


def alarms_run_here(not_driven: frozenset[str]) -> tuple[tuple[Alarm, ...], tuple[CompositeAlarm, ...]]:
    """The catalog's alarms on metrics some component run here emits, and the composites over those."""
    alarms = tuple(
        alarm
        for alarm in ALARMS
        if any(isinstance(m, Metric) and m.service not in not_driven for m in signal_metrics(alarm.signal))
    )
    kept = {alarm.id for alarm in alarms}
    composites = tuple(
        replace(composite, any_of=tuple(child for child in composite.any_of if child in kept))
        for composite in COMPOSITE_ALARMS
    )
    return alarms, tuple(c for c in composites if c.any_of)


@dataclass(frozen=True)
class ExecutionReport:
    opportunity: Opportunity
    outcome: str
    """completed, completed with slippage, compensated by unwind, refused or incident."""
    realised: dict[str, Decimal]
    left_open: dict[str, Decimal] = field(default_factory=dict)
    """What an incident left in the accounts (its last reconciliation), for people to resolve."""


@dataclass
class SessionSummary:
    ticks: int = 0
    detected: list[Opportunity] = field(default_factory=list)
    executions: list[ExecutionReport] = field(default_factory=list)
    most_dislocations: int = 0
    sweeps: int = 0
    """Reconciler runs (one per simulated minute, as the schedule runs it)."""
    alarms: dict[str, AlarmHistory] = field(default_factory=dict)
    """The catalog's alarms evaluated on what the run's handlers emitted."""


class LocalSession:
    def __init__(
        self,
        settings: Settings,
        fault_rates: Mapping[PlaceFault, float] = DEFAULT_FAULT_RATES,
        executions_per_tick: int = 1,
    ) -> None:
        self.settings = settings
        self.model = MarketModel.from_settings(settings.simulation, dict(settings.markets.fee_tier_volume))
        self.executions_per_tick = executions_per_tick
        # Built first: a threshold override naming no alarm stops the run before it starts.
        alarms, composites = alarms_run_here(NOT_DRIVEN_HERE)
        self.alarm_evaluator = AlarmEvaluator(
            settings.environment.value, settings.alarm_thresholds, alarms=alarms, composites=composites
        )
        self.frame = self.model.step()
        self.clock = ManualClock(self.frame.clock_ms)
        self._books: dict[tuple[str, str], OrderBook] = {}
        universe = self.model.universe
        self.detector = Detector.for_snapshot(universe.catalog, FrameBooks(self.frame), settings.detection)
        balances = opening_balances(universe)
        self.platform = LocalPlatform(
            markets=dict(universe.catalog.items()),
            books=self._book,
            balances=balances,
            clock=self.clock,
            # The loaded settings (every ARBITER_EXECUTION__* applies), less the waits moto would wait for real.
            settings=ExecutionSettings.model_validate(settings.execution.model_dump() | LOCAL_WAITS),
            reconcile=settings.reconcile,
            faults={
                venue: VenueFaults(fault_rates=dict(fault_rates), seed=settings.simulation.seed + i)
                for i, venue in enumerate(universe.venues)
            },
            usd_value=BookUsdValuation(dict(universe.catalog.items()), self._book),
        )

    def _book(self, venue: str, symbol: str) -> OrderBook:
        key = (venue, symbol)
        if key not in self._books:  # one validated model per book and tick, however often venues ask
            self._books[key] = self.frame.order_book(venue, symbol)
        return self._books[key]

    def run(
        self, ticks: int, on_tick: Callable[[BookFrame, ScanResult, list[ExecutionReport]], None] | None = None
    ) -> SessionSummary:
        with self.platform:
            return self.run_ticks(ticks, on_tick)

    def run_ticks(
        self, ticks: int, on_tick: Callable[[BookFrame, ScanResult, list[ExecutionReport]], None] | None = None
    ) -> SessionSummary:
        """The ticks on a platform already started (``with session.platform:``), which stays up afterwards."""
        summary = SessionSummary()
        swept_minute: int | None = None
        for tick in range(ticks):
            if tick:
                self.frame, self._books = self.model.step(), {}
                self.clock.ms = self.frame.clock_ms
            if swept_minute != self.clock.ms // MINUTE_MS:  # the reconciler's schedule: every minute
                swept_minute = self.clock.ms // MINUTE_MS
                self.platform.sweep()
                summary.sweeps += 1
            scan = self.detector.scan(FrameBooks(self.frame), self.frame.clock_ms)
            reports = [self._execute(o) for o in scan.opportunities[: self.executions_per_tick]]
            summary.ticks += 1
            summary.detected.extend(scan.opportunities)
            summary.executions.extend(reports)
            summary.most_dislocations = max(summary.most_dislocations, self.frame.open_dislocations)
            if on_tick is not None:
                on_tick(self.frame, scan, reports)
        self.platform.sweep()  # the schedule's next run: it sees what the last executions left
        summary.sweeps += 1
        summary.alarms = self.alarm_evaluator.evaluate(self.platform.metrics.points, self.clock.now_ms() + 1)
        return summary

    def _execute(self, opportunity: Opportunity) -> ExecutionReport:
        outcome = self.platform.execute(opportunity)
        left_open: dict[str, Decimal] = {}
        if outcome.record.status is ExecutionStatus.INCIDENT:
            events = self.platform.journal.events(outcome.execution_id)
            reconciled = [d for e in events if isinstance(d := read_event(e.kind, e.detail), Reconciled)]
            if reconciled:
                left_open = {asset: amount for asset, amount in reconciled[-1].exposure.items() if amount}
        return ExecutionReport(
            opportunity=opportunity,
            outcome=self._label(outcome),
            realised=self.platform.journal.pnl(outcome.execution_id),
            left_open=left_open,
        )

    def _label(self, outcome: ExecutionOutcome) -> str:
        status = outcome.record.status
        if status is ExecutionStatus.SETTLED:
            return "completed"
        if status is ExecutionStatus.COMPENSATED:
            return COMPENSATED_LABELS[outcome.record.strategy or CompensationStrategy.NOTHING]
        return status.value
