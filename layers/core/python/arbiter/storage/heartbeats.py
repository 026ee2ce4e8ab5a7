"""Each scanner shard's latest heartbeat, so the operators' health view (another function) can tell which shards
run and how their feeds are. ``venue_state`` table, ``pk = HEARTBEAT#<shard>``, one item per shard overwritten by
its lease holder (only the holder writes it), removed by DynamoDB's TTL a day after the shard fell silent; the
memory twin keeps the same records in a dict."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import TYPE_CHECKING, Protocol

from arbiter.models.heartbeat import ShardHeartbeat

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

KEPT_AFTER_SILENCE_S = 86_400


class HeartbeatStore(Protocol):
    def beat(self, heartbeat: ShardHeartbeat) -> None: ...

    def latest(self, shards: Sequence[str]) -> list[ShardHeartbeat]:
        """The newest heartbeat of each of ``shards`` that ever wrote one, in their order."""
        ...


class InMemoryHeartbeatStore:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._beats: dict[str, ShardHeartbeat] = {}

    def beat(self, heartbeat: ShardHeartbeat) -> None:
        with self._lock:
            self._beats[heartbeat.shard] = heartbeat

    def latest(self, shards: Sequence[str]) -> list[ShardHeartbeat]:
        with self._lock:
            return [self._beats[shard] for shard in shards if shard in self._beats]


class DynamoHeartbeatStore:
    """A plain put: a shard's lease lets one invocation at a time run it, and a late write from a holder that just
    lost its lease is at most one heartbeat old."""

    def __init__(self, client: DynamoDBClient, table: str) -> None:
        self.client, self.table = client, table

    def beat(self, heartbeat: ShardHeartbeat) -> None:
        item = {
            "pk": {"S": f"HEARTBEAT#{heartbeat.shard}"},
            "body": {"S": heartbeat.model_dump_json()},
            "expires_at": {"N": str(heartbeat.at_ms // 1000 + KEPT_AFTER_SILENCE_S)},
        }
        self.client.put_item(TableName=self.table, Item=item)

    def latest(self, shards: Sequence[str]) -> list[ShardHeartbeat]:
        found = []
        for shard in shards:  # a handful of shards: one consistent read each (GetItem, as the API may)
            key = {"pk": {"S": f"HEARTBEAT#{shard}"}}
            item = self.client.get_item(TableName=self.table, Key=key, ConsistentRead=True).get("Item")
            if item is not None:
                found.append(ShardHeartbeat.model_validate_json(item["body"]["S"]))
        return found
