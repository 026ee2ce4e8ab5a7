"""The scanner in local mode: the scheduler (this module, minute by minute) invokes the scanner's Lambda
handler for each shard, as EventBridge Scheduler does on AWS; the handler runs the same service, here over a
local market (the seeded market model on simulated time, or a recording replayed), paper venues filling against
the same books, leases and opportunities in moto's DynamoDB, and real executions started on moto's Step
Functions."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Protocol

from arbiter.bootstrap.saga import SagaStores
from arbiter.bootstrap.scanner import ScannerService, ScannerStores, build_scanner, scanner_shard
from arbiter.gateway.paper import VenueFaults
from arbiter.local.lambda_invoke import LocalLambdaContext
from arbiter.local.platform import LocalPlatform, load_handler
from arbiter.local.runtime import LocalAws
from arbiter.local.simulated_feed import SimulatedBookFeed
from arbiter.marketdata import BookSource
from arbiter.markets import BookUsdValuation
from arbiter.models import Market, OrderBook
from arbiter.models.time import ManualClock
from arbiter.scanner import CountingScannerMetrics
from arbiter.settings import ExecutionSettings, ScannerSettings, Settings
from arbiter.simulation import MarketModel
from arbiter.simulation.universe import SimulatedUniverse
from arbiter_handlers import wiring

BALANCE_PER_ASSET_USD = Decimal(250_000)
LOCAL_WAITS = {"poll_seconds": 0, "fill_deadline_ms": 0}
"""The execution settings a local run overrides, and only these: the ASL's Wait states and the fill deadline
would wait in real time on moto (the paper venues fill at once). Every other ARBITER_EXECUTION__* applies."""


def opening_balances(venues: tuple[str, ...], prices_usd: Mapping[str, float]) -> dict[str, dict[str, Decimal]]:
    """Every venue opens with ``BALANCE_PER_ASSET_USD`` worth of every asset."""
    return {
        venue: {
            asset: (BALANCE_PER_ASSET_USD / Decimal(repr(price))).quantize(Decimal("0.00000001"))
            for asset, price in prices_usd.items()
            if price > 0
        }
        for venue in venues
    }


class LocalMarket(Protocol):
    """What a local run trades on: its markets, the books the venues list, and one book source that every shard's
    run follows (from where the last run left it), whose newest books the paper venues fill against."""

    @property
    def markets(self) -> Mapping[tuple[str, str], Market]: ...

    @property
    def listed(self) -> Mapping[str, tuple[str, ...]]: ...

    @property
    def prices_usd(self) -> Mapping[str, float]:
        """Reference USD prices of the assets (opening balances, and valuing what has no book)."""
        ...

    @property
    def start_ms(self) -> int: ...

    def book(self, venue: str, symbol: str) -> OrderBook: ...

    def source(self, clock: ManualClock, followed: Mapping[str, tuple[str, ...]]) -> BookSource: ...

    def set_before_step(self, hook: Callable[[], None] | None) -> None: ...

    @property
    def exhausted(self) -> bool:
        """A recording replayed to its end (the simulated market never is)."""
        ...


class SimulatedMarket:
    """The seeded market model as a local market."""

    def __init__(self, settings: Settings) -> None:
        self.model = MarketModel.from_settings(settings.simulation, dict(settings.markets.fee_tier_volume))
        universe: SimulatedUniverse = self.model.universe
        self.markets = dict(universe.catalog.items())
        self.listed = {v: tuple(s for s in universe.symbols if universe.listed(v, s)) for v in universe.venues}
        self.prices_usd = dict(universe.reference_prices_usd)
        self.start_ms = settings.simulation.start_ms
        self.feed: SimulatedBookFeed | None = None
        self._before_step: Callable[[], None] | None = None

    def book(self, venue: str, symbol: str) -> OrderBook:
        if self.feed is None or self.feed.frame is None:
            raise LookupError("no simulated frame yet")
        return self.feed.frame.order_book(venue, symbol)

    def source(self, clock: ManualClock, followed: Mapping[str, tuple[str, ...]]) -> BookSource:
        # One simulated market for every shard: each run follows it from where the last one left it.
        if self.feed is None:
            self.feed = SimulatedBookFeed(self.model, clock, dict(followed))
            self.feed.before_step = self._before_step
        else:
            self.feed.symbols = {venue: tuple(followed.get(venue, ())) for venue in self.feed.symbols}
        return self.feed

    def set_before_step(self, hook: Callable[[], None] | None) -> None:
        self._before_step = hook
        if self.feed is not None:
            self.feed.before_step = hook

    @property
    def exhausted(self) -> bool:
        return False


@dataclass
class LocalScanning:
    settings: Settings
    """``settings.scanner.universe`` may be left empty: every listed book is followed."""
    market: LocalMarket | None = None
    """Default: the simulated market of ``settings.simulation``."""
    faults: Mapping[str, VenueFaults] = field(default_factory=dict)
    metrics: CountingScannerMetrics = field(default_factory=CountingScannerMetrics)
    aws: LocalAws = field(default_factory=LocalAws)
    platform: LocalPlatform = field(init=False)
    clock: ManualClock = field(init=False)
    services: dict[int, ScannerService] = field(init=False, default_factory=dict)
    _handler: Any = field(init=False, default=None)

    def __post_init__(self) -> None:
        market: LocalMarket = self.market if self.market is not None else SimulatedMarket(self.settings)
        self.market = market
        if not self.settings.scanner.universe:
            followed = {venue: symbols for venue, symbols in market.listed.items() if symbols}
            scanner = self.settings.scanner.model_copy(update={"universe": followed})
            self.settings = self.settings.model_copy(update={"scanner": ScannerSettings.model_validate(scanner)})
        self.clock = ManualClock(market.start_ms)
        execution = ExecutionSettings.model_validate(self.settings.execution.model_dump() | LOCAL_WAITS)
        venues = tuple(sorted(market.listed))
        self.platform = LocalPlatform(
            markets=dict(market.markets),
            books=market.book,
            balances=opening_balances(venues, market.prices_usd),
            clock=self.clock,
            settings=execution,
            faults=dict(self.faults),
            usd_value=BookUsdValuation(dict(market.markets), market.book),
            reconcile=self.settings.reconcile,
            aws=self.aws,
        )

    @property
    def simulated(self) -> SimulatedMarket:
        """The simulated market this runs on (tests step it themselves)."""
        if not isinstance(self.market, SimulatedMarket):
            raise TypeError("this local scanning replays a recording, not the simulated market")
        return self.market

    @property
    def model(self) -> MarketModel:
        return self.simulated.model

    def _open_source(self, followed: Mapping[str, tuple[str, ...]]) -> BookSource:
        assert self.market is not None
        return self.market.source(self.clock, followed)

    def start(self) -> LocalScanning:
        self.platform.start()
        aws = self.platform.aws
        stores = SagaStores.dynamodb(aws.dynamodb, aws.tables, self.platform.settings.execution_slots)
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
        self._handler = self.platform.metrics.counting_errors("scanner", load_handler("scanner"))
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
