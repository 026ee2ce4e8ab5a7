"""The saga's steps. Each takes the saga state and returns it updated; the state machine decides what runs
next. Every step is safe to run again with the same input (a Lambda retry): orders are looked up by their
deterministic clientOrderId before anything is sent, and journal writes are keyed, not blindly appended.

Facts about orders always come from the venue (``find_order``), never from the saga's memory of them.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from decimal import Decimal

from arbiter.execution.compensation import CompensationInputs, exposure_tolerance, plan_compensation
from arbiter.execution.desk import FinalReads, OrderDesk, intent_for
from arbiter.execution.exposure import net_exposure, residual_exposure
from arbiter.execution.ports import AlertPublisher, Clock, ExecutionJournal, KillSwitch, VenueGateway
from arbiter.execution.state import Fills, LegFill, RefusedInput, SagaState
from arbiter.markets import UsdValue
from arbiter.models import (
    Balances,
    CompensationStrategy,
    Execution,
    ExecutionStatus,
    Market,
    Opportunity,
    Order,
    OrderBook,
    OrderIntent,
    OrderStatus,
    derive_client_order_id,
)
from arbiter.models.events import (
    Accepted,
    CompensationPlanned,
    CompensationStarted,
    IncidentRaised,
    PlannedFlattening,
    Reconciled,
    RefusalReason,
    Refused,
    Settled,
    event_json,
)
from arbiter.models.execution import ExecutionSlotsTakenError
from arbiter.models.time import Pause
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
    pause: Pause
    """Waits between reads of an order (the settle delay): real time on AWS, simulated time locally."""
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
        self.desk = OrderDesk(deps.gateways, deps.journal, deps.clock, deps.pause, deps.settings)

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
            reason = decision.reason or "refused"
            deps.journal.set_status(state.execution_id, ExecutionStatus.REFUSED, now, reason=reason)
            refusals = tuple(RefusalReason(code=r.code, detail=r.detail) for r in decision.refusals)
            deps.journal.append_event(state.execution_id, Refused(reason=reason, refusals=refusals), now)
            return self._prepared(state, accepted=False, refusal=reason, now=now)
        try:
            deps.journal.set_status(state.execution_id, ExecutionStatus.PLACING, now)
        except ExecutionSlotsTakenError as error:
            # The journal's own cap, whatever the risk check above concluded (it reads, then others write).
            reason = f"execution_slots: {error}"
            deps.journal.set_status(state.execution_id, ExecutionStatus.REFUSED, now, reason=reason)
            refusal = RefusalReason(code="execution_slots", detail=str(error))
            deps.journal.append_event(state.execution_id, Refused(reason=reason, refusals=(refusal,)), now)
            return self._prepared(state, accepted=False, refusal=reason, now=now)
        deps.journal.append_event(state.execution_id, Accepted(legs=len(state.opportunity.legs)), now)
        return self._prepared(state, accepted=True, refusal=None, now=now)

    def _risk(self) -> RiskEngine:
        deps = self.deps
        return deps.risk if deps.risk is not None else RiskEngine(kill_switch=deps.kill_switch, settings=deps.settings)

    def _venue_balances(self, venue: str) -> Balances:
        gateway = self.deps.gateways[venue]
        return self.deps.balances.get(gateway) if self.deps.balances else gateway.fetch_balances()

    def refuse_input(self, execution_id: str, reason: str) -> RefusedInput:
        """Prepare's answer to an input that is not a valid execution: recorded and refused, nothing sent."""
        refusal = f"invalid_input: {reason}"
        self.deps.journal.record_invalid_input(execution_id, refusal, self.deps.clock.now_ms())
        return RefusedInput(execution_id=execution_id, refusal=refusal)

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
        orders = self.desk.send(self._leg_intents(state))
        return state.model_copy(update={"fills": self._fills(state, orders)})

    def poll_fills(self, state: SagaState) -> SagaState:
        orders = [self.desk.lookup(intent) for intent in self._leg_intents(state)]
        fills = self._fills(state, orders)
        deadline_passed = state.deadline_ms is not None and self.deps.clock.now_ms() >= state.deadline_ms
        return state.model_copy(update={"fills": fills.model_copy(update={"deadline_passed": deadline_passed})})

    def _leg_intents(self, state: SagaState) -> list[OrderIntent]:
        return [intent_for(state.execution_id, slot, 0, leg) for slot, leg in enumerate(state.opportunity.legs)]

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
        orders = [o for o in (self.desk.lookup(i) for i in self._leg_intents(state)) if o is not None]
        pnl = net_exposure(orders)
        self.deps.journal.record_pnl(state.execution_id, pnl, now)
        self.deps.journal.set_status(state.execution_id, ExecutionStatus.SETTLED, now)
        self.deps.journal.append_event(state.execution_id, Settled(pnl=pnl), now)
        return state

    # -- Compensate --------------------------------------------------------------------------------------
    def compensate(self, state: SagaState) -> SagaState:
        deps, now = self.deps, self.deps.clock.now_ms()
        round_ = state.compensation_rounds + 1
        deps.journal.set_status(state.execution_id, ExecutionStatus.COMPENSATING, now)
        cause = state.error.error if state.error is not None else "legs_not_filled"
        deps.journal.append_event(state.execution_id, CompensationStarted(round=round_, cause=cause), now)
        orders, unsettled = self._close_open_orders(state)
        still_open = sorted({i.client_order_id for i, o in orders if not o.status.is_final} | set(unsettled))
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
        planned = CompensationPlanned(
            round=round_, strategy=plan.strategy, orders=plan.orders, expected_residual=plan.residual
        )
        deps.journal.append_event(state.execution_id, planned, deps.clock.now_ms())
        self.desk.send([intent_for(state.execution_id, order.slot, round_, order) for order in plan.orders])
        strategy = max((plan.strategy, state.strategy or CompensationStrategy.NOTHING), key=STRATEGY_WEIGHT.__getitem__)
        return state.model_copy(update={"compensation_rounds": round_, "error": None, "strategy": strategy})

    def _close_open_orders(self, state: SagaState) -> tuple[list[tuple[OrderIntent, Order]], tuple[str, ...]]:
        """Cancel whatever the execution still has open, then read every order the venues know of until two
        reads agree: the orders as finally read, and the clientOrderIds whose reads never agreed."""
        final = self._closed(state)
        found = [(intent, order) for intent, order in final.orders.values() if order is not None]
        return found, final.unsettled

    def _closed(self, state: SagaState) -> FinalReads:
        intents = list(self.deps.journal.intents(state.execution_id))
        for intent in intents:
            order = self.desk.lookup_or_final(intent)
            if order is not None and not order.status.is_final:
                self.desk.cancel(intent)
        return self.desk.final_reads(intents)

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
        final = self._closed(state)
        orders = [(intent, order) for intent, order in final.orders.values() if order is not None]
        still_open = len({i.client_order_id for i, o in orders if not o.status.is_final} | set(final.unsettled))
        exposure = net_exposure(o for _, o in orders)
        residual = residual_exposure(exposure, state.opportunity, self._tolerance(state.opportunity))
        flat = still_open == 0 and not residual
        now = deps.clock.now_ms()
        reconciliation = Reconciled(flat=flat, open_orders=still_open, exposure=exposure, residual=residual)
        deps.journal.append_event(state.execution_id, reconciliation, now)
        recorded = self._recorded(state.execution_id)
        if flat and recorded:
            # The P&L comes from the final reads: a booking Settle made from reads that changed since is corrected.
            deps.journal.correct_pnl(state.execution_id, exposure, now)
            if deps.journal.get(state.execution_id).status is not ExecutionStatus.SETTLED:
                strategy = state.strategy or CompensationStrategy.NOTHING
                deps.journal.set_status(state.execution_id, ExecutionStatus.COMPENSATED, now, strategy=strategy)
        never_reached = _never_reached(final, state.compensation_rounds)
        unsent = state.unsent_rounds + (1 if never_reached else 0)
        previous = state.reconciliation
        shrank = not never_reached and previous is not None and _shrank(previous.residual, residual)
        progress = state.progress_rounds + (1 if shrank else 0)
        settings = deps.settings
        rounds_left = state.compensation_rounds - unsent - progress < settings.max_compensation_rounds
        extra_left = unsent <= settings.max_unsent_rounds and progress <= settings.max_progress_rounds
        retry = not flat and still_open == 0 and rounds_left and extra_left
        return state.model_copy(
            update={
                "reconciliation": reconciliation,
                "compensate_again": retry,
                "unsent_rounds": unsent,
                "progress_rounds": progress,
            }
        )

    def _recorded(self, execution_id: str) -> bool:
        """False when Prepare failed before the record existed (then no order can exist either)."""
        try:
            self.deps.journal.get(execution_id)
        except KeyError:
            return False
        return True

    def _what_exists(self, execution_id: str) -> tuple[list[str], list[tuple[OrderIntent, Order]]]:
        """The orders whose final state no venue confirmed now, by reads that agree (people must check them by
        hand), and every order the venues really hold for the execution. Each venue is read on its own, so one
        that cannot be reached leaves only its own orders out, and what the reachable ones really hold is in the
        journal before anyone is told."""
        intents = list(self.deps.journal.intents(execution_id))
        verified: set[str] = set()
        existing: list[tuple[OrderIntent, Order]] = []
        for venue in sorted({intent.venue for intent in intents}):
            try:
                final = self.desk.final_reads([intent for intent in intents if intent.venue == venue])
            except Exception as error:  # noqa: BLE001 - an unreachable venue's orders stay unverified
                logger.warning("incident: %s could not be read: %s", venue, type(error).__name__)
                recorded = [(i, self.deps.journal.order(i.client_order_id)) for i in intents if i.venue == venue]
                existing += [(intent, order) for intent, order in recorded if order is not None]  # as last recorded
                continue
            existing += [(intent, order) for intent, order in final.orders.values() if order is not None]
            verified |= {
                cid
                for cid, (_, order) in final.orders.items()
                if cid not in final.unsettled and (order is None or order.status.is_final)
            }
        unverified = [intent.client_order_id for intent in intents if intent.client_order_id not in verified]
        return unverified, existing

    def _flattening(self, opportunity: Opportunity, orders: Sequence[tuple[OrderIntent, Order]]) -> PlannedFlattening:
        """The trade the books offer now to flatten what is left, within the slippage cap (people may place it)."""
        leg_fills = [
            sum((o.filled for i, o in orders if i.slot == slot), Decimal(0)) for slot in range(len(opportunity.legs))
        ]
        plan = plan_compensation(
            CompensationInputs(
                opportunity=opportunity,
                leg_fills=leg_fills,
                exposure=net_exposure(o for _, o in orders),
                books=self._books(opportunity),
                markets=self.deps.markets,
                slippage_cap=self.deps.settings.slippage_cap,
                tolerance=self._tolerance(opportunity),
            )
        )
        return PlannedFlattening(strategy=plan.strategy, orders=plan.orders, flattens=plan.flattens)

    def _offered(
        self, opportunity: Opportunity, existing: Sequence[tuple[OrderIntent, Order]]
    ) -> PlannedFlattening | None:
        try:
            return self._flattening(opportunity, existing)
        except Exception as error:  # noqa: BLE001 - the incident is told without it rather than not at all
            logger.warning("incident: no flattening priced: %s", type(error).__name__)
            return None

    def incident(self, state: SagaState) -> SagaState:
        deps, now = self.deps, self.deps.clock.now_ms()
        reconciliation = state.reconciliation
        unverified, existing = self._what_exists(state.execution_id)
        position: dict[str, dict[str, Decimal]] = {}
        for venue in sorted({intent.venue for intent, _ in existing}):
            held = net_exposure(o for i, o in existing if i.venue == venue)
            position[venue] = {asset: amount for asset, amount in held.items() if amount}
        exposure = net_exposure(o for _, o in existing)
        value = deps.usd_value or (lambda _asset: None)
        detail = IncidentRaised(
            execution_id=state.execution_id,
            opportunity_id=state.opportunity.id,
            unverified_orders=tuple(unverified),
            open_orders=reconciliation.open_orders if reconciliation else None,
            residual=reconciliation.residual if reconciliation else None,
            error=state.error,
            position=position,
            position_usd={a: None if (rate := value(a)) is None else amount * rate for a, amount in exposure.items()},
            orders=tuple(sorted(o.client_order_id or "" for _, o in existing)),
            flattening=self._offered(state.opportunity, existing),
        )
        reason = f"incident in execution {state.execution_id}"
        _attempt_all(
            [
                lambda: deps.journal.append_event(state.execution_id, detail, now),
                # The position is booked at once: the daily loss and per-venue notional count it after someone
                # disengages the kill switch (a retried or settled execution's P&L is counted once).
                lambda: deps.journal.correct_pnl(state.execution_id, exposure, now),
                lambda: deps.journal.set_status(state.execution_id, ExecutionStatus.INCIDENT, now, reason=reason),
                lambda: deps.kill_switch.engage(reason, now),
                lambda: deps.alerts.publish(f"Arbiter incident: {state.execution_id}", event_json(detail)),
            ]
        )
        return state


def _shrank(before: Mapping[str, Decimal], after: Mapping[str, Decimal]) -> bool:
    """Is the open position after a round smaller than before it: no asset larger, none new, one smaller?"""
    if not after:
        return False  # flat: nothing left to retry for
    larger = any(abs(amount) > abs(before.get(asset, Decimal(0))) for asset, amount in after.items())
    smaller = any(abs(after.get(asset, Decimal(0))) < abs(amount) for asset, amount in before.items())
    return smaller and not larger


def _never_reached(final: FinalReads, round_: int) -> bool:
    """Did compensation round ``round_`` place orders of which provably none reached its venue (a timeout before
    accept, confirmed by reads after the settle delay)? Such a round does not use up one of the rounds allowed."""
    orders = [(intent, order) for intent, order in final.orders.values() if intent.attempt == round_ >= 1]
    return bool(orders) and all(
        order is None and intent.client_order_id not in final.unsettled for intent, order in orders
    )


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


STRATEGY_WEIGHT = {CompensationStrategy.NOTHING: 0, CompensationStrategy.COMPLETE: 1, CompensationStrategy.UNWIND: 2}
"""What an execution's outcome says when its rounds traded differently: any unwind, else any completion."""

SagaStep = Callable[[SagaSteps, SagaState], SagaState]
STEPS: Mapping[str, SagaStep] = {
    "prepare": SagaSteps.prepare,
    "place_legs": SagaSteps.place_legs,
    "poll_fills": SagaSteps.poll_fills,
    "settle": SagaSteps.settle,
    "compensate": SagaSteps.compensate,
    "reconcile": SagaSteps.reconcile,
    "incident": SagaSteps.incident,
}
"""Every task the state machine runs, by the name its function is made with (``saga_task``)."""

__all__ = ["STEPS", "OrderStatus", "SagaDependencies", "SagaSteps"]
