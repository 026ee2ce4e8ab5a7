"""Leases: exactly one holder of a named lease at a time (a scanner shard), until it gives the lease up or its
expiry passes. On DynamoDB one item per lease in the venue-state table, taken with a conditional write (free,
expired, or already ours), so two invocations racing for it cannot both win; memory in tests and one process."""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Protocol

from arbiter.models.common import ValueModel
from arbiter.storage.aws import is_conditional_check_failure

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient


class Lease(ValueModel):
    name: str
    owner: str
    expires_at_ms: int


class LeaseStore(Protocol):
    def acquire(self, name: str, owner: str, now_ms: int, ttl_ms: int) -> bool:
        """Take (or extend, when ``owner`` holds it) the lease until ``now_ms + ttl_ms``; False when another
        owner holds it unexpired."""
        ...

    def release(self, name: str, owner: str) -> None:
        """Give the lease up, if ``owner`` still holds it (a lease already taken over is left alone)."""
        ...

    def holder(self, name: str) -> Lease | None: ...


class InMemoryLeaseStore:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._leases: dict[str, Lease] = {}

    def acquire(self, name: str, owner: str, now_ms: int, ttl_ms: int) -> bool:
        with self._lock:
            held = self._leases.get(name)
            if held is not None and held.owner != owner and held.expires_at_ms > now_ms:
                return False
            self._leases[name] = Lease(name=name, owner=owner, expires_at_ms=now_ms + ttl_ms)
            return True

    def release(self, name: str, owner: str) -> None:
        with self._lock:
            held = self._leases.get(name)
            if held is not None and held.owner == owner:
                del self._leases[name]

    def holder(self, name: str) -> Lease | None:
        with self._lock:
            return self._leases.get(name)


class DynamoLeaseStore:
    """``pk = LEASE#<name>`` with ``owner`` and ``expires_at_ms``; ``expires_at`` (seconds) lets DynamoDB's TTL
    remove leases nobody renews."""

    def __init__(self, client: DynamoDBClient, table: str) -> None:
        self.client, self.table = client, table

    def acquire(self, name: str, owner: str, now_ms: int, ttl_ms: int) -> bool:
        expires = now_ms + ttl_ms
        try:
            self.client.put_item(
                TableName=self.table,
                Item={
                    "pk": {"S": f"LEASE#{name}"},
                    "owner": {"S": owner},
                    "expires_at_ms": {"N": str(expires)},
                    "expires_at": {"N": str(expires // 1000 + 3600)},
                },
                ConditionExpression="attribute_not_exists(pk) OR expires_at_ms <= :now OR #owner = :owner",
                ExpressionAttributeNames={"#owner": "owner"},
                ExpressionAttributeValues={":now": {"N": str(now_ms)}, ":owner": {"S": owner}},
            )
        except Exception as error:
            if is_conditional_check_failure(error):
                return False
            raise
        return True

    def release(self, name: str, owner: str) -> None:
        try:
            self.client.delete_item(
                TableName=self.table,
                Key={"pk": {"S": f"LEASE#{name}"}},
                ConditionExpression="#owner = :owner",
                ExpressionAttributeNames={"#owner": "owner"},
                ExpressionAttributeValues={":owner": {"S": owner}},
            )
        except Exception as error:
            if not is_conditional_check_failure(error):
                raise

    def holder(self, name: str) -> Lease | None:
        item = self.client.get_item(TableName=self.table, Key={"pk": {"S": f"LEASE#{name}"}}, ConsistentRead=True)
        found = item.get("Item")
        if found is None:
            return None
        return Lease(name=name, owner=found["owner"]["S"], expires_at_ms=int(found["expires_at_ms"]["N"]))
