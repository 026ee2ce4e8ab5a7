"""``arbiter``: run the platform locally and inspect what it sees."""

from __future__ import annotations

import asyncio
import json
import logging
import threading
from collections.abc import Callable
from contextlib import AbstractContextManager
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, TypeVar

import typer
from rich.console import Console

from arbiter.api.identity import OPERATOR_GROUP, READ_ONLY_GROUP
from arbiter.bootstrap.clock import WallClock
from arbiter.cli.report import render_opportunities, render_summary
from arbiter.cli.retraining import render_retraining
from arbiter.cli.run_view import ProgressView, render_end
from arbiter.cli.tables import render_table
from arbiter.detection import BookSnapshot, Detector, OrderBookSet, ScanResult
from arbiter.local.api_demo import DemoApi, built_console, demo_api, local_operator_api, serving
from arbiter.local.api_server import LocalApiServer
from arbiter.local.demo import FAULT_PROFILES, PROGRESS_EVERY_S, DemoRun
from arbiter.local.replay import ReplayMarket
from arbiter.local.report import build_report, write_report
from arbiter.local.scanning import LocalMarket, SimulatedMarket
from arbiter.local.session import ExecutionReport
from arbiter.marketdata.ccxt_feed import open_ccxt_pro
from arbiter.marketdata.recording import RecordingError, record_venues
from arbiter.markets import (
    RECORDED_PRECISION_MODES,
    MarketCatalog,
    MarketDefinitionError,
    market_from_ccxt,
    recorded_market_dicts,
    recorded_markets,
)
from arbiter.models import Market, OrderBook
from arbiter.settings import Settings, SettingsError, load_settings
from arbiter.simulation import BookFrame, FrameBooks, MarketModel

Served = TypeVar("Served")
"""What a local server context yields (the server itself, or a demo with its server)."""

app = typer.Typer(
    help="Arbiter: serverless crypto arbitrage. Local runs use simulated venues and an in-process AWS.",
    no_args_is_help=True,
    add_completion=False,
)


def _settings(**simulation_overrides: object) -> Settings:
    try:
        base = load_settings()
        overrides = {k: v for k, v in simulation_overrides.items() if v is not None}
        if not overrides:
            return base
        simulation = base.simulation.model_dump() | overrides
        return load_settings(simulation=simulation)
    except SettingsError as error:
        typer.echo(str(error), err=True)
        raise typer.Exit(code=2) from None


FAULTS_HELP = "fault profile of the paper venues: " + "; ".join(
    f"{name}: {profile.description}" for name, profile in FAULT_PROFILES.items()
)


@app.command()
def demo(
    minutes: Annotated[int, typer.Option(min=1, max=240, help="simulated minutes of the schedule")] = 3,
    venues: Annotated[str | None, typer.Option(help="comma-separated venue ids (default from settings)")] = None,
    symbols: Annotated[int | None, typer.Option(min=1, help="symbols per venue")] = None,
    seed: Annotated[int | None, typer.Option(min=0, help="market model and fault seed")] = None,
    shards: Annotated[int, typer.Option(min=1, max=64, help="scanner shards (each its own schedule and lease)")] = 2,
    faults: Annotated[str, typer.Option(help=FAULTS_HELP)] = "default",
    out: Annotated[Path, typer.Option(help="folder the run's report folder is made in")] = Path("runs"),
    verbose: Annotated[bool, typer.Option(help="a line per tick instead of the live panel")] = False,
    serve: Annotated[bool, typer.Option(help="keep the operators' API up over the run (see `arbiter api`)")] = False,
    port: Annotated[int, typer.Option(min=0, max=65535, help="API port on 127.0.0.1 with --serve")] = 8080,
) -> None:
    """The platform as deployed, in one process: the scanner's handler on its schedule (shards, leases) over
    simulated venues, the saga on the real state machine, the reconciler every minute, the alarms evaluated; then
    a report in runs/<timestamp>/ (report.html, report.json, executions.jsonl). Every ARBITER_* setting applies."""
    venue_list = tuple(v.strip() for v in venues.split(",") if v.strip()) if venues is not None else None
    settings = _settings(venues=venue_list, symbols_per_venue=symbols, seed=seed)
    try:
        market: LocalMarket = SimulatedMarket(settings)
    except ValueError as error:
        typer.echo(f"ARBITER_SIMULATION: {error}", err=True)
        raise typer.Exit(code=2) from None
    _run_and_report(settings, market, "simulated market", faults, shards, minutes, out, verbose, serve, port)


@app.command()
def replay(
    recording: Annotated[Path, typer.Argument(help="a recording made by `arbiter record` (docs/recording-format.md)")],
    latency_ms: Annotated[int, typer.Option(min=0, max=60_000, help="added to every book's arrival")] = 0,
    faults: Annotated[str, typer.Option(help=FAULTS_HELP)] = "default",
    shards: Annotated[int, typer.Option(min=1, max=64, help="scanner shards")] = 1,
    seed: Annotated[int | None, typer.Option(min=0, help="fault seed")] = None,
    minutes: Annotated[int, typer.Option(min=1, help="at most this many minutes of the recording")] = 240,
    out: Annotated[Path, typer.Option(help="folder the run's report folder is made in")] = Path("runs"),
    verbose: Annotated[bool, typer.Option(help="a line per tick instead of the live panel")] = False,
) -> None:
    """Arbiter's backtest: the recorded books through the same scanner and saga, on paper venues, with added
    latency and a fault profile; writes the same report as `arbiter demo`."""
    settings = _settings(seed=seed)
    try:
        market: LocalMarket = ReplayMarket(recording, added_latency_ms=latency_ms)
    except (OSError, RecordingError, MarketDefinitionError) as error:
        typer.echo(f"{recording}: {error}", err=True)
        raise typer.Exit(code=2) from None
    source = f"replay of {recording.name}"
    _run_and_report(settings, market, source, faults, shards, minutes, out, verbose, False, 0, latency_ms)


def _run_and_report(
    settings: Settings,
    market: LocalMarket,
    source: str,
    faults: str,
    shards: int,
    minutes: int,
    out: Path,
    verbose: bool,
    serve: bool,
    port: int,
    latency_ms: int = 0,
) -> None:
    if faults not in FAULT_PROFILES:
        typer.echo(f"--faults: {faults!r} is not a profile ({', '.join(FAULT_PROFILES)})", err=True)
        raise typer.Exit(code=2)
    logging.getLogger().addHandler(logging.NullHandler())  # the handlers' log lines stay off the terminal
    console = Console()
    try:
        run = DemoRun(
            settings,
            market=market,
            profile=FAULT_PROFILES[faults],
            shards=shards,
            source=source,
            added_latency_ms=latency_ms,
            progress_every_s=0 if verbose else PROGRESS_EVERY_S,
        )
    except ValueError as error:  # an alarm threshold override that names no alarm
        typer.echo(f"ARBITER_ALARM_THRESHOLDS: {error}", err=True)
        raise typer.Exit(code=2) from None
    folder = out / datetime.now(tz=UTC).strftime("%Y%m%d-%H%M%S")
    with run, ProgressView(console, f"arbiter: {source}", verbose) as view:
        run.on_progress = view
        record = run.run(minutes)
        report = build_report(run.platform, record, run.prices_usd)
        page = write_report(report, folder)
        view.__exit__()
        render_end(console, report, page)
        if serve:
            _serve_run(run, settings, port)


def _serve_run(run: DemoRun, settings: Settings, port: int) -> None:
    """The operators' API over the finished run's stores, until interrupted (the run's platform stays up)."""
    api = local_operator_api(
        run.platform, settings.storage.time_series_retention_days, scanner_shards=run.settings.scanner.shards
    )
    console = built_console()

    def announce(server: LocalApiServer) -> None:
        _announce(server, console)
        typer.echo("Ctrl-C stops it")

    _serve_until_interrupted(lambda: serving(api, port, console=console), port, announce)


def _announce(server: LocalApiServer, console: Path | None) -> None:
    if console is not None:
        typer.echo(f"operators' console on {server.url}/")
    else:
        typer.echo("operators' console not built (`make install` builds console/dist)")
    typer.echo(f"operators' API on {server.url}/v1 (Swagger UI: {server.url}/v1/docs)")


def _serve_until_interrupted(
    open_server: Callable[[], AbstractContextManager[Served]], port: int, announce: Callable[[Served], None]
) -> None:
    """Serve on 127.0.0.1 until Ctrl-C; a port that cannot be taken is a clear error, not a traceback."""
    try:
        with open_server() as served:
            announce(served)
            threading.Event().wait()
    except OSError as error:
        typer.echo(f"cannot serve on 127.0.0.1:{port}: {error.strerror or error}", err=True)
        raise typer.Exit(code=2) from None
    except KeyboardInterrupt:
        typer.echo("stopped")


@app.command()
def record(
    venues: Annotated[str, typer.Option(help="comma-separated ccxt venue ids, e.g. binance,kraken")],
    symbols: Annotated[str, typer.Option(help="comma-separated symbols followed on every venue, e.g. BTC/USDT")],
    minutes: Annotated[float, typer.Option(min=0.05, max=1440, help="how long to record")] = 5,
    out: Annotated[Path | None, typer.Option(help="the recording (default recordings/<timestamp>.jsonl.gz)")] = None,
    depth: Annotated[int, typer.Option(min=1, max=100, help="levels per side")] = 20,
) -> None:
    """Record what the scanner receives from real venues (ccxt.pro websockets; needs the internet) for a replay."""
    venue_list = tuple(v.strip() for v in venues.split(",") if v.strip())
    symbol_list = tuple(s.strip() for s in symbols.split(",") if s.strip())
    path = out or Path("recordings") / f"{datetime.now(tz=UTC).strftime('%Y%m%d-%H%M%S')}.jsonl.gz"
    try:
        exchanges = {venue: open_ccxt_pro(venue) for venue in venue_list}
    except ValueError as error:
        typer.echo(f"--venues: {error}", err=True)
        raise typer.Exit(code=2) from None
    logging.getLogger().addHandler(logging.NullHandler())
    try:
        lines = asyncio.run(record_venues(exchanges, symbol_list, path, WallClock(), minutes, depth))
    except RecordingError as error:
        typer.echo(str(error), err=True)
        raise typer.Exit(code=2) from None
    typer.echo(f"{lines} books recorded in {path}")


@app.command("api")
def serve_api(
    ticks: Annotated[
        int, typer.Option(min=0, help="simulated ticks run first, to give the API something to show")
    ] = 12,
    port: Annotated[int, typer.Option(min=0, max=65535, help="port on 127.0.0.1 (0: any free one)")] = 8080,
    read_only: Annotated[bool, typer.Option(help="call as a member of the read-only group")] = False,
) -> None:
    """Serve the operators' API on 127.0.0.1 (the api function's own handler, each HTTP request turned into an
    API Gateway proxy event) over the local platform, until interrupted. Swagger UI at /v1/docs."""
    _serve(_settings(), ticks, port, None, (READ_ONLY_GROUP,) if read_only else (OPERATOR_GROUP,))


def _serve(
    settings: Settings,
    ticks: int,
    port: int,
    on_tick: Callable[[BookFrame, ScanResult, list[ExecutionReport]], None] | None,
    groups: tuple[str, ...],
    executions: int = 1,
) -> None:
    console = built_console()

    def announce(running: DemoApi) -> None:
        universe = running.session.model.universe
        typer.echo(render_summary(running.summary, len(universe.venues), len(universe.catalog)))
        _announce(running.server, console)
        typer.echo(f"calling as {running.server.user} in {', '.join(groups)}; Ctrl-C stops it")

    _serve_until_interrupted(
        lambda: demo_api(
            settings, ticks, port, on_tick, groups=groups, executions_per_tick=executions, console=console
        ),
        port,
        announce,
    )


@app.command()
def scan(
    files: Annotated[
        list[Path] | None,
        typer.Argument(help="order books as ccxt fetch_order_book JSON (each with a 'venue' key); none: simulate"),
    ] = None,
    top: Annotated[int, typer.Option(min=1, help="opportunities to show")] = 10,
) -> None:
    """Run the detector once, on simulated venues or on recorded order books, and print the best opportunities."""
    settings = _settings()
    reasons: list[str] = []
    if files:
        books, catalog, reasons = _recorded_books(files)
        snapshot: BookSnapshot = OrderBookSet(books, catalog.venues, catalog.symbols())
        now = max(book.timestamp for book in books)
    else:
        model = MarketModel.from_settings(settings.simulation, dict(settings.markets.fee_tier_volume))
        frame = model.step()
        catalog, snapshot, now = model.universe.catalog, FrameBooks(frame), frame.clock_ms
    result = Detector.for_snapshot(catalog, snapshot, settings.detection).scan(snapshot, now)
    best = result.top(top)
    typer.echo(
        f"screened {result.pairs_screened} cross-venue pairs and {result.cycles_screened} cycles, "
        f"{result.candidates} sized through depth"
    )
    typer.echo(render_opportunities(best, top) if best else "no opportunity")
    for reason in [*reasons, *result.skipped]:
        typer.echo(f"skipped: {reason}", err=True)


def _recorded_books(files: list[Path]) -> tuple[list[OrderBook], MarketCatalog, list[str]]:
    """The books in ``files`` and the recorded markets they trade on. A book whose market is unknown or badly
    defined (a missing precision, say) is left out with the reason; a file that does not parse stops the run."""
    books: list[OrderBook] = []
    for path in files:
        try:
            raw = json.loads(path.read_text(encoding="utf-8"))
            for entry in raw if isinstance(raw, list) else [raw]:
                books.append(OrderBook.from_ccxt(str(entry.get("venue", "")), entry))
        except (OSError, ValueError) as error:
            typer.echo(f"{path}: {error}", err=True)
            raise typer.Exit(code=2) from None
    markets: dict[tuple[str, str], Market] = {}
    reasons: list[str] = []
    for book in books:
        key = (book.venue, book.symbol)
        if key in markets:
            continue
        try:
            raw_market = recorded_market_dicts(book.venue).get(book.symbol)
            if raw_market is None:
                reasons.append(f"{book.venue} {book.symbol}: no recorded market, book ignored")
                continue
            mode = RECORDED_PRECISION_MODES[book.venue]
            markets[key] = market_from_ccxt(book.venue, raw_market, mode)
        except MarketDefinitionError as error:
            reasons.append(f"{book.venue} {book.symbol}: {error}, book ignored")
    if not markets:
        typer.echo("no recorded markets for these books: " + "; ".join(reasons), err=True)
        raise typer.Exit(code=2)
    known = [book for book in books if (book.venue, book.symbol) in markets]
    return known, MarketCatalog(markets.values()), reasons


@app.command()
def markets(venue: Annotated[str, typer.Argument(help="venue id with recorded markets")] = "kraken") -> None:
    """List a venue's recorded markets with precision, limits and fees."""
    try:
        found = recorded_markets(venue, spot_only=False)
    except MarketDefinitionError as error:
        typer.echo(str(error), err=True)
        raise typer.Exit(code=2) from None
    rows = [
        [
            m.symbol,
            m.precision_mode.name.lower(),
            str(m.amount_precision),
            str(m.price_precision),
            str(m.min_amount),
            str(m.min_cost),
            str(m.taker_fee),
            str(m.maker_fee),
        ]
        for m in found
    ]
    headers = ["symbol", "precision", "amount", "price", "min amount", "min cost", "taker", "maker"]
    typer.echo(render_table(headers, rows))


@app.command()
def retrain(
    ticks: Annotated[int, typer.Option(min=1, help="simulated ticks of trading history to retrain on")] = 80,
    min_rows: Annotated[int, typer.Option(min=10, help="fewest ended executions the training set needs")] = 50,
    seed: Annotated[int, typer.Option(min=0, help="market model seed")] = 11,
) -> None:
    """Run the retraining pipeline locally: a simulated trading history (every candidate through the saga), then
    statemachines/retrain.asl.json on the local runtime (export, the training script in SageMaker's script-mode
    layout, evaluation on a later window, promotion only when better), and the candidate's and live metrics."""
    from arbiter.local.history import SimulatedHistory, history_settings
    from arbiter.local.retraining import local_scoring_settings, retrain_once

    with SimulatedHistory(history_settings(seed=seed)) as history:
        rows = history.run(ticks)
        ended = sum(1 for c in rows if c.outcome)
        typer.echo(f"history: {ticks} ticks, {len(rows)} opportunities started, {ended} ended")
        report = retrain_once(history.platform, local_scoring_settings(min_training_rows=min_rows))
    typer.echo(render_retraining(report))
    if report.status != "SUCCEEDED":
        raise typer.Exit(code=1)


@app.command("settings")
def show_settings() -> None:
    """Print the effective settings (secrets masked) as JSON."""
    typer.echo(json.dumps(_settings().model_dump(mode="json"), indent=2))


def main() -> None:
    app(prog_name="arbiter")


if __name__ == "__main__":
    main()
