"""Rendering of detection and execution results for the terminal."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Sequence
from datetime import UTC, datetime
from decimal import Decimal

from arbiter.cli.tables import render_table
from arbiter.local.session import ExecutionReport, SessionSummary
from arbiter.models import Opportunity
from arbiter.monitoring.catalog import ALARMS, PLATFORM_ALARMS


def route(opportunity: Opportunity) -> str:
    venues = dict.fromkeys(leg.venue for leg in opportunity.legs)
    symbols = dict.fromkeys(leg.symbol for leg in opportunity.legs)
    return f"{'->'.join(venues)} {' '.join(symbols)}"


def render_opportunities(opportunities: Sequence[Opportunity], limit: int = 10) -> str:
    rows = [
        [o.kind.value, route(o), f"{o.expected_profit:.4f} {o.profit_currency}", str(len(o.legs))]
        for o in opportunities[:limit]
    ]
    return render_table(["kind", "route", "expected profit", "legs"], rows)


def render_execution(report: ExecutionReport) -> str:
    currency = report.opportunity.profit_currency
    realised = report.realised.get(currency, Decimal(0))
    line = (
        f"  executed {report.opportunity.kind.value} {route(report.opportunity)}: {report.outcome}, "
        f"expected {report.opportunity.expected_profit:.4f}, realised {realised:.4f} {currency}"
    )
    if report.left_open:
        line += f"; left open (kill switch engaged): {_amounts(report.left_open)}"
    return line


def _amounts(amounts: dict[str, Decimal]) -> str:
    return ", ".join(f"{amount:+.8g} {asset}" for asset, amount in sorted(amounts.items()))


def render_summary(summary: SessionSummary, venues: int, markets: int) -> str:
    lines = [
        f"report: {summary.ticks} ticks, {venues} venues, {markets} markets, "
        f"most dislocations open at once: {summary.most_dislocations}",
        "",
        f"detected {len(summary.detected)} opportunities:",
    ]
    found: dict[tuple[str, str, str], list[Decimal]] = defaultdict(list)
    for o in summary.detected:
        found[(o.kind.value, route(o), o.profit_currency)].append(o.expected_profit)
    rows = [
        [kind, where, str(len(profits)), f"{sum(profits, Decimal(0)):.4f} {currency}"]
        for (kind, where, currency), profits in sorted(found.items(), key=lambda item: (item[0][2], -sum(item[1])))
    ]
    lines.append(render_table(["kind", "route", "count", "expected profit"], rows) if rows else "  (none)")
    outcomes = Counter(r.outcome for r in summary.executions)
    pnl: dict[str, Decimal] = defaultdict(Decimal)
    for r in summary.executions:
        currency = r.opportunity.profit_currency
        pnl[currency] += r.realised.get(currency, Decimal(0))
    lines += ["", f"executed {len(summary.executions)} through the saga:"]
    order = ["completed", "completed with slippage", "compensated by unwind", "compensated (nothing to trade)"]
    for outcome in [*order, *sorted(set(outcomes) - set(order))]:
        if outcomes[outcome]:
            lines.append(f"  {outcome:<32} {outcomes[outcome]}")
    lines.append("realised P&L: " + (", ".join(f"{v:.4f} {k}" for k, v in sorted(pnl.items())) or "0"))
    left_open: dict[str, Decimal] = defaultdict(Decimal)
    for r in summary.executions:
        for asset, amount in r.left_open.items():
            left_open[asset] += amount
    if left_open:
        lines.append(f"left open by incidents (to resolve by hand): {_amounts(left_open)}")
    lines += ["", *render_alarms(summary)]
    return "\n".join(lines)


def render_alarms(summary: SessionSummary) -> list[str]:
    """Which of the catalog's alarms would have fired on what the run emitted, when (simulated UTC) and why."""
    fired = [(history, t) for history in summary.alarms.values() for t in history.fired]
    quiet = sorted(h.alarm_id for h in summary.alarms.values() if not h.fired)
    lines = [f"alarms ({summary.sweeps} reconciler sweeps; the deployed alarms' rules, evaluated on this run):"]
    for history, transition in sorted(fired, key=lambda item: (item[1].at_ms, item[0].alarm_id)):
        lines.append(
            f"  FIRED {history.alarm_id} in the period {_clock(transition.period_start_ms)}-"
            f"{_clock(transition.at_ms)}: {transition.reason}. {history.description}"
        )
    if not fired:
        lines.append("  none would have fired")
    lines.append(f"  quiet: {', '.join(quiet) or 'none'}")
    aws_only = [a.id for a in PLATFORM_ALARMS if not a.recorded_locally]
    lines.append(f"  on AWS only (no local data): {', '.join(aws_only)}")
    evaluated = set(summary.alarms)
    not_run = [a.id for a in ALARMS if a.id not in evaluated]
    if not_run:
        lines.append(f"  not evaluated (the scanner is not driven in this run): {', '.join(not_run)}")
    return lines


def _clock(at_ms: int) -> str:
    return datetime.fromtimestamp(at_ms / 1000, tz=UTC).strftime("%H:%M:%S")
