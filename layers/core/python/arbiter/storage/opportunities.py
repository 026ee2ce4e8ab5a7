"""Detected opportunities, kept for a while (TTL) so decisions can be explained later, each with the features
measured when it was decided on (what a model learns from must be what was known then, never recomputed)."""

from __future__ import annotations

import json
import threading
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Protocol

from arbiter.models import Opportunity
from arbiter.storage.aws import query_items

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

DAY_MS = 86_400_000


Features = Mapping[str, float]


class OpportunityStore(Protocol):
    def put(self, opportunity: Opportunity, features: Features | None = None) -> None: ...

    def features_of(self, opportunity: Opportunity) -> dict[str, float] | None: ...

    def between(self, start_ms: int, end_ms: int) -> list[Opportunity]: ...


class InMemoryOpportunityStore:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.items: dict[str, Opportunity] = {}
        self.features: dict[str, dict[str, float]] = {}

    def put(self, opportunity: Opportunity, features: Features | None = None) -> None:
        with self._lock:
            self.items.setdefault(opportunity.id, opportunity)
            if features is not None:
                self.features.setdefault(opportunity.id, dict(features))

    def features_of(self, opportunity: Opportunity) -> dict[str, float] | None:
        with self._lock:
            return self.features.get(opportunity.id)

    def between(self, start_ms: int, end_ms: int) -> list[Opportunity]:
        with self._lock:
            found = [o for o in self.items.values() if start_ms <= o.detected_at <= end_ms]
        return sorted(found, key=lambda o: (o.detected_at, o.id))


class DynamoOpportunityStore:
    """``pk = OPP#<UTC day>``, ``sk = <detected_at>#<id>``; ``expires_at`` lets DynamoDB delete them."""

    def __init__(self, client: DynamoDBClient, table: str, retention_days: int, page_size: int | None = None) -> None:
        self.client, self.table, self.retention_ms = client, table, retention_days * DAY_MS
        self.page_size = page_size
        """Items per query page (tests force several pages); None: DynamoDB's 1 MB pages."""

    def put(self, opportunity: Opportunity, features: Features | None = None) -> None:
        item: dict[str, Any] = {
            "pk": {"S": f"OPP#{opportunity.detected_at // DAY_MS}"},
            "sk": {"S": f"{opportunity.detected_at:015d}#{opportunity.id}"},
            "body": {"S": opportunity.model_dump_json()},
            "expires_at": {"N": str((opportunity.detected_at + self.retention_ms) // 1000)},
        }
        if features is not None:
            item["features"] = {"S": json.dumps(dict(features), sort_keys=True, allow_nan=False)}
        self.client.put_item(TableName=self.table, Item=item)

    def features_of(self, opportunity: Opportunity) -> dict[str, float] | None:
        found = self.client.get_item(
            TableName=self.table,
            Key={
                "pk": {"S": f"OPP#{opportunity.detected_at // DAY_MS}"},
                "sk": {"S": f"{opportunity.detected_at:015d}#{opportunity.id}"},
            },
        ).get("Item")
        if found is None or "features" not in found:
            return None
        loaded: dict[str, float] = json.loads(found["features"]["S"])
        return loaded

    def between(self, start_ms: int, end_ms: int) -> list[Opportunity]:
        found: list[Opportunity] = []
        for day in range(start_ms // DAY_MS, end_ms // DAY_MS + 1):
            items = query_items(
                self.client,
                self.page_size,
                TableName=self.table,
                KeyConditionExpression="pk = :pk AND sk BETWEEN :start AND :end",
                ExpressionAttributeValues={
                    ":pk": {"S": f"OPP#{day}"},
                    ":start": {"S": f"{start_ms:015d}"},
                    ":end": {"S": f"{end_ms:015d}~"},
                },
            )
            found.extend(Opportunity.model_validate_json(item["body"]["S"]) for item in items)
        return found
