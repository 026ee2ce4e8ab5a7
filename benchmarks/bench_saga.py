"""The saga through the real ASL on the local interpreter.

saga.schedules / saga.invariant_violations: generated fault schedules (ARBITER_BENCH_SAGA_SCHEDULES, default
1,000) and how many broke invariants 1-4 or 7. saga.e2e_ms: median wall time of a 2-leg happy path.
saga.leg_skew_ms: median time between the first and the last leg reaching the venues. saga.transitions: state
transitions of a 2-leg happy path. saga.hops_to_first_order: Lambda invocations from StartExecution until the
first order reaches a venue.

Post-trade truth, over the same generated schedules (their faults include late fills at cancel, lagging reads,
an order executed twice under one clientOrderId, fees in a third currency and in the received asset, duplicated
task deliveries), each followed by the reconciler's run at the end of its re-read window:
truth.caught_ratio: of the executions whose venues hold residual exposure (measured from the balances), the
share that ended with an incident, an alert and the kill switch (target 1.0). saga.incident_ratio: incidents
over executions that sent an order; saga.avoidable_incidents: incidents although a flattening within the
slippage cap existed on the final books. saga.false_incidents: incidents over fault-free executions whose
venues charge fees in BNB (target 0). truth.sweep_ms: median wall time of the reconciler's run per execution
it re-read."""

from __future__ import annotations

import os
import random
import statistics
import sys

from arbiter.local.scenarios import Scenario, ScenarioRunner, random_scenario
from benchmarks.figures import Figure

HAPPY_RUNS = 30
# moto keeps every execution it ran and finds them by scanning: a fresh platform every so often keeps each run's
# cost flat instead of growing with the number of schedules already run.
SCHEDULES_PER_PLATFORM = 100
FEE_RUNS_PER_SHAPE = 20


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
    held, caught, sent, incidents, avoidable = 0, 0, 0, 0, 0
    sweep_ms: list[float] = []
    for start in range(0, schedules, SCHEDULES_PER_PLATFORM):
        with ScenarioRunner() as chunk:
            for _ in range(min(SCHEDULES_PER_PLATFORM, schedules - start)):
                checked = chunk.run(random_scenario(rng))
                report = checked.report
                if report.violations:
                    violations += 1
                    print(f"violation: {checked.summary}: {report.violations}", file=sys.stderr)
                status = checked.outcome.record.status.value
                outcomes[status] = outcomes.get(status, 0) + 1
                if report.held_residual:
                    held += 1
                    caught += report.protected
                if any(venue.placements for venue in chunk.platform.venues.values()):
                    sent += 1
                    incidents += report.incident
                    avoidable += report.avoidable
                reread = sum(int(str(s.get("reread", 0))) for s in checked.sweeps)
                sweep_ms.append(checked.sweep_seconds * 1000 / max(1, reread))
    print("saga schedule outcomes: " + ", ".join(f"{k}={v}" for k, v in sorted(outcomes.items())), file=sys.stderr)
    false_incidents = 0
    with ScenarioRunner() as fees:
        for shape in ("cross_venue", "cross_venue_btc", "triangle") * FEE_RUNS_PER_SHAPE:
            false_incidents += fees.run(Scenario(shape=shape, fees="bnb")).report.incident
    return [
        Figure("truth.caught_ratio", caught / held if held else 1.0, "ratio"),
        Figure("truth.residual_executions", held, "executions"),
        Figure("saga.incident_ratio", incidents / sent if sent else 0.0, "ratio"),
        Figure("saga.avoidable_incidents", avoidable, "incidents"),
        Figure("saga.false_incidents", false_incidents, "incidents"),
        Figure("truth.sweep_ms", statistics.median(sweep_ms), "ms"),
        Figure("saga.schedules", schedules, "schedules"),
        Figure("saga.invariant_violations", violations, "violations"),
        Figure("saga.e2e_ms", statistics.median(e2e) * 1000, "ms"),
        Figure("saga.leg_skew_ms", statistics.median(skews) * 1000, "ms"),
        Figure("saga.transitions", transitions, "transitions"),
        Figure("saga.hops_to_first_order", statistics.median(hops), "invocations"),
    ]
