"""Detected opportunities, kept for a while (TTL) so decisions can be explained later."""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Protocol

from arbiter.models import Opportunity
from arbiter.storage.aws import query_items

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

DAY_MS = 86_400_000


class OpportunityStore(Protocol):
    def put(self, opportunity: Opportunity) -> None: ...

    def between(self, start_ms: int, end_ms: int) -> list[Opportunity]: ...


class InMemoryOpportunityStore:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.items: dict[str, Opportunity] = {}

    def put(self, opportunity: Opportunity) -> None:
        with self._lock:
            self.items.setdefault(opportunity.id, opportunity)

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

    def put(self, opportunity: Opportunity) -> None:
        self.client.put_item(
            TableName=self.table,
            Item={
                "pk": {"S": f"OPP#{opportunity.detected_at // DAY_MS}"},
                "sk": {"S": f"{opportunity.detected_at:015d}#{opportunity.id}"},
                "body": {"S": opportunity.model_dump_json()},
                "expires_at": {"N": str((opportunity.detected_at + self.retention_ms) // 1000)},
            },
        )

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
