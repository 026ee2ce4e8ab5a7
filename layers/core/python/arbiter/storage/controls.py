"""The operators' trading controls: the pause and the locks, in the configuration table beside the kill switch.

``PAUSE``/``CURRENT`` holds the pause in force, replaced only over the version it was read at (one writer wins
each change, a loser reads again); ``LOCK``/``<lock id>`` one item per lock, created only if absent. An expired
lock stays until it is removed (it blocks nothing). The memory twin keeps the same records and passes the same
contract tests."""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Protocol

from arbiter.models.controls import Lock, PauseState
from arbiter.storage.aws import is_conditional_check_failure, put_versioned, query_items
from arbiter.storage.errors import StorageConflictError

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

PAUSE_ATTEMPTS = 40


class LockExistsError(StorageConflictError):
    def __init__(self, lock_id: str) -> None:
        self.lock_id = lock_id
        super().__init__(f"lock {lock_id} exists already")


class TradingControlsStore(Protocol):
    def pause_state(self) -> PauseState: ...

    def set_pause(self, paused: bool, reason: str, by: str, at_ms: int) -> PauseState: ...

    def locks(self) -> list[Lock]: ...

    def add_lock(self, lock: Lock) -> None: ...

    def remove_lock(self, lock_id: str) -> Lock | None: ...


class InMemoryTradingControls:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._pause = PauseState()
        self._locks: dict[str, Lock] = {}

    def pause_state(self) -> PauseState:
        with self._lock:
            return self._pause

    def set_pause(self, paused: bool, reason: str, by: str, at_ms: int) -> PauseState:
        with self._lock:
            version = self._pause.version + 1
            self._pause = PauseState(paused=paused, reason=reason, by=by, version=version, at_ms=at_ms)
            return self._pause

    def locks(self) -> list[Lock]:
        with self._lock:
            return sorted(self._locks.values(), key=lambda lock: (lock.created_at_ms, lock.lock_id))

    def add_lock(self, lock: Lock) -> None:
        with self._lock:
            if lock.lock_id in self._locks:
                raise LockExistsError(lock.lock_id)
            self._locks[lock.lock_id] = lock

    def remove_lock(self, lock_id: str) -> Lock | None:
        with self._lock:
            return self._locks.pop(lock_id, None)


class DynamoTradingControls:
    PAUSE_KEY = {"pk": {"S": "PAUSE"}, "sk": {"S": "CURRENT"}}

    def __init__(self, client: DynamoDBClient, configuration_table: str) -> None:
        self.client, self.table = client, configuration_table

    def pause_state(self) -> PauseState:
        item = self.client.get_item(TableName=self.table, Key=self.PAUSE_KEY, ConsistentRead=True).get("Item")
        return PauseState.model_validate_json(item["body"]["S"]) if item else PauseState()

    def set_pause(self, paused: bool, reason: str, by: str, at_ms: int) -> PauseState:
        for _ in range(PAUSE_ATTEMPTS):
            version = self.pause_state().version + 1
            state = PauseState(paused=paused, reason=reason, by=by, version=version, at_ms=at_ms)
            if put_versioned(
                self.client, self.table, {**self.PAUSE_KEY, "body": {"S": state.model_dump_json()}}, version
            ):
                return state
        raise StorageConflictError(f"pause: a change lost {PAUSE_ATTEMPTS} races")

    def locks(self) -> list[Lock]:
        items = query_items(
            self.client,
            TableName=self.table,
            KeyConditionExpression="pk = :pk",
            ExpressionAttributeValues={":pk": {"S": "LOCK"}},
            ConsistentRead=True,
        )
        found = [Lock.model_validate_json(item["body"]["S"]) for item in items]
        return sorted(found, key=lambda lock: (lock.created_at_ms, lock.lock_id))

    def add_lock(self, lock: Lock) -> None:
        try:
            self.client.put_item(
                TableName=self.table,
                Item={"pk": {"S": "LOCK"}, "sk": {"S": lock.lock_id}, "body": {"S": lock.model_dump_json()}},
                ConditionExpression="attribute_not_exists(sk)",
            )
        except Exception as error:
            if is_conditional_check_failure(error):
                raise LockExistsError(lock.lock_id) from None
            raise

    def remove_lock(self, lock_id: str) -> Lock | None:
        response = self.client.delete_item(
            TableName=self.table, Key={"pk": {"S": "LOCK"}, "sk": {"S": lock_id}}, ReturnValues="ALL_OLD"
        )
        item = response.get("Attributes")
        return Lock.model_validate_json(item["body"]["S"]) if item else None
