"""The saga's steps. Each takes the saga state and returns it updated; the state machine decides what runs
next. Every step is safe to run again with the same input (a Lambda retry): orders are looked up by their
deterministic clientOrderId before anything is sent, and journal writes are keyed, not blindly appended.

Facts about orders always come from the venue (``find_order``), never from the saga's memory of them.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from decimal import Decimal
from typing import Any

from arbiter.execution.compensation import CompensationInputs, exposure_tolerance, plan_compensation
from arbiter.execution.exposure import net_exposure, residual_exposure
from arbiter.execution.ports import AlertPublisher, Clock, ExecutionJournal, KillSwitch, VenueGateway
from arbiter.execution.state import Fills, LegFill, Reconciliation, SagaState
from arbiter.markets import UsdValue
from arbiter.models import (
    Balances,
    Execution,
    ExecutionStatus,
    Leg,
    Market,
    Opportunity,
    Order,
    OrderBook,
    OrderIntent,
    OrderStatus,
    derive_client_order_id,
)
from arbiter.risk.balances import BalanceCache
from arbiter.risk.engine import RiskEngine
from arbiter.settings import ExecutionSettings

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class SagaDependencies:
    gateways: Mapping[str, VenueGateway]
    markets: Mapping[tuple[str, str], Market]
    journal: ExecutionJournal
    kill_switch: KillSwitch
    alerts: AlertPublisher
    clock: Clock
    settings: ExecutionSettings
    risk: RiskEngine | None = None
    """The one decision point of Prepare; without it, one that checks the kill switch, the legs, quote age and
    balances, but no configured limits."""
    balances: BalanceCache | None = None
    """Cached balances with their age; without it Prepare fetches them fresh every time."""
    usd_value: UsdValue | None = None
    """Values the exposure tolerance (set in USD) in a profit currency that is not a USD stablecoin; without
    it, such executions tolerate only untradeable dust."""


class OrdersStillOpenError(Exception):
    """Orders of the execution could not be cancelled. Compensating now could double the exposure if they
    fill later, so the step fails; the state machine retries it, then reconciles and raises an incident."""


class SagaSteps:
    def __init__(self, deps: SagaDependencies) -> None:
        self.deps = deps

    # -- Prepare -----------------------------------------------------------------------------------------
    def prepare(self, state: SagaState) -> SagaState:
        deps, now = self.deps, self.deps.clock.now_ms()
        execution = Execution(
            execution_id=state.execution_id, opportunity=state.opportunity, created_at=now, updated_at=now
        )
        created, stored = deps.journal.create(execution)
        if not created and stored.status is not ExecutionStatus.PENDING:
            # A retried Prepare: the decision already taken stands.
            refused = stored.status is ExecutionStatus.REFUSED
            return self._prepared(state, accepted=not refused, refusal=stored.reason if refused else None, now=now)
        decision = self._risk().assess(
            state.opportunity,
            now,
            markets=deps.markets,
            connected=deps.gateways.keys(),
            balances=self._venue_balances,
        )
        if not decision.accepted:
            reason = decision.reason
            deps.journal.set_status(state.execution_id, ExecutionStatus.REFUSED, now, reason=reason)
            refusals = [{"code": r.code, "detail": r.detail} for r in decision.refusals]
            deps.journal.append_event(state.execution_id, "refused", {"reason": reason, "refusals": refusals}, now)
            return self._prepared(state, accepted=False, refusal=reason, now=now)
        deps.journal.set_status(state.execution_id, ExecutionStatus.PLACING, now)
        deps.journal.append_event(state.execution_id, "accepted", {"legs": len(state.opportunity.legs)}, now)
        return self._prepared(state, accepted=True, refusal=None, now=now)

    def _risk(self) -> RiskEngine:
        deps = self.deps
        return deps.risk if deps.risk is not None else RiskEngine(kill_switch=deps.kill_switch, settings=deps.settings)

    def _venue_balances(self, venue: str) -> Balances:
        gateway = self.deps.gateways[venue]
        return self.deps.balances.get(gateway) if self.deps.balances else gateway.fetch_balances()

    def refuse_input(self, execution_id: str, reason: str) -> dict[str, Any]:
        """Prepare's answer to an input that is not a valid execution: recorded and refused, nothing sent."""
        self.deps.journal.record_invalid_input(execution_id, f"invalid_input: {reason}", self.deps.clock.now_ms())
        return {"execution_id": execution_id, "accepted": False, "refusal": f"invalid_input: {reason}"}

    def _prepared(self, state: SagaState, *, accepted: bool, refusal: str | None, now: int) -> SagaState:
        settings = self.deps.settings
        return state.model_copy(
            update={
                "accepted": accepted,
                "refusal": refusal,
                "deadline_ms": now + settings.fill_deadline_ms,
                "poll_seconds": settings.poll_seconds,
            }
        )

    # -- PlaceLegs and PollFills -------------------------------------------------------------------------
    def place_legs(self, state: SagaState) -> SagaState:
        now = self.deps.clock.now_ms()
        intents = [self._intent(state, slot, leg, attempt=0) for slot, leg in enumerate(state.opportunity.legs)]
        # Durable before anything is sent (invariant 1); only the call that records an intent may send it.
        fresh = [self.deps.journal.record_intent(intent, now) for intent in intents]
        # One task sends every leg at once from a thread each: the skew between legs is the thread start-up,
        # not a Map iteration's scheduling, and the saga spends no extra state transitions.
        with ThreadPoolExecutor(max_workers=len(intents)) as pool:
            orders = list(pool.map(self._place, intents, fresh))
        return state.model_copy(update={"fills": self._fills(state, orders)})

    def poll_fills(self, state: SagaState) -> SagaState:
        orders = [self._lookup(intent) for intent in self._leg_intents(state)]
        fills = self._fills(state, orders)
        deadline_passed = state.deadline_ms is not None and self.deps.clock.now_ms() >= state.deadline_ms
        return state.model_copy(update={"fills": fills.model_copy(update={"deadline_passed": deadline_passed})})

    def _intent(self, state: SagaState, slot: int, leg: Leg, attempt: int) -> OrderIntent:
        return OrderIntent(
            execution_id=state.execution_id,
            slot=slot,
            attempt=attempt,
            client_order_id=derive_client_order_id(state.execution_id, slot, attempt),
            venue=leg.venue,
            symbol=leg.symbol,
            side=leg.side,
            amount=leg.amount,
            limit_price=leg.limit_price,
        )

    def _leg_intents(self, state: SagaState) -> list[OrderIntent]:
        return [self._intent(state, slot, leg, attempt=0) for slot, leg in enumerate(state.opportunity.legs)]

    def _place(self, intent: OrderIntent, recorded_now: bool) -> Order | None:
        """Send one order unless the venue already has it; ``None`` when the venue has no such order.

        Only the invocation that recorded the intent sends it. Another one (a retried or duplicated task while
        the first may still be sending) only looks it up: a venue may list an order late, and a second send
        under the same clientOrderId is accepted by venues once the first is closed. A leg left unsent this way
        is compensated like a rejected one; its intent stays in the journal, so later steps still look it up."""
        gateway = self.deps.gateways[intent.venue]
        journal, now = self.deps.journal, self.deps.clock.now_ms
        try:
            order = gateway.find_order(intent.client_order_id, intent.symbol)
            if order is None and not recorded_now:
                detail = {"client_order_id": intent.client_order_id, "reason": "intent recorded by an earlier call"}
                journal.append_event(intent.execution_id, "order_not_resent", detail, now())
                return None
            if order is None:
                order = gateway.place_order(intent.request())
        except Exception as error:  # noqa: BLE001 - any failure leaves the leg to be looked up again later
            journal.append_event(
                intent.execution_id,
                "order_failed",
                {
                    "client_order_id": intent.client_order_id,
                    "error": type(error).__name__,
                    "detail": str(error),
                },
                now(),
            )
            return self._lookup(intent)
        journal.record_order(intent.execution_id, order, now())
        return order

    def _lookup(self, intent: OrderIntent) -> Order | None:
        """The venue's own word on an intent; ``None`` when it never received it. Unreachable venue: raise."""
        order = self.deps.gateways[intent.venue].find_order(intent.client_order_id, intent.symbol)
        if order is not None:
            self.deps.journal.record_order(intent.execution_id, order, self.deps.clock.now_ms())
        return order

    def _fills(self, state: SagaState, orders: Sequence[Order | None]) -> Fills:
        legs = []
        for slot, order in enumerate(orders):
            cid = derive_client_order_id(state.execution_id, slot, 0)
            legs.append(
                LegFill(
                    index=slot,
                    client_order_ids=(cid,),
                    status=order.status if order is not None else None,
                    filled=order.filled if order is not None else Decimal(0),
                    average=order.average if order is not None else None,
                )
            )
        final = [leg.status is None or leg.status.is_final for leg in legs]
        filled = [f.filled >= leg.amount for f, leg in zip(legs, state.opportunity.legs, strict=True)]
        return Fills(legs=tuple(legs), all_filled=all(filled), all_final=all(final))

    # -- Settle ------------------------------------------------------------------------------------------
    def settle(self, state: SagaState) -> SagaState:
        now = self.deps.clock.now_ms()
        orders = [o for o in (self._lookup(i) for i in self._leg_intents(state)) if o is not None]
        pnl = net_exposure(orders)
        self.deps.journal.record_pnl(state.execution_id, pnl, now)
        self.deps.journal.set_status(state.execution_id, ExecutionStatus.SETTLED, now)
        self.deps.journal.append_event(state.execution_id, "settled", {"pnl": _text(pnl)}, now)
        return state

    # -- Compensate --------------------------------------------------------------------------------------
    def compensate(self, state: SagaState) -> SagaState:
        deps, now = self.deps, self.deps.clock.now_ms()
        round_ = state.compensation_rounds + 1
        deps.journal.set_status(state.execution_id, ExecutionStatus.COMPENSATING, now)
        cause = state.error.error if state.error is not None else "legs_not_filled"
        deps.journal.append_event(state.execution_id, "compensation_started", {"round": round_, "cause": cause}, now)
        orders = self._close_open_orders(state)
        still_open = [i.client_order_id for i, o in orders if not o.status.is_final]
        if still_open:
            raise OrdersStillOpenError(f"{len(still_open)} order(s) still open: {', '.join(still_open)}")
        opportunity = state.opportunity
        leg_fills = [
            sum((o.filled for i, o in orders if i.slot == slot), Decimal(0)) for slot in range(len(opportunity.legs))
        ]
        # Markets that refused one of this execution's orders are avoided when another route can flatten.
        placed = {i.client_order_id for i, _ in orders}
        refused = {
            (i.venue, i.symbol) for i in deps.journal.intents(state.execution_id) if i.client_order_id not in placed
        }
        books = self._books(opportunity)
        inputs = CompensationInputs(
            opportunity=opportunity,
            leg_fills=leg_fills,
            exposure=net_exposure(o for _, o in orders),
            books={key: book for key, book in books.items() if key not in refused},
            markets=deps.markets,
            slippage_cap=deps.settings.slippage_cap,
            tolerance=self._tolerance(opportunity),
        )
        plan = plan_compensation(inputs)
        if not plan.flattens and refused:
            plan = plan_compensation(replace(inputs, books=books))
        deps.journal.append_event(
            state.execution_id,
            "compensation_planned",
            {
                "round": round_,
                "strategy": plan.strategy.value,
                "orders": [o.model_dump(mode="json") for o in plan.orders],
                "expected_residual": _text(plan.residual),
            },
            deps.clock.now_ms(),
        )
        intents = [
            OrderIntent(
                execution_id=state.execution_id,
                slot=planned.slot,
                attempt=round_,
                client_order_id=derive_client_order_id(state.execution_id, planned.slot, round_),
                venue=planned.venue,
                symbol=planned.symbol,
                side=planned.side,
                amount=planned.amount,
                limit_price=planned.limit_price,
            )
            for planned in plan.orders
        ]
        fresh = [deps.journal.record_intent(intent, deps.clock.now_ms()) for intent in intents]
        with ThreadPoolExecutor(max_workers=max(1, len(intents))) as pool:
            list(pool.map(self._place, intents, fresh))
        return state.model_copy(update={"compensation_rounds": round_, "error": None})

    def _close_open_orders(self, state: SagaState) -> list[tuple[OrderIntent, Order]]:
        """Cancel whatever the execution still has open; return every order the venues know of, final."""
        found: list[tuple[OrderIntent, Order]] = []
        for intent in self.deps.journal.intents(state.execution_id):
            order = self._lookup(intent)
            if order is None:
                continue
            if not order.status.is_final:
                order = self._cancel(intent) or order
            found.append((intent, order))
        return found

    def _cancel(self, intent: OrderIntent) -> Order | None:
        gateway, journal = self.deps.gateways[intent.venue], self.deps.journal
        try:
            order = gateway.cancel_order(intent.client_order_id, intent.symbol)
        except Exception as error:  # noqa: BLE001 - a failed cancel is retried by the next step, then reported
            journal.append_event(
                intent.execution_id,
                "cancel_failed",
                {"client_order_id": intent.client_order_id, "error": type(error).__name__},
                self.deps.clock.now_ms(),
            )
            return None
        journal.record_order(intent.execution_id, order, self.deps.clock.now_ms())
        return order

    def _books(self, opportunity: Opportunity) -> dict[tuple[str, str], OrderBook]:
        books: dict[tuple[str, str], OrderBook] = {}
        for leg in opportunity.legs:
            key = (leg.venue, leg.symbol)
            if key in books:
                continue
            try:
                books[key] = self.deps.gateways[leg.venue].fetch_order_book(leg.symbol)
            except Exception as error:  # noqa: BLE001 - a venue without a book is left out of the plan
                logger.warning("no book for %s %s: %s", leg.venue, leg.symbol, type(error).__name__)
        return books

    def _tolerance(self, opportunity: Opportunity) -> dict[str, Decimal]:
        return exposure_tolerance(
            opportunity, self.deps.markets, self.deps.settings.exposure_tolerance, self.deps.usd_value
        )

    # -- Reconcile and Incident --------------------------------------------------------------------------
    def reconcile(self, state: SagaState) -> SagaState:
        deps = self.deps
        orders = self._close_open_orders(state)
        still_open = sum(1 for _, order in orders if not order.status.is_final)
        exposure = net_exposure(o for _, o in orders)
        residual = residual_exposure(exposure, state.opportunity.profit_currency, self._tolerance(state.opportunity))
        flat = still_open == 0 and not residual
        now = deps.clock.now_ms()
        reconciliation = Reconciliation(flat=flat, open_orders=still_open, exposure=exposure, residual=residual)
        deps.journal.append_event(state.execution_id, "reconciled", reconciliation.model_dump(mode="json"), now)
        recorded = self._recorded(state.execution_id)
        if flat and recorded and deps.journal.get(state.execution_id).status is not ExecutionStatus.SETTLED:
            deps.journal.record_pnl(state.execution_id, exposure, now)
            deps.journal.set_status(state.execution_id, ExecutionStatus.COMPENSATED, now)
        retry = not flat and still_open == 0 and state.compensation_rounds < deps.settings.max_compensation_rounds
        return state.model_copy(update={"reconciliation": reconciliation, "compensate_again": retry})

    def _recorded(self, execution_id: str) -> bool:
        """False when Prepare failed before the record existed (then no order can exist either)."""
        try:
            self.deps.journal.get(execution_id)
        except KeyError:
            return False
        return True

    def incident(self, state: SagaState) -> SagaState:
        deps, now = self.deps, self.deps.clock.now_ms()
        reconciliation = state.reconciliation
        # Orders whose final state no venue confirmed (it was unreachable): people must check them by hand.
        unverified = [
            intent.client_order_id
            for intent in deps.journal.intents(state.execution_id)
            if (recorded := deps.journal.order(intent.client_order_id)) is None or not recorded.status.is_final
        ]
        detail: dict[str, Any] = {
            "execution_id": state.execution_id,
            "opportunity_id": state.opportunity.id,
            "unverified_orders": unverified,
            "open_orders": reconciliation.open_orders if reconciliation else None,
            "residual": _text(reconciliation.residual) if reconciliation else None,
            "error": state.error.model_dump(by_alias=True) if state.error else None,
        }
        reason = f"incident in execution {state.execution_id}"
        _attempt_all(
            [
                lambda: deps.journal.append_event(state.execution_id, "incident", detail, now),
                lambda: deps.journal.set_status(state.execution_id, ExecutionStatus.INCIDENT, now, reason=reason),
                lambda: deps.kill_switch.engage(reason, now),
                lambda: deps.alerts.publish(f"Arbiter incident: {state.execution_id}", detail),
            ]
        )
        return state


def _attempt_all(actions: Sequence[Callable[[], object]]) -> None:
    """Run every action even if an earlier one fails (an alert must go out even when the journal is down);
    then raise the first failure so the state machine's fallback alert runs too."""
    failures: list[Exception] = []
    for action in actions:
        try:
            action()
        except Exception as error:  # noqa: BLE001 - collected and re-raised below
            failures.append(error)
    if failures:
        raise failures[0]


def _text(values: Mapping[str, Decimal]) -> dict[str, str]:
    return {asset: str(amount) for asset, amount in values.items()}


__all__ = ["OrderStatus", "SagaDependencies", "SagaSteps"]
