"""What the reconciler last proved about each venue: the balances it found explained, with the fills of every
order the journal knew then, so the next sweep can tell what the journal explains since. Also its last
attempt, and why it failed, for the health report. ``venue_state`` table, ``pk = VERIFIED#<venue>``; the memory
twin keeps the same records in a dict."""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

from arbiter.models.verification import VenueVerification

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient


class InMemoryVerificationStore:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._records: dict[str, VenueVerification] = {}

    def get(self, venue: str) -> VenueVerification | None:
        with self._lock:
            return self._records.get(venue)

    def put(self, verification: VenueVerification) -> None:
        with self._lock:
            self._records[verification.venue] = verification

    def forget(self, venue: str) -> None:
        with self._lock:
            self._records.pop(venue, None)


class DynamoVerificationStore:
    """One scheduled reconciler writes these (its schedule runs one at a time), so a plain put suffices."""

    def __init__(self, client: DynamoDBClient, table: str) -> None:
        self.client, self.table = client, table

    def get(self, venue: str) -> VenueVerification | None:
        key = {"pk": {"S": f"VERIFIED#{venue}"}}
        item = self.client.get_item(TableName=self.table, Key=key, ConsistentRead=True).get("Item")
        return VenueVerification.model_validate_json(item["body"]["S"]) if item else None

    def put(self, verification: VenueVerification) -> None:
        item = {"pk": {"S": f"VERIFIED#{verification.venue}"}, "body": {"S": verification.model_dump_json()}}
        self.client.put_item(TableName=self.table, Item=item)

    def forget(self, venue: str) -> None:
        """The venue starts over (paper balances reset by hand): the next sweep records a new baseline."""
        self.client.delete_item(TableName=self.table, Key={"pk": {"S": f"VERIFIED#{venue}"}})
