"""The saga through the real ASL on the local interpreter.

saga.schedules / saga.invariant_violations: generated fault schedules (ARBITER_BENCH_SAGA_SCHEDULES, default
1,000) and how many broke invariants 1-4 or 7. saga.e2e_ms: median wall time of a 2-leg happy path.
saga.leg_skew_ms: median time between the first and the last leg reaching the venues. saga.transitions: state
transitions of a 2-leg happy path. saga.hops_to_first_order: Lambda invocations from StartExecution until the
first order reaches a venue."""

from __future__ import annotations

import os
import random
import statistics

from arbiter.local.scenarios import Scenario, ScenarioRunner, random_scenario
from benchmarks.figures import Figure

HAPPY_RUNS = 30
# moto keeps every execution it ran and finds them by scanning: a fresh platform every so often keeps each run's
# cost flat instead of growing with the number of schedules already run.
SCHEDULES_PER_PLATFORM = 100


def run() -> list[Figure]:
    schedules = int(os.environ.get("ARBITER_BENCH_SAGA_SCHEDULES", "1000"))
    with ScenarioRunner() as runner:
        platform = runner.platform
        e2e, skews, hops = [], [], []
        transitions = 0
        for _ in range(HAPPY_RUNS):
            invoked_before = len(platform.aws.lambdas.invocations)
            result = runner.run(Scenario())
            e2e.append(result.seconds)
            arrivals = sorted(t for venue in platform.venues.values() for t in venue.arrivals)
            skews.append(arrivals[-1] - arrivals[0])
            calls = platform.aws.lambdas.invocations[invoked_before:]
            hops.append(sum(1 for _, at in calls if at <= arrivals[0]))
            transitions = platform.transitions(result.outcome)

    rng = random.Random(20261122)
    violations, outcomes = 0, dict[str, int]()
    for start in range(0, schedules, SCHEDULES_PER_PLATFORM):
        with ScenarioRunner() as chunk:
            for _ in range(min(SCHEDULES_PER_PLATFORM, schedules - start)):
                checked = chunk.run(random_scenario(rng))
                if checked.report.violations:
                    violations += 1
                    print(f"violation: {checked.summary}: {checked.report.violations}")
                status = checked.outcome.record.status.value
                outcomes[status] = outcomes.get(status, 0) + 1
    print("saga schedule outcomes: " + ", ".join(f"{k}={v}" for k, v in sorted(outcomes.items())))
    return [
        Figure("saga.schedules", schedules, "schedules"),
        Figure("saga.invariant_violations", violations, "violations"),
        Figure("saga.e2e_ms", statistics.median(e2e) * 1000, "ms"),
        Figure("saga.leg_skew_ms", statistics.median(skews) * 1000, "ms"),
        Figure("saga.transitions", transitions, "transitions"),
        Figure("saga.hops_to_first_order", statistics.median(hops), "invocations"),
    ]
