"""schemathesis against the OpenAPI document the API serves, on the local server over a seeded demo run: no 5xx,
every answer documented (status code, content type, headers, body schema). A bounded number of examples per
operation keeps it inside ``make test``; the benchmark runs more."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from arbiter.local.api_contract import check_contract
from arbiter.local.api_demo import DemoApi, demo_api
from arbiter.local.api_server import LocalApiServer
from arbiter.local.platform import load_handler
from arbiter.settings import load_settings

EXAMPLES_PER_OPERATION = 4


@pytest.fixture(scope="module")
def demo() -> Iterator[DemoApi]:
    with demo_api(load_settings(), ticks=12) as running:
        yield running


def test_the_demo_gave_the_api_something_to_show(demo: DemoApi) -> None:
    assert demo.summary.executions
    assert demo.summary.detected


def test_schemathesis_finds_no_5xx_and_no_schema_mismatch(demo: DemoApi) -> None:
    report = check_contract(demo.server.url, EXAMPLES_PER_OPERATION)
    assert report.failures == []
    assert report.cases >= 21 * 2  # every operation was exercised, most with several examples
    assert not any(status >= 500 for status in report.by_status)
    assert report.by_status.get(200, 0) > 0


def test_the_check_catches_an_answer_that_breaks_the_contract(demo: DemoApi) -> None:
    real = load_handler("api")

    def wrong_health(event: dict[str, Any], context: Any) -> dict[str, Any]:
        response: dict[str, Any] = real(event, context)
        if event["path"] == "/v1/health" and response["statusCode"] == 200:
            body = json.loads(response["body"])
            body["status"] = 42  # documented as "ok" | "degraded"
            response["body"] = json.dumps(body)
        return response

    with LocalApiServer(wrong_health) as broken:
        report = check_contract(broken.url, 1)
    assert report.failures
    assert all(failure.startswith("GET /v1/health") for failure in report.failures), report.failures
