"""The kill switch's store. Every change makes a new version; a change by hand names the version it saw, so
disengaging cannot silently undo an automatic engage (incident, daily loss, breaker) that happened meanwhile.

Configuration table (pk, sk): ``KILL_SWITCH``/``CURRENT`` holds the state in force, ``KILL_SWITCH``/``v<n>``
every version. The memory twin keeps the same history in a list."""

from __future__ import annotations

import threading
from abc import ABC, abstractmethod
from typing import TYPE_CHECKING, Any

from arbiter.models.risk import KillSwitchState
from arbiter.storage.aws import is_transaction_cancelled, query_items
from arbiter.storage.errors import StorageConflictError

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

APPEND_ATTEMPTS = 40


class KillSwitchConflictError(StorageConflictError):
    """A change by hand named a version that is no longer current; nothing was written."""

    def __init__(self, expected: int, current: KillSwitchState) -> None:
        self.expected, self.current = expected, current
        state = "engaged" if current.engaged else "disengaged"
        super().__init__(f"kill switch is at version {current.version} ({state}: {current.reason!r}), not {expected}")


class VersionedKillSwitch(ABC):
    """The kill switch's operations over one primitive: write the next version, or refuse when a change by hand
    named a version that is no longer current. Stores (memory, DynamoDB) implement ``state`` and ``_set``."""

    @abstractmethod
    def state(self) -> KillSwitchState: ...

    @abstractmethod
    def _set(self, engaged: bool, reason: str, at_ms: int, expected_version: int | None) -> None: ...

    def is_engaged(self) -> bool:
        return self.state().engaged

    def engage(self, reason: str, at_ms: int, expected_version: int | None = None) -> None:
        """Automatic engages (``expected_version`` None) always apply; one by hand names the version it saw."""
        self._set(True, reason, at_ms, expected_version)

    def disengage(self, reason: str, at_ms: int, *, expected_version: int) -> None:
        self._set(False, reason, at_ms, expected_version)


class InMemoryKillSwitch(VersionedKillSwitch):
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._history: list[KillSwitchState] = []

    def state(self) -> KillSwitchState:
        with self._lock:
            return self._history[-1] if self._history else KillSwitchState()

    @property
    def engaged(self) -> bool:
        return self.state().engaged

    def history(self) -> list[KillSwitchState]:
        with self._lock:
            return list(self._history)

    def _set(self, engaged: bool, reason: str, at_ms: int, expected_version: int | None) -> None:
        with self._lock:
            current = self._history[-1] if self._history else KillSwitchState()
            if expected_version is not None and expected_version != current.version:
                raise KillSwitchConflictError(expected_version, current)
            self._history.append(
                KillSwitchState(engaged=engaged, reason=reason, version=current.version + 1, at_ms=at_ms)
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
