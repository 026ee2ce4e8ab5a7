"""The report of a finished run, read from the run's own stores (the journal's records and audit trails, the
scanner's and reconciler's results, the alarms evaluated): ``report.json``'s content and one line per execution
for ``executions.jsonl``. Amounts are strings (exact decimals); times are simulated UTC milliseconds, except the
latencies, which are wall time measured in this process."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from decimal import Decimal
from statistics import median
from typing import Any

from arbiter.local.demo import RunRecord
from arbiter.local.platform import LocalPlatform
from arbiter.local.report.outcome import compensation_intents, outcome_of
from arbiter.local.report.story import incident_story
from arbiter.models import Order, OrderIntent, Side
from arbiter.models.events import AnyEventDetail, Reconciled, read_event

REPORT_VERSION = 1


def _s(value: Decimal) -> str:
    return format(value.normalize(), "f") if value else "0"


def clock(at_ms: int) -> str:
    return datetime.fromtimestamp(at_ms / 1000, tz=UTC).strftime("%Y-%m-%d %H:%M:%S")


def route(legs: Sequence[Mapping[str, Any]]) -> str:
    venues = dict.fromkeys(str(leg["venue"]) for leg in legs)
    symbols = dict.fromkeys(str(leg["symbol"]) for leg in legs)
    return f"{'->'.join(venues)} {' '.join(symbols)}"


def fills_minus_fees(orders: Sequence[Order]) -> dict[str, Decimal]:
    """What the orders' fills moved, less their fees, per asset (what the journal's P&L must equal)."""
    moved: dict[str, Decimal] = defaultdict(Decimal)
    for order in orders:
        if order.filled and order.average is not None:
            base, quote = order.symbol.split("/")
            sign = 1 if order.side is Side.BUY else -1
            moved[base] += sign * order.filled
            moved[quote] -= sign * order.filled * order.average
        for fee in order.fees:
            moved[fee.currency] -= fee.cost
    return {asset: amount for asset, amount in moved.items() if amount}


def usd(amounts: Mapping[str, Decimal], prices_usd: Mapping[str, float]) -> tuple[Decimal, list[str]]:
    """The amounts' USD value at the reference prices, and the assets that have none."""
    total, unvalued = Decimal(0), []
    for asset, amount in amounts.items():
        price = prices_usd.get(asset)
        if price is None:
            unvalued.append(asset)
        else:
            total += amount * Decimal(repr(price))
    return total, sorted(unvalued)


def execution_line(
    platform: LocalPlatform, execution_id: str, record: RunRecord, prices_usd: Mapping[str, float]
) -> dict[str, Any]:
    journal = platform.journal
    execution = journal.get(execution_id)
    opportunity = execution.opportunity
    events = journal.events(execution_id)
    details: list[AnyEventDetail] = [d for e in events if (d := read_event(e.kind, e.detail)) is not None]
    intents: list[OrderIntent] = list(journal.intents(execution_id))
    orders = {i.client_order_id: journal.order(i.client_order_id) for i in intents}
    pnl = journal.pnl(execution_id)
    pnl = {asset: amount for asset, amount in pnl.items() if amount}

    def value(amounts: Mapping[str, Decimal]) -> Decimal | None:
        total, missing = usd(amounts, prices_usd)
        return None if missing else total

    outcome = outcome_of(execution, details, intents, orders, pnl, value)
    compensation = {i.client_order_id for i in compensation_intents(intents, len(opportunity.legs))}
    chain = journal.verify(execution_id)
    moved = fills_minus_fees([o for o in orders.values() if o is not None])
    pnl_usd, unvalued = usd(pnl, prices_usd)
    reconciled = [d for d in details if isinstance(d, Reconciled)]
    left_open = {a: amount for a, amount in reconciled[-1].exposure.items() if amount} if reconciled else {}
    venue_open = [
        cid for cid in orders if (order := _venue_order(platform, cid)) is not None and not order.status.is_final
    ]
    placed = [record.placed_at[i.client_order_id] for i in intents if i.client_order_id in record.placed_at]
    leg_placed = [
        record.placed_at[i.client_order_id]
        for i in intents
        if i.client_order_id in record.placed_at and i.client_order_id not in compensation
    ]
    line: dict[str, Any] = {
        "execution_id": execution_id,
        "kind": opportunity.kind.value,
        "route": route([leg.model_dump() for leg in opportunity.legs]),
        "detected_at_ms": opportunity.detected_at,
        "created_at_ms": execution.created_at,
        "ended_at_ms": execution.updated_at,
        "status": execution.status.value,
        "outcome": outcome.label,
        "reason": outcome.reason,
        "expected_profit": {"amount": _s(opportunity.expected_profit), "currency": opportunity.profit_currency},
        "legs": [
            {
                "venue": leg.venue,
                "symbol": leg.symbol,
                "side": leg.side.value,
                "amount": _s(leg.amount),
                "limit_price": _s(leg.limit_price),
            }
            for leg in opportunity.legs
        ],
        "orders": [_order_line(intent, orders[intent.client_order_id], compensation) for intent in intents],
        "pnl": {asset: _s(amount) for asset, amount in sorted(pnl.items())},
        "pnl_usd": _s(pnl_usd.quantize(Decimal("0.0001"))),
        "pnl_unvalued": unvalued,
        "fills_minus_fees": {asset: _s(amount) for asset, amount in sorted(moved.items())},
        "fees": _fees([o for o in orders.values() if o is not None]),
        "audit_chain": {
            "events": chain.events,
            "intact": chain.first_broken_link is None and not chain.truncated,
            "first_broken_link": chain.first_broken_link,
            "truncated": chain.truncated,
        },
        "left_open": {asset: _s(amount) for asset, amount in sorted(left_open.items())},
        "open_orders_at_venues": venue_open,
        "latency_ms": {
            "leg_skew": round((max(leg_placed) - min(leg_placed)) * 1000, 3) if len(leg_placed) > 1 else None,
            "placing": round((max(placed) - min(placed)) * 1000, 3) if placed else None,
        },
    }
    if execution.status.value == "incident":
        line["incident"] = incident_story(execution, events, details, left_open, venue_open, prices_usd)
    return line


def _venue_order(platform: LocalPlatform, client_order_id: str) -> Order | None:
    for venue in platform.venues.values():
        order = venue.orders.get(client_order_id)
        if order is not None:
            return order
    return None


def _order_line(intent: OrderIntent, order: Order | None, compensation: set[str]) -> dict[str, Any]:
    line: dict[str, Any] = {
        "client_order_id": intent.client_order_id,
        "role": "compensation" if intent.client_order_id in compensation else "leg",
        "slot": intent.slot,
        "attempt": intent.attempt,
        "venue": intent.venue,
        "symbol": intent.symbol,
        "side": intent.side.value,
        "amount": _s(intent.amount),
        "limit_price": _s(intent.limit_price),
        "status": order.status.value if order is not None else "never confirmed",
        "filled": _s(order.filled) if order is not None else "0",
        "average": _s(order.average) if order is not None and order.average is not None else None,
        "fees": [{"cost": _s(f.cost), "currency": f.currency} for f in order.fees] if order is not None else [],
    }
    return line


def _fees(orders: Sequence[Order]) -> dict[str, str]:
    total: dict[str, Decimal] = defaultdict(Decimal)
    for order in orders:
        for fee in order.fees:
            total[fee.currency] += fee.cost
    return {currency: _s(amount) for currency, amount in sorted(total.items()) if amount}


def _histogram(values: Sequence[float], bins: int = 12) -> dict[str, Any]:
    if not values:
        return {"count": 0, "p50": None, "p99": None, "max": None, "edges": [], "counts": []}
    ordered = sorted(values)
    low, high = ordered[0], ordered[-1]
    width = (high - low) / bins or 1.0
    counts = [0] * bins
    for value in ordered:
        counts[min(bins - 1, int((value - low) / width))] += 1
    return {
        "count": len(ordered),
        "p50": round(median(ordered), 3),
        "p99": round(ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))], 3),
        "max": round(high, 3),
        "edges": [round(low + i * width, 3) for i in range(bins + 1)],
        "counts": counts,
    }


def build_report(platform: LocalPlatform, record: RunRecord, prices_usd: Mapping[str, float]) -> dict[str, Any]:
    """``report.json``: the run, its executions (``executions.jsonl`` holds one line each), and what it shows."""
    executions = [execution_line(platform, name, record, prices_usd) for name in record.started]
    outcomes = Counter(line["outcome"] for line in executions)
    by_currency: dict[str, Decimal] = defaultdict(Decimal)
    for line in executions:
        for asset, amount in line["pnl"].items():
            by_currency[asset] += Decimal(amount)
    total_usd, unvalued = usd(by_currency, prices_usd)
    pnl_timeline: list[dict[str, Any]] = []
    running = Decimal(0)
    for line in sorted(executions, key=lambda item: (item["ended_at_ms"], item["execution_id"])):
        running += Decimal(line["pnl_usd"])
        pnl_timeline.append({"at_ms": line["ended_at_ms"], "cumulative_usd": _s(running.quantize(Decimal("0.0001")))})
    incidents = [line for line in executions if "incident" in line]
    venue_incidents = [
        {"at_ms": sweep["at_ms"], **incident}
        if isinstance(incident, dict)
        else {"at_ms": sweep["at_ms"], "id": incident}
        for sweep in record.sweeps
        for incident in sweep.get("venue_incidents", ())
    ]
    alarms = [
        {
            "alarm": history.alarm_id,
            "description": history.description,
            "fired": [
                {"at_ms": t.at_ms, "period_start_ms": t.period_start_ms, "reason": t.reason} for t in history.fired
            ],
        }
        for history in sorted(record.alarms.values(), key=lambda h: h.alarm_id)
    ]
    settings = record.settings
    scan_ms = [tick.scan_ms for tick in record.ticks]
    end_to_end = _end_to_end_ms(platform, record.started)
    refusals: Counter[str] = Counter(record.refusals)
    for code, count in record.saga_refusals.items():
        refusals[f"risk: {code}"] += count
    return {
        "version": REPORT_VERSION,
        "run": {
            "source": record.source,
            "seed": settings.simulation.seed,
            "venues": sorted(set(settings.scanner.universe)),
            "books_followed": sum(len(s) for s in settings.scanner.universe.values()),
            "shards": settings.scanner.shards,
            "fault_profile": {"name": record.profile.name, "description": record.profile.description},
            "post_trade_faults": record.post_trade,
            "added_latency_ms": record.added_latency_ms,
            "environment": settings.environment.value,
            "execution_settings": settings.execution.model_dump(mode="json"),
            "started_at_ms": record.start_ms,
            "ended_at_ms": record.end_ms,
            "simulated_s": (record.end_ms - record.start_ms) / 1000,
            "wall_s": round(record.wall_s, 3),
            "scanner_runs": [
                {k: result[k] for k in ("shard", "ran", "reason", "ticks", "updates", "started")}
                for result in record.scan_results
            ],
            "reconciler_sweeps": len(record.sweeps),
            "updates_processed": record.updates,
        },
        "summary": {
            "opportunities_started": len(executions),
            "outcomes": dict(sorted(outcomes.items())),
            "pnl": {asset: _s(amount) for asset, amount in sorted(by_currency.items()) if amount},
            "pnl_usd": _s(total_usd.quantize(Decimal("0.0001"))),
            "pnl_unvalued": unvalued,
            "incidents": len(incidents),
            "venue_incidents": len(venue_incidents),
            "alarms_fired": sorted(a["alarm"] for a in alarms if a["fired"]),
            "audit_chains_intact": all(line["audit_chain"]["intact"] for line in executions),
            "open_orders_at_venues": sorted(cid for line in executions for cid in line["open_orders_at_venues"]),
        },
        "pnl_timeline": pnl_timeline,
        "refusals": dict(sorted(refusals.items())),
        "latency_ms": {
            "scan": _histogram(scan_ms),
            "leg_skew": _histogram([v for line in executions if (v := line["latency_ms"]["leg_skew"]) is not None]),
            "end_to_end": _histogram(end_to_end),
            "tick_to_start": _histogram(record.tick_to_start_ms),
        },
        "book_age_ms": _book_ages(record.book_ages),
        "alarms": alarms,
        "incidents": [{"execution_id": line["execution_id"], **line["incident"]} for line in incidents],
        "venue_incidents": venue_incidents,
        "retraining": record.retraining,
        "executions": executions,
    }


def _end_to_end_ms(platform: LocalPlatform, names: Sequence[str]) -> list[float]:
    """Wall time from StartExecution to the execution's end, as Step Functions recorded it."""
    client = platform.aws.stepfunctions
    prefix = platform.state_machine_arn.replace(":stateMachine:", ":execution:")
    found = []
    for name in names:
        described = client.describe_execution(executionArn=f"{prefix}:{name}")
        if "stopDate" in described:
            found.append((described["stopDate"] - described["startDate"]).total_seconds() * 1000)
    return found


def _book_ages(samples: Sequence[tuple[int, str, float, float]]) -> dict[str, Any]:
    by_venue: dict[str, list[tuple[int, float, float]]] = defaultdict(list)
    for at_ms, venue, p50, p99 in samples:
        by_venue[venue].append((at_ms, p50, p99))
    return {
        venue: {
            "p50_median": round(median(p50 for _, p50, _ in points), 1),
            "p99_max": round(max(p99 for _, _, p99 in points), 1),
            "series": [[at, round(p50, 1), round(p99, 1)] for at, p50, p99 in points],
        }
        for venue, points in sorted(by_venue.items())
    }


def deterministic_view(report: Mapping[str, Any]) -> dict[str, Any]:
    """The report less what is measured in wall time (latencies, the run's and the training's durations): what
    two runs of the same input and seed must agree on."""
    run = {k: v for k, v in report["run"].items() if k != "wall_s"}
    executions = [{k: v for k, v in line.items() if k != "latency_ms"} for line in report["executions"]]
    retraining = {k: v for k, v in report["retraining"].items() if k != "training_s"}
    kept = {k: v for k, v in report.items() if k not in ("run", "latency_ms", "executions", "retraining")}
    return {**kept, "run": run, "executions": executions, "retraining": retraining}
