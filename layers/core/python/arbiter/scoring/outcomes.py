"""What recently ended executions say about each venue and route, as the scanner knows it when it decides (the
features ``venue_*_rate`` and ``route_recent_*``), and how one ended execution is labelled for training."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal

from arbiter.models import Execution, ExecutionStatus, Opportunity, Order, OrderIntent, OrderStatus

Route = frozenset[tuple[str, str, str]]
ENDED = (ExecutionStatus.SETTLED, ExecutionStatus.COMPENSATED, ExecutionStatus.INCIDENT)
OUTCOME_LABELS: Mapping[ExecutionStatus, str] = {
    ExecutionStatus.SETTLED: "completed",
    ExecutionStatus.COMPENSATED: "compensated",
    ExecutionStatus.INCIDENT: "incident",
}


def route_of(opportunity: Opportunity) -> Route:
    return frozenset((leg.venue, leg.symbol, leg.side.value) for leg in opportunity.legs)


def outcome_label(execution: Execution) -> str | None:
    """completed, compensated or incident; None for an execution that did not end (or was refused: nothing was
    traded, so it says nothing about what trading it would have earned)."""
    return OUTCOME_LABELS.get(execution.status)


def realised_usd(pnl: Mapping[str, Decimal], rate: Callable[[str], float | None]) -> float | None:
    """The realised P&L in USD; None when an asset of it has no USD rate."""
    total = 0.0
    for asset, amount in pnl.items():
        if not amount:
            continue
        value = rate(asset)
        if value is None:
            return None
        total += float(amount) * value
    return total


@dataclass
class _Counts:
    executions: int = 0
    compensated: int = 0
    orders: int = 0
    rejected: int = 0
    partial: int = 0


@dataclass
class _RouteCounts:
    executions: int = 0
    completed: int = 0
    pnl_usd: float = 0.0


@dataclass(frozen=True)
class VenueStats:
    executions: int
    failure_rate: float
    """Orders the venue rejected, of the orders sent to it."""
    compensation_rate: float
    """Executions with a leg on the venue that ended compensated or in an incident."""
    partial_rate: float
    """Orders that ended partly filled, of the orders sent to it."""


@dataclass(frozen=True)
class RouteStats:
    executions: int
    completed_rate: float
    mean_pnl_usd: float


NO_VENUE_HISTORY = VenueStats(0, 0.0, 0.0, 0.0)
NO_ROUTE_HISTORY = RouteStats(0, 0.0, 0.0)


@dataclass
class OutcomeStats:
    venues: dict[str, VenueStats] = field(default_factory=dict)
    routes: dict[Route, RouteStats] = field(default_factory=dict)

    def venue(self, venue: str) -> VenueStats:
        return self.venues.get(venue, NO_VENUE_HISTORY)

    def route(self, route: Route) -> RouteStats:
        return self.routes.get(route, NO_ROUTE_HISTORY)


class EndedOrders:
    """The orders an ended execution sent (journal reads, cached: an ended execution's orders are final)."""

    def __init__(self, intents: Callable[[str], Sequence[OrderIntent]], order: Callable[[str], Order | None]) -> None:
        self._intents, self._order = intents, order
        self._cache: dict[str, tuple[Order, ...]] = {}

    def __call__(self, execution: Execution) -> Sequence[Order]:
        found = self._cache.get(execution.execution_id)
        if found is None:
            orders = (self._order(i.client_order_id) for i in self._intents(execution.execution_id))
            found = self._cache[execution.execution_id] = tuple(o for o in orders if o is not None)
        return found

    def forget_all_but(self, execution_ids: Iterable[str]) -> None:
        keep = set(execution_ids)
        self._cache = {k: v for k, v in self._cache.items() if k in keep}


def outcome_stats(
    executions: Iterable[Execution],
    pnl_usd: Callable[[Execution], float | None] | None = None,
    orders_of: Callable[[Execution], Sequence[Order]] | None = None,
) -> OutcomeStats:
    """Rates over the given executions that ended (refused and running ones are left out); ``orders_of``: the
    orders each sent (default: those on its record)."""
    venues: dict[str, _Counts] = defaultdict(_Counts)
    routes: dict[Route, _RouteCounts] = defaultdict(_RouteCounts)
    for execution in executions:
        label = outcome_label(execution)
        if label is None:
            continue
        for venue in {leg.venue for leg in execution.opportunity.legs}:
            counts = venues[venue]
            counts.executions += 1
            counts.compensated += label != "completed"
        for order in orders_of(execution) if orders_of is not None else execution.orders:
            counts = venues[order.venue]
            counts.orders += 1
            counts.rejected += order.status is OrderStatus.REJECTED
            counts.partial += order.status is not OrderStatus.REJECTED and 0 < order.filled < order.amount
        route = routes[route_of(execution.opportunity)]
        route.executions += 1
        route.completed += label == "completed"
        value = pnl_usd(execution) if pnl_usd is not None else None
        route.pnl_usd += value or 0.0
    return OutcomeStats(
        venues={
            venue: VenueStats(
                executions=c.executions,
                failure_rate=c.rejected / c.orders if c.orders else 0.0,
                compensation_rate=c.compensated / c.executions if c.executions else 0.0,
                partial_rate=c.partial / c.orders if c.orders else 0.0,
            )
            for venue, c in venues.items()
        },
        routes={
            route: RouteStats(r.executions, r.completed / r.executions, r.pnl_usd / r.executions)
            for route, r in routes.items()
        },
    )
