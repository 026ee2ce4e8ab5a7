"""The risk engine: the one place that decides whether an execution may start. Prepare asks it once
(``RiskEngine.assess``) and records its ``Decision``. Each refusal is a reason code with a detail
(``code: detail``), recorded on the execution and counted through the ``RefusalMetrics`` port (Powertools
metrics in the handlers). A breach of the daily loss limit or an open venue breaker also engages the kill
switch.

Order of the rules: the gates first (kill switch, open breakers, legs the markets would refuse), and a gate
that refuses ends the assessment, since nothing else can be judged safely; then every limit that needs no
venue call, all of them, so a refusal names each rule it broke; balances last, fetched only for an
opportunity that passed everything else, so a refused one costs no venue call."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal

from arbiter.markets import USD_STABLE, UsdValue, round_amount
from arbiter.models import Balances, Execution, Leg, Market, Opportunity, Side
from arbiter.models.risk import RiskLimits
from arbiter.models.symbols import base_and_quote
from arbiter.models.time import utc_day
from arbiter.risk.balances import StaleBalancesError
from arbiter.risk.ports import ActiveExecutions, BreakerView, DailyPnl, KillSwitch, RefusalMetrics
from arbiter.settings import ExecutionSettings


@dataclass
class CountingMetrics:
    counts: dict[str, int] = field(default_factory=lambda: defaultdict(int))

    def refused(self, code: str) -> None:
        self.counts[code] += 1


@dataclass(frozen=True)
class Refusal:
    code: str
    detail: str = ""

    def __str__(self) -> str:
        return f"{self.code}: {self.detail}" if self.detail else self.code


@dataclass(frozen=True)
class Decision:
    refusals: tuple[Refusal, ...] = ()

    @property
    def accepted(self) -> bool:
        return not self.refusals

    @property
    def codes(self) -> tuple[str, ...]:
        return tuple(r.code for r in self.refusals)

    @property
    def reason(self) -> str | None:
        """Every refusal, the first one first (``code: detail; code: detail``); None when accepted."""
        return "; ".join(str(r) for r in self.refusals) or None


@dataclass
class PortfolioLimits:
    """The configured limits, and the state of the platform they are measured against."""

    limits: Callable[[], RiskLimits]
    """The limits in force (read from the versioned configuration store on each assessment)."""
    executions: ActiveExecutions
    pnl: DailyPnl
    usd_value: UsdValue


def spend(leg: Leg, market: Market) -> tuple[str, Decimal]:
    """The asset and amount a leg consumes: quote plus the taker fee for a buy, base for a sell."""
    base, quote = base_and_quote(leg.symbol)
    if leg.side is Side.BUY:
        return quote, leg.amount * leg.limit_price * (1 + market.taker_fee)
    return base, leg.amount


@dataclass
class RiskEngine:
    kill_switch: KillSwitch
    settings: ExecutionSettings
    """Quote age, balance age and the balance reserve (start-up settings)."""
    metrics: RefusalMetrics = field(default_factory=CountingMetrics)
    portfolio: PortfolioLimits | None = None
    """Without it only the gates, quote age and balances are checked (no USD valuation to measure limits)."""
    breakers: BreakerView | None = None

    def assess(
        self,
        opportunity: Opportunity,
        now_ms: int,
        *,
        markets: Mapping[tuple[str, str], Market],
        connected: Collection[str],
        balances: Callable[[str], Balances],
    ) -> Decision:
        """``balances(venue)`` may raise: ``StaleBalancesError`` or any failure to read them refuses."""
        refusals = self._gates(opportunity, now_ms, markets, connected)
        if not refusals:
            refusals = self._limits(opportunity, now_ms)
        if not refusals:
            refusals = self._balances(opportunity, now_ms, markets, balances)
        for refusal in refusals:
            self.metrics.refused(refusal.code)
        return Decision(tuple(refusals))

    # -- gates --------------------------------------------------------------------------------------------
    def _gates(
        self,
        opportunity: Opportunity,
        now_ms: int,
        markets: Mapping[tuple[str, str], Market],
        connected: Collection[str],
    ) -> list[Refusal]:
        if self.kill_switch.is_engaged():
            return [Refusal("kill_switch_engaged")]
        refusals: list[Refusal] = []
        for venue in sorted({leg.venue for leg in opportunity.legs}):
            if self.breakers is not None and self.breakers.is_open(venue):
                self.kill_switch.engage(f"circuit breaker open on {venue}", now_ms)
                refusals.append(Refusal("venue_breaker_open", venue))
        for index, leg in enumerate(opportunity.legs):
            problem = _leg_problem(leg, markets, connected)
            if problem is not None:
                refusals.append(Refusal("invalid_leg", f"legs[{index}] {problem}"))
        return refusals

    # -- limits that need no venue call -------------------------------------------------------------------
    def _limits(self, opportunity: Opportunity, now_ms: int) -> list[Refusal]:
        refusals: list[Refusal] = []
        age, max_age = opportunity.quote_age_ms(now_ms), self.settings.max_quote_age_ms
        if age > max_age:
            refusals.append(Refusal("stale_quote", f"{age} ms old, limit {max_age} ms"))
        if self.portfolio is None:
            return refusals
        limits, usd_value = self.portfolio.limits(), self.portfolio.usd_value

        loss, unvalued_losses = daily_loss_usd(self.portfolio.pnl.realised(utc_day(now_ms)), usd_value)
        if unvalued_losses:
            refusals.append(Refusal("unknown_usd_value", f"today's losses in {', '.join(unvalued_losses)}"))
        if loss >= limits.daily_loss_limit:
            self.kill_switch.engage(f"daily loss {loss:.2f} USD reached the limit {limits.daily_loss_limit}", now_ms)
            refusals.append(Refusal("daily_loss_limit", f"lost {loss:.2f} USD today, limit {limits.daily_loss_limit}"))

        active = self.portfolio.executions.active_executions()
        if len(active) >= limits.max_concurrent_executions:
            refusals.append(
                Refusal("max_concurrent_executions", f"{len(active)} running, limit {limits.max_concurrent_executions}")
            )

        notional = _leg_notionals(opportunity, usd_value)
        if notional is None:
            refusals.append(Refusal("unknown_usd_value", "cannot value every leg in USD"))
        else:
            largest = max(notional.values())
            if largest > limits.max_notional_per_execution:
                refusals.append(
                    Refusal(
                        "max_notional_per_execution", f"{largest:.2f} USD, limit {limits.max_notional_per_execution}"
                    )
                )
            running = _venue_notionals(active, usd_value)
            if running is None:
                refusals.append(Refusal("unknown_usd_value", "cannot value every running execution in USD"))
                running = {}
            for venue in sorted({venue for venue, _ in notional}):
                total = running.get(venue, Decimal(0)) + sum(
                    (v for (leg_venue, _), v in notional.items() if leg_venue == venue), Decimal(0)
                )
                if total > limits.max_notional_per_venue:
                    refusals.append(
                        Refusal(
                            "max_notional_per_venue", f"{venue} {total:.2f} USD, limit {limits.max_notional_per_venue}"
                        )
                    )
            refusals += _profit_refusals(opportunity, limits, usd_value, largest)

        exposure = _worst_exposure([*(e.opportunity for e in active), opportunity])
        for asset, cap in sorted(limits.max_asset_exposure.items()):
            if exposure.get(asset, Decimal(0)) > cap:
                refusals.append(
                    Refusal("max_asset_exposure", f"{exposure[asset]} {asset} at risk with this execution, limit {cap}")
                )
        return refusals

    # -- balances -----------------------------------------------------------------------------------------
    def _balances(
        self,
        opportunity: Opportunity,
        now_ms: int,
        markets: Mapping[tuple[str, str], Market],
        balances: Callable[[str], Balances],
    ) -> list[Refusal]:
        fetched: dict[str, Balances] = {}
        for venue in dict.fromkeys(leg.venue for leg in opportunity.legs):
            try:
                found = balances(venue)
            except StaleBalancesError as error:
                return [Refusal("stale_balances", str(error))]
            except Exception as error:  # noqa: BLE001 - any failure to read balances refuses the trade
                return [Refusal("balances_unavailable", f"{venue}: {type(error).__name__}")]
            age, max_age = found.age_ms(now_ms), self.settings.max_balance_age_ms
            if age > max_age:
                return [Refusal("stale_balances", f"{venue} balances are {age} ms old, limit {max_age} ms")]
            fetched[venue] = found
        needed: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
        for leg in opportunity.legs:
            asset, amount = spend(leg, markets[(leg.venue, leg.symbol)])
            needed[(leg.venue, asset)] += amount
        usable = 1 - self.settings.balance_reserve
        refusals: list[Refusal] = []
        for (venue, asset), amount in sorted(needed.items()):
            available = fetched[venue].free(asset) * usable
            if available < amount:
                refusals.append(Refusal("insufficient_balance", f"{venue} {asset} needs {amount}, has {available}"))
        return refusals


def _leg_problem(leg: Leg, markets: Mapping[tuple[str, str], Market], connected: Collection[str]) -> str | None:
    if leg.venue not in connected:
        return f"venue {leg.venue} is not connected"
    market = markets.get((leg.venue, leg.symbol))
    if market is None:
        return f"unknown market {leg.venue} {leg.symbol}"
    if round_amount(market, leg.amount) != leg.amount:
        return f"amount {leg.amount} is not on the market's precision"
    if market.min_amount is not None and leg.amount < market.min_amount:
        return f"amount {leg.amount} below minimum {market.min_amount}"
    if market.min_cost is not None and leg.amount * leg.limit_price < market.min_cost:
        return f"cost below minimum {market.min_cost}"
    return None


def daily_loss_usd(realised: Mapping[str, Decimal], usd_value: UsdValue) -> tuple[Decimal, list[str]]:
    """Today's realised loss in USD (negative: a gain) and the currencies of losses that could not be valued.
    A loss that cannot be valued must not vanish from the total (that is when a venue is failing): the caller
    refuses. A gain that cannot be valued is left out, which only makes the total look worse."""
    rates = {currency: usd_rate(currency, usd_value) for currency in realised}
    unvalued_losses = sorted(c for c, amount in realised.items() if amount < 0 and rates[c] is None)
    loss = -sum((amount * rate for c, amount in realised.items() if (rate := rates[c])), Decimal(0))
    return loss, unvalued_losses


def usd_rate(asset: str, usd_value: UsdValue) -> Decimal | None:
    return usd_value(asset) or (Decimal(1) if asset in USD_STABLE else None)


def _leg_notionals(opportunity: Opportunity, usd_value: UsdValue) -> dict[tuple[str, int], Decimal] | None:
    values: dict[tuple[str, int], Decimal] = {}
    for index, leg in enumerate(opportunity.legs):
        rate = usd_value(base_and_quote(leg.symbol)[1])
        if rate is None:
            return None
        values[(leg.venue, index)] = leg.amount * leg.limit_price * rate
    return values


def _venue_notionals(active: Sequence[Execution], usd_value: UsdValue) -> dict[str, Decimal] | None:
    """Per venue, the USD notional of the running executions; None when one of them cannot be valued (counting
    it as zero would let the per-venue limit pass exactly when a venue's prices are unreachable)."""
    totals: dict[str, Decimal] = defaultdict(Decimal)
    for execution in active:
        notional = _leg_notionals(execution.opportunity, usd_value)
        if notional is None:
            return None
        for (venue, _), value in notional.items():
            totals[venue] += value
    return totals


def _worst_exposure(opportunities: Sequence[Opportunity]) -> dict[str, Decimal]:
    """Per base asset, what the executions could leave behind if one leg of each filled and the rest did not:
    the largest leg in that asset, summed over the executions."""
    totals: dict[str, Decimal] = defaultdict(Decimal)
    for opportunity in opportunities:
        largest: dict[str, Decimal] = defaultdict(Decimal)
        for leg in opportunity.legs:
            base = base_and_quote(leg.symbol)[0]
            largest[base] = max(largest[base], leg.amount)
        for asset, amount in largest.items():
            totals[asset] += amount
    return totals


def _profit_refusals(
    opportunity: Opportunity, limits: RiskLimits, usd_value: UsdValue, largest: Decimal
) -> list[Refusal]:
    rate = usd_value(opportunity.profit_currency)
    if rate is None:
        return [Refusal("unknown_usd_value", opportunity.profit_currency)]
    profit_usd = opportunity.expected_profit * rate
    refusals: list[Refusal] = []
    if profit_usd < limits.min_profit_abs:
        refusals.append(Refusal("min_profit_abs", f"{profit_usd:.4f} USD, minimum {limits.min_profit_abs}"))
    bps = profit_usd / largest * 10_000
    if bps < limits.min_profit_bps:
        refusals.append(Refusal("min_profit_bps", f"{bps:.2f} bps, minimum {limits.min_profit_bps}"))
    return refusals
