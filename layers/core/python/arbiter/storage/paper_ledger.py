"""Where the paper venue keeps its orders and balances: in process memory (local mode, tests) or in DynamoDB,
so that every Lambda of a deployed saga sees the same paper venue (paper mode).

Each change of the venue (an order accepted, a resting order cancelled) is one commit of the venue's account
(balances, resting orders, a version) together with the order it concerns, both or neither. The commit is
conditional on the version the change was computed from: two invocations that read the same account cannot
both spend it, and two that place the same clientOrderId cannot both succeed; the loser reads again and
recomputes (``PaperVenue`` does, a bounded number of times).
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Protocol

from pydantic import Field

from arbiter.models import Order
from arbiter.models.common import ValueModel
from arbiter.storage.aws import is_transaction_cancelled

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_dynamodb.type_defs import TransactWriteItemTypeDef


class PaperAccount(ValueModel):
    """One paper venue's balances and resting orders at one version."""

    free: dict[str, Decimal] = Field(default_factory=dict)
    used: dict[str, Decimal] = Field(default_factory=dict)
    resting: dict[str, str] = Field(default_factory=dict, description="clientOrderId -> symbol of open orders")
    accepted: int = Field(default=0, ge=0, description="orders accepted so far; numbers the venue's order ids")
    version: int = Field(default=0, ge=0, description="0 until the first commit")


class PaperLedger(Protocol):
    def account(self, opening: Mapping[str, Decimal]) -> PaperAccount:
        """The current account; ``opening`` free balances (version 0) while nothing was ever committed."""
        ...

    def order(self, client_order_id: str) -> Order | None: ...

    def orders(self, client_order_ids: Iterable[str]) -> list[Order]:
        """The known orders among these ids, in the given order."""
        ...

    def all_orders(self) -> dict[str, Order]:
        """Every order by clientOrderId, in acceptance order where the ledger knows it (tests, diagnostics)."""
        ...

    def commit(self, account: PaperAccount, order: Order | None = None, *, new_order: bool = False) -> bool:
        """Write ``account`` (version one above the one read) and ``order`` together; False, having written
        nothing, when the account changed since it was read or a ``new_order`` already exists."""
        ...


class InMemoryPaperLedger:
    """The ledger of one process: what ``PaperVenue`` always had, behind the same conditional commit."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._account: PaperAccount | None = None
        self._orders: dict[str, Order] = {}

    def account(self, opening: Mapping[str, Decimal]) -> PaperAccount:
        with self._lock:
            return self._account or PaperAccount(free=dict(opening))

    def order(self, client_order_id: str) -> Order | None:
        with self._lock:
            return self._orders.get(client_order_id)

    def orders(self, client_order_ids: Iterable[str]) -> list[Order]:
        with self._lock:
            return [self._orders[cid] for cid in client_order_ids if cid in self._orders]

    def all_orders(self) -> dict[str, Order]:
        with self._lock:
            return dict(self._orders)

    def commit(self, account: PaperAccount, order: Order | None = None, *, new_order: bool = False) -> bool:
        with self._lock:
            current = self._account.version if self._account else 0
            cid = order.client_order_id if order is not None else None
            if account.version != current + 1 or (new_order and cid in self._orders):
                return False
            self._account = account
            if order is not None and cid is not None:
                self._orders[cid] = order
            return True


class DynamoPaperLedger:
    """``venue_state`` table (partition key ``pk`` only): ``PAPER#<venue>#ACCOUNT`` holds the account as JSON
    with its ``version``; ``PAPER#<venue>#ORDER#<clientOrderId>`` each order. One TransactWriteItems writes an
    account version and its order."""

    def __init__(self, client: DynamoDBClient, table: str, venue: str) -> None:
        self.client, self.table, self.venue = client, table, venue
        self._account_key = {"pk": {"S": f"PAPER#{venue}#ACCOUNT"}}

    def _order_key(self, client_order_id: str) -> dict[str, Any]:
        return {"pk": {"S": f"PAPER#{self.venue}#ORDER#{client_order_id}"}}

    def account(self, opening: Mapping[str, Decimal]) -> PaperAccount:
        item = self.client.get_item(TableName=self.table, Key=self._account_key, ConsistentRead=True).get("Item")
        return PaperAccount.model_validate_json(item["body"]["S"]) if item else PaperAccount(free=dict(opening))

    def order(self, client_order_id: str) -> Order | None:
        key = self._order_key(client_order_id)
        item = self.client.get_item(TableName=self.table, Key=key, ConsistentRead=True).get("Item")
        return Order.model_validate_json(item["body"]["S"]) if item else None

    def orders(self, client_order_ids: Iterable[str]) -> list[Order]:
        # Resting orders are few; consistent single reads keep read-after-commit exact.
        return [order for order in map(self.order, client_order_ids) if order is not None]

    def all_orders(self) -> dict[str, Order]:
        """A scan of the table: for tests and diagnostics, never on a trading path."""
        found: list[Order] = []
        paginator = self.client.get_paginator("scan")
        pages = paginator.paginate(
            TableName=self.table,
            FilterExpression="begins_with(pk, :prefix)",
            ExpressionAttributeValues={":prefix": {"S": f"PAPER#{self.venue}#ORDER#"}},
            ConsistentRead=True,
        )
        for page in pages:
            found.extend(Order.model_validate_json(item["body"]["S"]) for item in page.get("Items", []))
        found.sort(key=lambda order: int((order.exchange_order_id or "0").rsplit("-", 1)[-1]))
        return {order.client_order_id: order for order in found if order.client_order_id is not None}

    def commit(self, account: PaperAccount, order: Order | None = None, *, new_order: bool = False) -> bool:
        account_put: dict[str, Any] = {
            "TableName": self.table,
            "Item": {
                **self._account_key,
                "body": {"S": account.model_dump_json()},
                "version": {"N": str(account.version)},
            },
        }
        if account.version == 1:
            account_put["ConditionExpression"] = "attribute_not_exists(pk)"
        else:
            account_put["ConditionExpression"] = "version = :read"
            account_put["ExpressionAttributeValues"] = {":read": {"N": str(account.version - 1)}}
        items: list[TransactWriteItemTypeDef] = [{"Put": account_put}]  # type: ignore[typeddict-item]
        if order is not None and order.client_order_id is not None:
            order_put: dict[str, Any] = {
                "TableName": self.table,
                "Item": {
                    **self._order_key(order.client_order_id),
                    "body": {"S": order.model_dump_json()},
                    "status": {"S": order.status.value},
                },
            }
            if new_order:
                order_put["ConditionExpression"] = "attribute_not_exists(pk)"
            items.append({"Put": order_put})  # type: ignore[typeddict-item]
        try:
            self.client.transact_write_items(TransactItems=items)
        except Exception as error:
            if not is_transaction_cancelled(error):
                raise
            # A failed condition or a concurrent transaction on one of the items: either way nothing was
            # written, and the caller's fresh read tells which (a changed account or an existing order).
            return False
        return True
