"""The operators' console in a real browser over a seeded demo: the local server serves the built console
(console/dist, built by `make`) beside /v1, over a short demo run plus one execution that ended in an incident."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from arbiter.bootstrap.saga import SagaStores
from arbiter.local.api_demo import CONSOLE_DIST, DemoApi, built_console, demo_api
from arbiter.models import Execution, ExecutionStatus
from arbiter.settings import load_settings
from arbiter.storage.opportunities import DynamoOpportunityStore

INCIDENT_REASON = "compensation exhausted: 0.4 SOL still long on binance"


@dataclass
class Console:
    demo: DemoApi
    incident_id: str

    @property
    def url(self) -> str:
        return self.demo.server.url

    def call(self, method: str, path: str, body: dict[str, Any] | None = None) -> tuple[int, Any]:
        """Another operator, straight through the API (what the page must notice without a reload)."""
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(
            self.url + path, data=data, method=method, headers={"Content-Type": "application/json"}
        )
        try:
            with urllib.request.urlopen(request, timeout=10) as response:  # the local server only
                return response.status, json.loads(response.read() or b"{}")
        except urllib.error.HTTPError as error:
            return error.code, json.loads(error.read() or b"{}")


def seed_incident(demo: DemoApi) -> str:
    """An execution of one of the demo's own opportunities that ended in an incident (none of the demo's did)."""
    aws = demo.session.platform.aws
    clock = demo.session.platform.clock
    stores = SagaStores.dynamodb(aws.dynamodb, aws.tables)
    retention = demo.session.settings.storage.time_series_retention_days
    now = clock.now_ms()
    seen = DynamoOpportunityStore(aws.dynamodb, aws.tables["opportunities"], retention).between(now - 3_600_000, now)
    execution = Execution(execution_id="console-incident-1", opportunity=seen[0], created_at=now, updated_at=now)
    stores.journal.create(execution)
    stores.journal.set_status(execution.execution_id, ExecutionStatus.INCIDENT, now + 1, reason=INCIDENT_REASON)
    return execution.execution_id


@pytest.fixture(scope="module")
def console() -> Iterator[Console]:
    dist = built_console()
    if dist is None:
        pytest.fail(f"{CONSOLE_DIST} is not built: `make console` (or make test) runs npm ci && npm run build")
    with demo_api(load_settings(), ticks=12, console=dist) as demo:
        yield Console(demo=demo, incident_id=seed_incident(demo))
