"""The execution journal: its DynamoDB store and the in-memory twin that passes the same contract tests.

Executions table (pk, sk), one item collection per execution (``pk = EXEC#<id>``):
  HEADER               the execution (status, reason, timestamps), created by a conditional put
  EVENT#<seq:010d>     audit events, append-only; each carries the hash of the one before it
  HEAD                 the last event's sequence and hash: every append moves it under the condition that it
                       still names the event the writer read, so two writers can never both write event n and a
                       trail cut off at its end no longer matches its head
  INTENT#<clientId>    every order intent, written before the order is sent
  CLAIM#<clientId>     the intent's send claim (recorded -> sending -> sent | abandoned), moved conditionally
  PNL                  realised P&L per asset
Orders table (client_order_id): the last state a venue reported for each order.

In memory, each change, its audit event and the chain head are one commit as well.

Every change is one TransactWriteItems: the changed items, the audit event and the head, all conditional. A
crash between writes cannot leave a change without its event; a transaction that loses a race writes nothing
and is retried from a fresh read.
"""

from __future__ import annotations

import json
import threading
from collections import defaultdict
from collections.abc import Callable, Iterator, Mapping, Sequence
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from arbiter.models import (
    CompensationStrategy,
    Execution,
    ExecutionStatus,
    IntentClaim,
    Order,
    OrderIntent,
    OrderRecord,
    SendState,
)
from arbiter.models.events import (
    AnyEventDetail,
    Created,
    OrderReportRefused,
    PnlCorrected,
    PnlRecorded,
    Refused,
    SendClaimMoved,
    StatusChanged,
    event_json,
    kind_of,
)
from arbiter.models.execution import ExecutionSlotsTakenError, slot_change
from arbiter.models.time import utc_day
from arbiter.storage.audit import (
    EMPTY_HEAD,
    AuditEvent,
    ChainHead,
    ChainReport,
    head_of,
    next_event,
    order_regression,
    stale_report,
    status_change,
    verify_chain,
)
from arbiter.storage.aws import is_transaction_cancelled, query_items
from arbiter.storage.errors import ExecutionNotFoundError, StorageConflictError
from arbiter.storage.schema import BY_DAY

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_dynamodb.type_defs import TransactWriteItemTypeDef

_ABSENT: Any = object()
Write = tuple[dict[Any, Any], Any, Any]
"""(target, key, value): one item write; ``value`` ``_ABSENT`` deletes the item."""


class InMemoryExecutionJournal:
    """Each change, its audit event and the chain head are one commit: applied together or not at all, as the
    DynamoDB journal's transactions are."""

    def __init__(self, execution_slots: int | None = None) -> None:
        self._lock = threading.RLock()
        self.execution_slots = execution_slots
        self._slots: dict[str, int] = {"taken": 0}
        self.executions: dict[str, Execution] = {}
        self._events: dict[str, dict[int, AuditEvent]] = defaultdict(dict)
        self._heads: dict[str, ChainHead] = {}
        self._intents: dict[str, dict[str, OrderIntent]] = defaultdict(dict)
        self._claims: dict[str, IntentClaim] = {}
        self.orders: dict[str, Order] = {}
        self.pnl: dict[str, dict[str, Decimal]] = {}
        self.refused_inputs: dict[str, str] = {}
        self._daily: dict[str, dict[str, Decimal]] = defaultdict(dict)
        self._pnl_days: dict[str, str] = {}

    # -- one atomic commit ------------------------------------------------------------------------------
    def _commit(self, execution_id: str, detail: AnyEventDetail, at_ms: int, writes: list[Write]) -> None:
        head = self._heads.get(execution_id, EMPTY_HEAD)
        event = next_event(head, execution_id, kind_of(detail), event_json(detail), at_ms)
        writes = [
            *writes,
            (self._events[execution_id], event.sequence, event),
            (self._heads, execution_id, head_of(event)),
        ]
        undo: list[Write] = []
        try:
            for target, key, value in writes:
                undo.append((target, key, target.get(key, _ABSENT)))
                self._apply(target, key, value)
        except BaseException:
            for target, key, value in reversed(undo):
                if value is _ABSENT:
                    target.pop(key, None)
                else:
                    target[key] = value
            raise

    def _apply(self, target: dict[Any, Any], key: Any, value: Any) -> None:
        """The one place an item is written (tests inject faults here)."""
        if value is _ABSENT:
            target.pop(key, None)
        else:
            target[key] = value

    # -- the journal --------------------------------------------------------------------------------------
    def create(self, execution: Execution) -> tuple[bool, Execution]:
        with self._lock:
            stored = self.executions.get(execution.execution_id)
            if stored is not None:
                return False, stored
            writes: list[Write] = [(self.executions, execution.execution_id, execution)]
            created = Created(opportunity_id=execution.opportunity.id)
            self._commit(execution.execution_id, created, execution.created_at, writes)
            return True, execution

    def get(self, execution_id: str) -> Execution:
        with self._lock:
            if execution_id not in self.executions:
                raise ExecutionNotFoundError(execution_id)
            return self.executions[execution_id]

    def set_status(
        self,
        execution_id: str,
        status: ExecutionStatus,
        at_ms: int,
        reason: str | None = None,
        strategy: CompensationStrategy | None = None,
    ) -> None:
        with self._lock:
            current = self.get(execution_id)
            updated, change = status_change(current, status, at_ms, reason, strategy)
            writes: list[Write] = [(self.executions, execution_id, updated)]
            delta = slot_change(current.status, status)
            if delta:
                taken = self._slots["taken"]
                starting = current.status is ExecutionStatus.PENDING
                if starting and self.execution_slots is not None and taken >= self.execution_slots:
                    raise ExecutionSlotsTakenError(f"{execution_id}: all {self.execution_slots} execution slots taken")
                writes.append((self._slots, "taken", taken + delta))
            self._commit(execution_id, change, at_ms, writes)

    def slots_taken(self) -> int:
        with self._lock:
            return self._slots["taken"]

    def append_event(self, execution_id: str, detail: AnyEventDetail, at_ms: int) -> None:
        with self._lock:
            self._commit(execution_id, detail, at_ms, [])

    def events(self, execution_id: str) -> list[AuditEvent]:
        with self._lock:
            return [event for _, event in sorted(self._events[execution_id].items())]

    def head(self, execution_id: str) -> ChainHead | None:
        with self._lock:
            return self._heads.get(execution_id)

    def verify(self, execution_id: str) -> ChainReport:
        with self._lock:
            return verify_chain(self.events(execution_id), self.head(execution_id))

    def record_intent(self, intent: OrderIntent, at_ms: int, claim_until_ms: int) -> bool:
        with self._lock:
            intents = self._intents[intent.execution_id]
            if intent.client_order_id in intents:
                return False
            claim = initial_claim(intent, claim_until_ms)
            writes: list[Write] = [
                (intents, intent.client_order_id, intent),
                (self._claims, intent.client_order_id, claim),
            ]
            self._commit(intent.execution_id, intent, at_ms, writes)
            return True

    def move_claim(
        self,
        intent: OrderIntent,
        state: SendState,
        at_ms: int,
        *,
        expires_at_ms: int | None = None,
        refused: bool = False,
    ) -> IntentClaim | None:
        with self._lock:
            stored = self._claims.get(intent.client_order_id)
            moved = None if stored is None else stored.moved(state, at_ms, expires_at_ms=expires_at_ms, refused=refused)
            if moved is None:
                return None
            writes: list[Write] = [(self._claims, intent.client_order_id, moved)]
            self._commit(intent.execution_id, SendClaimMoved(claim=moved), at_ms, writes)
            return moved

    def claim(self, intent: OrderIntent) -> IntentClaim | None:
        with self._lock:
            return self._claims.get(intent.client_order_id)

    def intents(self, execution_id: str) -> Sequence[OrderIntent]:
        with self._lock:
            return list(self._intents[execution_id].values())

    def record_order(self, execution_id: str, order: Order, at_ms: int) -> OrderRecord:
        if order.client_order_id is None:
            raise ValueError("order: a recorded order needs its clientOrderId")
        with self._lock:
            previous = self.orders.get(order.client_order_id)
            if previous == order:
                return OrderRecord.UNCHANGED
            if previous is not None and (regression := order_regression(previous, order)) is not None:
                self._commit(execution_id, stale_report(order, regression), at_ms, [])
                return OrderRecord.REFUSED_STALE
            writes: list[Write] = [(self.orders, order.client_order_id, order)]
            self._commit(execution_id, order, at_ms, writes)
            return OrderRecord.RECORDED

    def order(self, client_order_id: str) -> Order | None:
        with self._lock:
            return self.orders.get(client_order_id)

    def record_pnl(self, execution_id: str, pnl: Mapping[str, Decimal], at_ms: int) -> None:
        with self._lock:
            if execution_id in self.pnl:
                return  # a retried step: counted once
            day = self._daily[utc_day(at_ms)]
            writes: list[Write] = [(self.pnl, execution_id, dict(pnl)), (self._pnl_days, execution_id, utc_day(at_ms))]
            writes += [(day, currency, day.get(currency, Decimal(0)) + amount) for currency, amount in pnl.items()]
            self._commit(execution_id, PnlRecorded(pnl=dict(pnl)), at_ms, writes)

    def correct_pnl(self, execution_id: str, pnl: Mapping[str, Decimal], at_ms: int) -> bool:
        with self._lock:
            previous = self.pnl.get(execution_id)
            if previous is None:
                self.record_pnl(execution_id, pnl, at_ms)
                return True
            if _same_pnl(previous, pnl):
                return False
            day = self._daily[self._pnl_days[execution_id]]
            writes: list[Write] = [(self.pnl, execution_id, dict(pnl))]
            writes += [(day, c, day.get(c, Decimal(0)) + delta) for c, delta in _pnl_delta(previous, pnl).items()]
            self._commit(execution_id, PnlCorrected(previous=previous, pnl=dict(pnl)), at_ms, writes)
            return True

    def realised(self, day: str) -> Mapping[str, Decimal]:
        with self._lock:
            return dict(self._daily[day])

    def executions_on(self, day: str) -> list[Execution]:
        """Executions created on a UTC day, oldest first."""
        with self._lock:
            found = [e for e in self.executions.values() if utc_day(e.created_at) == day]
        return sorted(found, key=lambda e: (e.created_at, e.execution_id))

    def executions_between(
        self, start_ms: int, end_ms: int, *, before: str | None = None, status: ExecutionStatus | None = None
    ) -> Iterator[tuple[str, Execution]]:
        """Executions created in ``[start_ms, end_ms]``, newest first, as (position, execution); ``before``, a
        position given earlier, starts after it (a cursor)."""
        with self._lock:
            found = [
                (execution_position(e), e)
                for e in self.executions.values()
                if start_ms <= e.created_at <= end_ms and (status is None or e.status is status)
            ]
        found.sort(key=lambda pair: pair[0], reverse=True)
        return iter([(position, e) for position, e in found if before is None or position < before])

    def pnl_on(self, day: str) -> dict[str, dict[str, Decimal]]:
        """Each execution's realised P&L recorded on a UTC day, by execution id."""
        with self._lock:
            return {e: dict(self.pnl[e]) for e, recorded in self._pnl_days.items() if recorded == day}

    def active_executions(self) -> list[Execution]:
        with self._lock:
            # PENDING is an execution still in its own Prepare: not yet running, as on DynamoDB.
            return [e for e in self.executions.values() if not e.status.is_terminal and e.status.value != "pending"]

    def record_invalid_input(self, execution_id: str, reason: str, at_ms: int) -> None:
        with self._lock:
            writes: list[Write] = [(self.refused_inputs, execution_id, reason)]
            self._commit(execution_id, Refused(reason=reason), at_ms, writes)


HEADER = "HEADER"
HEAD = "HEAD"
SLOTS_KEY = {"pk": {"S": "SLOTS"}, "sk": {"S": "executions"}}
"""The execution-slot counter: how many executions hold a slot (``arbiter.models.execution.holds_execution_slot``)."""
APPEND_ATTEMPTS = 40
DAY_MS = 86_400_000
LISTING_PAGE = 100
"""Items per index page when executions are listed (a listing reads only as many pages as it shows)."""


def initial_claim(intent: OrderIntent, claim_until_ms: int) -> IntentClaim:
    return IntentClaim(client_order_id=intent.client_order_id, state=SendState.RECORDED, claim_until_ms=claim_until_ms)


def _pk(execution_id: str) -> dict[str, str]:
    return {"S": f"EXEC#{execution_id}"}


def execution_position(execution: Execution) -> str:
    """Where an execution sorts among all of them (by creation, then id): its ``by_day`` sort key."""
    return f"EXEC#{execution.created_at:015d}#{execution.execution_id}"


def _pnl_delta(previous: Mapping[str, Decimal], pnl: Mapping[str, Decimal]) -> dict[str, Decimal]:
    return {
        currency: delta
        for currency in sorted({*previous, *pnl})
        if (delta := pnl.get(currency, Decimal(0)) - previous.get(currency, Decimal(0)))
    }


def _same_pnl(previous: Mapping[str, Decimal], pnl: Mapping[str, Decimal]) -> bool:
    return not _pnl_delta(previous, pnl)


class _NotBookedError(Exception):
    pass


class _NothingToWriteError(Exception):
    """Raised by a change's plan when a fresh read shows nothing is left to write."""


class DynamoExecutionJournal:
    def __init__(
        self,
        client: DynamoDBClient,
        executions_table: str,
        orders_table: str,
        page_size: int | None = None,
        execution_slots: int | None = None,
    ) -> None:
        self.execution_slots = execution_slots
        self.client = client
        self.table = executions_table
        self.orders_table = orders_table
        self.page_size = page_size
        """Items per query page (tests force several pages); None: DynamoDB's 1 MB pages."""

    # -- one transaction per change ---------------------------------------------------------------------
    def _commit(
        self,
        execution_id: str,
        detail: AnyEventDetail | Callable[[], AnyEventDetail],
        at_ms: int,
        plan: Callable[[], list[TransactWriteItemTypeDef]] = list,
        done: Callable[[], bool] | None = None,
    ) -> bool:
        """Write ``plan()``'s items with the audit event and the head in one transaction; False when there was
        nothing to do (``plan`` says so, or ``done()`` after a cancelled attempt: the conditional item exists,
        written by an earlier attempt). ``plan`` makes its writes conditional on what it read, so a lost race is
        simply planned again."""
        for _ in range(APPEND_ATTEMPTS):
            try:
                head = self.head(execution_id) or EMPTY_HEAD
                items = plan()
                event_detail = detail() if callable(detail) else detail
                event = next_event(head, execution_id, kind_of(event_detail), event_json(event_detail), at_ms)
            except _NothingToWriteError:
                return False
            try:
                self.client.transact_write_items(TransactItems=[*items, *self._event_items(event, head)])
            except Exception as error:
                if not is_transaction_cancelled(error):
                    raise
                if done is not None and done():
                    return False
                continue
            return True
        what = "change" if callable(detail) else kind_of(detail)
        raise StorageConflictError(f"execution {execution_id}: a {what} write lost {APPEND_ATTEMPTS} races")

    def _event_items(self, event: AuditEvent, head: ChainHead) -> list[TransactWriteItemTypeDef]:
        pk = _pk(event.execution_id)
        head_condition: dict[str, Any] = (
            {"ConditionExpression": "attribute_not_exists(sk)"}
            if head.sequence == 0
            else {
                "ConditionExpression": "#sequence = :read AND #hash = :hash",
                "ExpressionAttributeNames": {"#sequence": "sequence", "#hash": "hash"},
                "ExpressionAttributeValues": {":read": {"N": str(head.sequence)}, ":hash": {"S": head.hash}},
            }
        )
        return [
            {
                "Put": {
                    "TableName": self.table,
                    "Item": {
                        "pk": pk,
                        "sk": {"S": f"EVENT#{event.sequence:010d}"},
                        "body": {"S": event.model_dump_json()},
                    },
                    "ConditionExpression": "attribute_not_exists(sk)",
                }
            },
            {
                "Put": {
                    "TableName": self.table,
                    "Item": {
                        "pk": pk,
                        "sk": {"S": HEAD},
                        "sequence": {"N": str(event.sequence)},
                        "hash": {"S": event.hash},
                    },
                    **head_condition,  # type: ignore[typeddict-item]
                }
            },
        ]

    def head(self, execution_id: str) -> ChainHead | None:
        item = self.client.get_item(
            TableName=self.table, Key={"pk": _pk(execution_id), "sk": {"S": HEAD}}, ConsistentRead=True
        ).get("Item")
        return ChainHead(sequence=int(item["sequence"]["N"]), hash=item["hash"]["S"]) if item else None

    def _header_item(self, execution: Execution) -> dict[str, Any]:
        return {
            "pk": _pk(execution.execution_id),
            "sk": {"S": HEADER},
            "body": {"S": execution.model_dump_json()},
            "status": {"S": execution.status.value},
            BY_DAY.partition_key: {"S": utc_day(execution.created_at)},
            BY_DAY.sort_key: {"S": execution_position(execution)},
        }

    # -- the journal --------------------------------------------------------------------------------------
    def create(self, execution: Execution) -> tuple[bool, Execution]:
        put = {"TableName": self.table, "Item": self._header_item(execution)}
        items: list[TransactWriteItemTypeDef] = [
            {"Put": {**put, "ConditionExpression": "attribute_not_exists(pk)"}}  # type: ignore[typeddict-item]
        ]
        created = Created(opportunity_id=execution.opportunity.id)
        exists = self._exists({"pk": _pk(execution.execution_id), "sk": {"S": HEADER}})
        if self._commit(execution.execution_id, created, execution.created_at, lambda: items, exists):
            return True, execution
        return False, self.get(execution.execution_id)

    def _exists(self, key: dict[str, Any]) -> Callable[[], bool]:
        return lambda: "Item" in self.client.get_item(TableName=self.table, Key=key, ConsistentRead=True)

    def _header(self, execution_id: str) -> dict[str, Any] | None:
        key = {"pk": _pk(execution_id), "sk": {"S": HEADER}}
        item: dict[str, Any] | None = self.client.get_item(TableName=self.table, Key=key, ConsistentRead=True).get(
            "Item"
        )
        return item

    def get(self, execution_id: str) -> Execution:
        item = self._header(execution_id)
        if item is None:
            raise ExecutionNotFoundError(execution_id)
        return Execution.model_validate_json(item["body"]["S"])

    def set_status(
        self,
        execution_id: str,
        status: ExecutionStatus,
        at_ms: int,
        reason: str | None = None,
        strategy: CompensationStrategy | None = None,
    ) -> None:
        change: list[StatusChanged] = []

        def plan() -> list[TransactWriteItemTypeDef]:
            current = self.get(execution_id)
            updated, planned = status_change(current, status, at_ms, reason, strategy)
            change[:] = [planned]
            active_key = {"pk": {"S": "ACTIVE"}, "sk": {"S": execution_id}}
            running: TransactWriteItemTypeDef = (
                {"Delete": {"TableName": self.table, "Key": active_key}}
                if status.is_terminal
                else {"Put": {"TableName": self.table, "Item": active_key}}
            )
            header: TransactWriteItemTypeDef = {
                "Put": {  # optimistic: only replace the header this writer read
                    "TableName": self.table,
                    "Item": self._header_item(updated),
                    "ConditionExpression": "body = :read",
                    "ExpressionAttributeValues": {":read": {"S": current.model_dump_json()}},
                }
            }
            delta = slot_change(current.status, status)
            starting = current.status is ExecutionStatus.PENDING
            return [header, running, *self._slot_items(execution_id, delta, capped=starting)]

        self._commit(execution_id, lambda: change[0], at_ms, plan)

    def slots_taken(self) -> int:
        item = self.client.get_item(TableName=self.table, Key=SLOTS_KEY, ConsistentRead=True).get("Item")
        return int(item["taken"]["N"]) if item else 0

    def _slot_items(self, execution_id: str, delta: int, *, capped: bool) -> list[TransactWriteItemTypeDef]:
        """The counter's change in the status change's own transaction. Starting an execution (``capped``) takes
        a slot only if one is free (a race lost is planned again, on a fresh read); giving one back, or taking one
        again to compensate a settled execution, never waits: nothing that protects money is held up by the cap."""
        if delta == 0:
            return []
        update: dict[str, Any] = {
            "TableName": self.table,
            "Key": SLOTS_KEY,
            "UpdateExpression": "ADD taken :delta",
            "ExpressionAttributeValues": {":delta": {"N": str(delta)}},
        }
        if delta > 0 and capped and self.execution_slots is not None:
            if self.slots_taken() >= self.execution_slots:
                raise ExecutionSlotsTakenError(f"{execution_id}: all {self.execution_slots} execution slots taken")
            update["ConditionExpression"] = "attribute_not_exists(taken) OR taken < :slots"
            update["ExpressionAttributeValues"][":slots"] = {"N": str(self.execution_slots)}
        return [{"Update": update}]  # type: ignore[typeddict-item]

    def events(self, execution_id: str) -> list[AuditEvent]:
        items = self._query(execution_id, "EVENT#")
        return [AuditEvent.model_validate_json(item["body"]["S"]) for item in items]

    def verify(self, execution_id: str) -> ChainReport:
        head = self.head(execution_id)
        return verify_chain(self.events(execution_id), head)

    def append_event(self, execution_id: str, detail: AnyEventDetail, at_ms: int) -> None:
        self._commit(execution_id, detail, at_ms)

    def record_intent(self, intent: OrderIntent, at_ms: int, claim_until_ms: int) -> bool:
        key = {"pk": _pk(intent.execution_id), "sk": {"S": f"INTENT#{intent.client_order_id}"}}
        claim = initial_claim(intent, claim_until_ms)
        item = {**key, "body": {"S": intent.model_dump_json()}}
        claim_item = {**self._claim_key(intent), "body": {"S": claim.model_dump_json()}}
        absent = "attribute_not_exists(sk)"
        items: list[TransactWriteItemTypeDef] = [
            {"Put": {"TableName": self.table, "Item": item, "ConditionExpression": absent}},
            {"Put": {"TableName": self.table, "Item": claim_item, "ConditionExpression": absent}},
        ]
        # Recorded by an earlier attempt of the same step: nothing new.
        return self._commit(intent.execution_id, intent, at_ms, lambda: items, self._exists(key))

    def _claim_key(self, intent: OrderIntent) -> dict[str, Any]:
        return {"pk": _pk(intent.execution_id), "sk": {"S": f"CLAIM#{intent.client_order_id}"}}

    def move_claim(
        self,
        intent: OrderIntent,
        state: SendState,
        at_ms: int,
        *,
        expires_at_ms: int | None = None,
        refused: bool = False,
    ) -> IntentClaim | None:
        key = self._claim_key(intent)
        moved: list[IntentClaim] = []

        def plan() -> list[TransactWriteItemTypeDef]:
            stored = self.client.get_item(TableName=self.table, Key=key, ConsistentRead=True).get("Item")
            claim = IntentClaim.model_validate_json(stored["body"]["S"]) if stored else None
            after = None if claim is None else claim.moved(state, at_ms, expires_at_ms=expires_at_ms, refused=refused)
            if stored is None or after is None:
                raise _NothingToWriteError
            moved[:] = [after]
            # The move holds only if the claim is still the one it was decided on; a lost race is planned again.
            condition = {"ConditionExpression": "body = :read", "ExpressionAttributeValues": {":read": stored["body"]}}
            item = {**key, "body": {"S": after.model_dump_json()}}
            return [{"Put": {"TableName": self.table, "Item": item, **condition}}]  # type: ignore[typeddict-item]

        written = self._commit(intent.execution_id, lambda: SendClaimMoved(claim=moved[0]), at_ms, plan)
        return moved[0] if written else None

    def claim(self, intent: OrderIntent) -> IntentClaim | None:
        item = self.client.get_item(TableName=self.table, Key=self._claim_key(intent), ConsistentRead=True).get("Item")
        return IntentClaim.model_validate_json(item["body"]["S"]) if item else None

    def intents(self, execution_id: str) -> Sequence[OrderIntent]:
        return [OrderIntent.model_validate_json(i["body"]["S"]) for i in self._query(execution_id, "INTENT#")]

    def record_order(self, execution_id: str, order: Order, at_ms: int) -> OrderRecord:
        """Only a change is written, as one audit event; a report older than the recorded state (a late poll)
        is refused, and the refusal is an audit event instead."""
        client_order_id = order.client_order_id
        if client_order_id is None:
            raise ValueError("order: a recorded order needs its clientOrderId")
        body = order.model_dump_json()
        outcome = [OrderRecord.RECORDED]

        def plan() -> list[TransactWriteItemTypeDef]:
            key = {"client_order_id": {"S": client_order_id}}
            stored = self.client.get_item(TableName=self.orders_table, Key=key, ConsistentRead=True).get("Item")
            recorded = Order.model_validate_json(stored["body"]["S"]) if stored else None
            if recorded == order:
                outcome[0] = OrderRecord.UNCHANGED
                raise _NothingToWriteError
            regression = order_regression(recorded, order) if recorded else None
            outcome[0] = OrderRecord.RECORDED if regression is None else OrderRecord.REFUSED_STALE
            # Either way the decision holds only if the stored state is still the one it was made on.
            unchanged: dict[str, Any] = (
                {"ConditionExpression": "body = :read", "ExpressionAttributeValues": {":read": stored["body"]}}
                if stored
                else {"ConditionExpression": "attribute_not_exists(client_order_id)"}
            )
            if regression is not None:
                refusal[:] = [stale_report(order, regression)]
                return [{"ConditionCheck": {"TableName": self.orders_table, "Key": key, **unchanged}}]  # type: ignore[typeddict-item]
            item = {
                **key,
                "execution_id": {"S": execution_id},
                "body": {"S": body},
                "status": {"S": order.status.value},
                "filled": {"N": str(order.filled)},
            }
            return [{"Put": {"TableName": self.orders_table, "Item": item, **unchanged}}]  # type: ignore[typeddict-item]

        refusal: list[OrderReportRefused] = []

        def event_detail() -> Order | OrderReportRefused:
            return order if outcome[0] is OrderRecord.RECORDED else refusal[0]

        self._commit(execution_id, event_detail, at_ms, plan)
        return outcome[0]

    def order(self, client_order_id: str) -> Order | None:
        item = self.client.get_item(
            TableName=self.orders_table, Key={"client_order_id": {"S": client_order_id}}, ConsistentRead=True
        ).get("Item")
        return Order.model_validate_json(item["body"]["S"]) if item else None

    def record_pnl(self, execution_id: str, pnl: Mapping[str, Decimal], at_ms: int) -> None:
        text = {asset: str(amount) for asset, amount in pnl.items()}
        day = utc_day(at_ms)
        key = {"pk": _pk(execution_id), "sk": {"S": "PNL"}}

        def plan() -> list[TransactWriteItemTypeDef]:
            item = {
                **key,
                "body": {"S": json.dumps(text)},
                BY_DAY.partition_key: {"S": day},
                BY_DAY.sort_key: {"S": f"PNL#{at_ms:015d}#{execution_id}"},
            }
            items: list[TransactWriteItemTypeDef] = [
                {"Put": {"TableName": self.table, "Item": item, "ConditionExpression": "attribute_not_exists(sk)"}}
            ]
            items += [
                {
                    "Update": {
                        "TableName": self.table,
                        "Key": {"pk": {"S": f"PNL#{day}"}, "sk": {"S": currency}},
                        "UpdateExpression": "ADD realised :amount",
                        "ExpressionAttributeValues": {":amount": {"N": str(amount)}},
                    }
                }
                for currency, amount in pnl.items()
            ]
            return items

        # Once per execution: a retried step must not count its P&L twice in the daily aggregate.
        self._commit(execution_id, PnlRecorded(pnl=dict(pnl)), at_ms, plan, self._exists(key))

    def correct_pnl(self, execution_id: str, pnl: Mapping[str, Decimal], at_ms: int) -> bool:
        key = {"pk": _pk(execution_id), "sk": {"S": "PNL"}}
        previous: list[dict[str, Decimal]] = []

        def plan() -> list[TransactWriteItemTypeDef]:
            stored = self.client.get_item(TableName=self.table, Key=key, ConsistentRead=True).get("Item")
            if stored is None:
                raise _NotBookedError
            booked = {a: Decimal(v) for a, v in json.loads(stored["body"]["S"]).items()}
            if _same_pnl(booked, pnl):
                raise _NothingToWriteError
            previous[:] = [booked]
            item = {**stored, "body": {"S": json.dumps({a: str(v) for a, v in pnl.items()})}}
            # The correction holds only if the booking is still the one it was computed from.
            condition = {"ConditionExpression": "body = :read", "ExpressionAttributeValues": {":read": stored["body"]}}
            day = stored[BY_DAY.partition_key]["S"]
            items: list[TransactWriteItemTypeDef] = [{"Put": {"TableName": self.table, "Item": item, **condition}}]  # type: ignore[typeddict-item]
            items += [
                {
                    "Update": {
                        "TableName": self.table,
                        "Key": {"pk": {"S": f"PNL#{day}"}, "sk": {"S": currency}},
                        "UpdateExpression": "ADD realised :amount",
                        "ExpressionAttributeValues": {":amount": {"N": str(delta)}},
                    }
                }
                for currency, delta in _pnl_delta(booked, pnl).items()
            ]
            return items

        try:
            return self._commit(execution_id, lambda: PnlCorrected(previous=previous[0], pnl=dict(pnl)), at_ms, plan)
        except _NotBookedError:
            self.record_pnl(execution_id, pnl, at_ms)
            return True

    def realised(self, day: str) -> Mapping[str, Decimal]:
        items = query_items(
            self.client,
            self.page_size,
            TableName=self.table,
            KeyConditionExpression="pk = :pk",
            ExpressionAttributeValues={":pk": {"S": f"PNL#{day}"}},
            ConsistentRead=True,
        )
        return {i["sk"]["S"]: Decimal(i["realised"]["N"]) for i in items}

    def executions_on(self, day: str) -> list[Execution]:
        """Executions created on a UTC day, oldest first (index ``by_day``: eventually consistent)."""
        items = self._on_day(day, "EXEC#")
        return [Execution.model_validate_json(i["body"]["S"]) for i in items]

    def executions_between(
        self, start_ms: int, end_ms: int, *, before: str | None = None, status: ExecutionStatus | None = None
    ) -> Iterator[tuple[str, Execution]]:
        """Executions created in ``[start_ms, end_ms]``, newest first, as (position, execution); ``before``, a
        position given earlier, starts after it (a cursor). Read lazily, a page at a time, day by day through the
        ``by_day`` index (eventually consistent)."""
        low = f"EXEC#{start_ms:015d}"
        high = f"EXEC#{end_ms:015d}#~"
        if before is not None:
            high = min(high, before)
        last_day = (int(before[5:20]) if before else end_ms) // DAY_MS
        for day in range(min(end_ms // DAY_MS, last_day), start_ms // DAY_MS - 1, -1):
            query: dict[str, Any] = {
                "TableName": self.table,
                "IndexName": BY_DAY.name,
                "KeyConditionExpression": "#day = :day AND #at BETWEEN :low AND :high",
                "ExpressionAttributeNames": {"#day": BY_DAY.partition_key, "#at": BY_DAY.sort_key},
                "ExpressionAttributeValues": {
                    ":day": {"S": utc_day(day * DAY_MS)},
                    ":low": {"S": low},
                    ":high": {"S": high},
                },
                "ScanIndexForward": False,
            }
            if status is not None:
                query["FilterExpression"] = "#status = :status"
                query["ExpressionAttributeNames"]["#status"] = "status"
                query["ExpressionAttributeValues"][":status"] = {"S": status.value}
            for item in query_items(self.client, self.page_size or LISTING_PAGE, **query):
                position = item[BY_DAY.sort_key]["S"]
                if position != before:
                    yield position, Execution.model_validate_json(item["body"]["S"])

    def pnl_on(self, day: str) -> dict[str, dict[str, Decimal]]:
        """Each execution's realised P&L recorded on a UTC day, by execution id (index ``by_day``)."""
        items = self._on_day(day, "PNL#")
        return {
            i["pk"]["S"].removeprefix("EXEC#"): {a: Decimal(v) for a, v in json.loads(i["body"]["S"]).items()}
            for i in items
        }

    def _on_day(self, day: str, kind: str) -> Iterator[dict[str, Any]]:
        """Items of one kind (``EXEC#``, ``PNL#``) dated on a UTC day, through the ``by_day`` index."""
        return query_items(
            self.client,
            self.page_size,
            TableName=self.table,
            IndexName=BY_DAY.name,
            KeyConditionExpression="#day = :day AND begins_with(#at, :kind)",
            ExpressionAttributeNames={"#day": BY_DAY.partition_key, "#at": BY_DAY.sort_key},
            ExpressionAttributeValues={":day": {"S": day}, ":kind": {"S": kind}},
        )

    def active_executions(self) -> list[Execution]:
        """Executions not yet terminal: ``pk=ACTIVE`` holds one item each, removed when they end."""
        items = query_items(
            self.client,
            self.page_size,
            TableName=self.table,
            KeyConditionExpression="pk = :pk",
            ExpressionAttributeValues={":pk": {"S": "ACTIVE"}},
            ConsistentRead=True,
        )
        return [self.get(i["sk"]["S"]) for i in items]

    def record_invalid_input(self, execution_id: str, reason: str, at_ms: int) -> None:
        item = {"pk": _pk(execution_id), "sk": {"S": "REFUSED_INPUT"}, "body": {"S": json.dumps({"reason": reason})}}
        self._commit(
            execution_id, Refused(reason=reason), at_ms, lambda: [{"Put": {"TableName": self.table, "Item": item}}]
        )

    def refused_input(self, execution_id: str) -> str | None:
        key = {"pk": _pk(execution_id), "sk": {"S": "REFUSED_INPUT"}}
        item = self.client.get_item(TableName=self.table, Key=key, ConsistentRead=True).get("Item")
        return str(json.loads(item["body"]["S"])["reason"]) if item else None

    def pnl(self, execution_id: str) -> dict[str, Decimal]:
        item = self.client.get_item(TableName=self.table, Key={"pk": _pk(execution_id), "sk": {"S": "PNL"}}).get("Item")
        return {a: Decimal(v) for a, v in json.loads(item["body"]["S"]).items()} if item else {}

    def _query(self, execution_id: str, prefix: str) -> list[dict[str, Any]]:
        return list(
            query_items(
                self.client,
                self.page_size,
                TableName=self.table,
                KeyConditionExpression="pk = :pk AND begins_with(sk, :prefix)",
                ExpressionAttributeValues={":pk": _pk(execution_id), ":prefix": {"S": prefix}},
                ConsistentRead=True,
            )
        )
