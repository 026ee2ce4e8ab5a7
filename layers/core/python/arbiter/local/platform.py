"""The whole platform in one process: simulated venues as paper venues, AWS on moto, the real saga ASL with
its Lambda tasks run in-process. ``make demo`` and the saga's integration tests run on this."""

from __future__ import annotations

import importlib.util
import json
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from types import TracebackType
from typing import Any

from arbiter.bootstrap.saga import SagaStores, build_reconciler, build_saga
from arbiter.execution.state import SagaState
from arbiter.execution.topology import ALERT_TOPIC_SUBSTITUTION, SAGA_DEFINITION, SAGA_TASKS
from arbiter.gateway.paper import PaperVenue, VenueFaults
from arbiter.local.lambda_invoke import LambdaHandler, LocalLambdaContext
from arbiter.local.metrics import BothRefusalMetrics, CapturedMetrics
from arbiter.local.runtime import LocalAws
from arbiter.markets import BookUsdValuation, UsdValue
from arbiter.models import Execution, Market, Opportunity, OrderBook
from arbiter.models.time import ManualClock
from arbiter.models.verification import VenueVerification
from arbiter.reconcile.sweep import Reconciler
from arbiter.risk.engine import CountingMetrics
from arbiter.settings import ExecutionSettings, ReconcileSettings
from arbiter.storage.alerts import SnsAlertPublisher
from arbiter.storage.breakers import BreakerStore
from arbiter.storage.configuration import DynamoConfigurationStore
from arbiter.storage.journal import DynamoExecutionJournal
from arbiter.storage.kill_switch import DynamoKillSwitch
from arbiter_handlers import metrics as handler_metrics
from arbiter_handlers import wiring

REPO_ROOT = Path(__file__).resolve().parents[5]
# Local Lambda tasks log to stdout on AWS; in one process that would drown the demo's report. Their metrics are
# captured in-process (``metrics``) instead.
QUIET_POWERTOOLS = {
    "POWERTOOLS_LOG_LEVEL": "CRITICAL",
    "POWERTOOLS_METRICS_DISABLED": "true",
    "POWERTOOLS_TRACE_DISABLED": "true",
}


ENDED_BADLY = {"FAILED": "ExecutionsFailed", "TIMED_OUT": "ExecutionsTimedOut", "ABORTED": "ExecutionsAborted"}


def load_handler(folder: str) -> LambdaHandler:
    """Import ``functions/<folder>/handler.py`` as Lambda would (the folder is the function's code root)."""
    path = REPO_ROOT / "functions" / folder / "handler.py"
    spec = importlib.util.spec_from_file_location(f"functions_{folder}_handler", path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load {path}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    handler: LambdaHandler = module.handler
    return handler


@dataclass
class ExecutionOutcome:
    execution_id: str
    status: str
    """The state machine's status (SUCCEEDED / FAILED)."""
    record: Execution
    output: dict[str, Any] | None
    execution_arn: str


@dataclass
class LocalPlatform:
    markets: Mapping[tuple[str, str], Market]
    books: Callable[[str, str], OrderBook]
    """The current book of (venue, symbol)."""
    balances: Mapping[str, Mapping[str, Decimal]]
    clock: ManualClock
    """Simulated time: the saga's waits (the settle delay) advance it."""
    settings: ExecutionSettings = field(default_factory=lambda: ExecutionSettings(poll_seconds=0))
    faults: Mapping[str, VenueFaults] = field(default_factory=dict)
    usd_value: UsdValue | None = None
    """USD value of an asset; given, the risk engine checks every execution against the configured limits."""
    aws: LocalAws = field(default_factory=LocalAws)
    venues: dict[str, PaperVenue] = field(init=False, default_factory=dict)
    journal: DynamoExecutionJournal = field(init=False)
    kill_switch: DynamoKillSwitch = field(init=False)
    configuration: DynamoConfigurationStore = field(init=False)
    breakers: BreakerStore = field(init=False)
    risk_metrics: CountingMetrics = field(init=False, default_factory=CountingMetrics)
    reconcile: ReconcileSettings = field(default_factory=ReconcileSettings)
    reconciler: Reconciler = field(init=False)
    _sweep: LambdaHandler = field(init=False)
    state_machine_arn: str = field(init=False, default="")
    metrics: CapturedMetrics = field(init=False)
    """Every metric the handlers emitted (EMF), stamped with the simulated clock."""

    def start(self) -> LocalPlatform:
        os.environ.update({k: v for k, v in QUIET_POWERTOOLS.items() if k not in os.environ})
        self.aws.simulated_waits = self.clock.advance
        self.aws.start()
        self.metrics = CapturedMetrics(self.clock)
        handler_metrics.install_sink(self.metrics.receive)
        os.environ["ARBITER_TABLES__IDEMPOTENCY"] = self.aws.tables["idempotency"]
        stores = SagaStores.dynamodb(self.aws.dynamodb, self.aws.tables, self.settings.execution_slots)
        alerts = SnsAlertPublisher(self.aws.sns, self.aws.alert_topic_arn)
        self.journal, self.kill_switch, self.configuration = stores.journal, stores.kill_switch, stores.configuration
        self.breakers = stores.venue_state.breakers
        usd_value = self.usd_value or BookUsdValuation(self.markets, lambda venue, symbol: self.books(venue, symbol))
        self.reconciler = build_reconciler(
            self.reconcile,
            gateways=self.venues,
            stores=stores,
            alerts=alerts,
            clock=self.clock,
            usd_value=usd_value,
        )
        self.reset_venues()
        self._sweep = self.metrics.counting_errors("Reconciler", load_handler("reconciler"))
        wiring.install(
            build_saga(
                self.settings,
                gateways=self.venues,
                markets=self.markets,
                stores=stores,
                alerts=alerts,
                clock=self.clock,
                pause=self.clock.advance,
                metrics=BothRefusalMetrics(self.risk_metrics, handler_metrics.PowertoolsRefusalMetrics()),
                usd_value=self.usd_value,
            ),
            self.reconciler,
            self.breakers,
        )
        substitutions = {
            task.substitution: self.aws.register_function(
                task.state, self.metrics.counting_errors(task.state, load_handler(task.folder))
            )
            for task in SAGA_TASKS
        }
        substitutions[ALERT_TOPIC_SUBSTITUTION] = self.aws.alert_topic_arn
        self.state_machine_arn = self.aws.state_machines().create(
            "arbitrage", REPO_ROOT / SAGA_DEFINITION, substitutions
        )
        return self

    def reset_venues(
        self,
        balances: Mapping[str, Mapping[str, Decimal]] | None = None,
        faults: Mapping[str, VenueFaults] | None = None,
    ) -> None:
        """Fresh paper venues (new balances, faults, no orders) for the next run on the same platform."""
        if balances is not None:
            self.balances = balances
        if faults is not None:
            self.faults = faults
        self.venues.clear()  # the same dict the saga's dependencies hold
        for venue in sorted({v for v, _ in self.markets}):
            self.venues[venue] = self._paper_venue(venue)
            # A fresh paper venue holds exactly what it was opened with: that is its verified baseline.
            opening = {a: amount for a, amount in self.balances.get(venue, {}).items() if amount}
            self.reconciler.verifications.put(
                VenueVerification(venue=venue, verified_at_ms=self.clock.now_ms(), balances=opening)
            )

    def _paper_venue(self, venue: str) -> PaperVenue:
        markets = {symbol: market for (v, symbol), market in self.markets.items() if v == venue}
        return PaperVenue(
            venue,
            markets,
            lambda symbol: self.books(venue, symbol),
            self.balances.get(venue, {}),
            clock=self.clock,
            faults=self.faults.get(venue),
        )

    def sweep(self) -> dict[str, Any]:
        """One scheduled reconciler run, through its Lambda handler as on AWS."""
        result: dict[str, Any] = self._sweep(
            {"source": "local.schedule"}, LocalLambdaContext(function_name="reconciler")
        )
        return result

    def duplicate_task(self, state: str, lead_s: float | None) -> None:
        """Deliver the task ``state`` twice from now on (``lead_s`` apart), or once again (None)."""
        task = next(t for t in SAGA_TASKS if t.state == state)
        name = f"{self.aws.prefix}-{task.state}"
        if lead_s is None:
            self.aws.lambdas.duplicated.pop(name, None)
        else:
            self.aws.lambdas.duplicated[name] = lead_s

    def stop(self) -> None:
        wiring.install(None)
        handler_metrics.install_sink(None)
        os.environ.pop("ARBITER_TABLES__IDEMPOTENCY", None)
        self.aws.stop()

    def __enter__(self) -> LocalPlatform:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def execute(
        self, opportunity: Opportunity, timeout_s: float = 60.0, predicted_pnl_usd: float | None = None
    ) -> ExecutionOutcome:
        """Run one opportunity through the saga; the execution is named by the opportunity's id.
        ``predicted_pnl_usd``: the live model's prediction, as the scanner starts it with one."""
        machines = self.aws.state_machines()
        state = SagaState(execution_id=opportunity.id, opportunity=opportunity, predicted_pnl_usd=predicted_pnl_usd)
        arn = machines.start(self.state_machine_arn, opportunity.id, state.model_dump(mode="json"))
        described = machines.wait(arn, timeout_s=timeout_s)
        if described["status"] in ENDED_BADLY:  # as AWS/States counts them
            self.metrics.record_aws("AWS/States", ENDED_BADLY[described["status"]], {"StateMachineArn": "arbitrage"})
        output = json.loads(described["output"]) if described.get("output") else None
        return ExecutionOutcome(
            execution_id=opportunity.id,
            status=described["status"],
            record=self.journal.get(opportunity.id),
            output=output,
            execution_arn=arn,
        )

    def transitions(self, outcome: ExecutionOutcome) -> int:
        """State transitions of a finished execution (what AWS bills a Standard workflow for)."""
        machines = self.aws.state_machines()
        return machines.state_transitions(machines.history(outcome.execution_arn))
