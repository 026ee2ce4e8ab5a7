"""The per-tick view of the simulated books: best bid/ask per venue and symbol."""

from __future__ import annotations

from arbiter.cli.tables import format_price, render_table
from arbiter.simulation import BookFrame


def render_best_quotes(frame: BookFrame) -> str:
    universe = frame.universe
    rows = []
    for s, symbol in enumerate(universe.symbols):
        cells = []
        for v in range(len(universe.venues)):
            if not frame.listed[v, s]:
                cells.append("-")
                continue
            bid, ask = frame.bid_prices[v, s, 0], frame.ask_prices[v, s, 0]
            marker = "*" if abs(frame.dislocation[v, s]) > 0 else ""
            cells.append(f"{format_price(bid)} / {format_price(ask)}{marker}")
        rows.append([symbol, *cells])
    header = (
        f"tick {frame.tick_index}  t={frame.clock_ms}  books={frame.book_count}  "
        f"open dislocations={frame.open_dislocations}  (* = dislocated book)"
    )
    return header + "\n" + render_table(["symbol", *universe.venues], rows)
