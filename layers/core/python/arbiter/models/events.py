"""The saga's vocabulary: every kind of audit event an execution's trail can hold, each with its own detail
model. Writers append a detail model (its kind is the model's); readers parse a stored event back into one
(``read_event``) instead of picking fields out of a dict by string.

An order intent and a venue's order report are recorded as the ``OrderIntent`` and ``Order`` models
themselves, so a trail shows exactly what was intended and what the venue said."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from enum import StrEnum
from typing import Any, ClassVar

from pydantic import ConfigDict, Field

from arbiter.models.common import FiniteDecimal, PositiveDecimal, Side, Symbol, ValueModel, VenueId
from arbiter.models.execution import CompensationStrategy, ExecutionStatus
from arbiter.models.order import IntentClaim, Order, OrderIntent, OrderStatus


class EventKind(StrEnum):
    CREATED = "created"
    STATUS = "status"
    REFUSED = "refused"
    ACCEPTED = "accepted"
    ORDER_INTENT = "order_intent"
    ORDER_STATE = "order_state"
    ORDER_REPORT_REFUSED = "order_report_refused"
    ORDER_NOT_RESENT = "order_not_resent"
    ORDERS_CONFIRMED = "orders_confirmed"
    SEND_CLAIM = "send_claim"
    ORDER_FAILED = "order_failed"
    CANCEL_FAILED = "cancel_failed"
    PNL = "pnl"
    PNL_CORRECTED = "pnl_corrected"
    SETTLED = "settled"
    COMPENSATION_STARTED = "compensation_started"
    COMPENSATION_PLANNED = "compensation_planned"
    RECONCILED = "reconciled"
    INCIDENT = "incident"
    REREAD = "reread"
    SWEPT = "swept"
    VENUE_INCIDENT = "venue_incident"
    OPERATOR_ACTION = "operator_action"
    INCIDENT_RESOLVED = "incident_resolved"
    DUST = "dust"
    STUCK = "stuck"


class EventDetail(ValueModel):
    """The detail of one kind of audit event; ``kind`` names it in the trail."""

    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)
    kind: ClassVar[EventKind]


class Created(EventDetail):
    kind = EventKind.CREATED
    opportunity_id: str


class StatusChanged(EventDetail):
    kind = EventKind.STATUS
    from_: ExecutionStatus = Field(alias="from")
    to: ExecutionStatus
    reason: str | None = None
    strategy: CompensationStrategy | None = None
    """How a compensated execution was flattened (its terminal status change only)."""


class RefusalReason(ValueModel):
    code: str
    detail: str = ""


class Refused(EventDetail):
    """Prepare refused the execution (a risk rule, or an input that is not an execution); nothing was sent."""

    kind = EventKind.REFUSED
    reason: str
    refusals: tuple[RefusalReason, ...] = ()


class Accepted(EventDetail):
    kind = EventKind.ACCEPTED
    legs: int = Field(ge=1)


class OrderReportRefused(EventDetail):
    """A venue's report older than the recorded state (a late poll): kept out of the journal."""

    kind = EventKind.ORDER_REPORT_REFUSED
    client_order_id: str | None
    status: OrderStatus
    filled: Decimal
    why: str


class OrderNotResent(EventDetail):
    kind = EventKind.ORDER_NOT_RESENT
    client_order_id: str
    reason: str


class ConfirmedOrder(ValueModel):
    client_order_id: str
    status: OrderStatus
    filled: FiniteDecimal


class OrdersConfirmed(EventDetail):
    """Orders whose final state two venue reads a settle delay apart agreed on. Only such a state may stand in
    for a venue that cannot be reached: a cancel acknowledgement or one read may be the venue's stale word."""

    kind = EventKind.ORDERS_CONFIRMED
    orders: tuple[ConfirmedOrder, ...]

    def confirms(self, order: Order) -> bool:
        return any(
            c.client_order_id == order.client_order_id and c.status is order.status and c.filled == order.filled
            for c in self.orders
        )


class SendClaimMoved(EventDetail):
    """An intent's send claim moved (see ``IntentClaim``): the trail shows who could send it, and when."""

    kind = EventKind.SEND_CLAIM
    claim: IntentClaim


class OrderFailed(EventDetail):
    kind = EventKind.ORDER_FAILED
    client_order_id: str
    error: str
    detail: str


class CancelFailed(EventDetail):
    kind = EventKind.CANCEL_FAILED
    client_order_id: str
    error: str


class PnlRecorded(EventDetail):
    kind = EventKind.PNL
    pnl: dict[str, FiniteDecimal]


class PnlCorrected(EventDetail):
    """The final reads disagree with the P&L booked earlier (it came from reads that changed since): the booking
    is corrected, and the day it was booked on moves by the difference. The earlier booking stays in the trail."""

    kind = EventKind.PNL_CORRECTED
    previous: dict[str, FiniteDecimal]
    pnl: dict[str, FiniteDecimal]


class Settled(EventDetail):
    kind = EventKind.SETTLED
    pnl: dict[str, FiniteDecimal]


class CompensationStarted(EventDetail):
    kind = EventKind.COMPENSATION_STARTED
    round: int = Field(ge=1)
    cause: str


class PlannedOrder(ValueModel):
    venue: VenueId
    symbol: Symbol
    side: Side
    amount: PositiveDecimal
    limit_price: PositiveDecimal
    slot: int
    """Leg index for a completion; ``len(legs) + n`` for the n-th unwind order (distinct clientOrderIds)."""


class CompensationPlanned(EventDetail):
    kind = EventKind.COMPENSATION_PLANNED
    round: int = Field(ge=1)
    strategy: CompensationStrategy
    orders: tuple[PlannedOrder, ...]
    expected_residual: dict[str, FiniteDecimal]


class Reconciled(EventDetail):
    """What the venues' final order states add up to after a compensation."""

    kind = EventKind.RECONCILED
    flat: bool
    open_orders: int = Field(ge=0)
    exposure: dict[str, Decimal]
    residual: dict[str, Decimal]


class StepFailure(ValueModel):
    """What a Catch puts at ``$.error``: Step Functions' own field names."""

    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)
    error: str = Field(alias="Error")
    cause: str | None = Field(default=None, alias="Cause")


class PlannedFlattening(ValueModel):
    """The trade the books offered when the incident was raised: it flattens everything within the slippage cap,
    or only part of it."""

    strategy: CompensationStrategy
    orders: tuple[PlannedOrder, ...]
    flattens: bool


class IncidentRaised(EventDetail):
    kind = EventKind.INCIDENT
    execution_id: str
    opportunity_id: str
    unverified_orders: tuple[str, ...]
    """Orders whose final state no venue confirmed: people must check them by hand."""
    open_orders: int | None
    residual: dict[str, Decimal] | None
    error: StepFailure | None
    position: dict[str, dict[str, Decimal]] = Field(default_factory=dict)
    """Per venue and asset, what the execution's orders really changed in the account (from the venues' reads)."""
    position_usd: dict[str, Decimal | None] = Field(default_factory=dict)
    """Per asset, the whole position's mark-to-market value in USD (None: cannot be valued now)."""
    orders: tuple[str, ...] = ()
    """The clientOrderIds of the orders that really exist at a venue (not intents no venue received)."""
    flattening: PlannedFlattening | None = None


class Reread(EventDetail):
    """The reconciler read an ended execution's orders again (age ``age_index``) and compared them with the
    journal: each difference is named."""

    kind = EventKind.REREAD
    age_index: int = Field(ge=0)
    differences: tuple[str, ...] = ()
    unreachable: tuple[str, ...] = ()
    """Venues that could not be read: their orders are read again by the next sweep."""


class Swept(EventDetail):
    """One venue's balance check by the reconciler (the venue's own trail)."""

    kind = EventKind.SWEPT
    venue: str
    verified: bool
    unexplained: dict[str, Decimal] = Field(default_factory=dict)
    """Per asset, what the venue holds beyond what the journal explains (negative: less)."""
    executions: tuple[str, ...] = ()
    skipped: str | None = None
    """Why the balances were not compared this time (a running execution, an unreachable venue)."""


class VenueIncident(EventDetail):
    """A difference nobody's records explain: people are told, the kill switch is engaged."""

    kind = EventKind.VENUE_INCIDENT
    venue: str
    unexplained: dict[str, Decimal]
    unexplained_usd: dict[str, Decimal | None]
    executions: tuple[str, ...]
    unknown_orders: tuple[str, ...] = ()
    unreadable: str | None = None
    """The venue could not be read for this long after executions traded on it: nobody knows what it holds."""


class OperatorAction(EventDetail):
    """A change made by hand through the API, the CLI or the local platform, with who made it (the operators'
    own trail, ``arbiter.api.operations.OPERATOR_TRAIL``)."""

    kind = EventKind.OPERATOR_ACTION
    action: str
    by: str
    """The caller's identity: an IAM ARN, a Cognito user, ``local``."""
    reason: str | None = None
    detail: dict[str, Any] = Field(default_factory=dict)


class IncidentResolved(EventDetail):
    """People resolved an execution's incident: it stays in history, with this event in its trail."""

    kind = EventKind.INCIDENT_RESOLVED
    note: str
    by: str


class ExecutionStuck(EventDetail):
    """The reconciler found the execution still running after the state machine must have stopped it (timed out
    or failed without reaching a step that ends it): nobody proved it flat, so it is an incident."""

    kind = EventKind.STUCK
    status: ExecutionStatus
    """Where it stopped."""
    created_at_ms: int
    stuck_after_ms: int


class DustAccrued(EventDetail):
    """The reconciler let amounts pass as dust on a venue (the venue's own trail): what, from where, and the
    running totals after it."""

    kind = EventKind.DUST
    venue: str
    added: dict[str, Decimal]
    source: str
    """An execution id (its leftover below the exposure tolerance) or ``balances`` (a difference below dust)."""
    totals: dict[str, Decimal]
    totals_usd: dict[str, Decimal | None]


AnyEventDetail = EventDetail | OrderIntent | Order
"""What an audit event records: a detail model, an order intent or a venue's order report."""

_RECORDS: Mapping[type[OrderIntent] | type[Order], EventKind] = {
    OrderIntent: EventKind.ORDER_INTENT,
    Order: EventKind.ORDER_STATE,
}


def kind_of(detail: AnyEventDetail) -> str:
    return detail.kind if isinstance(detail, EventDetail) else _RECORDS[type(detail)]


def event_json(detail: AnyEventDetail) -> dict[str, Any]:
    """The detail as stored in the trail (JSON types, Step Functions' and the audit trail's field names)."""
    return detail.model_dump(mode="json", by_alias=True)


def read_event(kind: str, detail: Mapping[str, Any]) -> AnyEventDetail | None:
    """A stored event's detail as its model; None for a kind this vocabulary does not know."""
    if kind == EventKind.ORDER_INTENT:
        return OrderIntent.model_validate(detail)
    if kind == EventKind.ORDER_STATE:
        return Order.model_validate(detail)
    model = _details().get(kind)
    return None if model is None else model.model_validate(detail)


def _details() -> dict[str, type[EventDetail]]:
    found: dict[str, type[EventDetail]] = {}
    pending = list(EventDetail.__subclasses__())
    while pending:
        model = pending.pop()
        found[str(model.kind)] = model
        pending.extend(model.__subclasses__())
    return found
