"""Where a Lambda container keeps the saga's dependencies: built once by ``arbiter.bootstrap`` from the
environment on first use and reused by later invocations (markets are loaded once), or installed by the local
platform, whose tasks run in this process. The one module-level state of the saga lives here, at the edge.

A build missing a venue serves one invocation only: the next one tries the venue again."""

from __future__ import annotations

import threading

from arbiter.bootstrap.clock import WallClock, real_pause
from arbiter.bootstrap.saga import DeployedVenues, WiringError, build_reconciler, deployed_saga, deployed_venues
from arbiter.bootstrap.venues import ExchangeFactory
from arbiter.execution.steps import SagaDependencies
from arbiter.gateway.ccxt.exchange import ccxt_exchange
from arbiter.models.time import Clock, Pause
from arbiter.reconcile.sweep import Reconciler
from arbiter.settings import Settings, SettingsError, load_settings
from arbiter.storage.aws import dynamodb_client, sns_client
from arbiter_handlers.metrics import PowertoolsRefusalMetrics

exchange_factory: ExchangeFactory = ccxt_exchange
"""How a venue's ccxt exchange is made; tests replace it with one that never reaches the network."""
clock: Clock = WallClock()
"""The deployed saga's clock; tests replace it with their own."""
pause: Pause = real_pause
"""How the deployed saga waits between reads of an order; tests replace it with their clock's advance."""

_lock = threading.Lock()
_installed: SagaDependencies | None = None
_built: SagaDependencies | None = None
_installed_reconciler: Reconciler | None = None
_built_reconciler: Reconciler | None = None


def install(dependencies: SagaDependencies | None, reconciler: Reconciler | None = None) -> None:
    """Used by the local platform (and tests): every saga task and sweep in this process uses these."""
    global _installed, _installed_reconciler
    with _lock:
        _installed, _installed_reconciler = dependencies, reconciler


def scheduled_reconciler() -> Reconciler:
    if _installed_reconciler is not None:
        return _installed_reconciler
    global _built_reconciler
    with _lock:
        if _built_reconciler is not None:
            return _built_reconciler
        settings = load()
        deployed = deployed_from_environment(settings)
        built = build_reconciler(
            settings.reconcile,
            gateways=deployed.gateways,
            stores=deployed.stores,
            alerts=deployed.alerts,
            clock=clock,
            usd_value=deployed.usd_value,
        )
        if deployed.complete:  # a venue left out is read by the next container's sweeps
            _built_reconciler = built
        return built


def saga_dependencies() -> SagaDependencies:
    if _installed is not None:
        return _installed
    global _built
    with _lock:
        if _built is not None:
            return _built
        settings = load()
        deployed = deployed_from_environment(settings)
        built = deployed_saga(settings, deployed, clock=clock, pause=pause, metrics=PowertoolsRefusalMetrics())
        if deployed.complete:
            _built = built
        return built


def load() -> Settings:
    """The deployment's settings; invalid ones fail the invocation naming each variable."""
    try:
        return load_settings()
    except SettingsError as error:
        raise WiringError(str(error)) from None


def deployed_from_environment(settings: Settings) -> DeployedVenues:
    """The stores and venues of this deployment (a new build per call: callers keep it)."""
    return deployed_venues(
        settings, dynamodb=dynamodb_client(), sns=sns_client(), exchanges=exchange_factory, clock=clock
    )


def forget_built() -> None:
    """Drop the dependencies built from the environment: the next use builds them again (tests)."""
    global _built, _built_reconciler
    with _lock:
        _built = _built_reconciler = None
