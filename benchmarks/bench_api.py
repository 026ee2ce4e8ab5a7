"""The operators' API on the local server (the api function's handler behind HTTP on 127.0.0.1, the stores on
moto), over a seeded demo run.

api.p50_ms / api.p99_ms: wall time of ``GET /v1/executions`` (the first page, 50 items, newest first) with 1,000
executions recorded, over ARBITER_BENCH_API_REQUESTS requests (default 500) after a warm-up; measured from the
client, so HTTP, the proxy event, validation, the DynamoDB query and serialisation are all in it.
api.schemathesis_cases / api.schemathesis_failures: schemathesis against the served OpenAPI document,
ARBITER_BENCH_API_EXAMPLES examples per operation (default 25): cases sent, and those that broke a check (a 5xx,
an undocumented status code, content type or header, a body off its schema; target 0)."""

from __future__ import annotations

import os
import statistics
import sys
import time

import requests

from arbiter.local.api_contract import check_contract
from arbiter.local.api_demo import DemoApi, demo_api
from arbiter.models import Execution, ExecutionStatus
from arbiter.settings import load_settings
from benchmarks.figures import Figure

EXECUTIONS = 1_000
WARMUP = 20


def _seed(demo: DemoApi, count: int) -> None:
    """``count`` executions over the last six days, on the opportunities the demo detected (settled ones)."""
    journal = demo.session.platform.journal
    now = demo.session.clock.now_ms()
    detected = demo.summary.detected
    for n in range(count):
        at = now - (n * 6 * 86_400_000) // count - 1
        opportunity = detected[n % len(detected)]
        journal.create(Execution(execution_id=f"bench-{n:05d}", opportunity=opportunity, created_at=at, updated_at=at))
        journal.set_status(f"bench-{n:05d}", ExecutionStatus.SETTLED, at)


def run() -> list[Figure]:
    requests_timed = int(os.environ.get("ARBITER_BENCH_API_REQUESTS", "500"))
    examples = int(os.environ.get("ARBITER_BENCH_API_EXAMPLES", "25"))
    with demo_api(load_settings(), ticks=12) as demo:
        # On the demo's own records first: moto answers an index query by scanning the table, so the contract's
        # widest generated ranges would time the run out over a thousand executions (DynamoDB reads the index).
        report = check_contract(demo.server.url, examples)
        _seed(demo, EXECUTIONS - len(demo.summary.executions))
        url = f"{demo.server.url}/v1/executions"
        session = requests.Session()
        samples = []
        for n in range(WARMUP + requests_timed):
            started = time.perf_counter()
            answer = session.get(url, timeout=10)
            elapsed = time.perf_counter() - started
            if answer.status_code != 200 or len(answer.json()["items"]) != 50:
                raise RuntimeError(f"GET /v1/executions answered {answer.status_code}: {answer.text[:200]}")
            if n >= WARMUP:
                samples.append(elapsed * 1000)
        samples.sort()
        p99 = samples[min(len(samples) - 1, round(0.99 * len(samples)) - 1)]
    for failure in report.failures:
        print(f"api contract: {failure}", file=sys.stderr)
    print(
        "api contract statuses: " + ", ".join(f"{k}={v}" for k, v in sorted(report.by_status.items())), file=sys.stderr
    )
    return [
        Figure("api.p50_ms", statistics.median(samples), "ms"),
        Figure("api.p99_ms", p99, "ms"),
        Figure("api.schemathesis_cases", report.cases, "cases"),
        Figure("api.schemathesis_failures", len(report.failures), "failures"),
    ]
