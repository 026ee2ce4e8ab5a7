"""``arbiter``: run the platform locally and inspect what it sees."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from arbiter.cli.books import render_best_quotes
from arbiter.cli.tables import render_table
from arbiter.markets import MarketDefinitionError, recorded_markets
from arbiter.settings import Settings, SettingsError, load_settings
from arbiter.simulation import MarketModel

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
    ticks: Annotated[int, typer.Option(min=1, help="simulated ticks to run")] = 5,
    venues: Annotated[str | None, typer.Option(help="comma-separated venue ids (default from settings)")] = None,
    symbols: Annotated[int | None, typer.Option(min=1, help="symbols per venue")] = None,
    seed: Annotated[int | None, typer.Option(min=0, help="market model seed")] = None,
) -> None:
    """Run the platform locally on simulated venues and end with a report."""
    venue_list = tuple(v.strip() for v in venues.split(",") if v.strip()) if venues is not None else None
    settings = _settings(venues=venue_list, symbols_per_venue=symbols, seed=seed)
    model = MarketModel.from_settings(settings.simulation, dict(settings.markets.fee_tier_volume))
    opened = 0
    for _ in range(ticks):
        frame = model.step()
        opened = max(opened, frame.open_dislocations)
        typer.echo(render_best_quotes(frame) + "\n")
    typer.echo(
        f"report: {ticks} ticks, {len(model.universe.venues)} venues, {len(model.universe.catalog)} markets, "
        f"most dislocations open at once: {opened}"
    )


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


@app.command("settings")
def show_settings() -> None:
    """Print the effective settings (secrets masked) as JSON."""
    typer.echo(json.dumps(_settings().model_dump(mode="json"), indent=2))


def main() -> None:
    app(prog_name="arbiter")


if __name__ == "__main__":
    main()
