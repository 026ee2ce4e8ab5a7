"""Where a Lambda container keeps the saga's dependencies: built once by ``arbiter.bootstrap`` from the
environment on first use and reused by later invocations (markets are loaded once), or installed by the local
platform, whose tasks run in this process. The one module-level state of the saga lives here, at the edge.

A build missing a venue serves one invocation only: the next one tries the venue again."""

from __future__ import annotations

import threading

from arbiter.bootstrap.clock import WallClock, real_pause
from arbiter.bootstrap.saga import WiringError, deployed_saga
from arbiter.bootstrap.venues import ExchangeFactory
from arbiter.execution.steps import SagaDependencies
from arbiter.gateway.ccxt.exchange import ccxt_exchange
from arbiter.models.time import Clock, Pause
from arbiter.settings import SettingsError, load_settings
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


def install(dependencies: SagaDependencies | None) -> None:
    """Used by the local platform (and tests): every saga task in this process uses these dependencies."""
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
        try:
            settings = load_settings()
        except SettingsError as error:
            raise WiringError(str(error)) from None
        built, complete = deployed_saga(
            settings,
            dynamodb=dynamodb_client(),
            sns=sns_client(),
            exchanges=exchange_factory,
            clock=clock,
            pause=pause,
            metrics=PowertoolsRefusalMetrics(),
        )
        if complete:
            _built = built
        return built


def forget_built() -> None:
    """Drop the dependencies built from the environment: the next use builds them again (tests)."""
    global _built
    with _lock:
        _built = None
