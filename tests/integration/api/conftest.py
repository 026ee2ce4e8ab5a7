"""The operators' use cases over the real stores on moto, with a clock the test moves."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import boto3
import pytest
from moto import mock_aws

from arbiter.api.identity import Caller, Role
from arbiter.bootstrap.api import OperatorApi, operator_api_on_dynamodb
from arbiter.bootstrap.saga import SagaStores
from arbiter.local import create_local_tables
from arbiter.models import Execution, ExecutionStatus, Opportunity
from arbiter.models.time import ManualClock

NOW = 1_767_225_600_000 + 3 * 3_600_000  # 2026-01-01T03:00Z
OPERATOR = Caller(principal="arn:aws:iam::123456789012:user/alice", role=Role.OPERATOR, via="iam")
READER = Caller(principal="bob", role=Role.READ_ONLY, via="cognito")


def opportunity(detected_at: int, venues: tuple[str, str] = ("alpha", "beta")) -> Opportunity:
    return Opportunity.model_validate(
        {
            "kind": "cross_venue",
            "legs": [
                {"venue": venues[0], "symbol": "SOL/USDT", "side": "buy", "amount": "1", "limit_price": "150"},
                {"venue": venues[1], "symbol": "SOL/USDT", "side": "sell", "amount": "1", "limit_price": "152"},
            ],
            "expected_profit": "1.6",
            "profit_currency": "USDT",
            "quotes": [
                {"venue": venues[0], "symbol": "SOL/USDT", "timestamp": detected_at},
                {"venue": venues[1], "symbol": "SOL/USDT", "timestamp": detected_at},
            ],
            "detected_at": detected_at,
        }
    )


@dataclass
class World:
    api: OperatorApi
    stores: SagaStores
    clock: ManualClock

    def execution(self, execution_id: str, at_ms: int, status: ExecutionStatus | None = None) -> Execution:
        created = Execution(
            execution_id=execution_id, opportunity=opportunity(at_ms), created_at=at_ms, updated_at=at_ms
        )
        self.stores.journal.create(created)
        if status is not None:
            self.stores.journal.set_status(execution_id, status, at_ms + 1, reason=f"test {status.value}")
        return self.stores.journal.get(execution_id)


@pytest.fixture
def world() -> Iterator[World]:
    with mock_aws():
        client = boto3.client("dynamodb", region_name="eu-west-1")
        tables = create_local_tables(client)
        clock = ManualClock(NOW)
        api = operator_api_on_dynamodb(client, tables, ("alpha", "beta"), clock, retention_days=30)
        yield World(api=api, stores=SagaStores.dynamodb(client, tables), clock=clock)
