"""The DynamoDB implementations of the execution journal and the kill switch.

Executions table (pk, sk), one item collection per execution (``pk = EXEC#<id>``):
  HEADER               the execution (status, reason, timestamps), created by a conditional put
  EVENT#<seq:010d>     audit events, append-only; each carries the hash of the one before it
  HEAD                 the last event's sequence and hash: every append moves it under the condition that it
                       still names the event the writer read, so two writers can never both write event n and a
                       trail cut off at its end no longer matches its head
  INTENT#<clientId>    every order intent, written before the order is sent
  PNL                  realised P&L per asset
Orders table (client_order_id): the last state a venue reported for each order.
Configuration table (pk, sk): ``KILL_SWITCH``/``CURRENT`` plus one ``v<n>`` item per change.

Every change is one TransactWriteItems: the changed items, the audit event and the head, all conditional. A
crash between writes cannot leave a change without its event; a transaction that loses a race writes nothing
and is retried from a fresh read.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping, Sequence
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from arbiter.models import Execution, ExecutionStatus, Order, OrderIntent
from arbiter.risk.engine import utc_day
from arbiter.risk.kill_switch import KillSwitchConflictError, KillSwitchState, VersionedKillSwitch
from arbiter.storage.audit import (
    EMPTY_HEAD,
    AuditEvent,
    ChainHead,
    ChainReport,
    OrderRecord,
    next_event,
    order_regression,
    stale_report_detail,
    verify_chain,
)
from arbiter.storage.aws import is_transaction_cancelled, query_items
from arbiter.storage.errors import ExecutionNotFoundError, StorageConflictError
from arbiter.storage.schema import BY_DAY

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_dynamodb.type_defs import TransactWriteItemTypeDef

HEADER = "HEADER"
HEAD = "HEAD"
APPEND_ATTEMPTS = 40


def _pk(execution_id: str) -> dict[str, str]:
    return {"S": f"EXEC#{execution_id}"}


class _NothingToWriteError(Exception):
    """Raised by a change's plan when a fresh read shows nothing is left to write."""


class DynamoExecutionJournal:
    def __init__(
        self, client: DynamoDBClient, executions_table: str, orders_table: str, page_size: int | None = None
    ) -> None:
        self.client = client
        self.table = executions_table
        self.orders_table = orders_table
        self.page_size = page_size
        """Items per query page (tests force several pages); None: DynamoDB's 1 MB pages."""

    # -- one transaction per change ---------------------------------------------------------------------
    def _commit(
        self,
        execution_id: str,
        kind: str | Callable[[], str],
        detail: Mapping[str, Any] | Callable[[], Mapping[str, Any]],
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
                what = kind() if callable(kind) else kind
                event = next_event(head, execution_id, what, detail() if callable(detail) else detail, at_ms)
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
        what = kind if isinstance(kind, str) else "change"
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
            BY_DAY.sort_key: {"S": f"EXEC#{execution.created_at:015d}#{execution.execution_id}"},
        }

    # -- the journal --------------------------------------------------------------------------------------
    def create(self, execution: Execution) -> tuple[bool, Execution]:
        put = {"TableName": self.table, "Item": self._header_item(execution)}
        items: list[TransactWriteItemTypeDef] = [
            {"Put": {**put, "ConditionExpression": "attribute_not_exists(pk)"}}  # type: ignore[typeddict-item]
        ]
        detail = {"opportunity_id": execution.opportunity.id}
        exists = self._exists({"pk": _pk(execution.execution_id), "sk": {"S": HEADER}})
        if self._commit(execution.execution_id, "created", detail, execution.created_at, lambda: items, exists):
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

    def set_status(self, execution_id: str, status: ExecutionStatus, at_ms: int, reason: str | None = None) -> None:
        change: dict[str, Any] = {}

        def plan() -> list[TransactWriteItemTypeDef]:
            current = self.get(execution_id)
            updated = current.model_copy(
                update={"status": status, "updated_at": max(at_ms, current.updated_at), "reason": reason}
            )
            change.update({"from": current.status.value, "to": status.value, "reason": reason})
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
            return [header, running]

        self._commit(execution_id, "status", lambda: dict(change), at_ms, plan)

    def events(self, execution_id: str) -> list[AuditEvent]:
        items = self._query(execution_id, "EVENT#")
        return [AuditEvent.model_validate_json(item["body"]["S"]) for item in items]

    def verify(self, execution_id: str) -> ChainReport:
        head = self.head(execution_id)
        return verify_chain(self.events(execution_id), head)

    def append_event(self, execution_id: str, kind: str, detail: Mapping[str, Any], at_ms: int) -> None:
        self._commit(execution_id, kind, detail, at_ms)

    def record_intent(self, intent: OrderIntent, at_ms: int) -> bool:
        key = {"pk": _pk(intent.execution_id), "sk": {"S": f"INTENT#{intent.client_order_id}"}}

        item = {**key, "body": {"S": intent.model_dump_json()}}
        items: list[TransactWriteItemTypeDef] = [
            {"Put": {"TableName": self.table, "Item": item, "ConditionExpression": "attribute_not_exists(sk)"}}
        ]
        # Recorded by an earlier attempt of the same step: nothing new.
        return self._commit(
            intent.execution_id, "order_intent", intent.model_dump(mode="json"), at_ms, lambda: items, self._exists(key)
        )

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
                detail.update(stale_report_detail(order, regression))
                return [{"ConditionCheck": {"TableName": self.orders_table, "Key": key, **unchanged}}]  # type: ignore[typeddict-item]
            item = {
                **key,
                "execution_id": {"S": execution_id},
                "body": {"S": body},
                "status": {"S": order.status.value},
                "filled": {"N": str(order.filled)},
            }
            return [{"Put": {"TableName": self.orders_table, "Item": item, **unchanged}}]  # type: ignore[typeddict-item]

        detail: dict[str, Any] = {}

        def kind() -> str:
            return "order_state" if outcome[0] is OrderRecord.RECORDED else "order_report_refused"

        def event_detail() -> Mapping[str, Any]:
            return order.model_dump(mode="json") if outcome[0] is OrderRecord.RECORDED else dict(detail)

        self._commit(execution_id, kind, event_detail, at_ms, plan)
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
        self._commit(execution_id, "pnl", text, at_ms, plan, self._exists(key))

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
            execution_id,
            "refused",
            {"reason": reason},
            at_ms,
            lambda: [{"Put": {"TableName": self.table, "Item": item}}],
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


class DynamoKillSwitch(VersionedKillSwitch):
    """``KILL_SWITCH``/``CURRENT`` holds the state in force; ``KILL_SWITCH``/``v<n>`` every version. A change is
    one transaction: the new state, conditional on the version read, and its history item."""

    KEY = {"pk": {"S": "KILL_SWITCH"}, "sk": {"S": "CURRENT"}}

    def __init__(self, client: DynamoDBClient, configuration_table: str) -> None:
        self.client = client
        self.table = configuration_table

    def state(self) -> KillSwitchState:
        item = self.client.get_item(TableName=self.table, Key=self.KEY, ConsistentRead=True).get("Item")
        if item is None:
            return KillSwitchState()
        return KillSwitchState(
            engaged=item["engaged"]["BOOL"],
            reason=item["reason"]["S"],
            version=int(item["version"]["N"]),
            at_ms=int(item["at_ms"]["N"]),
        )

    def _set(self, engaged: bool, reason: str, at_ms: int, expected_version: int | None) -> None:
        for _ in range(APPEND_ATTEMPTS):
            current = self.state()
            if expected_version is not None and expected_version != current.version:
                raise KillSwitchConflictError(expected_version, current)
            version = current.version + 1
            fields: dict[str, Any] = {
                "engaged": {"BOOL": engaged},
                "reason": {"S": reason},
                "at_ms": {"N": str(at_ms)},
                "version": {"N": str(version)},
            }
            condition: dict[str, Any] = (
                {"ConditionExpression": "attribute_not_exists(pk)"}
                if current.version == 0
                else {
                    "ConditionExpression": "version = :read",
                    "ExpressionAttributeValues": {":read": {"N": str(current.version)}},
                }
            )
            try:
                self.client.transact_write_items(
                    TransactItems=[
                        {"Put": {"TableName": self.table, "Item": {**self.KEY, **fields}, **condition}},  # type: ignore[typeddict-item]
                        {
                            "Put": {
                                "TableName": self.table,
                                "Item": {"pk": {"S": "KILL_SWITCH"}, "sk": {"S": f"v{version:010d}"}, **fields},
                                "ConditionExpression": "attribute_not_exists(sk)",
                            }
                        },
                    ]
                )
            except Exception as error:
                if not is_transaction_cancelled(error):
                    raise
                continue
            return
        raise StorageConflictError(f"kill switch: a change lost {APPEND_ATTEMPTS} races")

    def history(self) -> list[KillSwitchState]:
        items = query_items(
            self.client,
            TableName=self.table,
            KeyConditionExpression="pk = :pk AND begins_with(sk, :v)",
            ExpressionAttributeValues={":pk": {"S": "KILL_SWITCH"}, ":v": {"S": "v"}},
            ConsistentRead=True,
        )
        return [
            KillSwitchState(
                engaged=i["engaged"]["BOOL"],
                reason=i["reason"]["S"],
                version=int(i["version"]["N"]),
                at_ms=int(i["at_ms"]["N"]),
            )
            for i in items
        ]
