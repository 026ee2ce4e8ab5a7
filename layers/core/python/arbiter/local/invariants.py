"""The design's money-safety invariants 1-4, 7 and 8, checked from the venues' and the store's own state."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal

from arbiter.execution.compensation import CompensationInputs, exposure_tolerance, plan_compensation
from arbiter.execution.exposure import net_exposure, residual_exposure
from arbiter.local.platform import ExecutionOutcome, LocalPlatform
from arbiter.models import ExecutionStatus, Opportunity, Order, OrderIntent
from arbiter.models.events import IncidentRaised, StatusChanged, read_event
from arbiter.storage.audit import verify_chain

TERMINAL = {ExecutionStatus.SETTLED, ExecutionStatus.COMPENSATED, ExecutionStatus.REFUSED, ExecutionStatus.INCIDENT}


@dataclass(frozen=True)
class InvariantReport:
    violations: tuple[str, ...]
    residual: dict[str, str]
    open_orders: int
    held_residual: dict[str, str] = field(default_factory=dict)
    """What the venues' balances hold beyond tolerance, however the saga ended."""
    protected: bool = False
    """An incident exists, an alert was published and the kill switch is on."""
    incident: bool = False
    """The saga or the reconciler raised an incident for this execution."""
    avoidable: bool = False
    """An incident although every order ended final, every venue answers again, the venues hold nothing their
    orders do not show, and a flattening within the slippage cap existed on the final books (an order that cannot
    be cancelled, a venue down for good, or an order the venue executed twice out of sight, leaves nothing a saga
    could have done: people must look)."""


def check_invariants(
    platform: LocalPlatform,
    opportunity: Opportunity,
    outcome: ExecutionOutcome,
    alerts: list[dict[str, object]],
    sweeps: Sequence[Mapping[str, object]] = (),
) -> InvariantReport:
    """``sweeps``: the reconciler's runs after the execution; an incident one of them raised protects too."""
    journal, execution_id = platform.journal, outcome.execution_id
    violations: list[str] = []
    intents = {i.client_order_id: i for i in journal.intents(execution_id)}
    events = journal.events(execution_id)
    details = [(event.sequence, read_event(event.kind, event.detail)) for event in events]
    first_seen: dict[tuple[type, str], int] = {}
    for sequence, detail in details:
        if isinstance(detail, OrderIntent | Order):
            first_seen.setdefault((type(detail), str(detail.client_order_id)), sequence)

    venue_orders: list[Order] = []
    for venue in platform.venues.values():
        for cid in venue.placements:
            if cid not in intents:  # invariant 1: nothing is sent that was not recorded first
                violations.append(f"1: {venue.venue} received {cid} with no recorded intent")
        if venue.duplicate_submissions:  # invariant 2
            violations.append(
                f"2: {venue.venue} got clientOrderIds again after accepting them: {venue.duplicate_submissions}"
            )
        venue_orders.extend(o for cid, o in venue.orders.items() if cid in intents)
    for order in venue_orders:
        cid = str(order.client_order_id)
        intent_at, state_at = first_seen.get((OrderIntent, cid)), first_seen.get((Order, cid))
        if intent_at is None or (state_at is not None and state_at < intent_at):
            violations.append(f"1: {cid} reached the audit trail before its intent was recorded")
    if len({o.client_order_id for o in venue_orders}) != len(venue_orders):
        violations.append("2: one clientOrderId became two orders")

    record = journal.get(execution_id)
    if record.status not in TERMINAL:  # invariant 3: a terminal state ...
        violations.append(f"3: execution ended in non-terminal status {record.status}")
    open_orders = [o for o in venue_orders if not o.status.is_final]
    swept = any(s.get("venue_incidents") or s.get("execution_incidents") for s in sweeps)
    incident = record.status is ExecutionStatus.INCIDENT or swept
    protected = incident and platform.kill_switch.is_engaged() and bool(alerts)
    if open_orders and not protected:  # ... with zero open orders, or an incident people were told about
        violations.append(f"3: {len(open_orders)} open order(s) left without incident/alert/kill switch")

    exposure = net_exposure(venue_orders)  # invariant 4, from the venues' fills
    tolerance = exposure_tolerance(
        opportunity, platform.markets, platform.settings.exposure_tolerance, platform.usd_value
    )
    residual = residual_exposure(exposure, opportunity, tolerance)
    saga_closed = outcome.record.status in {ExecutionStatus.SETTLED, ExecutionStatus.COMPENSATED}
    if residual and saga_closed:  # invariant 8: no single read closes an execution the venues' orders contradict
        violations.append(f"8: the saga closed as {outcome.record.status} while the venues' orders hold {residual}")
    if residual and not protected:
        violations.append(f"4: residual exposure {residual} without incident/alert/kill switch")
    # ... and from what the venues hold: an order executed twice under one clientOrderId is invisible above.
    moved = balance_change(platform)
    held = residual_exposure(moved, opportunity, tolerance)
    # What the balances show beyond the orders (a hidden twin): only people can resolve it, so an incident is due.
    unseen = {a: moved.get(a, Decimal(0)) - exposure.get(a, Decimal(0)) for a in {*moved, *exposure}}
    hidden = residual_exposure(unseen, opportunity, tolerance)
    if held and not protected:
        violations.append(f"4: the venues' balances moved by {held} without incident/alert/kill switch")
        residual = residual or held

    chain = verify_chain(events, journal.head(execution_id))  # invariant 7: a complete, unbroken audit trail
    if chain.first_broken_link is not None:
        violations.append(f"7: audit chain broken at event {chain.first_broken_link}")
    if chain.truncated or chain.head_sequence is None:
        violations.append(f"7: audit trail of {chain.events} event(s) does not reach its head {chain.head_sequence}")
    unverified = {cid for _, d in details if isinstance(d, IncidentRaised) for cid in d.unverified_orders}
    for order in venue_orders:
        assert order.client_order_id is not None
        if journal.order(order.client_order_id) != order and order.client_order_id not in unverified:
            violations.append(f"7: the journal's last state of {order.client_order_id} differs from the venue's")
    if not any(isinstance(d, StatusChanged) and d.to is record.status for _, d in details):
        violations.append(f"7: no audit event for the final status {record.status}")
    return InvariantReport(
        violations=tuple(violations),
        residual={a: str(v) for a, v in residual.items()},
        open_orders=len(open_orders),
        held_residual={a: str(v) for a, v in held.items()},
        protected=protected,
        incident=incident,
        avoidable=incident
        and not open_orders
        and not hidden
        and _reachable(platform)
        and _flattening_existed(platform, opportunity, venue_orders),
    )


def balance_change(platform: LocalPlatform) -> dict[str, Decimal]:
    """What every venue holds now (free and in orders) less what it opened with, per asset, over all venues."""
    change: dict[str, Decimal] = defaultdict(Decimal)
    for venue in platform.venues.values():
        account = venue.ledger.account(venue.opening)
        for asset in {*account.free, *account.used, *venue.opening}:
            held = account.free.get(asset, Decimal(0)) + account.used.get(asset, Decimal(0))
            change[asset] += held - venue.opening.get(asset, Decimal(0))
    return {asset: amount for asset, amount in change.items() if amount}


def _flattening_existed(platform: LocalPlatform, opportunity: Opportunity, orders: Sequence[Order]) -> bool:
    """Could the position the venues hold have been flattened within the slippage cap on the final books?"""
    exposure = net_exposure(orders)
    tolerance = exposure_tolerance(
        opportunity, platform.markets, platform.settings.exposure_tolerance, platform.usd_value
    )
    if not residual_exposure(exposure, opportunity, tolerance):
        return False  # nothing to flatten: the incident was about something else (an order still open, say)
    leg_fills = [
        sum((o.filled for o in orders if _leg_of(o, opportunity) == slot), Decimal(0))
        for slot in range(len(opportunity.legs))
    ]
    books = {(leg.venue, leg.symbol): platform.books(leg.venue, leg.symbol) for leg in opportunity.legs}
    plan = plan_compensation(
        CompensationInputs(
            opportunity=opportunity,
            leg_fills=leg_fills,
            exposure=exposure,
            books=books,
            markets=platform.markets,
            slippage_cap=platform.settings.slippage_cap,
            tolerance=tolerance,
        )
    )
    return plan.flattens


def _leg_of(order: Order, opportunity: Opportunity) -> int | None:
    for slot, leg in enumerate(opportunity.legs):
        if (order.venue, order.symbol, order.side) == (leg.venue, leg.symbol, leg.side):
            return slot
    return None


def _reachable(platform: LocalPlatform) -> bool:
    for venue in platform.venues.values():
        try:
            venue.fetch_balances()
        except Exception:  # noqa: BLE001 - a venue still down after the run
            return False
    return True
