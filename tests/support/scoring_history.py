"""A recorded history for the retraining's tests, written through the journal's and the opportunity store's own
APIs (fast: no saga runs): ended executions whose outcome follows a rule on the stored features, as the
simulated venues' do in the benchmark. Opportunities on the flaky venue ``beta`` that take much of the book are
compensated at a loss; the rest complete with their expected profit."""

from __future__ import annotations

import random
from collections.abc import Callable
from decimal import Decimal

from arbiter.models import (
    CompensationStrategy,
    Execution,
    ExecutionStatus,
    Leg,
    Opportunity,
    OpportunityKind,
    QuoteStamp,
    Side,
)
from arbiter.storage.journal import DynamoExecutionJournal
from arbiter.storage.opportunities import OpportunityStore

START_MS = 1_767_225_600_000
STEP_MS = 1_000


def features_for(i: int, rng: random.Random) -> dict[str, float]:
    flaky = rng.random() < 0.45
    return {
        "expected_profit_usd": round(rng.uniform(0.5, 6.0), 4),
        "expected_profit_bps": round(rng.uniform(3, 40), 3),
        "leg0_venue_failure_rate": round(rng.uniform(0.15, 0.3) if flaky else rng.uniform(0.0, 0.05), 4),
        "leg0_depth_share": round(rng.uniform(0.0, 1.0), 4),
        "leg0_spread_bps": round(rng.uniform(1, 8), 3),
        "decided_hour_utc": float((i // 3600) % 24),
        "ref_usd_USDT": 1.0,
    }


def default_rule(features: dict[str, float], rng: random.Random) -> tuple[ExecutionStatus, float]:
    losing = features["leg0_venue_failure_rate"] > 0.1 and features["leg0_depth_share"] > 0.3
    if losing or rng.random() < 0.05:
        return ExecutionStatus.COMPENSATED, -round(rng.uniform(2.0, 6.0), 4)
    return ExecutionStatus.SETTLED, features["expected_profit_usd"]


def opportunity(i: int, at_ms: int, venue: str) -> Opportunity:
    legs = (
        Leg(
            venue="alpha",
            symbol="SOL/USDT",
            side=Side.BUY,
            amount=Decimal(1) + Decimal(i) / 1000,
            limit_price=Decimal(150),
        ),
        Leg(
            venue=venue,
            symbol="SOL/USDT",
            side=Side.SELL,
            amount=Decimal(1) + Decimal(i) / 1000,
            limit_price=Decimal(152),
        ),
    )
    quotes = tuple(QuoteStamp(venue=v, symbol="SOL/USDT", timestamp=at_ms) for v in dict.fromkeys(["alpha", venue]))
    return Opportunity(
        kind=OpportunityKind.CROSS_VENUE,
        legs=legs,
        expected_profit=Decimal(1),
        profit_currency="USDT",
        quotes=quotes,
        detected_at=at_ms,
    )


def write_history(
    journal: DynamoExecutionJournal,
    opportunities: OpportunityStore,
    count: int,
    *,
    seed: int = 3,
    start_ms: int = START_MS,
    rule: Callable[[dict[str, float], random.Random], tuple[ExecutionStatus, float]] = default_rule,
    edit: Callable[[int, dict[str, float]], dict[str, float]] | None = None,
) -> int:
    """``count`` ended executions, one a second from ``start_ms``; returns the time of the last one."""
    rng = random.Random(seed)
    at = start_ms
    for i in range(count):
        at = start_ms + i * STEP_MS
        features = features_for(i, rng)
        status, pnl = rule(features, rng)
        venue = "beta" if features["leg0_venue_failure_rate"] > 0.1 else "gamma"
        opp = opportunity(i, at, venue)
        stored = edit(i, features) if edit is not None else features
        opportunities.put(opp, stored)
        execution = Execution(execution_id=opp.id, opportunity=opp, created_at=at, updated_at=at)
        journal.create(execution)
        journal.set_status(opp.id, ExecutionStatus.PLACING, at)
        if status is ExecutionStatus.COMPENSATED:
            journal.set_status(opp.id, ExecutionStatus.COMPENSATING, at + 1)
            journal.set_status(opp.id, status, at + 2, strategy=CompensationStrategy.UNWIND)
        else:
            journal.set_status(opp.id, status, at + 2)
        journal.record_pnl(opp.id, {"USDT": Decimal(str(pnl))}, at + 2)
    return at
