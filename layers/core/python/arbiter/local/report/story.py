"""An incident told as a person needs it, from the execution's audit trail: what happened step by step, what is
left open where, and what to do next."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

from arbiter.models import Execution, Order, OrderIntent
from arbiter.models.events import (
    AnyEventDetail,
    CancelFailed,
    CompensationPlanned,
    CompensationStarted,
    Created,
    IncidentRaised,
    OrderFailed,
    OrderNotResent,
    PnlRecorded,
    Reconciled,
    Refused,
    Reread,
    StatusChanged,
)
from arbiter.storage.audit import AuditEvent

QUIET_KINDS = frozenset({"send_claim"})
"""Bookkeeping a person need not read to follow the story (the claim on each order's send moving on)."""


def _amounts(amounts: Mapping[str, Decimal]) -> str:
    return ", ".join(f"{amount:+.8g} {asset}" for asset, amount in sorted(amounts.items()) if amount) or "nothing"


def describe(detail: AnyEventDetail) -> str:
    """One audit event in a sentence."""
    if isinstance(detail, OrderIntent):
        return (
            f"recorded the intent to {detail.side.value} {detail.amount} {detail.symbol} on {detail.venue} at "
            f"{detail.limit_price} ({detail.client_order_id}, slot {detail.slot}, attempt {detail.attempt})"
        )
    if isinstance(detail, Order):
        average = f" at {detail.average}" if detail.average is not None else ""
        fees = ", fees " + ", ".join(f"{f.cost:.8g} {f.currency}" for f in detail.fees) if detail.fees else ""
        return (
            f"{detail.venue} reported {detail.client_order_id} {detail.status.value}: filled {detail.filled} of "
            f"{detail.amount}{average}{fees}"
        )
    if isinstance(detail, Created):
        return "the execution was recorded"
    if isinstance(detail, StatusChanged):
        why = f" ({detail.reason})" if detail.reason else ""
        return f"status {detail.from_.value} -> {detail.to.value}{why}"
    if isinstance(detail, Refused):
        return f"refused: {detail.reason}"
    if isinstance(detail, OrderFailed):
        return f"{detail.client_order_id} failed: {detail.error} {detail.detail}".strip()
    if isinstance(detail, OrderNotResent):
        return f"{detail.client_order_id} was not sent again: {detail.reason}"
    if isinstance(detail, CancelFailed):
        return f"cancel of {detail.client_order_id} failed: {detail.error}"
    if isinstance(detail, CompensationStarted):
        return f"compensation round {detail.round} started: {detail.cause}"
    if isinstance(detail, CompensationPlanned):
        orders = "; ".join(
            f"{o.side.value} {o.amount} {o.symbol} on {o.venue} at {o.limit_price}" for o in detail.orders
        )
        return (
            f"round {detail.round} planned to {detail.strategy.value}: {orders or 'no order'}; expected to leave "
            f"{_amounts(detail.expected_residual)}"
        )
    if isinstance(detail, Reconciled):
        state = "flat" if detail.flat else "NOT flat"
        return (
            f"reconciled with the venues: {state}, {detail.open_orders} open orders, exposure "
            f"{_amounts(detail.exposure)}"
        )
    if isinstance(detail, IncidentRaised):
        unverified = f"; orders not verified: {', '.join(detail.unverified_orders)}" if detail.unverified_orders else ""
        return f"incident raised: the kill switch was engaged and the operators alerted{unverified}"
    if isinstance(detail, PnlRecorded):
        return f"P&L recorded: {_amounts(detail.pnl)}"
    if isinstance(detail, Reread):
        found = "; ".join(detail.differences) or "no difference"
        return f"the reconciler re-read the orders ({found})"
    kind = getattr(detail, "kind", type(detail).__name__)
    return f"{kind}"


def incident_story(
    execution: Execution,
    events: Sequence[AuditEvent],
    details: Sequence[AnyEventDetail],
    left_open: Mapping[str, Decimal],
    venue_open: Sequence[str],
    prices_usd: Mapping[str, float],
) -> dict[str, Any]:
    steps = [
        {"at_ms": event.at_ms, "kind": event.kind, "text": describe(detail)}
        for event, detail in zip(events, details, strict=False)
        if event.kind not in QUIET_KINDS
    ]
    raised = [d for d in details if isinstance(d, IncidentRaised)]
    incident = raised[-1] if raised else None
    open_items: list[str] = []
    todo: list[str] = []
    venues = sorted({leg.venue for leg in execution.opportunity.legs})
    if incident is not None:
        for venue, position in sorted(incident.position.items()):
            if any(position.values()):
                value = incident.position_usd.get(venue)
                worth = f" (about {value:.2f} USD)" if value is not None else ""
                open_items.append(f"on {venue}: {_amounts(position)}{worth}")
        for cid in incident.unverified_orders:
            open_items.append(f"order {cid}: its state at the venue is not verified")
            todo.append(f"look {cid} up at its venue by clientOrderId and note what it filled")
        if incident.flattening is not None and incident.flattening.orders:
            plan = "; ".join(
                f"{o.side.value} {o.amount} {o.symbol} on {o.venue} at {o.limit_price} or better"
                for o in incident.flattening.orders
            )
            todo.append(f"to flatten ({incident.flattening.strategy.value}): {plan}")
    if not open_items and left_open:
        open_items.append(f"exposure across {', '.join(venues)}: {_amounts(left_open)}")
    for cid in venue_open:
        open_items.append(f"order {cid} is still open at its venue")
        todo.append(f"cancel {cid} at its venue")
    if left_open and not any(t.startswith("to flatten") for t in todo):
        todo.append(f"trade the exposure back ({_amounts(left_open)}) on {', '.join(venues)}, or accept it")
    if not open_items:
        open_items.append("nothing: the venues' balances and orders show the position flat")
    todo += [
        f"resolve the incident with a note: POST /v1/incidents/{execution.execution_id}/resolve",
        "then release the kill switch: DELETE /v1/kill-switch with the version you read (GET /v1/kill-switch)",
    ]
    return {"what_happened": steps, "left_open": open_items, "what_to_do": todo}
