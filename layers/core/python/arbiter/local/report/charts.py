"""Small inline SVG charts (no script, no external file): they scale to their container's width."""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

WIDTH, HEIGHT = 480, 220
LEFT, RIGHT, TOP, BOTTOM = 60, 14, 14, 40
FONT = 14
INK, GRID, ACCENT, WARN = "#1f2937", "#e5e7eb", "#2563eb", "#dc2626"


def _svg(body: str, title: str) -> str:
    return (
        f'<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" aria-label="{escape(title)}" '
        f'preserveAspectRatio="xMidYMid meet" xmlns="http://www.w3.org/2000/svg"><title>{escape(title)}</title>'
        f"{body}</svg>"
    )


def _number(value: float) -> str:
    if value == int(value) and abs(value) < 1e6:
        return str(int(value))
    if abs(value) >= 1000:
        return f"{value:,.0f}"
    if abs(value) >= 10:
        return f"{value:.1f}"
    return f"{value:.3g}"


def _scale(low: float, high: float, start: float, end: float) -> tuple[float, float]:
    span = (high - low) or 1.0
    return (end - start) / span, start


def _axes(
    y_low: float, y_high: float, y_label: str, x_labels: Sequence[tuple[float, str]], integers: bool = False
) -> str:
    plot_h = HEIGHT - TOP - BOTTOM
    parts = []
    rows = 4 if not integers else max(1, min(4, int(y_high - y_low)))
    for i in range(rows + 1):
        value = y_low + (y_high - y_low) * i / rows
        if integers and value != int(value):
            continue
        y = HEIGHT - BOTTOM - plot_h * i / rows
        parts.append(f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y:.1f}" y2="{y:.1f}" stroke="{GRID}"/>')
        parts.append(
            f'<text x="{LEFT - 6}" y="{y + 4:.1f}" text-anchor="end" font-size="{FONT}" fill="{INK}">'
            f"{escape(_number(value))}</text>"
        )
    for x, label in x_labels:
        anchor = "end" if x > WIDTH - RIGHT - 30 else "start" if x < LEFT + 10 else "middle"
        parts.append(
            f'<text x="{x:.1f}" y="{HEIGHT - BOTTOM + 20}" text-anchor="{anchor}" font-size="{FONT}" fill="{INK}">'
            f"{escape(label)}</text>"
        )
    parts.append(
        f'<text x="12" y="{TOP + plot_h / 2:.1f}" font-size="{FONT}" fill="{INK}" '
        f'transform="rotate(-90 12 {TOP + plot_h / 2:.1f})" text-anchor="middle">{escape(y_label)}</text>'
    )
    return "".join(parts)


def line_chart(
    points: Sequence[tuple[float, float]],
    title: str,
    y_label: str,
    x_range: tuple[float, float] | None = None,
    step: bool = True,
) -> str:
    """``points``: (x, y), x ascending, x in seconds since the start (labelled m:ss). ``step``: the value holds
    until the next point (a running total); else the points are joined."""
    if not points:
        return empty(title)
    xs, ys = [p[0] for p in points], [p[1] for p in points]
    x_low, x_high = x_range if x_range is not None else (min(xs), max(xs))
    y_low, y_high = min(0.0, *ys), max(0.0, *ys)
    if y_low == y_high:
        y_high = y_low + 1
    sx, ox = _scale(x_low, x_high, LEFT, WIDTH - RIGHT)
    sy, _ = _scale(y_low, y_high, 0, HEIGHT - TOP - BOTTOM)

    def at(x: float, y: float) -> str:
        return f"{ox + (x - x_low) * sx:.1f},{HEIGHT - BOTTOM - (y - y_low) * sy:.1f}"

    if step:
        steps, previous = [at(x_low, 0.0)], 0.0
        for x, y in points:
            steps += [at(x, previous), at(x, y)]
            previous = y
        steps.append(at(x_high, previous))
    else:
        steps = [at(x, y) for x, y in points]
    zero_y = HEIGHT - BOTTOM - (0 - y_low) * sy
    labels = [(ox + (x - x_low) * sx, _x_label(x)) for x in _ticks(x_low, x_high)]
    colour = ACCENT if ys[-1] >= 0 else WARN
    body = (
        _axes(y_low, y_high, y_label, labels)
        + f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{zero_y:.1f}" y2="{zero_y:.1f}" stroke="{INK}" '
        'stroke-width="0.6"/>'
        + f'<polyline fill="none" stroke="{colour}" stroke-width="2" points="{" ".join(steps)}"/>'
    )
    return _svg(body, title)


def _ticks(low: float, high: float, count: int = 5) -> list[float]:
    if high <= low:
        return [low]
    return [low + (high - low) * i / (count - 1) for i in range(count)]


def _x_label(x: float) -> str:
    return f"{int(x) // 60}:{int(x) % 60:02d}"


def bar_chart(bars: Sequence[tuple[str, float]], title: str, value_label: str) -> str:
    """Horizontal bars as HTML (the labels wrap and keep their size on a phone)."""
    if not bars:
        return empty(title)
    top = max(value for _, value in bars) or 1.0
    rows = "".join(
        f'<div class="bar"><span class="label">{escape(label)}</span><span class="track">'
        f'<span class="fill" style="width:{max(100 * value / top, 0.5):.1f}%"></span></span>'
        f'<span class="value">{escape(_number(value))}</span></div>'
        for label, value in bars
    )
    return f'<div class="bars" role="img" aria-label="{escape(title)} ({escape(value_label)})">{rows}</div>'


def histogram(edges: Sequence[float], counts: Sequence[int], title: str, unit: str) -> str:
    if not counts:
        return empty(title)
    top = max(counts) or 1
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    bar_w = plot_w / len(counts)
    parts = []
    for i, count in enumerate(counts):
        h = plot_h * count / top
        x = LEFT + i * bar_w
        parts.append(
            f'<rect x="{x + 1:.1f}" y="{HEIGHT - BOTTOM - h:.1f}" width="{bar_w - 2:.1f}" height="{h:.1f}" '
            f'fill="{ACCENT}"><title>{_number(edges[i])}-{_number(edges[i + 1])} {escape(unit)}: {count}</title></rect>'
        )
    labels = [(LEFT + i * bar_w, _number(edges[i])) for i in range(0, len(edges), max(1, len(edges) // 3))]
    return _svg(_axes(0, top, "count", labels, integers=True) + "".join(parts), f"{title} ({unit})")


def empty(title: str) -> str:
    return f'<p class="empty">{escape(title)}: no data in this run.</p>'
