"""What happened to one execution, said from its journal: the final state and the audit events that led there,
never from the strategy a first plan named (a completion is not an unwind, a completion at the expected profit is
not slippage)."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal

from arbiter.models import CompensationStrategy, Execution, ExecutionStatus, Order, OrderIntent
from arbiter.models.events import (
    AnyEventDetail,
    CompensationPlanned,
    CompensationStarted,
    IncidentRaised,
    Reconciled,
    Refused,
    StatusChanged,
)

SLIPPAGE_TOLERANCE = Decimal("0.000001")
"""Relative difference between realised and expected profit below which a completion is "as expected" (the
venues' rounding)."""


@dataclass(frozen=True)
class Outcome:
    label: str
    reason: str


def _amount(value: Decimal) -> str:
    return f"{value:.8g}" if value else "0"


def outcome_of(
    record: Execution,
    details: Sequence[AnyEventDetail],
    intents: Sequence[OrderIntent],
    orders: Mapping[str, Order | None],
    pnl: Mapping[str, Decimal],
    usd: Callable[[Mapping[str, Decimal]], Decimal | None],
) -> Outcome:
    """``usd``: the USD value of amounts per asset (None when one has no price)."""
    opportunity = record.opportunity
    currency = opportunity.profit_currency
    expected, realised = opportunity.expected_profit, pnl.get(currency, Decimal(0))
    status = record.status
    if status is ExecutionStatus.REFUSED:
        refused = [d for d in details if isinstance(d, Refused)]
        return Outcome("refused", refused[-1].reason if refused else "refused before any order was sent")
    if status is ExecutionStatus.INCIDENT:
        return Outcome("incident", _incident_reason(details))
    if status is ExecutionStatus.SETTLED:
        # Fees may be charged in another asset than the profit's: the whole P&L is compared, in USD.
        realised_usd, expected_usd = usd(pnl), usd({currency: expected})
        if realised_usd is None or expected_usd is None:
            versus = f"realised {_amount(realised)} {currency}, expected {_amount(expected)} {currency}"
            short = realised < expected - abs(expected) * SLIPPAGE_TOLERANCE
        else:
            versus = f"realised {realised_usd:.4f} USD, expected {expected_usd:.4f} USD"
            short = realised_usd < expected_usd - abs(expected_usd) * SLIPPAGE_TOLERANCE
        if short:
            return Outcome("completed below expectation", f"every leg filled; {versus}")
        return Outcome("completed", f"every leg filled; {versus}")
    if status is ExecutionStatus.COMPENSATED:
        return _compensated(details, intents, orders, realised, currency, len(opportunity.legs))
    return Outcome(status.value, "the execution has not ended")


def compensation_intents(intents: Sequence[OrderIntent], legs: int) -> list[OrderIntent]:
    """The orders compensation sent: every intent but each leg's first (a completion re-sends a leg's slot)."""
    first: dict[int, int] = {}
    for intent in intents:
        if intent.slot < legs:
            first[intent.slot] = min(first.get(intent.slot, intent.attempt), intent.attempt)
    return [i for i in intents if i.slot >= legs or i.attempt != first.get(i.slot)]


def _incident_reason(details: Sequence[AnyEventDetail]) -> str:
    """The most specific reason the trail gives: the failure, orders never verified, or compensation that ran out
    of rounds with the position not flat (the status change itself says only that an incident was raised)."""
    for detail in reversed(details):
        if isinstance(detail, IncidentRaised):
            if detail.error is not None:
                return f"{detail.error.error}: {detail.error.cause or ''}".strip(": ")
            if detail.unverified_orders:
                return f"orders not verified: {', '.join(detail.unverified_orders)}"
    rounds = sum(1 for d in details if isinstance(d, CompensationStarted))
    reconciled = [d for d in details if isinstance(d, Reconciled)]
    if reconciled and not reconciled[-1].flat:
        held = ", ".join(f"{v:+.8g} {a}" for a, v in sorted(reconciled[-1].exposure.items()) if v)
        return f"{rounds} compensation rounds left the position not flat ({held or 'open orders'})"
    for detail in reversed(details):
        if isinstance(detail, StatusChanged) and detail.to is ExecutionStatus.INCIDENT and detail.reason:
            return detail.reason
    return "the saga could not prove the position flat"


def _compensated(
    details: Sequence[AnyEventDetail],
    intents: Sequence[OrderIntent],
    orders: Mapping[str, Order | None],
    realised: Decimal,
    currency: str,
    legs: int,
) -> Outcome:
    causes = [d.cause for d in details if isinstance(d, CompensationStarted)]
    cause = causes[0].replace("_", " ") if causes else "a leg did not fill"
    filled_slots = {
        intent.slot
        for intent in compensation_intents(intents, legs)
        if (order := orders.get(intent.client_order_id)) is not None and order.filled > 0
    }
    traded: set[CompensationStrategy] = set()
    for detail in details:
        if isinstance(detail, CompensationPlanned) and any(order.slot in filled_slots for order in detail.orders):
            traded.add(detail.strategy)
    result = f"{cause}; realised {_amount(realised)} {currency}"
    if not traded:
        return Outcome("canceled, nothing to trade back", f"{cause}; what was open was canceled")
    if traded == {CompensationStrategy.COMPLETE}:
        return Outcome("completed by compensation", f"{result} (the missing legs were traded at a worse price)")
    if traded == {CompensationStrategy.UNWIND}:
        return Outcome("unwound", f"{result} (what had filled was traded back)")
    return Outcome("partly completed, partly unwound", result)
