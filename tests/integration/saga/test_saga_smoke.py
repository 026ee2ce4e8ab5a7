from __future__ import annotations

from arbiter.local.scenarios import Scenario, ScenarioRunner
from arbiter.models import ExecutionStatus


def test_a_two_leg_happy_path_settles_through_the_real_asl(runner: ScenarioRunner) -> None:
    result = runner.run(Scenario())
    assert result.outcome.status == "SUCCEEDED", result.outcome.output
    assert result.outcome.record.status is ExecutionStatus.SETTLED
    assert runner.platform.transitions(result.outcome) <= 20
    pnl = runner.platform.journal.pnl(result.outcome.execution_id)
    assert pnl["SOL"] == 0
    assert pnl["USDT"] > 0


def test_a_triangle_settles(runner: ScenarioRunner) -> None:
    result = runner.run(Scenario(shape="triangle"))
    assert result.outcome.record.status is ExecutionStatus.SETTLED, result.outcome.output
    assert result.report.violations == ()
