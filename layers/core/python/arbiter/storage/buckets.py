"""Where the shared rate limiter keeps each venue's token bucket: replaced only over the version it was read
at, so concurrent invocations never spend one token twice. DynamoDB on AWS, memory in tests."""

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
