"""The operators' API use cases, built in one place for every deployment: from the environment for the api
Lambda (DynamoDB only: the API never opens a venue) and over the local platform's stores in one process."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from arbiter.api.operations import Operations
from arbiter.api.ports import Heartbeats, Opportunities
from arbiter.api.queries import Queries
from arbiter.bootstrap.saga import SagaStores, WiringError
from arbiter.models.heartbeat import ShardHeartbeat, shard_name
from arbiter.models.time import Clock
from arbiter.settings import Settings
from arbiter.storage.heartbeats import DynamoHeartbeatStore, HeartbeatStore
from arbiter.storage.opportunities import DynamoOpportunityStore

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

API_TABLES = ("executions", "orders", "configuration", "venue_state", "opportunities")
"""The tables the API reads and writes, by key in ``arbiter.storage.schema.TABLES``."""


@dataclass(frozen=True)
class DeployedHeartbeats:
    """The heartbeats of the shards a deployment runs (``ARBITER_SCANNER__SHARDS``), as the scanner stores them."""

    store: HeartbeatStore
    shards: int

    def latest(self) -> Sequence[ShardHeartbeat]:
        return self.store.latest([shard_name(index, self.shards) for index in range(self.shards)])


@dataclass(frozen=True)
class OperatorApi:
    operations: Operations
    queries: Queries


def build_operator_api(
    stores: SagaStores,
    opportunities: Opportunities,
    venues: Sequence[str],
    clock: Clock,
    heartbeats: Heartbeats | None = None,
) -> OperatorApi:
    """The one assembly of the operators' use cases, deployed or local."""
    return OperatorApi(
        operations=Operations(
            journal=stores.journal,
            kill_switch=stores.kill_switch,
            configuration=stores.configuration,
            controls=stores.controls,
            clock=clock,
        ),
        queries=Queries(
            journal=stores.journal,
            kill_switch=stores.kill_switch,
            controls=stores.controls,
            opportunities=opportunities,
            verifications=stores.verifications,
            breakers=stores.venue_state.breakers,
            venues=tuple(venues),
            clock=clock,
            heartbeats=heartbeats,
        ),
    )


def operator_api_on_dynamodb(
    client: DynamoDBClient,
    tables: Mapping[str, str],
    venues: Sequence[str],
    clock: Clock,
    retention_days: int,
    scanner_shards: int | None = None,
) -> OperatorApi:
    """``scanner_shards``: how many shards the deployment's scanner runs (None: it runs none here)."""
    stores = SagaStores.dynamodb(client, tables)
    opportunities = DynamoOpportunityStore(client, tables["opportunities"], retention_days)
    heartbeats = None
    if scanner_shards is not None:
        heartbeats = DeployedHeartbeats(DynamoHeartbeatStore(client, tables["venue_state"]), scanner_shards)
    return build_operator_api(stores, opportunities, venues, clock, heartbeats)


def deployed_operator_api(settings: Settings, *, dynamodb: DynamoDBClient, clock: Clock) -> OperatorApi:
    missing = [key for key in API_TABLES if not settings.tables.get(key)]
    if missing:
        names = ", ".join(f"ARBITER_TABLES__{key.upper()}" for key in missing)
        raise WiringError(f"{names}: not set; the stack passes each table's name to the api function")
    return operator_api_on_dynamodb(
        dynamodb,
        settings.tables,
        settings.venues,
        clock,
        settings.storage.time_series_retention_days,
        scanner_shards=settings.scanner.shards,
    )
