"""Where the saga's tasks get their dependencies: installed in-process by the local runtime, or built from
the environment when running on AWS.

On AWS every saga step is its own Lambda function, so nothing a step keeps in memory reaches the next one:
whatever must survive between steps lives in DynamoDB (the journal, the kill switch, breakers and rate
buckets, and in paper mode the paper venue's orders and balances). The dependencies are built once per
container, on first use, and reused by its later invocations (markets are loaded once).

Variables, venue ids and (live) secrets are checked before any exchange is opened: a missing variable or
secret stops the build with ``WiringError`` naming it, and the next invocation tries again.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING

import ccxt

from arbiter.execution.ports import VenueGateway
from arbiter.execution.steps import SagaDependencies
from arbiter.gateway.circuit_breaker import BreakerSettings, CircuitBreaker
from arbiter.gateway.credentials import CredentialsError, ccxt_exchange
from arbiter.gateway.errors import GatewayError
from arbiter.gateway.factory import (
    CredentialsProvider,
    ExchangeFactory,
    SharedVenueState,
    open_ccxt_gateway,
    open_paper_venue,
    secrets_manager_credentials,
    wall_clock_ms,
)
from arbiter.gateway.paper_ledger import DynamoPaperLedger
from arbiter.gateway.venues import UnsupportedVenueError, order_ids_for
from arbiter.markets import USD_STABLE
from arbiter.models import Market
from arbiter.risk.alerts import SnsAlertPublisher
from arbiter.risk.engine import PortfolioLimits, RiskEngine
from arbiter.settings import Mode, Settings, SettingsError, VenueCredentials, load_settings
from arbiter.storage.aws import dynamodb_client, sns_client
from arbiter.storage.configuration import DynamoConfigurationStore
from arbiter.storage.dynamodb import DynamoExecutionJournal, DynamoKillSwitch
from arbiter_handlers.metrics import PowertoolsRefusalMetrics

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_sns import SNSClient

REQUIRED_TABLES = ("executions", "orders", "configuration", "venue_state")
"""The tables the saga's steps use, by key in ``arbiter.storage.schema.TABLES``."""

exchange_factory: ExchangeFactory = ccxt_exchange
"""How a venue's ccxt exchange is made; tests replace it with one that never reaches the network."""

logger = logging.getLogger(__name__)
_lock = threading.Lock()
_installed: SagaDependencies | None = None
_built: SagaDependencies | None = None


class WiringError(RuntimeError):
    """The environment cannot wire the saga. The message names the variable or secret at fault; nothing was
    opened."""


@dataclass(frozen=True)
class WallClock:
    def now_ms(self) -> int:
        return wall_clock_ms()


@dataclass(frozen=True)
class BookUsdValues:
    """An asset's USD value for the risk limits and the exposure tolerance: USD stablecoins count one for one;
    another asset is valued at the mid of its pair against one of them on the first venue listing it. An
    unreachable book values nothing (the risk engine then refuses), it does not fail the step."""

    gateways: Mapping[str, VenueGateway]
    markets: Mapping[tuple[str, str], Market]

    def __call__(self, asset: str) -> Decimal | None:
        if asset in USD_STABLE:
            return Decimal(1)
        for (venue, symbol), market in self.markets.items():
            if market.base != asset or market.quote not in USD_STABLE:
                continue
            try:
                book = self.gateways[venue].fetch_order_book(symbol, limit=5)  # a depth every venue accepts
            except GatewayError:
                continue
            if book.best_bid is not None and book.best_ask is not None:
                return (book.best_bid.price + book.best_ask.price) / 2
        return None


def install(dependencies: SagaDependencies | None) -> None:
    """Used by the local runtime (and tests): every saga task in this process uses these dependencies."""
    global _installed
    with _lock:
        _installed = dependencies


def saga_dependencies() -> SagaDependencies:
    if _installed is not None:
        return _installed
    global _built
    with _lock:
        if _built is not None:
            return _built
        built, complete = _from_environment()
        if complete:  # a build missing a venue serves this invocation only: the next one tries the venue again
            _built = built
        return built


def forget_built() -> None:
    """Drop the dependencies built from the environment: the next use builds them again (tests)."""
    global _built
    with _lock:
        _built = None


def _from_environment() -> tuple[SagaDependencies, bool]:
    """The dependencies, and whether every configured venue could be opened."""
    try:
        settings = load_settings()
    except SettingsError as error:
        raise WiringError(str(error)) from None
    built = build_dependencies(settings, dynamodb=dynamodb_client(), sns=sns_client(), exchanges=exchange_factory)
    return built, set(built.gateways) == set(settings.venues)


def build_dependencies(
    settings: Settings,
    *,
    dynamodb: DynamoDBClient,
    sns: SNSClient,
    exchanges: ExchangeFactory = ccxt_exchange,
    credentials: CredentialsProvider | None = None,
) -> SagaDependencies:
    """The saga's dependencies for a deployed ``settings.mode`` (paper or live). ``credentials`` defaults to
    Secrets Manager (``<ARBITER_GATEWAY__CREDENTIALS_SECRET_PREFIX><venue>``); live mode only."""
    if settings.mode is Mode.LOCAL:
        raise WiringError(
            "ARBITER_MODE: 'local' runs in one process, where arbiter.local installs the saga's dependencies; "
            "a deployed saga needs 'paper' or 'live'"
        )
    unknown = [venue for venue in settings.venues if venue not in ccxt.exchanges]
    if unknown:
        raise WiringError(f"ARBITER_VENUES: not ccxt exchange ids: {', '.join(unknown)}")
    tables = _tables(settings)
    if settings.alert_topic_arn is None:
        raise WiringError("ARBITER_ALERT_TOPIC_ARN: not set; the saga publishes incidents to this SNS topic")
    shared = SharedVenueState.dynamodb(dynamodb, tables["venue_state"])
    opened: dict[str, tuple[VenueGateway, Mapping[str, Market]]] = {}
    secrets = (
        _live_credentials(settings, credentials or secrets_manager_credentials(settings.gateway))
        if settings.mode is Mode.LIVE
        else None
    )
    for venue in settings.venues:
        try:
            opened[venue] = _open_venue(venue, settings, secrets, shared, dynamodb, tables["venue_state"], exchanges)
        except (ccxt.BaseError, GatewayError) as error:
            # One unreachable venue must not stop every step (Incident and Reconcile above all): it is left out,
            # Prepare refuses legs on it ("not connected"), and the next container tries it again.
            logger.warning("venue %s left out: %s", venue, type(error).__name__)
    gateways = {venue: gateway for venue, (gateway, _) in opened.items()}
    markets = {
        (venue, symbol): m for venue, (_, venue_markets) in opened.items() for symbol, m in venue_markets.items()
    }
    journal = DynamoExecutionJournal(dynamodb, tables["executions"], tables["orders"])
    kill_switch = DynamoKillSwitch(dynamodb, tables["configuration"])
    configuration = DynamoConfigurationStore(dynamodb, tables["configuration"])
    usd_value = BookUsdValues(gateways, markets)
    return SagaDependencies(
        gateways=gateways,
        markets=markets,
        journal=journal,
        kill_switch=kill_switch,
        alerts=SnsAlertPublisher(sns, settings.alert_topic_arn),
        clock=WallClock(),
        settings=settings.execution,
        risk=RiskEngine(
            kill_switch=kill_switch,
            settings=settings.execution,
            metrics=PowertoolsRefusalMetrics(),
            portfolio=PortfolioLimits(
                limits=lambda: configuration.current().risk_limits,
                executions=journal,
                pnl=journal,
                usd_value=usd_value,
            ),
            breakers=CircuitBreaker(shared.breakers, BreakerSettings.from_settings(settings.gateway)),
        ),
        usd_value=usd_value,
    )


def _open_venue(
    venue: str,
    settings: Settings,
    secrets: Mapping[str, VenueCredentials] | None,
    shared: SharedVenueState,
    dynamodb: DynamoDBClient,
    venue_state_table: str,
    exchanges: ExchangeFactory,
) -> tuple[VenueGateway, Mapping[str, Market]]:
    if secrets is not None:
        live = open_ccxt_gateway(venue, settings.gateway, secrets.__getitem__, state=shared, exchange_factory=exchanges)
        return live, live.markets
    # Public market data only: the paper venue fills against the real venue's current books.
    public = open_ccxt_gateway(venue, settings.gateway, None, state=shared, exchange_factory=exchanges)
    paper = open_paper_venue(
        venue,
        settings.paper.balances.get(venue, {}),
        books=public.fetch_order_book,
        markets=public.markets,
        ledger=DynamoPaperLedger(dynamodb, venue_state_table, venue),
    )
    return paper, paper.markets


def _tables(settings: Settings) -> dict[str, str]:
    missing = [key for key in REQUIRED_TABLES if not settings.tables.get(key)]
    if missing:
        names = ", ".join(f"ARBITER_TABLES__{key.upper()}" for key in missing)
        raise WiringError(f"{names}: not set; the stack passes each table's name to the saga's functions")
    return {key: settings.tables[key] for key in REQUIRED_TABLES}


def _live_credentials(settings: Settings, provide: CredentialsProvider) -> dict[str, VenueCredentials]:
    """Every venue's credentials, read before any exchange is opened: one missing secret opens nothing."""
    try:
        for venue in settings.venues:
            order_ids_for(venue)  # trading needs verified clientOrderId handling
        return {venue: provide(venue) for venue in settings.venues}
    except UnsupportedVenueError as error:
        raise WiringError(f"ARBITER_VENUES: {error}") from None
    except CredentialsError as error:
        raise WiringError(str(error)) from None
