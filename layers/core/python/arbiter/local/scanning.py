"""The scanner in local mode: the scheduler (this module, minute by minute) invokes the scanner's Lambda
handler for each shard, as EventBridge Scheduler does on AWS; the handler runs the same service, here over the
simulated feed (the seeded market model on simulated time), paper venues filling against the same simulated
books, leases and opportunities in moto's DynamoDB, and real executions started on moto's Step Functions."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from arbiter.bootstrap.saga import SagaStores
from arbiter.bootstrap.scanner import ScannerService, ScannerStores, build_scanner, scanner_shard
from arbiter.local.lambda_invoke import LocalLambdaContext
from arbiter.local.platform import LocalPlatform, load_handler
from arbiter.local.session import opening_balances
from arbiter.local.simulated_feed import SimulatedBookFeed
from arbiter.marketdata import BookSource
from arbiter.models import OrderBook
from arbiter.models.time import ManualClock
from arbiter.scanner import CountingScannerMetrics
from arbiter.settings import ExecutionSettings, ScannerSettings, Settings
from arbiter.simulation import MarketModel
from arbiter_handlers import wiring


@dataclass
class LocalScanning:
    settings: Settings
    """``settings.scanner.universe`` may be left empty: every simulated book is followed."""
    platform: LocalPlatform = field(init=False)
    model: MarketModel = field(init=False)
    clock: ManualClock = field(init=False)
    metrics: CountingScannerMetrics = field(init=False, default_factory=CountingScannerMetrics)
    services: dict[int, ScannerService] = field(init=False, default_factory=dict)
    _handler: Any = field(init=False, default=None)

    def __post_init__(self) -> None:
        self.model = MarketModel.from_settings(self.settings.simulation, dict(self.settings.markets.fee_tier_volume))
        universe = self.model.universe
        if not self.settings.scanner.universe:
            followed = {
                venue: tuple(s for s in universe.symbols if universe.listed(venue, s)) for venue in universe.venues
            }
            scanner = self.settings.scanner.model_copy(update={"universe": followed})
            self.settings = self.settings.model_copy(update={"scanner": ScannerSettings.model_validate(scanner)})
        self.clock = ManualClock(self.settings.simulation.start_ms)
        self._feed: SimulatedBookFeed | None = None
        self.platform = LocalPlatform(
            markets=dict(universe.catalog.items()),
            books=self._book,
            balances=opening_balances(universe),
            clock=self.clock,
            settings=ExecutionSettings(poll_seconds=0, fill_deadline_ms=0),
        )

    def _book(self, venue: str, symbol: str) -> OrderBook:
        """The book the paper venues fill against: the newest simulated frame, as the feed delivered it."""
        if self._feed is None or self._feed.frame is None:
            raise LookupError("no simulated frame yet")
        return self._feed.frame.order_book(venue, symbol)

    def _open_source(self, followed: Mapping[str, tuple[str, ...]]) -> BookSource:
        # One simulated market for every shard: each run follows it from where the last one left it.
        if self._feed is None:
            self._feed = SimulatedBookFeed(self.model, self.clock, dict(followed))
        else:
            self._feed.symbols = {venue: tuple(followed.get(venue, ())) for venue in self._feed.symbols}
        return self._feed

    def start(self) -> LocalScanning:
        self.platform.start()
        aws = self.platform.aws
        stores = SagaStores.dynamodb(aws.dynamodb, aws.tables)
        scanner_stores = ScannerStores.dynamodb(
            aws.dynamodb,
            aws.stepfunctions,
            aws.tables,
            self.platform.state_machine_arn,
            self.settings.scanner.opportunity_retention_days,
        )
        markets = self.platform.markets
        for index in range(self.settings.scanner.shards):
            shard = scanner_shard(self.settings, markets, index)
            scanner = build_scanner(
                self.settings,
                shard,
                markets=markets,
                gateways=self.platform.venues,
                stores=stores,
                scanner_stores=scanner_stores,
                clock=self.clock,
                metrics=self.metrics,
                refusal_metrics=self.platform.risk_metrics,
            )
            self.services[index] = ScannerService(
                scanner, self._open_source, scanner_stores.shard, self.clock, self.settings
            )
        wiring.install_scanners(self.services)
        self._handler = load_handler("scanner")
        return self

    def stop(self) -> None:
        wiring.install_scanners(None)
        self.platform.stop()

    def __enter__(self) -> LocalScanning:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def scheduled_minute(self) -> list[dict[str, Any]]:
        """What the schedule does each minute: one invocation of the scanner's handler per shard."""
        results = []
        for index in sorted(self.services):
            event = {"source": "local.schedule", "shard": index}
            results.append(self._handler(event, LocalLambdaContext(function_name="scanner")))
        return results
