from __future__ import annotations

import json

import pytest

from arbiter.local.scenarios import NOW, cross_venue, scenario_markets
from arbiter.models import Balances
from arbiter.risk.engine import RiskEngine
from arbiter.settings import ExecutionSettings
from arbiter.storage.kill_switch import InMemoryKillSwitch
from arbiter_handlers.metrics import PowertoolsRefusalMetrics


def test_each_refusal_is_a_cloudwatch_metric_with_its_reason_code(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("POWERTOOLS_METRICS_DISABLED", raising=False)
    kill_switch = InMemoryKillSwitch()
    kill_switch.engage("by hand", NOW)
    engine = RiskEngine(kill_switch=kill_switch, settings=ExecutionSettings(), metrics=PowertoolsRefusalMetrics())

    def no_call(venue: str) -> Balances:
        raise AssertionError(venue)

    decision = engine.assess(cross_venue(), NOW, markets=scenario_markets(), connected={"alpha"}, balances=no_call)
    assert decision.codes == ("kill_switch_engaged",)
    emitted = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith("{")]
    assert len(emitted) == 1
    (blob,) = emitted
    assert (blob["ExecutionsRefused"], blob["reason"]) == ([1.0], "kill_switch_engaged")
    directive = blob["_aws"]["CloudWatchMetrics"][0]
    assert directive["Namespace"] == "Arbiter"
    assert directive["Dimensions"] == [["service", "reason"]]
