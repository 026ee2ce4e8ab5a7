"""The operators' API over the local platform: its stores on moto, served on 127.0.0.1 by the api function's own
handler (``arbiter api``, ``arbiter demo --serve``, the contract tests and the API benchmarks)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from arbiter.api.identity import OPERATOR_GROUP
from arbiter.bootstrap.api import OperatorApi, operator_api_on_dynamodb
from arbiter.detection import ScanResult
from arbiter.local.api_server import LocalApiServer
from arbiter.local.platform import REPO_ROOT, LocalPlatform, load_handler
from arbiter.local.session import ExecutionReport, LocalSession, SessionSummary
from arbiter.settings import Settings
from arbiter.simulation import BookFrame
from arbiter.storage.opportunities import DynamoOpportunityStore
from arbiter_handlers import wiring

OnTick = Callable[[BookFrame, ScanResult, list[ExecutionReport]], None]
CONSOLE_DIST = REPO_ROOT / "console" / "dist"
"""Where `make` builds the operators' console (console/, vite)."""


def built_console() -> Path | None:
    """The built console, if `make` built it (``arbiter api`` then serves it at /)."""
    return CONSOLE_DIST if (CONSOLE_DIST / "index.html").is_file() else None


def local_operator_api(platform: LocalPlatform, retention_days: int, scanner_shards: int | None = None) -> OperatorApi:
    """``scanner_shards``: the shards the local run's scanner ran (their heartbeats); None: it ran none."""
    venues = sorted({venue for venue, _ in platform.markets})
    aws = platform.aws
    return operator_api_on_dynamodb(
        aws.dynamodb, aws.tables, venues, platform.clock, retention_days, scanner_shards=scanner_shards
    )


@contextmanager
def serving(
    api: OperatorApi,
    port: int = 0,
    user: str = "local",
    groups: tuple[str, ...] = (OPERATOR_GROUP,),
    console: Path | None = None,
) -> Iterator[LocalApiServer]:
    """The api function's handler on 127.0.0.1 over ``api`` (installed in this process's wiring meanwhile), and
    the built console at / when ``console`` names it."""
    wiring.install_api(api)
    try:
        with LocalApiServer(load_handler("api"), port=port, user=user, groups=groups, console=console) as server:
            yield server
    finally:
        wiring.install_api(None)


@dataclass
class DemoApi:
    server: LocalApiServer
    session: LocalSession
    summary: SessionSummary
    api: OperatorApi


@contextmanager
def demo_api(
    settings: Settings,
    ticks: int,
    port: int = 0,
    on_tick: OnTick | None = None,
    groups: tuple[str, ...] = (OPERATOR_GROUP,),
    executions_per_tick: int = 1,
    console: Path | None = None,
) -> Iterator[DemoApi]:
    """A local session of ``ticks`` (its detected opportunities kept as the scanner keeps them), then the API
    served over what it recorded (and the console at / when ``console`` names it), until the context ends."""
    session = LocalSession(settings, executions_per_tick=executions_per_tick)
    with session.platform:
        aws = session.platform.aws
        retention = settings.storage.time_series_retention_days
        store = DynamoOpportunityStore(aws.dynamodb, aws.tables["opportunities"], retention)

        def keep(frame: BookFrame, scan: ScanResult, reports: list[ExecutionReport]) -> None:
            for opportunity in scan.opportunities:
                store.put(opportunity)
            if on_tick is not None:
                on_tick(frame, scan, reports)

        summary = session.run_ticks(ticks, keep)
        api = local_operator_api(session.platform, retention)
        with serving(api, port, groups=groups, console=console) as server:
            yield DemoApi(server=server, session=session, summary=summary, api=api)
