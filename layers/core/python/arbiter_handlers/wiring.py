"""Where a Lambda container keeps the saga's dependencies: built once by ``arbiter.bootstrap`` from the
environment on first use and reused by later invocations (markets are loaded once), or installed by the local
platform, whose tasks run in this process. The one module-level state of the saga lives here, at the edge.

A build missing a venue serves one invocation only: the next one tries the venue again."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Generic, TypeVar

from arbiter.bootstrap.api import OperatorApi, deployed_operator_api
from arbiter.bootstrap.clock import WallClock, real_pause
from arbiter.bootstrap.retraining import build_retraining
from arbiter.bootstrap.saga import DeployedVenues, WiringError, build_reconciler, deployed_saga, deployed_venues
from arbiter.bootstrap.venues import ExchangeFactory
from arbiter.execution.steps import SagaDependencies
from arbiter.gateway.ccxt.exchange import ccxt_exchange
from arbiter.models.time import Clock, Pause
from arbiter.reconcile.sweep import Reconciler
from arbiter.scoring.retraining import RetrainingDependencies
from arbiter.settings import Settings, SettingsError, load_settings
from arbiter.storage.aws import dynamodb_client, s3_client, sns_client, ssm_client, stepfunctions_client
from arbiter.storage.breakers import BreakerStore, DynamoBreakerStore
from arbiter_handlers.metrics import PowertoolsRefusalMetrics, PowertoolsScannerMetrics, record_rate_limited

if TYPE_CHECKING:  # the scanner (and the detector's numpy under it) loads only in the scanner's function
    from arbiter.bootstrap.scanner import ScannerService

T = TypeVar("T")

exchange_factory: ExchangeFactory = ccxt_exchange
"""How a venue's ccxt exchange is made; tests replace it with one that never reaches the network."""
clock: Clock = WallClock()
"""The deployed saga's clock; tests replace it with their own."""
pause: Pause = real_pause
"""How the deployed saga waits between reads of an order; tests replace it with their clock's advance."""


class _ContainerCache(Generic[T]):
    """One container's built object: installed in-process (local platform, tests), or built from the
    environment on first use and kept while complete (a build missing a venue serves one invocation only)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.installed: T | None = None
        self._built: T | None = None

    def get(self, build: Callable[[Settings, DeployedVenues], T]) -> T:
        if self.installed is not None:
            return self.installed
        with self._lock:
            if self._built is not None:
                return self._built
            settings = load()
            deployed = deployed_from_environment(settings)
            built = build(settings, deployed)
            if deployed.complete:
                self._built = built
            return built

    def forget(self) -> None:
        with self._lock:
            self._built = None


_saga: _ContainerCache[SagaDependencies] = _ContainerCache()
_reconciler: _ContainerCache[Reconciler] = _ContainerCache()
_breakers: BreakerStore | None = None


_scanners: dict[int, _ContainerCache[ScannerService]] = {}
_installed_scanners: dict[int, ScannerService] | None = None


def install_scanners(services: dict[int, ScannerService] | None) -> None:
    """Used by the local platform: the scanner handler in this process runs these services, by shard."""
    global _installed_scanners
    _installed_scanners = services


def scanner_service(shard: int) -> ScannerService:
    """The shard's scanner of this container: installed locally, else built from the environment once."""
    if _installed_scanners is not None:
        if shard not in _installed_scanners:
            raise WiringError(f"shard {shard}: the local platform runs shards {sorted(_installed_scanners)}")
        return _installed_scanners[shard]
    from arbiter.bootstrap.scanner import deployed_scanner

    cache = _scanners.setdefault(shard, _ContainerCache())
    return cache.get(
        lambda settings, deployed: deployed_scanner(
            settings,
            deployed,
            shard,
            dynamodb=dynamodb_client(),
            stepfunctions=stepfunctions_client(),
            s3=s3_client(),
            ssm=ssm_client(),
            clock=clock,
            metrics=PowertoolsScannerMetrics(),
            refusal_metrics=PowertoolsRefusalMetrics(service="scanner"),
        )
    )


def install(
    dependencies: SagaDependencies | None, reconciler: Reconciler | None = None, breakers: BreakerStore | None = None
) -> None:
    """Used by the local platform (and tests): every saga task and sweep in this process uses these."""
    global _breakers  # the container's one breaker store, like the caches above
    _saga.installed, _reconciler.installed, _breakers = dependencies, reconciler, breakers


def saga_dependencies() -> SagaDependencies:
    return _saga.get(
        lambda settings, deployed: deployed_saga(
            settings, deployed, clock=clock, pause=pause, metrics=PowertoolsRefusalMetrics()
        )
    )


def scheduled_reconciler() -> Reconciler:
    return _reconciler.get(
        lambda settings, deployed: build_reconciler(
            settings.reconcile,
            gateways=deployed.gateways,
            stores=deployed.stores,
            alerts=deployed.alerts,
            clock=clock,
            usd_value=deployed.usd_value,
        )
    )


class _ApiCache:
    """The API's use cases: installed in-process (local server, tests), or built from the environment once per
    container (DynamoDB only: the API opens no venue)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.installed: OperatorApi | None = None
        self.built: OperatorApi | None = None

    def get(self) -> OperatorApi:
        if self.installed is not None:
            return self.installed
        with self._lock:
            if self.built is None:
                self.built = deployed_operator_api(load(), dynamodb=dynamodb_client(), clock=clock)
            return self.built


_api = _ApiCache()


def install_api(api: OperatorApi | None) -> None:
    """Used by the local platform's API server (and tests): every API request in this process uses these."""
    _api.installed = api


def operator_api() -> OperatorApi:
    return _api.get()


_retraining: RetrainingDependencies | None = None
_installed_retraining: RetrainingDependencies | None = None


def install_retraining(dependencies: RetrainingDependencies | None) -> None:
    """Used by the local runtime: every retraining task in this process uses these."""
    global _installed_retraining
    _installed_retraining = dependencies


def retraining() -> RetrainingDependencies:
    """The retraining's stores of this container (no venue is opened for them)."""
    global _retraining
    if _installed_retraining is not None:
        return _installed_retraining
    if _retraining is None:
        settings = load()
        _retraining = build_retraining(
            settings, settings.tables, dynamodb=dynamodb_client(), s3=s3_client(), ssm=ssm_client(), clock=clock
        )
    return _retraining


def breaker_store() -> BreakerStore:
    """Where the venues' circuit breakers are kept (read by the reconciler's run for the dashboard); only a
    DynamoDB client and the table's name: no venue is opened for it."""
    if _breakers is not None:
        return _breakers
    table = load().tables.get("venue_state")
    if not table:
        raise WiringError("ARBITER_TABLES__VENUE_STATE: not set; the breakers live in the venue_state table")
    return DynamoBreakerStore(dynamodb_client(), table)


def load() -> Settings:
    """The deployment's settings; invalid ones fail the invocation naming each variable."""
    try:
        return load_settings()
    except SettingsError as error:
        raise WiringError(str(error)) from None


def deployed_from_environment(settings: Settings) -> DeployedVenues:
    """The stores and venues of this deployment (a new build per call: callers keep it)."""
    return deployed_venues(
        settings,
        dynamodb=dynamodb_client(),
        sns=sns_client(),
        exchanges=exchange_factory,
        clock=clock,
        on_rate_limited=record_rate_limited,
    )


def forget_built() -> None:
    """Drop what was built from the environment: the next use builds it again (tests)."""
    _saga.forget()
    _reconciler.forget()
    _scanners.clear()
    _api.built = None
    global _retraining
    _retraining = None
