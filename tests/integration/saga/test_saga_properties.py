"""Property test over generated fault schedules: whatever goes wrong, the invariants hold."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from arbiter.gateway.paper import PlaceFault
from arbiter.local.scenarios import Scenario, ScenarioRunner

FAULTS = st.sampled_from([None, *PlaceFault])


@st.composite
def scenarios(draw: st.DrawFn) -> Scenario:
    shape = draw(st.sampled_from(["cross_venue", "triangle"]))
    legs = 2 if shape == "cross_venue" else 3
    faults = {leg: fault for leg in range(legs) if (fault := draw(FAULTS)) is not None}
    outage = draw(st.sampled_from([None, "alpha", "beta"]))
    return Scenario(
        shape=shape,
        leg_faults=faults,
        cancel_failures=draw(st.sampled_from([0, 1, 2, 5, -1])),
        outage_venue=outage,
        outage_from_call=draw(st.integers(0, 12)),
        outage_calls=draw(st.sampled_from([None, 1, 3, 8])),
        price_shock=draw(
            st.sampled_from([Decimal(0), Decimal("0.002"), Decimal("-0.002"), Decimal("0.03"), Decimal("-0.03")])
        ),
        quote_age_ms=draw(st.sampled_from([100, 100, 100, 5_000])),
        balance_factor=draw(st.sampled_from([Decimal(1), Decimal(1), Decimal(1), Decimal("0.00001")])),
        read_lag_ms=draw(st.sampled_from([0, 0, 500, 1_500])),
        fill_at_cancel=draw(st.booleans()),
        fees=draw(st.sampled_from(["quote", "quote", "bnb", "received"])),
        duplicated_task=draw(st.sampled_from([None] * 18 + ["PlaceLegs", "Compensate", "Reconcile"])),
    )


@settings(
    max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow]
)
@given(scenario=scenarios())
def test_generated_fault_schedules_never_break_the_invariants(runner: ScenarioRunner, scenario: Scenario) -> None:
    result = runner.run(scenario)
    assert result.report.violations == (), (result.summary, result.report)
