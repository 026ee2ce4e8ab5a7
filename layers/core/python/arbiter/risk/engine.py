"""The risk engine: the limits an execution must pass in Prepare, after the structural checks (kill switch,
legs, quote age, balances). Each refusal is a reason code (``code: detail``), recorded on the execution and
counted as a metric; a breach of the daily loss limit or an open venue breaker also engages the kill switch."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Protocol

from arbiter.execution.exposure import base_and_quote
from arbiter.markets import USD_STABLE, UsdValue
from arbiter.models import Balances, Execution, Opportunity
from arbiter.models.risk import RiskLimits


class ActiveExecutions(Protocol):
    def active_executions(self) -> Sequence[Execution]: ...


class DailyPnl(Protocol):
    def realised(self, day: str) -> Mapping[str, Decimal]: ...


class BreakerView(Protocol):
    def is_open(self, venue: str) -> bool: ...


class KillSwitchControl(Protocol):
    def engage(self, reason: str, at_ms: int) -> None: ...


class RefusalMetrics(Protocol):
    def refused(self, code: str) -> None: ...


@dataclass
class CountingMetrics:
    counts: dict[str, int] = field(default_factory=lambda: defaultdict(int))

    def refused(self, code: str) -> None:
        self.counts[code] += 1


def utc_day(at_ms: int) -> str:
    return datetime.fromtimestamp(at_ms / 1000, tz=UTC).strftime("%Y-%m-%d")


@dataclass
class RiskEngine:
    limits: Callable[[], RiskLimits]
    """The limits in force (read from the versioned configuration store on each check)."""
    executions: ActiveExecutions
    pnl: DailyPnl
    kill_switch: KillSwitchControl
    usd_value: UsdValue
    metrics: RefusalMetrics
    breakers: BreakerView | None = None

    def refusal(self, opportunity: Opportunity, balances: Mapping[str, Balances], now_ms: int) -> str | None:
        reason = self._first_breach(opportunity, now_ms)
        if reason is not None:
            self.metrics.refused(reason.split(":", 1)[0])
        return reason

    def _first_breach(self, opportunity: Opportunity, now_ms: int) -> str | None:
        limits = self.limits()
        venues = sorted({leg.venue for leg in opportunity.legs})
        if self.breakers is not None:
            for venue in venues:
                if self.breakers.is_open(venue):
                    self.kill_switch.engage(f"circuit breaker open on {venue}", now_ms)
                    return f"venue_breaker_open: {venue}"
        loss = -sum(
            (amount for currency, amount in self.pnl.realised(utc_day(now_ms)).items() if currency in USD_STABLE),
            Decimal(0),
        )
        if loss >= limits.daily_loss_limit:
            self.kill_switch.engage(f"daily loss {loss} reached the limit {limits.daily_loss_limit}", now_ms)
            return f"daily_loss_limit: lost {loss} today, limit {limits.daily_loss_limit}"
        active = self.executions.active_executions()
        if len(active) >= limits.max_concurrent_executions:
            return f"max_concurrent_executions: {len(active)} running, limit {limits.max_concurrent_executions}"

        notional = self._leg_notionals(opportunity)
        if notional is None:
            return "unknown_usd_value: cannot value every leg in USD"
        largest = max(notional.values())
        if largest > limits.max_notional_per_execution:
            return f"max_notional_per_execution: {largest:.2f} USD, limit {limits.max_notional_per_execution}"
        running = defaultdict(Decimal, self._venue_notionals(active))
        for venue in venues:
            total = running[venue] + sum(
                (v for (leg_venue, _), v in notional.items() if leg_venue == venue), Decimal(0)
            )
            if total > limits.max_notional_per_venue:
                return f"max_notional_per_venue: {venue} {total:.2f} USD, limit {limits.max_notional_per_venue}"

        for leg in opportunity.legs:  # the worst a failed leg can leave behind
            base = base_and_quote(leg.symbol)[0]
            cap = limits.max_asset_exposure.get(base)
            if cap is not None and leg.amount > cap:
                return f"max_asset_exposure: {leg.amount} {base} in one leg, limit {cap}"

        profit_usd_rate = self.usd_value(opportunity.profit_currency)
        if profit_usd_rate is None:
            return f"unknown_usd_value: {opportunity.profit_currency}"
        profit_usd = opportunity.expected_profit * profit_usd_rate
        if profit_usd < limits.min_profit_abs:
            return f"min_profit_abs: {profit_usd:.4f} USD, minimum {limits.min_profit_abs}"
        bps = profit_usd / largest * 10_000
        if bps < limits.min_profit_bps:
            return f"min_profit_bps: {bps:.2f} bps, minimum {limits.min_profit_bps}"
        return None

    def _leg_notionals(self, opportunity: Opportunity) -> dict[tuple[str, int], Decimal] | None:
        values: dict[tuple[str, int], Decimal] = {}
        for index, leg in enumerate(opportunity.legs):
            rate = self.usd_value(base_and_quote(leg.symbol)[1])
            if rate is None:
                return None
            values[(leg.venue, index)] = leg.amount * leg.limit_price * rate
        return values

    def _venue_notionals(self, active: Sequence[Execution]) -> dict[str, Decimal]:
        totals: dict[str, Decimal] = defaultdict(Decimal)
        for execution in active:
            for (venue, _), value in (self._leg_notionals(execution.opportunity) or {}).items():
                totals[venue] += value
        return totals
