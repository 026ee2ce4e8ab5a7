"""``arbiter``: run the platform locally and inspect what it sees."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Annotated

import typer

from arbiter.api.identity import OPERATOR_GROUP, READ_ONLY_GROUP
from arbiter.cli.books import render_best_quotes
from arbiter.cli.report import render_execution, render_opportunities, render_summary
from arbiter.cli.retraining import render_retraining
from arbiter.cli.tables import render_table
from arbiter.detection import BookSnapshot, Detector, OrderBookSet, ScanResult
from arbiter.local.api_demo import demo_api
from arbiter.local.session import ExecutionReport, LocalSession
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


@app.command()
def demo(
    ticks: Annotated[int, typer.Option(min=1, help="simulated ticks to run")] = 12,
    venues: Annotated[str | None, typer.Option(help="comma-separated venue ids (default from settings)")] = None,
    symbols: Annotated[int | None, typer.Option(min=1, help="symbols per venue")] = None,
    seed: Annotated[int | None, typer.Option(min=0, help="market model seed")] = None,
    executions: Annotated[int, typer.Option(min=0, help="best opportunities executed per tick")] = 1,
    serve: Annotated[bool, typer.Option(help="keep the operators' API up after the run (see `arbiter api`)")] = False,
    port: Annotated[int, typer.Option(min=0, max=65535, help="API port on 127.0.0.1 with --serve")] = 8080,
) -> None:
    """Run the platform locally: simulated venues, detection every tick, the saga on paper venues, a report."""
    venue_list = tuple(v.strip() for v in venues.split(",") if v.strip()) if venues is not None else None
    settings = _settings(venues=venue_list, symbols_per_venue=symbols, seed=seed)

    def show(frame: BookFrame, scan: ScanResult, reports: list[ExecutionReport]) -> None:
        typer.echo(render_best_quotes(frame))
        typer.echo(f"  detected {len(scan.opportunities)} opportunities")
        for report in reports:
            typer.echo(render_execution(report))
        typer.echo("")

    if serve:
        _serve(settings, ticks, port, show, (OPERATOR_GROUP,), executions)
        return
    try:
        session = LocalSession(settings, executions_per_tick=executions)
    except ValueError as error:  # an alarm threshold override that names no alarm
        typer.echo(f"ARBITER_ALARM_THRESHOLDS: {error}", err=True)
        raise typer.Exit(code=2) from None
    summary = session.run(ticks, show)
    universe = session.model.universe
    typer.echo(render_summary(summary, len(universe.venues), len(universe.catalog)))


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
    try:
        with demo_api(settings, ticks, port, on_tick, groups=groups, executions_per_tick=executions) as running:
            universe = running.session.model.universe
            typer.echo(render_summary(running.summary, len(universe.venues), len(universe.catalog)))
            typer.echo(f"operators' API on {running.server.url}/v1 (Swagger UI: {running.server.url}/v1/docs)")
            typer.echo(f"calling as {running.server.user} in {', '.join(groups)}; Ctrl-C stops it")
            threading.Event().wait()
    except OSError as error:
        typer.echo(f"cannot serve on 127.0.0.1:{port}: {error.strerror or error}", err=True)
        raise typer.Exit(code=2) from None
    except KeyboardInterrupt:
        typer.echo("stopped")


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
