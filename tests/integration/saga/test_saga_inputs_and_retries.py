"""Bad execution inputs end in Prepare with a recorded refusal; a Lambda retry of any task changes nothing."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import pytest

from arbiter.gateway.paper import PlaceFault
from arbiter.local.scenarios import Scenario, ScenarioRunner, cross_venue
from arbiter.models import ExecutionStatus, Leg


def start_raw(runner: ScenarioRunner, name: str, payload: dict[str, Any]) -> dict[str, Any]:
    machines = runner.platform.aws.state_machines()
    described = machines.wait(machines.start(runner.platform.state_machine_arn, name, payload))
    assert described["status"] == "SUCCEEDED", described
    output: dict[str, Any] = json.loads(described["output"])
    return output


def test_an_input_without_legs_is_refused_and_recorded_before_any_order(runner: ScenarioRunner) -> None:
    runner.run(Scenario())  # venues set up
    placed_before = sum(len(v.placements) for v in runner.platform.venues.values())
    payload = {"execution_id": "no-legs-1", "opportunity": {**cross_venue().model_dump(mode="json"), "legs": []}}
    output = start_raw(runner, "no-legs-1", payload)
    assert output["accepted"] is False
    assert output["refusal"].startswith("invalid_input: opportunity.legs")
    assert runner.platform.journal.refused_input("no-legs-1") == output["refusal"]
    assert sum(len(v.placements) for v in runner.platform.venues.values()) == placed_before


@pytest.mark.parametrize(
    ("leg_change", "reason"),
    [
        ({"symbol": "DOGE/USDT"}, "invalid_leg: legs[0] unknown market alpha DOGE/USDT"),
        ({"amount": Decimal("0.01")}, "invalid_leg: legs[0] cost below minimum"),
        ({"amount": Decimal("1.000001")}, "invalid_leg: legs[0] amount 1.000001 is not on the market's precision"),
    ],
)
def test_legs_the_markets_would_refuse_end_in_prepare_with_the_reason(
    runner: ScenarioRunner, leg_change: dict[str, Any], reason: str
) -> None:
    runner.run(Scenario())
    opportunity = cross_venue()
    legs = (opportunity.legs[0].model_copy(update=leg_change), opportunity.legs[1])
    quotes = tuple({(leg.venue, leg.symbol): None for leg in legs})
    bad = opportunity.model_copy(
        update={
            "legs": tuple(Leg.model_validate(leg.model_dump()) for leg in legs),
            "quotes": tuple(opportunity.quotes[0].model_copy(update={"venue": v, "symbol": s}) for v, s in quotes),
        }
    )
    outcome = runner.platform.execute(bad)
    assert outcome.record.status is ExecutionStatus.REFUSED
    assert outcome.record.reason is not None
    assert outcome.record.reason.startswith(reason)
    assert all(
        not v.placements or outcome.execution_id not in "".join(v.placements) for v in runner.platform.venues.values()
    )


def test_an_expired_quote_is_refused_in_prepare(runner: ScenarioRunner) -> None:
    result = runner.run(Scenario(quote_age_ms=60_000))
    assert result.outcome.record.status is ExecutionStatus.REFUSED
    assert result.outcome.record.reason is not None
    assert result.outcome.record.reason.startswith("stale_quote")
    assert all(not v.placements for v in runner.platform.venues.values())


@pytest.mark.parametrize(
    "scenario",
    [
        Scenario(),
        Scenario(leg_faults={1: PlaceFault.REJECT}),
        Scenario(shape="triangle", leg_faults={0: PlaceFault.PARTIAL_FILL}),
    ],
    ids=lambda s: s.label(),
)
def test_replaying_every_task_with_its_recorded_input_changes_nothing_on_the_venues(
    runner: ScenarioRunner, scenario: Scenario
) -> None:
    result = runner.run(scenario)
    platform = runner.platform
    before = {name: (list(v.placements), dict(v.orders)) for name, v in platform.venues.items()}
    machines = platform.aws.state_machines()
    replayed = 0
    for event in machines.history(result.outcome.execution_arn):
        if event["type"] != "TaskScheduled":
            continue
        parameters = json.loads(event["taskScheduledEventDetails"]["parameters"])
        function = parameters["FunctionName"].split(":")[-1]
        payload, failed = platform.aws.lambdas.invoke(function, parameters["Payload"])
        replayed += 1
        assert not failed or payload["errorType"] in {"OrdersStillOpenError"}, payload
    assert replayed >= 3
    after = {name: (list(v.placements), dict(v.orders)) for name, v in platform.venues.items()}
    assert after == before


def test_a_risk_limit_refuses_in_prepare_with_its_reason_code(runner: ScenarioRunner) -> None:
    configuration = runner.platform.configuration
    current = configuration.current()
    configuration.update(current.version, {"risk_limits": {"max_notional_per_execution": "10"}}, by="test", at_ms=1)
    try:
        result = runner.run(Scenario())
    finally:
        latest = configuration.current()
        configuration.update(
            latest.version, {"risk_limits": {"max_notional_per_execution": "5000"}}, by="test", at_ms=2
        )
    assert result.outcome.record.status is ExecutionStatus.REFUSED
    assert result.outcome.record.reason is not None
    assert result.outcome.record.reason.startswith("max_notional_per_execution: ")
    assert runner.platform.risk_metrics.counts["max_notional_per_execution"] >= 1
    assert list(runner.platform.journal.intents(result.outcome.execution_id)) == []
