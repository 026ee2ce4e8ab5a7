"""The DynamoDB implementations of the execution journal and the kill switch.

Executions table (pk, sk), one item collection per execution (``pk = EXEC#<id>``):
  HEADER               the execution (status, reason, timestamps), created by a conditional put
  EVENT#<seq:010d>     audit events, append-only: a conditional put on a new sequence number, so two writers
                       can never both write event n; each carries the hash of the one before it
  INTENT#<clientId>    every order intent, written before the order is sent
  PNL                  realised P&L per asset
Orders table (client_order_id): the last state a venue reported for each order.
Configuration table (pk, sk): ``KILL_SWITCH``/``CURRENT`` plus one ``v<n>`` item per change.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from arbiter.models import Execution, ExecutionStatus, Order, OrderIntent
from arbiter.risk.engine import utc_day
from arbiter.storage.audit import AuditEvent, chain_event
from arbiter.storage.aws import is_conditional_check_failure
from arbiter.storage.errors import ExecutionNotFoundError, StorageConflictError

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

HEADER = "HEADER"
APPEND_ATTEMPTS = 20


def _pk(execution_id: str) -> dict[str, str]:
    return {"S": f"EXEC#{execution_id}"}


class DynamoExecutionJournal:
    def __init__(self, client: DynamoDBClient, executions_table: str, orders_table: str) -> None:
        self.client = client
        self.table = executions_table
        self.orders_table = orders_table

    def create(self, execution: Execution) -> tuple[bool, Execution]:
        try:
            self.client.put_item(
                TableName=self.table,
                Item={
                    "pk": _pk(execution.execution_id),
                    "sk": {"S": HEADER},
                    "body": {"S": execution.model_dump_json()},
                    "status": {"S": execution.status.value},
                },
                ConditionExpression="attribute_not_exists(pk)",
            )
        except Exception as error:
            if not is_conditional_check_failure(error):
                raise
            return False, self.get(execution.execution_id)
        self.append_event(
            execution.execution_id, "created", {"opportunity_id": execution.opportunity.id}, execution.created_at
        )
        return True, execution

    def get(self, execution_id: str) -> Execution:
        item = self.client.get_item(
            TableName=self.table, Key={"pk": _pk(execution_id), "sk": {"S": HEADER}}, ConsistentRead=True
        ).get("Item")
        if item is None:
            raise ExecutionNotFoundError(execution_id)
        return Execution.model_validate_json(item["body"]["S"])

    def set_status(self, execution_id: str, status: ExecutionStatus, at_ms: int, reason: str | None = None) -> None:
        for _ in range(APPEND_ATTEMPTS):
            current = self.get(execution_id)
            updated = current.model_copy(
                update={"status": status, "updated_at": max(at_ms, current.updated_at), "reason": reason}
            )
            try:  # optimistic: only replace the header this writer read
                self.client.put_item(
                    TableName=self.table,
                    Item={
                        "pk": _pk(execution_id),
                        "sk": {"S": HEADER},
                        "body": {"S": updated.model_dump_json()},
                        "status": {"S": status.value},
                    },
                    ConditionExpression="body = :read",
                    ExpressionAttributeValues={":read": {"S": current.model_dump_json()}},
                )
            except Exception as error:
                if not is_conditional_check_failure(error):
                    raise
                continue
            active_key = {"pk": {"S": "ACTIVE"}, "sk": {"S": execution_id}}
            if status.is_terminal:
                self.client.delete_item(TableName=self.table, Key=active_key)
            else:
                self.client.put_item(TableName=self.table, Item=active_key)
            change = {"from": current.status.value, "to": status.value, "reason": reason}
            self.append_event(execution_id, "status", change, at_ms)
            return
        raise StorageConflictError(f"execution {execution_id}: status update lost {APPEND_ATTEMPTS} races")

    def events(self, execution_id: str) -> list[AuditEvent]:
        items = self._query(execution_id, "EVENT#")
        return [AuditEvent.model_validate_json(item["body"]["S"]) for item in items]

    def _last_event(self, execution_id: str) -> AuditEvent | None:
        page = self.client.query(
            TableName=self.table,
            KeyConditionExpression="pk = :pk AND begins_with(sk, :prefix)",
            ExpressionAttributeValues={":pk": _pk(execution_id), ":prefix": {"S": "EVENT#"}},
            ScanIndexForward=False,
            Limit=1,
            ConsistentRead=True,
        )
        items = page.get("Items", [])
        return AuditEvent.model_validate_json(items[0]["body"]["S"]) if items else None

    def append_event(self, execution_id: str, kind: str, detail: Mapping[str, Any], at_ms: int) -> None:
        for _ in range(APPEND_ATTEMPTS):
            event = chain_event(self._last_event(execution_id), execution_id, kind, detail, at_ms)
            try:
                self.client.put_item(
                    TableName=self.table,
                    Item={
                        "pk": _pk(execution_id),
                        "sk": {"S": f"EVENT#{event.sequence:010d}"},
                        "body": {"S": event.model_dump_json()},
                    },
                    ConditionExpression="attribute_not_exists(sk)",
                )
                return
            except Exception as error:
                if not is_conditional_check_failure(error):
                    raise
        raise StorageConflictError(f"execution {execution_id}: event append lost {APPEND_ATTEMPTS} races")

    def record_intent(self, intent: OrderIntent, at_ms: int) -> None:
        try:
            self.client.put_item(
                TableName=self.table,
                Item={
                    "pk": _pk(intent.execution_id),
                    "sk": {"S": f"INTENT#{intent.client_order_id}"},
                    "body": {"S": intent.model_dump_json()},
                },
                ConditionExpression="attribute_not_exists(sk)",
            )
        except Exception as error:
            if is_conditional_check_failure(error):
                return  # recorded by an earlier attempt of the same step
            raise
        self.append_event(intent.execution_id, "order_intent", intent.model_dump(mode="json"), at_ms)

    def intents(self, execution_id: str) -> Sequence[OrderIntent]:
        return [OrderIntent.model_validate_json(i["body"]["S"]) for i in self._query(execution_id, "INTENT#")]

    def record_order(self, execution_id: str, order: Order, at_ms: int) -> None:
        if order.client_order_id is None:
            raise ValueError("order: a recorded order needs its clientOrderId")
        body = order.model_dump_json()
        try:  # written only when the venue's report changed, so each change is one audit event
            self.client.put_item(
                TableName=self.orders_table,
                Item={
                    "client_order_id": {"S": order.client_order_id},
                    "execution_id": {"S": execution_id},
                    "body": {"S": body},
                    "status": {"S": order.status.value},
                },
                ConditionExpression="attribute_not_exists(client_order_id) OR body <> :body",
                ExpressionAttributeValues={":body": {"S": body}},
            )
        except Exception as error:
            if is_conditional_check_failure(error):
                return
            raise
        self.append_event(execution_id, "order_state", order.model_dump(mode="json"), at_ms)

    def order(self, client_order_id: str) -> Order | None:
        item = self.client.get_item(
            TableName=self.orders_table, Key={"client_order_id": {"S": client_order_id}}, ConsistentRead=True
        ).get("Item")
        return Order.model_validate_json(item["body"]["S"]) if item else None

    def record_pnl(self, execution_id: str, pnl: Mapping[str, Decimal], at_ms: int) -> None:
        text = {asset: str(amount) for asset, amount in pnl.items()}
        try:  # once per execution: a retried step must not count its P&L twice in the daily aggregate
            self.client.put_item(
                TableName=self.table,
                Item={"pk": _pk(execution_id), "sk": {"S": "PNL"}, "body": {"S": json.dumps(text)}},
                ConditionExpression="attribute_not_exists(sk)",
            )
        except Exception as error:
            if is_conditional_check_failure(error):
                return
            raise
        day = utc_day(at_ms)
        for currency, amount in pnl.items():
            self.client.update_item(
                TableName=self.table,
                Key={"pk": {"S": f"PNL#{day}"}, "sk": {"S": currency}},
                UpdateExpression="ADD realised :amount",
                ExpressionAttributeValues={":amount": {"N": str(amount)}},
            )
        self.append_event(execution_id, "pnl", text, at_ms)

    def realised(self, day: str) -> Mapping[str, Decimal]:
        page = self.client.query(
            TableName=self.table,
            KeyConditionExpression="pk = :pk",
            ExpressionAttributeValues={":pk": {"S": f"PNL#{day}"}},
            ConsistentRead=True,
        )
        return {i["sk"]["S"]: Decimal(i["realised"]["N"]) for i in page.get("Items", [])}

    def active_executions(self) -> list[Execution]:
        """Executions not yet terminal: ``pk=ACTIVE`` holds one item each, removed when they end."""
        page = self.client.query(
            TableName=self.table,
            KeyConditionExpression="pk = :pk",
            ExpressionAttributeValues={":pk": {"S": "ACTIVE"}},
            ConsistentRead=True,
        )
        return [self.get(i["sk"]["S"]) for i in page.get("Items", [])]

    def record_invalid_input(self, execution_id: str, reason: str, at_ms: int) -> None:
        self.client.put_item(
            TableName=self.table,
            Item={"pk": _pk(execution_id), "sk": {"S": "REFUSED_INPUT"}, "body": {"S": json.dumps({"reason": reason})}},
        )
        self.append_event(execution_id, "refused", {"reason": reason}, at_ms)

    def refused_input(self, execution_id: str) -> str | None:
        key = {"pk": _pk(execution_id), "sk": {"S": "REFUSED_INPUT"}}
        item = self.client.get_item(TableName=self.table, Key=key, ConsistentRead=True).get("Item")
        return str(json.loads(item["body"]["S"])["reason"]) if item else None

    def pnl(self, execution_id: str) -> dict[str, Decimal]:
        item = self.client.get_item(TableName=self.table, Key={"pk": _pk(execution_id), "sk": {"S": "PNL"}}).get("Item")
        return {a: Decimal(v) for a, v in json.loads(item["body"]["S"]).items()} if item else {}

    def _query(self, execution_id: str, prefix: str) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = []
        kwargs: dict[str, Any] = {
            "TableName": self.table,
            "KeyConditionExpression": "pk = :pk AND begins_with(sk, :prefix)",
            "ExpressionAttributeValues": {":pk": _pk(execution_id), ":prefix": {"S": prefix}},
            "ConsistentRead": True,
        }
        while True:
            page = self.client.query(**kwargs)
            items.extend(page.get("Items", []))
            if "LastEvaluatedKey" not in page:
                return items
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]


class DynamoKillSwitch:
    KEY = {"pk": {"S": "KILL_SWITCH"}, "sk": {"S": "CURRENT"}}

    def __init__(self, client: DynamoDBClient, configuration_table: str) -> None:
        self.client = client
        self.table = configuration_table

    def is_engaged(self) -> bool:
        item = self.client.get_item(TableName=self.table, Key=self.KEY, ConsistentRead=True).get("Item")
        return bool(item and item["engaged"]["BOOL"])

    def engage(self, reason: str, at_ms: int) -> None:
        self._set(True, reason, at_ms)

    def disengage(self, reason: str, at_ms: int) -> None:
        self._set(False, reason, at_ms)

    def _set(self, engaged: bool, reason: str, at_ms: int) -> None:
        updated = self.client.update_item(
            TableName=self.table,
            Key=self.KEY,
            UpdateExpression="SET engaged = :e, reason = :r, at_ms = :t ADD version :one",
            ExpressionAttributeValues={
                ":e": {"BOOL": engaged},
                ":r": {"S": reason},
                ":t": {"N": str(at_ms)},
                ":one": {"N": "1"},
            },
            ReturnValues="ALL_NEW",
        )
        version = updated["Attributes"]["version"]["N"]
        self.client.put_item(  # the history: one item per change, never overwritten
            TableName=self.table,
            Item={
                "pk": {"S": "KILL_SWITCH"},
                "sk": {"S": f"v{int(version):010d}"},
                "engaged": {"BOOL": engaged},
                "reason": {"S": reason},
                "at_ms": {"N": str(at_ms)},
            },
            ConditionExpression="attribute_not_exists(sk)",
        )
