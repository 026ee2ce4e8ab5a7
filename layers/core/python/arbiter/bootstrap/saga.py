"""The saga's dependencies, built in one place for every deployment: on AWS from the environment (each saga
step is its own Lambda, so whatever survives between steps lives in DynamoDB: the journal, the kill switch,
breakers and rate buckets, and in paper mode the paper venue's orders and balances), and in one process by the
local platform over its paper venues. Both go through ``build_saga``.

Variables, venue ids and (live) secrets are checked before any exchange is opened: a missing variable or
secret stops the build with ``WiringError`` naming it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING

import ccxt

from arbiter.bootstrap.venues import (
    CredentialsProvider,
    ExchangeFactory,
    SharedVenueState,
    open_ccxt_gateway,
    open_paper_venue,
    secrets_manager_credentials,
)
from arbiter.execution.ports import AlertPublisher, VenueGateway
from arbiter.execution.steps import SagaDependencies
from arbiter.execution.topology import SAGA_TIMEOUT_SECONDS
from arbiter.gateway.ccxt.venues import UnsupportedVenueError, order_ids_for
from arbiter.gateway.errors import CredentialsError, GatewayError
from arbiter.gateway.resilience.breaker import BreakerSettings, CircuitBreaker
from arbiter.lazy_ccxt import is_exchange_id
from arbiter.markets import BookUsdValuation, UsdValue
from arbiter.models import Market, OrderBook
from arbiter.models.time import Clock, Pause
from arbiter.reconcile.sweep import Reconciler
from arbiter.risk.engine import PortfolioLimits, RiskEngine
from arbiter.risk.ports import RefusalMetrics
from arbiter.settings import ExecutionSettings, Mode, ReconcileSettings, Settings, VenueCredentials
from arbiter.storage.alerts import SnsAlertPublisher
from arbiter.storage.configuration import DynamoConfigurationStore
from arbiter.storage.controls import DynamoTradingControls
from arbiter.storage.journal import DynamoExecutionJournal
from arbiter.storage.kill_switch import DynamoKillSwitch
from arbiter.storage.paper_ledger import DynamoPaperLedger, PaperLedger
from arbiter.storage.verified_balances import DynamoVerificationStore

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_sns import SNSClient

REQUIRED_TABLES = ("executions", "orders", "configuration", "venue_state")
"""The tables the saga's steps use, by key in ``arbiter.storage.schema.TABLES``."""

logger = logging.getLogger(__name__)


class WiringError(RuntimeError):
    """The environment cannot wire the saga. The message names the variable or secret at fault; nothing was
    opened."""


@dataclass(frozen=True)
class SagaStores:
    """The saga's state on DynamoDB (moto locally): one table layout for every deployment."""

    journal: DynamoExecutionJournal
    kill_switch: DynamoKillSwitch
    configuration: DynamoConfigurationStore
    venue_state: SharedVenueState
    verifications: DynamoVerificationStore
    controls: DynamoTradingControls

    @classmethod
    def dynamodb(
        cls, client: DynamoDBClient, tables: Mapping[str, str], execution_slots: int | None = None
    ) -> SagaStores:
        return cls(
            journal=DynamoExecutionJournal(
                client, tables["executions"], tables["orders"], execution_slots=execution_slots
            ),
            kill_switch=DynamoKillSwitch(client, tables["configuration"]),
            configuration=DynamoConfigurationStore(client, tables["configuration"]),
            venue_state=SharedVenueState.dynamodb(client, tables["venue_state"]),
            verifications=DynamoVerificationStore(client, tables["venue_state"]),
            controls=DynamoTradingControls(client, tables["configuration"]),
        )


@dataclass(frozen=True)
class DeployedVenues:
    """A deployment's stores and the venues it could open, with their markets and USD valuation."""

    stores: SagaStores
    gateways: Mapping[str, VenueGateway]
    markets: Mapping[tuple[str, str], Market]
    alerts: SnsAlertPublisher
    usd_value: BookUsdValuation
    complete: bool
    """Whether every configured venue could be opened."""


def gateway_usd_valuation(
    gateways: Mapping[str, VenueGateway], markets: Mapping[tuple[str, str], Market]
) -> BookUsdValuation:
    """``arbiter.markets``' USD policy over the venues' current books; an unreachable book prices nothing (the
    risk engine then refuses), it does not fail the step."""

    def book(venue: str, symbol: str) -> OrderBook | None:
        gateway = gateways.get(venue)
        if gateway is None:
            return None
        try:
            return gateway.fetch_order_book(symbol, limit=5)  # a depth every venue accepts
        except GatewayError:
            return None

    return BookUsdValuation(markets, book)


def build_saga(
    settings: ExecutionSettings,
    *,
    gateways: Mapping[str, VenueGateway],
    markets: Mapping[tuple[str, str], Market],
    stores: SagaStores,
    alerts: AlertPublisher,
    clock: Clock,
    pause: Pause,
    metrics: RefusalMetrics,
    usd_value: UsdValue | None,
    breakers: BreakerSettings | None = None,
) -> SagaDependencies:
    """The one assembly of the saga. ``usd_value`` None checks only the gates, quote age and balances (no
    configured limits: nothing to measure them in); ``breakers`` None leaves venue breakers out of the gates."""
    portfolio = (
        None
        if usd_value is None
        else PortfolioLimits(
            limits=lambda: stores.configuration.current().risk_limits,
            executions=stores.journal,
            pnl=stores.journal,
            usd_value=usd_value,
        )
    )
    risk = RiskEngine(
        kill_switch=stores.kill_switch,
        settings=settings,
        metrics=metrics,
        portfolio=portfolio,
        breakers=None if breakers is None else CircuitBreaker(stores.venue_state.breakers, breakers),
        controls=stores.controls,
    )
    return SagaDependencies(
        gateways=gateways,
        markets=markets,
        journal=stores.journal,
        kill_switch=stores.kill_switch,
        alerts=alerts,
        clock=clock,
        pause=pause,
        settings=settings,
        risk=risk,
        usd_value=usd_value,
    )


def deployed_venues(
    settings: Settings,
    *,
    dynamodb: DynamoDBClient,
    sns: SNSClient,
    exchanges: ExchangeFactory,
    clock: Clock,
    credentials: CredentialsProvider | None = None,
    on_rate_limited: Callable[[str], None] | None = None,
) -> DeployedVenues:
    """What every deployed function of ``settings.mode`` (paper or live) works on. ``credentials`` defaults to
    Secrets Manager (``<ARBITER_GATEWAY__CREDENTIALS_SECRET_PREFIX><venue>``); live mode only.
    ``on_rate_limited`` is told the venue of every call that ends rate limited (metrics)."""
    if settings.mode is Mode.LOCAL:
        raise WiringError(
            "ARBITER_MODE: 'local' runs in one process, where arbiter.local builds the saga's dependencies; "
            "a deployed saga needs 'paper' or 'live'"
        )
    unknown = [venue for venue in settings.venues if not is_exchange_id(venue)]
    if unknown:
        raise WiringError(f"ARBITER_VENUES: not ccxt exchange ids: {', '.join(unknown)}")
    tables = _tables(settings)
    if settings.alert_topic_arn is None:
        raise WiringError("ARBITER_ALERT_TOPIC_ARN: not set; the saga publishes incidents to this SNS topic")
    stores = SagaStores.dynamodb(dynamodb, tables, settings.execution.execution_slots)

    def paper_ledger(venue: str) -> DynamoPaperLedger:
        return DynamoPaperLedger(dynamodb, tables["venue_state"], venue)

    secrets = (
        _live_credentials(settings, credentials or secrets_manager_credentials(settings.gateway))
        if settings.mode is Mode.LIVE
        else None
    )
    opened: dict[str, tuple[VenueGateway, Mapping[str, Market]]] = {}
    for venue in settings.venues:
        try:
            opened[venue] = _open_venue(
                venue, settings, secrets, stores.venue_state, exchanges, clock, paper_ledger, on_rate_limited
            )
        except (ccxt.BaseError, GatewayError) as error:
            # One unreachable venue must not stop every step (Incident and Reconcile above all): it is left out,
            # Prepare refuses legs on it ("not connected"), and the next container tries it again.
            logger.warning("venue %s left out: %s", venue, type(error).__name__)
    gateways = {venue: gateway for venue, (gateway, _) in opened.items()}
    markets = {
        (venue, symbol): m for venue, (_, venue_markets) in opened.items() for symbol, m in venue_markets.items()
    }
    return DeployedVenues(
        stores=stores,
        gateways=gateways,
        markets=markets,
        alerts=SnsAlertPublisher(sns, settings.alert_topic_arn),
        usd_value=gateway_usd_valuation(gateways, markets),
        complete=set(gateways) == set(settings.venues),
    )


def deployed_saga(
    settings: Settings, deployed: DeployedVenues, *, clock: Clock, pause: Pause, metrics: RefusalMetrics
) -> SagaDependencies:
    return build_saga(
        settings.execution,
        gateways=deployed.gateways,
        markets=deployed.markets,
        stores=deployed.stores,
        alerts=deployed.alerts,
        clock=clock,
        pause=pause,
        metrics=metrics,
        usd_value=deployed.usd_value,
        breakers=BreakerSettings.from_settings(settings.gateway),
    )


def build_reconciler(
    settings: ReconcileSettings,
    *,
    gateways: Mapping[str, VenueGateway],
    stores: SagaStores,
    alerts: AlertPublisher,
    clock: Clock,
    usd_value: UsdValue,
) -> Reconciler:
    """The one assembly of the scheduled reconciler, deployed or local."""
    if settings.stuck_after_ms <= SAGA_TIMEOUT_SECONDS * 1000:
        # Sooner, a saga still running could be declared stopped, and its own ending would then overwrite it.
        raise WiringError(
            f"ARBITER_RECONCILE__STUCK_AFTER_MS: {settings.stuck_after_ms} is not above the state machine's "
            f"timeout ({SAGA_TIMEOUT_SECONDS * 1000} ms)"
        )
    return Reconciler(
        journal=stores.journal,
        gateways=gateways,
        verifications=stores.verifications,
        kill_switch=stores.kill_switch,
        alerts=alerts,
        clock=clock,
        usd_value=usd_value,
        settings=settings,
    )


def _open_venue(
    venue: str,
    settings: Settings,
    secrets: Mapping[str, VenueCredentials] | None,
    shared: SharedVenueState,
    exchanges: ExchangeFactory,
    clock: Clock,
    paper_ledger: Callable[[str], PaperLedger],
    on_rate_limited: Callable[[str], None] | None,
) -> tuple[VenueGateway, Mapping[str, Market]]:
    gateway_settings = settings.gateway
    opened = partial(
        open_ccxt_gateway, state=shared, exchange_factory=exchanges, clock=clock, on_rate_limited=on_rate_limited
    )
    if secrets is not None:
        live = opened(venue, gateway_settings, secrets.__getitem__)
        return live, live.markets
    # Public market data only: the paper venue fills against the real venue's current books.
    public = opened(venue, gateway_settings, None)
    paper = open_paper_venue(
        venue,
        settings.paper.balances.get(venue, {}),
        books=public.fetch_order_book,
        markets=public.markets,
        ledger=paper_ledger(venue),
        clock=clock,
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


__all__ = [
    "DeployedVenues",
    "SagaStores",
    "WiringError",
    "build_reconciler",
    "build_saga",
    "deployed_saga",
    "deployed_venues",
    "gateway_usd_valuation",
]
