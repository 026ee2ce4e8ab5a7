"""Where the circuit breakers keep their state: one item per venue, replaced only over the version it was read
at, so exactly one invocation wins each transition. DynamoDB on AWS (shared by every invocation), memory in
tests and one-process runs."""

from __future__ import annotations

import threading
from enum import StrEnum
from typing import TYPE_CHECKING, Protocol

from pydantic import Field

from arbiter.models.common import ValueModel
from arbiter.storage.aws import put_versioned

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient


class BreakerPosition(StrEnum):
    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half_open"


class BreakerState(ValueModel):
    venue: str
    position: BreakerPosition = BreakerPosition.CLOSED
    failures: int = Field(default=0, ge=0)
    changed_at_ms: int = 0
    version: int = Field(default=0, ge=0)


class BreakerStore(Protocol):
    def get(self, venue: str) -> BreakerState: ...

    def replace(self, state: BreakerState) -> bool:
        """Write ``state`` if the stored version is ``state.version - 1``; False when another writer won."""
        ...


class InMemoryBreakerStore:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._states: dict[str, BreakerState] = {}

    def get(self, venue: str) -> BreakerState:
        with self._lock:
            return self._states.get(venue, BreakerState(venue=venue))

    def replace(self, state: BreakerState) -> bool:
        with self._lock:
            current = self._states.get(state.venue, BreakerState(venue=state.venue))
            if current.version != state.version - 1:
                return False
            self._states[state.venue] = state
            return True


class DynamoBreakerStore:
    """``venue_state`` table, ``pk = BREAKER#<venue>``."""

    def __init__(self, client: DynamoDBClient, table: str) -> None:
        self.client, self.table = client, table

    def get(self, venue: str) -> BreakerState:
        item = self.client.get_item(
            TableName=self.table, Key={"pk": {"S": f"BREAKER#{venue}"}}, ConsistentRead=True
        ).get("Item")
        return BreakerState.model_validate_json(item["body"]["S"]) if item else BreakerState(venue=venue)

    def replace(self, state: BreakerState) -> bool:
        item = {"pk": {"S": f"BREAKER#{state.venue}"}, "body": {"S": state.model_dump_json()}}
        return put_versioned(self.client, self.table, item, state.version)
