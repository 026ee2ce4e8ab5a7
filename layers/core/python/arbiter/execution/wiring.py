"""Where the saga's tasks get their dependencies: installed in-process by the local runtime, or built from
the environment when running on AWS."""

from __future__ import annotations

import os
import threading

from arbiter.execution.steps import SagaDependencies

_lock = threading.Lock()
_installed: SagaDependencies | None = None


def install(dependencies: SagaDependencies | None) -> None:
    """Used by the local runtime (and tests): every saga task in this process uses these dependencies."""
    global _installed
    with _lock:
        _installed = dependencies


def saga_dependencies() -> SagaDependencies:
    if _installed is not None:
        return _installed
    return _from_environment()


def _from_environment() -> SagaDependencies:
    # Journal, kill switch and alerts on AWS are ready (arbiter.storage.dynamodb, arbiter.risk.alerts); what is
    # missing is a gateway whose state survives across invocations: the ccxt gateway (live) and a persisted
    # paper venue (paper mode). Until they exist a deployed saga must refuse to run rather than guess.
    mode = os.environ.get("ARBITER_MODE", "paper")
    raise RuntimeError(
        f"saga dependencies for mode {mode!r} on AWS are not available yet: the ccxt gateway and the persisted "
        "paper venue are still to be built (see the project issues); only local mode can run the saga today"
    )
