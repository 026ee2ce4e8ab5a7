"""Plain-text tables for the terminal (the only place Arbiter prints)."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal


def render_table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    widths = [len(h) for h in headers]
    for row in rows:
        widths = [max(w, len(cell)) for w, cell in zip(widths, row, strict=True)]
    line = "  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True))
    rule = "  ".join("-" * w for w in widths)
    body = [
        "  ".join(c.rjust(w) if i else c.ljust(w) for i, (c, w) in enumerate(zip(row, widths, strict=True)))
        for row in rows
    ]
    return "\n".join([line, rule, *body])


def format_price(value: Decimal | float) -> str:
    """Six significant digits: enough to see a basis point on any price."""
    return f"{float(value):.6g}"
