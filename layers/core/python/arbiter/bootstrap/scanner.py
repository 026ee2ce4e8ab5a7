"""The scanner's dependencies, built in one place for every deployment: on AWS from the environment (ccxt.pro
websocket books, DynamoDB leases and opportunities, Step Functions starts), and in one process by the local
platform (the simulated feed, its paper venues, moto). Both go through ``build_scanner``.

The universe is checked before anything is subscribed: a missing universe, or a book whose venue or market is
unknown, stops the build with ``WiringError`` naming ``ARBITER_SCANNER__UNIVERSE``."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from arbiter.bootstrap.retraining import live_model_scorer
from arbiter.bootstrap.saga import DeployedVenues, SagaStores, WiringError, gateway_usd_valuation
from arbiter.detection import DetectionIndex, Detector, IncrementalDetector
from arbiter.execution.ports import VenueGateway
from arbiter.marketdata import BookSource, LiveBooks
from arbiter.marketdata.ccxt_feed import CcxtBookFeed, FeedSettings, open_ccxt_pro
from arbiter.markets import BookUsdValuation, MarketCatalog, ReadAheadUsdValuation, UsdValue
from arbiter.models import Market, OrderBook
from arbiter.models.time import Clock
from arbiter.risk.balances import BalanceCache
from arbiter.risk.engine import PortfolioLimits, RiskEngine
from arbiter.risk.ports import RefusalMetrics
from arbiter.scanner import (
    RunReport,
    ScannerDependencies,
    ScannerMetrics,
    Shard,
    ShardScanner,
    ShardStores,
    plan_shards,
    run_shard,
)
from arbiter.scanner.views import Refreshed, ThrottledExecutions, ThrottledKillSwitch
from arbiter.scoring.outcomes import EndedOrders, OutcomeStats, outcome_stats, realised_usd
from arbiter.scoring.scorer import ExpectedProfitScorer, OpportunityScorer
from arbiter.settings import Settings
from arbiter.storage.execution_starts import ExecutionStarter, StepFunctionsStarter
from arbiter.storage.heartbeats import DynamoHeartbeatStore, HeartbeatStore
from arbiter.storage.leases import DynamoLeaseStore, LeaseStore
from arbiter.storage.opportunities import DynamoOpportunityStore, OpportunityStore

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_ssm import SSMClient
    from mypy_boto3_stepfunctions import SFNClient

UNIVERSE_VARIABLE = "ARBITER_SCANNER__UNIVERSE"
OUTCOME_WINDOW_MS = 3_600_000
"""The recent outcomes a venue's and a route's features summarise: the last hour's executions."""
OUTCOME_REFRESH_MS = 15_000


@dataclass(frozen=True)
class ScannerStores:
    leases: LeaseStore
    heartbeats: HeartbeatStore
    opportunities: OpportunityStore
    starter: ExecutionStarter

    @property
    def shard(self) -> ShardStores:
        return ShardStores(leases=self.leases, heartbeats=self.heartbeats)

    @classmethod
    def dynamodb(
        cls,
        client: DynamoDBClient,
        stepfunctions: SFNClient,
        tables: Mapping[str, str],
        state_machine_arn: str,
        opportunity_retention_days: int,
    ) -> ScannerStores:
        """Leases and heartbeats in the venue-state table, opportunities in theirs, starts on the state machine."""
        return cls(
            leases=DynamoLeaseStore(client, tables["venue_state"]),
            heartbeats=DynamoHeartbeatStore(client, tables["venue_state"]),
            opportunities=DynamoOpportunityStore(client, tables["opportunities"], opportunity_retention_days),
            starter=StepFunctionsStarter(stepfunctions, state_machine_arn),
        )


@dataclass
class ScannerService:
    """One container's scanner for one shard. The book source is opened anew for every run (its websocket
    clients belong to that run's event loop); books and detector state are kept between runs."""

    scanner: ShardScanner
    open_source: Callable[[Mapping[str, tuple[str, ...]]], BookSource]
    """Books to follow per venue -> a book source for them."""
    stores: ShardStores
    clock: Clock
    settings: Settings
    owner: str = field(default_factory=lambda: f"scanner-{uuid.uuid4().hex[:12]}")

    @property
    def followed(self) -> dict[str, tuple[str, ...]]:
        followed: dict[str, tuple[str, ...]] = {}
        for venue, symbol in sorted(self.scanner.d.markets):
            followed[venue] = (*followed.get(venue, ()), symbol)
        return followed

    async def run(self, remaining_ms: int) -> RunReport:
        return await run_shard(
            self.scanner,
            self.open_source(self.followed),
            self.stores,
            self.owner,
            self.clock,
            self.settings.scanner,
            remaining_ms,
        )


def universe_markets(settings: Settings, markets: Mapping[tuple[str, str], Market]) -> dict[tuple[str, str], Market]:
    """The configured universe's markets, every book checked against what the venues list."""
    universe = settings.scanner.universe
    if not universe:
        raise WiringError(f"{UNIVERSE_VARIABLE}: not set; the scanner needs the books to follow per venue")
    venues = {venue for venue, _ in markets}
    problems = [f"{venue}: venue not connected" for venue in universe if venue not in venues]
    problems += [
        f"{venue} {symbol}: no such market"
        for venue, symbols in universe.items()
        if venue in venues
        for symbol in symbols
        if (venue, symbol) not in markets
    ]
    if problems:
        raise WiringError(f"{UNIVERSE_VARIABLE}: {'; '.join(problems)}")
    return {(venue, symbol): markets[(venue, symbol)] for venue, symbols in universe.items() for symbol in symbols}


def scanner_shard(settings: Settings, markets: Mapping[tuple[str, str], Market], index: int) -> Shard:
    shards = plan_shards(universe_markets(settings, markets), settings.scanner.shards)
    if not 0 <= index < len(shards):
        raise WiringError(f"shard {index}: ARBITER_SCANNER__SHARDS is {len(shards)} (shards 0 to {len(shards) - 1})")
    return shards[index]


def build_scanner(
    settings: Settings,
    shard: Shard,
    *,
    markets: Mapping[tuple[str, str], Market],
    gateways: Mapping[str, VenueGateway],
    stores: SagaStores,
    scanner_stores: ScannerStores,
    clock: Clock,
    metrics: ScannerMetrics,
    refusal_metrics: RefusalMetrics,
    scorer: OpportunityScorer | None = None,
) -> ShardScanner:
    """The one assembly of a shard's scanner. ``markets``: every market of the connected venues (the universe is
    checked against them); ``scorer``: the live model (None: rank by expected profit)."""
    universe = universe_markets(settings, markets)
    followed = {key: market for key, market in universe.items() if key[1] in shard.symbols}
    venues = tuple(sorted({venue for venue, _ in followed}))
    symbols = tuple(sorted({symbol for _, symbol in followed}))
    scan = settings.scanner
    catalog = MarketCatalog(followed.values())
    books = LiveBooks(venues, symbols, scan.depth)
    detector = Detector(
        catalog,
        DetectionIndex.build(catalog, venues, symbols, settings.detection.profit_currencies),
        settings.detection,
    )

    def live_book(venue: str, symbol: str) -> OrderBook | None:
        return books.order_book(venue, symbol) if books.update_of(venue, symbol) is not None else None

    usd_value = ReadAheadUsdValuation(
        BookUsdValuation(followed, live_book), gateway_usd_valuation(gateways, markets), clock, scan.usd_read_ahead_ms
    )
    executions = ThrottledExecutions(stores.journal, stores.journal, clock, scan.state_refresh_ms)
    limits = Refreshed(lambda: stores.configuration.current().risk_limits, clock, scan.state_refresh_ms)
    risk = RiskEngine(
        kill_switch=ThrottledKillSwitch(stores.kill_switch, clock, scan.state_refresh_ms),
        settings=settings.execution,
        metrics=refusal_metrics,
        portfolio=PortfolioLimits(limits=limits.get, executions=executions, pnl=executions, usd_value=usd_value),
    )
    journal = stores.journal
    orders_of = EndedOrders(journal.intents, journal.order)

    def recent_outcomes() -> OutcomeStats:
        now = clock.now_ms()
        ended = [e for _, e in journal.executions_between(now - OUTCOME_WINDOW_MS, now) if e.status.is_terminal]
        orders_of.forget_all_but(e.execution_id for e in ended)
        return outcome_stats(ended, lambda e: realised_usd(e.realised_pnl, _float_rate(usd_value)), orders_of)

    outcomes = Refreshed(recent_outcomes, clock, OUTCOME_REFRESH_MS)
    return ShardScanner(
        ScannerDependencies(
            shard=shard,
            books=books,
            detector=IncrementalDetector(detector),
            risk=risk,
            executions=executions,
            limits=limits,
            gateways=gateways,
            markets=followed,
            balances=BalanceCache(clock, settings.execution.max_balance_age_ms),
            opportunities=scanner_stores.opportunities,
            starter=scanner_stores.starter,
            usd_value=usd_value,
            metrics=metrics,
            clock=clock,
            settings=scan,
            scorer=scorer or ExpectedProfitScorer(),
            outcomes=outcomes,
            min_predicted_pnl_usd=settings.scoring.min_predicted_pnl_usd,
        )
    )


def _float_rate(usd_value: UsdValue) -> Callable[[str], float | None]:
    def rate(asset: str) -> float | None:
        value = usd_value(asset)
        return None if value is None else float(value)

    return rate


def deployed_scanner(
    settings: Settings,
    deployed: DeployedVenues,
    shard_index: int,
    *,
    dynamodb: DynamoDBClient,
    stepfunctions: SFNClient,
    clock: Clock,
    metrics: ScannerMetrics,
    refusal_metrics: RefusalMetrics,
    s3: S3Client | None = None,
    ssm: SSMClient | None = None,
) -> ScannerService:
    """A deployed scanner (paper or live): books over ccxt.pro websockets, state on DynamoDB, starts on the
    arbitrage state machine. Every setting is checked before anything is subscribed."""
    if settings.scanner.state_machine_arn is None:
        raise WiringError("ARBITER_SCANNER__STATE_MACHINE_ARN: not set; the scanner starts executions on it")
    missing = [key for key in ("opportunities", "venue_state") if not settings.tables.get(key)]
    if missing:
        raise WiringError(f"{', '.join(f'ARBITER_TABLES__{key.upper()}' for key in missing)}: not set")
    shard = scanner_shard(settings, deployed.markets, shard_index)
    scanner_stores = ScannerStores.dynamodb(
        dynamodb,
        stepfunctions,
        settings.tables,
        settings.scanner.state_machine_arn,
        settings.scanner.opportunity_retention_days,
    )
    scanner = build_scanner(
        settings,
        shard,
        markets=deployed.markets,
        gateways=deployed.gateways,
        stores=deployed.stores,
        scanner_stores=scanner_stores,
        clock=clock,
        metrics=metrics,
        refusal_metrics=refusal_metrics,
        scorer=live_model_scorer(settings.scoring, s3, ssm, clock) if s3 and ssm else None,
    )
    open_source = ccxt_book_sources(clock, FeedSettings(depth=settings.scanner.depth))
    return ScannerService(scanner, open_source, scanner_stores.shard, clock, settings)


def ccxt_book_sources(
    clock: Clock, feed_settings: FeedSettings, open_exchange: Callable[[str], Any] = open_ccxt_pro
) -> Callable[[Mapping[str, tuple[str, ...]]], BookSource]:
    """A new ccxt.pro feed for each run (its websocket clients belong to that run's event loop), given the
    markets the previous run's exchanges loaded: only a container's first run asks the venues for them."""
    previous: list[CcxtBookFeed] = []

    def open_source(followed: Mapping[str, tuple[str, ...]]) -> BookSource:
        known = {venue: ex.markets for feed in previous for venue, ex in feed.exchanges.items() if ex.markets}
        exchanges = {venue: open_exchange(venue) for venue in followed}
        for venue, exchange in exchanges.items():
            if venue in known:
                exchange.set_markets(known[venue])
        feed = CcxtBookFeed(exchanges, followed, clock, feed_settings)
        previous[:] = [feed]
        return feed

    return open_source


__all__ = [
    "UNIVERSE_VARIABLE",
    "ScannerService",
    "ScannerStores",
    "build_scanner",
    "deployed_scanner",
    "scanner_shard",
    "universe_markets",
]
