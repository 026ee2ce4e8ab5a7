"""A token bucket per venue shared by every invocation (DynamoDB, conditional writes): ccxt's limiter paces
one process, this one paces all concurrent Lambdas together, so a burst of sagas cannot get the account
banned. Tokens refill at ``rate_per_s`` up to ``capacity``; a caller that finds none is told how long to wait."""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Protocol

from pydantic import Field

from arbiter.models.common import ValueModel
from arbiter.storage.aws import put_versioned

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient


class Bucket(ValueModel):
    tokens: float = Field(ge=0)
    updated_ms: int
    version: int = Field(default=0, ge=0)


class BucketStore(Protocol):
    def get(self, venue: str) -> Bucket | None: ...

    def replace(self, venue: str, bucket: Bucket) -> bool: ...


class InMemoryBucketStore:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._buckets: dict[str, Bucket] = {}

    def get(self, venue: str) -> Bucket | None:
        with self._lock:
            return self._buckets.get(venue)

    def replace(self, venue: str, bucket: Bucket) -> bool:
        with self._lock:
            current = self._buckets.get(venue)
            if (current.version if current else 0) != bucket.version - 1:
                return False
            self._buckets[venue] = bucket
            return True


class DynamoBucketStore:
    """``venue_state`` table, ``pk = BUCKET#<venue>``."""

    def __init__(self, client: DynamoDBClient, table: str) -> None:
        self.client, self.table = client, table

    def get(self, venue: str) -> Bucket | None:
        key = {"pk": {"S": f"BUCKET#{venue}"}}
        item = self.client.get_item(TableName=self.table, Key=key, ConsistentRead=True).get("Item")
        return Bucket.model_validate_json(item["body"]["S"]) if item else None

    def replace(self, venue: str, bucket: Bucket) -> bool:
        item = {"pk": {"S": f"BUCKET#{venue}"}, "body": {"S": bucket.model_dump_json()}}
        return put_versioned(self.client, self.table, item, bucket.version)


class SharedRateLimiter:
    def __init__(self, store: BucketStore, rate_per_s: float, capacity: float) -> None:
        if rate_per_s <= 0 or capacity < 1:
            raise ValueError(f"rate_per_s must be > 0 and capacity >= 1, got {rate_per_s} and {capacity}")
        self.store, self.rate_per_s, self.capacity = store, rate_per_s, capacity

    def try_acquire(self, venue: str, now_ms: int, cost: float = 1.0) -> float:
        """Take ``cost`` tokens: 0.0 when granted, else the seconds to wait before asking again."""
        for _ in range(20):  # a lost race is re-read, never double-spent
            bucket = self.store.get(venue) or Bucket(tokens=self.capacity, updated_ms=now_ms)
            elapsed_s = max(0, now_ms - bucket.updated_ms) / 1000
            tokens = min(self.capacity, bucket.tokens + elapsed_s * self.rate_per_s)
            if tokens < cost:
                return (cost - tokens) / self.rate_per_s
            taken = Bucket(tokens=tokens - cost, updated_ms=max(now_ms, bucket.updated_ms), version=bucket.version + 1)
            if self.store.replace(venue, taken):
                return 0.0
        return 1.0 / self.rate_per_s
