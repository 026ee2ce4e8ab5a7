"""The configuration store: risk limits and strategy parameters, versioned, changed only by optimistic
locking. An update names the version it was based on; a stale base is a conflict, never a silent overwrite,
and an invalid update is refused with the field named while the previous version stays in force."""

from __future__ import annotations

import json
import threading
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Protocol

from pydantic import ValidationError

from arbiter.models.risk import RiskLimits, VersionedConfiguration
from arbiter.storage.aws import is_lost_race, query_items
from arbiter.storage.errors import StorageConflictError

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient


class InvalidConfigurationError(ValueError):
    def __init__(self, field: str, problem: str) -> None:
        self.field, self.problem = field, problem
        super().__init__(f"{field}: {problem}")


def apply_update(
    current: VersionedConfiguration, changes: Mapping[str, Any], by: str, at_ms: int
) -> VersionedConfiguration:
    """The next version with ``changes`` (``risk_limits`` fields and/or ``strategy``) merged in, validated."""
    unknown = set(changes) - {"risk_limits", "strategy"}
    if unknown:
        raise InvalidConfigurationError(sorted(unknown)[0], "not a configuration section")
    limits = current.risk_limits.model_dump() | dict(changes.get("risk_limits", {}))
    try:
        return VersionedConfiguration(
            version=current.version + 1,
            risk_limits=RiskLimits.model_validate(limits),
            strategy={**current.strategy, **dict(changes.get("strategy", {}))},
            updated_at=at_ms,
            updated_by=by,
        )
    except ValidationError as error:
        first = error.errors(include_url=False, include_input=False)[0]
        field = ".".join(str(part) for part in ("risk_limits", *first["loc"]))
        raise InvalidConfigurationError(field, first["msg"]) from None


class ConfigurationStore(Protocol):
    def current(self) -> VersionedConfiguration: ...

    def update(
        self, expected_version: int, changes: Mapping[str, Any], by: str, at_ms: int
    ) -> VersionedConfiguration: ...


def initial_configuration(at_ms: int) -> VersionedConfiguration:
    return VersionedConfiguration(version=1, updated_at=at_ms, updated_by="defaults")


class InMemoryConfigurationStore:
    def __init__(self, at_ms: int = 1) -> None:
        self._lock = threading.Lock()
        self.versions = [initial_configuration(at_ms)]

    def current(self) -> VersionedConfiguration:
        return self.versions[-1]

    def history(self) -> list[VersionedConfiguration]:
        """Every version written by an update (the defaults are not stored, as on DynamoDB)."""
        with self._lock:
            return self.versions[1:]

    def update(self, expected_version: int, changes: Mapping[str, Any], by: str, at_ms: int) -> VersionedConfiguration:
        with self._lock:
            current = self.versions[-1]
            if current.version != expected_version:
                raise StorageConflictError(f"configuration is at version {current.version}, not {expected_version}")
            updated = apply_update(current, changes, by, at_ms)
            self.versions.append(updated)
            return updated


class DynamoConfigurationStore:
    """``pk=CONFIG``: ``sk=CURRENT`` holds the version in force, ``sk=v<n>`` every version ever written."""

    KEY = {"pk": {"S": "CONFIG"}, "sk": {"S": "CURRENT"}}

    def __init__(self, client: DynamoDBClient, configuration_table: str) -> None:
        self.client = client
        self.table = configuration_table

    def current(self) -> VersionedConfiguration:
        item = self.client.get_item(TableName=self.table, Key=self.KEY, ConsistentRead=True).get("Item")
        if item is None:
            return initial_configuration(1)
        return VersionedConfiguration.model_validate_json(item["body"]["S"])

    def update(self, expected_version: int, changes: Mapping[str, Any], by: str, at_ms: int) -> VersionedConfiguration:
        current = self.current()
        if current.version != expected_version:
            raise StorageConflictError(f"configuration is at version {current.version}, not {expected_version}")
        updated = apply_update(current, changes, by, at_ms)
        body = {"S": updated.model_dump_json()}
        current_put: Any = {
            "TableName": self.table,
            "Item": {**self.KEY, "body": body, "version": {"N": str(updated.version)}},
            # The first update also finds no CURRENT item (defaults live in code): either way, one writer wins.
            "ConditionExpression": "attribute_not_exists(pk) OR version = :expected",
            "ExpressionAttributeValues": {":expected": {"N": str(expected_version)}},
        }
        try:
            self.client.transact_write_items(
                TransactItems=[
                    {"Put": current_put},
                    {
                        "Put": {
                            "TableName": self.table,
                            "Item": {"pk": {"S": "CONFIG"}, "sk": {"S": f"v{updated.version:010d}"}, "body": body},
                            "ConditionExpression": "attribute_not_exists(sk)",
                        }
                    },
                ]
            )
        except Exception as error:
            if is_lost_race(error):
                raise StorageConflictError(f"configuration changed since version {expected_version}") from None
            raise
        return updated

    def history(self) -> list[VersionedConfiguration]:
        items = query_items(
            self.client,
            TableName=self.table,
            KeyConditionExpression="pk = :pk AND begins_with(sk, :v)",
            ExpressionAttributeValues={":pk": {"S": "CONFIG"}, ":v": {"S": "v"}},
            ConsistentRead=True,
        )
        return [VersionedConfiguration.model_validate(json.loads(i["body"]["S"])) for i in items]
