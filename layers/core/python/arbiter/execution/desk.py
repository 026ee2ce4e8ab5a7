"""The order desk: the one place an order is recorded, sent, looked up or cancelled, for a saga's legs and its
compensation orders alike.

Durable before anything is sent (invariant 1): every intent of a batch is recorded first, then the batch goes
out at once, a thread per order, so the skew between legs is a thread start-up, not a state transition. Only
the call that recorded an intent may send it, by moving its claim to ``sending`` before the claim's deadline;
another one (a retried or duplicated task while the first may still be sending) only looks the order up, and
nobody takes an intent for never sent before its claim proves it (``docs/post-trade-truth.md``). Facts about
orders always come from the venue, never from the saga's memory of them, and every report is recorded in the
journal."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from tenacity import Retrying, retry_if_exception, wait_fixed

from arbiter.execution.ports import Clock, ExecutionJournal, VenueGateway
from arbiter.gateway.errors import GatewayError
from arbiter.models import IntentClaim, Order, OrderIntent, OrderRecord, SendState, derive_client_order_id
from arbiter.models.common import Side
from arbiter.models.events import (
    CancelFailed,
    ConfirmedOrder,
    OrderFailed,
    OrderNotResent,
    OrdersConfirmed,
    PlannedOrder,
    read_event,
)
from arbiter.models.opportunity import Leg
from arbiter.models.time import Pause
from arbiter.settings import ExecutionSettings


def intent_for(execution_id: str, slot: int, attempt: int, order: Leg | PlannedOrder) -> OrderIntent:
    """The intent to send ``order`` as slot ``slot`` of round ``attempt`` (0: the legs themselves)."""
    return OrderIntent(
        execution_id=execution_id,
        slot=slot,
        attempt=attempt,
        client_order_id=derive_client_order_id(execution_id, slot, attempt),
        venue=order.venue,
        symbol=order.symbol,
        side=Side(order.side),
        amount=order.amount,
        limit_price=order.limit_price,
    )


@dataclass(frozen=True)
class FinalReads:
    """Each order as two reads a settle delay apart agreed on (None: the venue has no such order), and the
    intents whose reads never agreed within the allowed reads (still moving, or the venue contradicts itself)."""

    orders: dict[str, tuple[OrderIntent, Order | None]]
    unsettled: tuple[str, ...]


class OrderDesk:
    def __init__(
        self,
        gateways: Mapping[str, VenueGateway],
        journal: ExecutionJournal,
        clock: Clock,
        pause: Pause,
        settle: ExecutionSettings,
    ) -> None:
        self.gateways, self.journal, self.clock, self.pause, self.settle = gateways, journal, clock, pause, settle

    def send(self, intents: Sequence[OrderIntent]) -> list[Order | None]:
        """Record every intent with its send claim, then send those this call recorded; each order as its venue
        reports it, or None where the venue has no such order."""
        now = self.clock.now_ms()
        claim_until = now + self.settle.send_claim_ms
        fresh = [self.journal.record_intent(intent, now, claim_until) for intent in intents]
        with ThreadPoolExecutor(max_workers=max(1, len(intents))) as pool:
            return list(pool.map(self._place, intents, fresh))

    def _place(self, intent: OrderIntent, recorded_now: bool) -> Order | None:
        """Send one order if this call holds its claim and the claim's deadline has not passed; otherwise only
        look it up. A venue may list an order late, and a second send under the same clientOrderId is accepted
        by venues once the first is closed: so an intent recorded by an earlier call is never sent here. A leg
        left unsent this way is compensated like a rejected one once nobody can send it any more (its claim
        expired or abandoned); its intent stays in the journal, so later steps still look it up."""
        gateway = self.gateways[intent.venue]
        cid = intent.client_order_id
        try:
            if not recorded_now or not self._start_sending(intent, gateway.send_window_ms):
                return self._not_resent(intent)
            order = gateway.place_order(intent.request())
        except Exception as error:  # noqa: BLE001 - any failure leaves the order to be looked up again later
            if isinstance(error, GatewayError) and error.proves_absent:
                self.journal.move_claim(intent, SendState.SENT, self.clock.now_ms(), refused=True)
            failed = OrderFailed(client_order_id=cid, error=type(error).__name__, detail=str(error))
            self.journal.append_event(intent.execution_id, failed, self.clock.now_ms())
            return self.lookup(intent)
        self.journal.move_claim(intent, SendState.SENT, self.clock.now_ms())
        return self._accepted(intent, order)

    def _start_sending(self, intent: OrderIntent, window_ms: int | None) -> bool:
        """Move the claim to ``sending``: from here on a request may reach the venue, and a venue that lists no
        such order proves nothing until the send's window has passed (None: never)."""
        now = self.clock.now_ms()
        expires = None if window_ms is None else now + window_ms
        return self.journal.move_claim(intent, SendState.SENDING, now, expires_at_ms=expires) is not None

    def _not_resent(self, intent: OrderIntent) -> Order | None:
        order = self.lookup(intent)
        if order is None:
            event = OrderNotResent(client_order_id=intent.client_order_id, reason="not this call's to send")
            self.journal.append_event(intent.execution_id, event, self.clock.now_ms())
        return order

    def lookup(self, intent: OrderIntent) -> Order | None:
        """The venue's word on an intent as the journal accepted it; ``None`` when the venue does not list it.
        A report older than the recorded state (a read that lags) is refused by the journal and never acted
        on: the recorded state stands. Unreachable venue: raise."""
        order = self.gateways[intent.venue].find_order(intent.client_order_id, intent.symbol)
        return None if order is None else self._accepted(intent, order)

    def lookup_or_final(self, intent: OrderIntent) -> Order | None:
        """``lookup``; when the venue cannot be reached, the journal's record of the order instead, but only an
        order filled completely or a final state that reads agreed on (``OrdersConfirmed``): a cancel
        acknowledgement or a single read may hide fills, and a venue that is down cannot say otherwise."""
        return self._answer(intent)[0]

    def _answer(self, intent: OrderIntent) -> tuple[Order | None, bool]:
        """The venue's word on an intent, or the journal's confirmed final record when the venue cannot be
        reached; the flag says which (True: the journal's, not read now). The journal answers only for an order
        that filled completely (nothing more can happen to it), one whose final state reads agreed on, or an intent
        that never became an order (never sent, or refused by the venue)."""
        try:
            return self.lookup(intent), False
        except GatewayError:
            confirmed = self._confirmed(intent)
            if confirmed is not None:
                return confirmed, True
            if self._never_executed(intent):
                return None, True
            raise

    def _confirmed(self, intent: OrderIntent) -> Order | None:
        recorded = self.journal.order(intent.client_order_id)
        if recorded is None or not recorded.status.is_final:
            return None
        if recorded.filled >= recorded.amount:  # nothing more can fill: a stale read could only show less
            return recorded
        for event in self.journal.events(intent.execution_id):
            detail = read_event(event.kind, event.detail)
            if isinstance(detail, OrdersConfirmed) and detail.confirms(recorded):
                return recorded
        return None

    def _accepted(self, intent: OrderIntent, order: Order) -> Order:
        if self.journal.record_order(intent.execution_id, order, self.clock.now_ms()) is OrderRecord.REFUSED_STALE:
            return self.journal.order(intent.client_order_id) or order
        return order

    def final_reads(self, intents: Sequence[OrderIntent]) -> FinalReads:
        """Never one answer: every order is read again after the settle delay until two reads in a row agree
        and the order is final (a cancel acknowledgement or a single lookup may be a venue's stale word), within
        the settle budget. A venue that lists no order is final only once the intent's claim proves none can
        exist (``_absent``). Each read is recorded, and the final states two reads agreed on are confirmed in the
        trail. A venue that cannot be reached is answered for by the journal where reads confirmed the order's
        final state before (the reachable venues are still read, and can still be flattened); where they did
        not, the error is raised: nobody knows what that order did."""
        last: dict[str, Order | None] = {}
        settled: dict[str, tuple[OrderIntent, Order | None]] = {}
        pending = []
        for intent in intents:
            order, confirmed = self._answer(intent)
            if confirmed:  # the venue is down; reads agreed on this final state before
                settled[intent.client_order_id] = (intent, order)
            else:
                last[intent.client_order_id] = order
                pending.append(intent)
        agreed: list[ConfirmedOrder] = []
        budget_ends = self.clock.now_ms() + self.settle.settle_budget_ms
        while pending and self.clock.now_ms() + self.settle.settle_delay_ms <= budget_ends:
            self.pause(self.settle.settle_delay_ms)
            still = []
            for intent in pending:
                cid = intent.client_order_id
                read, confirmed = self._answer(intent)
                if confirmed:
                    settled[cid] = (intent, read)
                elif _same(read, last[cid]) and (read.status.is_final if read is not None else self._absent(intent)):
                    settled[cid] = (intent, read)
                    if read is not None:
                        agreed.append(ConfirmedOrder(client_order_id=cid, status=read.status, filled=read.filled))
                else:
                    last[cid] = read
                    still.append(intent)
            pending = still
        if agreed:
            confirmed_now = OrdersConfirmed(orders=tuple(agreed))
            self.journal.append_event(intents[0].execution_id, confirmed_now, self.clock.now_ms())
        ordered = {i.client_order_id: settled.get(i.client_order_id) or (i, last[i.client_order_id]) for i in intents}
        unsettled = tuple(i.client_order_id for i in pending)
        return FinalReads(orders=ordered, unsettled=unsettled)

    def _absent(self, intent: OrderIntent) -> bool:
        """Does the venue's silence prove the order does not exist, and never will? Not when the venue once
        reported it (a lagging listing), nor while its claim still allows a send or a send may still execute."""
        if self.journal.order(intent.client_order_id) is not None:
            return False
        claim = self._settled_claim(intent)
        return claim is None or claim.proves_absent(self.clock.now_ms())

    def _never_executed(self, intent: OrderIntent) -> bool:
        """Known without asking the venue: the intent was never sent (its claim abandoned) or the venue refused it,
        so a venue that cannot be reached holds no order for it."""
        if self.journal.order(intent.client_order_id) is not None:
            return False
        claim = self._settled_claim(intent)
        return claim is not None and claim.never_executed

    def _settled_claim(self, intent: OrderIntent) -> IntentClaim | None:
        """The intent's claim (None: recorded before intents carried claims); one nobody used before its deadline
        is abandoned here, so its holder can no longer send."""
        claim = self.journal.claim(intent)
        now = self.clock.now_ms()
        if claim is not None and claim.state is SendState.RECORDED and now >= claim.claim_until_ms:
            claim = self.journal.move_claim(intent, SendState.ABANDONED, now) or self.journal.claim(intent)
        return claim

    def cancel(self, intent: OrderIntent) -> Order | None:
        """Cancel the order if it is still open; its state afterwards, or None when the cancel kept failing for
        the cancel budget (recorded; the next step tries again, then reports it). The budget is time, not a
        count: a venue that fails a few calls in a row is waited out, on AWS and on a simulated clock alike."""
        started = self.clock.now_ms()
        retrying = Retrying(
            retry=retry_if_exception(lambda error: isinstance(error, GatewayError) and error.retryable),
            stop=lambda _state: (
                self.clock.now_ms() + self.settle.cancel_retry_ms > started + self.settle.cancel_budget_ms
            ),
            wait=wait_fixed(self.settle.cancel_retry_ms / 1000),
            sleep=lambda seconds: self.pause(round(seconds * 1000)),
            reraise=True,
        )
        gateway = self.gateways[intent.venue]
        try:
            order = retrying(gateway.cancel_order, intent.client_order_id, intent.symbol)
        except Exception as error:  # noqa: BLE001 - a failed cancel is retried by the next step, then reported
            failed = CancelFailed(client_order_id=intent.client_order_id, error=type(error).__name__)
            self.journal.append_event(intent.execution_id, failed, self.clock.now_ms())
            return None
        return self._accepted(intent, order)


def _same(a: Order | None, b: Order | None) -> bool:
    """Do two reads of one order say the same about what it did?"""
    if a is None or b is None:
        return a is b
    return (a.status, a.filled, a.remaining, a.average, a.fees) == (b.status, b.filled, b.remaining, b.average, b.fees)
